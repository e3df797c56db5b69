package main

// Deterministic stand-ins for Sprig functions whose Go versions are random or read the clock,
// identical to the TypeScript renderer's (src/render/functions/random.ts): a mulberry32
// generator seeded per render, a fixed clock, and placeholder certificates and keys. Also
// sigsMarshal, which is sigs.k8s.io/yaml.Marshal (JSON, then yaml.v2).

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	yaml "gopkg.in/yaml.v2"
)

func sigsMarshal(o interface{}) ([]byte, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("error marshaling into JSON: %v", err)
	}
	var obj interface{}
	if err := yaml.Unmarshal(j, &obj); err != nil {
		return nil, err
	}
	return yaml.Marshal(obj)
}

// FixedNow is the clock of every render: 2024-01-02T03:04:05Z.
var FixedNow = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

type rng struct{ state uint32 }

func (r *rng) next() uint32 {
	r.state += 0x6D2B79F5
	z := r.state
	z = (z ^ (z >> 15)) * (z | 1)
	z ^= z + (z^(z>>7))*(z|61)
	return z ^ (z >> 14)
}

const (
	alphaChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	numericChars = "0123456789"
	alnumChars   = alphaChars + numericChars
)

func (r *rng) pick(n int, alphabet string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(alphabet[r.next()%uint32(len(alphabet))])
	}
	return b.String()
}

type certificate struct {
	Cert string
	Key  string
}

func pem(kind, subject string) string {
	body := base64.StdEncoding.EncodeToString([]byte("airgap placeholder " + kind + " for " + subject))
	return "-----BEGIN " + kind + "-----\n" + body + "\n-----END " + kind + "-----\n"
}

func placeholderCert(cn string) certificate {
	return certificate{Cert: pem("CERTIFICATE", cn), Key: pem("RSA PRIVATE KEY", cn)}
}

func deterministicFuncs(seed uint32) map[string]interface{} {
	r := &rng{state: seed}
	ascii := make([]byte, 0, 95)
	for c := byte(32); c <= 126; c++ {
		ascii = append(ascii, c)
	}
	return map[string]interface{}{
		"randAlphaNum": func(n int) string { return r.pick(n, alnumChars) },
		"randAlpha":    func(n int) string { return r.pick(n, alphaChars) },
		"randNumeric":  func(n int) string { return r.pick(n, numericChars) },
		"randAscii":    func(n int) string { return r.pick(n, string(ascii)) },
		"randInt":      func(min, max int) int { return int(r.next()%uint32(max-min)) + min },
		"shuffle": func(str string) string {
			runes := []rune(str)
			for i := len(runes) - 1; i > 0; i-- {
				j := int(r.next() % uint32(i+1))
				runes[i], runes[j] = runes[j], runes[i]
			}
			return string(runes)
		},
		"randBytes": func(n int) (string, error) {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.next())
			}
			return base64.StdEncoding.EncodeToString(b), nil
		},
		"uuidv4": func() string {
			b := make([]byte, 16)
			for i := 0; i < 16; i += 4 {
				v := r.next()
				b[i], b[i+1], b[i+2], b[i+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
			}
			b[6] = (b[6] & 0x0f) | 0x40
			b[8] = (b[8] & 0x3f) | 0x80
			return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		},
		"now":            func() time.Time { return FixedNow },
		"date":           func(fmt string, date interface{}) string { return dateInZone(fmt, date, "UTC") },
		"dateInZone":     dateInZone,
		"date_in_zone":   dateInZone,
		"htmlDate":       func(date interface{}) string { return dateInZone("2006-01-02", date, "UTC") },
		"htmlDateInZone": func(date interface{}, zone string) string { return dateInZone("2006-01-02", date, zone) },
		"ago": func(date interface{}) string {
			t := FixedNow
			switch d := date.(type) {
			case time.Time:
				t = d
			case int64:
				t = time.Unix(d, 0)
			case int:
				t = time.Unix(int64(d), 0)
			}
			return FixedNow.Sub(t).Round(time.Second).String()
		},
		"genPrivateKey": func(typ string) string { return pem("PRIVATE KEY", typ) },
		"genCA":         func(cn string, days int) (certificate, error) { return placeholderCert(cn), nil },
		"genSelfSignedCert": func(cn string, ips []interface{}, alternateDNS []interface{}, days int) (certificate, error) {
			return placeholderCert(cn), nil
		},
		"genSignedCert": func(cn string, ips []interface{}, alternateDNS []interface{}, days int, ca certificate) (certificate, error) {
			return placeholderCert(cn), nil
		},
	}
}

// dateInZone is Sprig's, on the fixed clock.
func dateInZone(fmt string, date interface{}, zone string) string {
	var t time.Time
	switch date := date.(type) {
	default:
		t = FixedNow
	case time.Time:
		t = date
	case *time.Time:
		t = *date
	case int64:
		t = time.Unix(date, 0)
	case int:
		t = time.Unix(int64(date), 0)
	case int32:
		t = time.Unix(int64(date), 0)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc, _ = time.LoadLocation("UTC")
	}
	return t.In(loc).Format(fmt)
}

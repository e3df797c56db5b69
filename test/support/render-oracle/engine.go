package main

// Helm 3's rendering engine, re-implemented from pkg/engine (engine.go, funcs.go, files.go):
// one template set for the chart and all its subcharts (parsed deepest path first, so parent
// definitions win), per-chart .Values, include / tpl / required / fail, toYaml & co., .Files.
// Functions whose Go versions are random or depend on the clock are replaced by the
// deterministic stand-ins the TypeScript renderer uses (see determinism.go).

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
)

type KubeVersion struct {
	Version string
	Major   string
	Minor   string
}

func (kv *KubeVersion) String() string     { return kv.Version }
func (kv *KubeVersion) GitVersion() string { return kv.Version }

type VersionSet []string

func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

type BuildInfo struct {
	Version      string `json:"version,omitempty"`
	GitCommit    string `json:"git_commit,omitempty"`
	GitTreeState string `json:"git_tree_state,omitempty"`
	GoVersion    string `json:"go_version,omitempty"`
}

type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
	HelmVersion BuildInfo
}

// ---- chartutil.Values: the type of .Values (and .Template), with Helm's methods.

type Values map[string]interface{}

type errNoTable struct{ key string }

func (e errNoTable) Error() string { return fmt.Sprintf("%q is not a table", e.key) }

type errNoValue struct{ key string }

func (e errNoValue) Error() string { return fmt.Sprintf("%q is not a value", e.key) }

func (v Values) YAML() (string, error) {
	b, err := sigsMarshal(v)
	return string(b), err
}

func (v Values) AsMap() map[string]interface{} {
	if len(v) == 0 {
		return map[string]interface{}{}
	}
	return v
}

func valuesTableLookup(v Values, simple string) (Values, error) {
	v2, ok := v[simple]
	if !ok {
		return v, errNoTable{simple}
	}
	if vv, ok := v2.(map[string]interface{}); ok {
		return vv, nil
	}
	if vv, ok := v2.(Values); ok {
		return vv, nil
	}
	return Values{}, errNoTable{simple}
}

func (v Values) Table(name string) (Values, error) {
	table := v
	var err error
	for _, n := range strings.Split(name, ".") {
		if table, err = valuesTableLookup(table, n); err != nil {
			break
		}
	}
	return table, err
}

func (v Values) PathValue(path string) (interface{}, error) {
	if path == "" {
		return nil, fmt.Errorf("YAML path cannot be empty")
	}
	parts := strings.Split(path, ".")
	if len(parts) == 1 {
		if _, ok := v[parts[0]]; ok && !istable(v[parts[0]]) {
			return v[parts[0]], nil
		}
		return nil, errNoValue{parts[0]}
	}
	key := parts[len(parts)-1]
	t, err := v.Table(strings.Join(parts[:len(parts)-1], "."))
	if err != nil {
		return nil, errNoValue{key}
	}
	if k, ok := t[key]; ok && !istable(k) {
		return k, nil
	}
	return nil, errNoValue{key}
}

// ---- files.go

type files map[string][]byte

func newFiles(from []*File) files {
	f := files{}
	for _, x := range from {
		f[x.Name] = x.Data
	}
	return f
}

func (f files) GetBytes(name string) []byte {
	if v, ok := f[name]; ok {
		return v
	}
	return []byte{}
}

func (f files) Get(name string) string { return string(f.GetBytes(name)) }

func (f files) Glob(pattern string) files {
	g, err := compileGlob(pattern)
	if err != nil {
		g, _ = compileGlob("**")
	}
	nf := newFiles(nil)
	for name, contents := range f {
		if g.MatchString(name) {
			nf[name] = contents
		}
	}
	return nf
}

func (f files) AsConfig() string {
	if f == nil {
		return ""
	}
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = string(v)
	}
	return toYAML(m)
}

func (f files) AsSecrets() string {
	if f == nil {
		return ""
	}
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = base64.StdEncoding.EncodeToString(v)
	}
	return toYAML(m)
}

func (f files) Lines(p string) []string {
	if f == nil || f[p] == nil {
		return []string{}
	}
	s := string(f[p])
	if s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	return strings.Split(s, "\n")
}

// compileGlob: gobwas/glob with '/' as separator: * and ? stay within a path segment, **
// crosses segments, [abc] [!abc] [a-z] classes, {a,b} alternatives.
func compileGlob(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	depth := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '*' && i+1 < len(pattern) && pattern[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			j := strings.IndexByte(pattern[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unclosed [")
			}
			class := pattern[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case c == '{':
			depth++
			b.WriteString("(?:")
		case c == '}' && depth > 0:
			depth--
			b.WriteString(")")
		case c == ',' && depth > 0:
			b.WriteString("|")
		case c == '\\' && i+1 < len(pattern):
			i++
			b.WriteString(regexp.QuoteMeta(string(pattern[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unclosed {")
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// ---- funcs.go

func toYAML(v interface{}) string {
	data, err := sigsMarshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

func fromYAML(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := yamlUnmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromYAMLArray(str string) []interface{} {
	a := []interface{}{}
	if err := yamlUnmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func toJSON(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(data)
}

func fromJSON(str string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func fromJSONArray(str string) []interface{} {
	a := []interface{}{}
	if err := json.Unmarshal([]byte(str), &a); err != nil {
		a = []interface{}{err.Error()}
	}
	return a
}

func funcMap(seed uint32) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	extra := template.FuncMap{
		"toYaml":        toYAML,
		"fromYaml":      fromYAML,
		"fromYamlArray": fromYAMLArray,
		"toJson":        toJSON,
		"fromJson":      fromJSON,
		"fromJsonArray": fromJSONArray,
		"include":       func(string, interface{}) string { return "not implemented" },
		"tpl":           func(string, interface{}) interface{} { return "not implemented" },
		"required":      func(string, interface{}) (interface{}, error) { return "not implemented", nil },
		"lookup": func(string, string, string, string) (map[string]interface{}, error) {
			return map[string]interface{}{}, nil
		},
		"getHostByName": func(_ string) string { return "" },
	}
	for k, v := range extra {
		f[k] = v
	}
	for k, v := range deterministicFuncs(seed) {
		f[k] = v
	}
	return f
}

// ---- engine.go

type renderable struct {
	tpl      string
	vals     map[string]interface{}
	basePath string
}

const warnStartDelim = "HELM_ERR_START"
const warnEndDelim = "HELM_ERR_END"
const recursionMaxNums = 1000

var warnRegex = regexp.MustCompile(warnStartDelim + `((?s).*)` + warnEndDelim)

func warnWrap(warn string) string { return warnStartDelim + warn + warnEndDelim }

func includeFun(t *template.Template, includedNames map[string]int) func(string, interface{}) (string, error) {
	return func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		if v, ok := includedNames[name]; ok {
			if v > recursionMaxNums {
				return "", fmt.Errorf("rendering template has a nested reference name: %s: unable to execute template", name)
			}
			includedNames[name]++
		} else {
			includedNames[name] = 1
		}
		err := t.ExecuteTemplate(&buf, name, data)
		includedNames[name]--
		return buf.String(), err
	}
}

func tplFun(parent *template.Template, includedNames map[string]int) func(string, interface{}) (string, error) {
	return func(tpl string, vals interface{}) (string, error) {
		t, err := parent.Clone()
		if err != nil {
			return "", fmt.Errorf("cannot clone template: %v", err)
		}
		t.Option("missingkey=zero")
		t.Funcs(template.FuncMap{
			"include": includeFun(t, includedNames),
			"tpl":     tplFun(t, includedNames),
		})
		t, err = t.New(parent.Name()).Parse(tpl)
		if err != nil {
			return "", fmt.Errorf("cannot parse template %q: %w", tpl, err)
		}
		var buf strings.Builder
		if err := t.Execute(&buf, vals); err != nil {
			return "", fmt.Errorf("error during tpl function execution for %q: %w", tpl, err)
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
}

func initFunMap(t *template.Template, seed uint32) {
	fm := funcMap(seed)
	includedNames := map[string]int{}
	fm["include"] = includeFun(t, includedNames)
	fm["tpl"] = tplFun(t, includedNames)
	fm["required"] = func(warn string, val interface{}) (interface{}, error) {
		if val == nil {
			return val, fmt.Errorf("%s", warnWrap(warn))
		} else if _, ok := val.(string); ok {
			if val == "" {
				return val, fmt.Errorf("%s", warnWrap(warn))
			}
		}
		return val, nil
	}
	fm["fail"] = func(msg string) (string, error) { return "", fmt.Errorf("%s", warnWrap(msg)) }
	t.Funcs(fm)
}

type byPathLen []string

func (p byPathLen) Len() int      { return len(p) }
func (p byPathLen) Swap(i, j int) { p[j], p[i] = p[i], p[j] }
func (p byPathLen) Less(i, j int) bool {
	a, b := p[i], p[j]
	ca, cb := strings.Count(a, "/"), strings.Count(b, "/")
	if ca == cb {
		return strings.Compare(a, b) == -1
	}
	return ca < cb
}

func cleanupParseError(filename string, err error) error {
	tokens := strings.Split(err.Error(), ": ")
	if len(tokens) == 1 {
		return fmt.Errorf("parse error in (%s): %s", filename, err)
	}
	return fmt.Errorf("parse error at (%s): %s", tokens[1], tokens[len(tokens)-1])
}

func cleanupExecError(filename string, err error) error {
	if _, ok := err.(template.ExecError); !ok {
		return err
	}
	tokens := strings.SplitN(err.Error(), ": ", 3)
	if len(tokens) != 3 {
		return fmt.Errorf("execution error in (%s): %s", filename, err)
	}
	if parts := warnRegex.FindStringSubmatch(tokens[2]); len(parts) >= 2 {
		return fmt.Errorf("execution error at (%s): %s", tokens[1], parts[1])
	}
	return err
}

func recAllTpls(c *Chart, templates map[string]renderable, vals map[string]interface{}) map[string]interface{} {
	subCharts := map[string]interface{}{}
	chartMetaData := struct {
		Metadata
		IsRoot bool
	}{*c.Metadata, c.IsRoot()}
	next := map[string]interface{}{
		"Chart":        chartMetaData,
		"Files":        newFiles(c.Files),
		"Release":      vals["Release"],
		"Capabilities": vals["Capabilities"],
		"Values":       make(Values),
		"Subcharts":    subCharts,
	}
	if c.IsRoot() {
		next["Values"] = vals["Values"]
	} else if vs, err := Values(vals).Table("Values." + c.Name()); err == nil {
		next["Values"] = vs
	}
	for _, child := range c.Dependencies() {
		subCharts[child.Name()] = recAllTpls(child, templates, next)
	}
	parentID := c.ChartFullPath()
	for _, t := range c.Templates {
		if strings.EqualFold(c.Metadata.Type, "library") && !strings.HasPrefix(path.Base(t.Name), "_") {
			continue
		}
		templates[path.Join(parentID, t.Name)] = renderable{
			tpl:      string(t.Data),
			vals:     next,
			basePath: path.Join(parentID, "templates"),
		}
	}
	return next
}

func renderChart(chrt *Chart, req request) (rendered map[string]string, err error) {
	// helm install / template: dependencies, then the render values.
	processDependencyEnabled(chrt, req.Values, "")
	processDependencyImportValues(chrt)
	kv := req.KubeVersion
	if kv == "" {
		kv = "v1.20.0"
	}
	parts := strings.SplitN(strings.TrimPrefix(kv, "v"), ".", 3)
	caps := &Capabilities{
		KubeVersion: KubeVersion{Version: kv, Major: parts[0], Minor: parts[1]},
		APIVersions: VersionSet(req.APIVersions),
		HelmVersion: BuildInfo{Version: req.HelmVersion},
	}
	top := map[string]interface{}{
		"Chart":        chrt.Metadata,
		"Capabilities": caps,
		"Release": map[string]interface{}{
			"Name":      req.Release.Name,
			"Namespace": req.Release.Namespace,
			"IsUpgrade": req.Release.IsUpgrade,
			"IsInstall": req.Release.IsInstall,
			"Revision":  req.Release.Revision,
			"Service":   "Helm",
		},
		"Values": Values(coalesceValuesTop(chrt, req.Values, false)),
	}
	tpls := map[string]renderable{}
	recAllTpls(chrt, tpls, top)

	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("rendering template failed: %v", r)
		}
	}()
	t := template.New("gotpl")
	t.Option("missingkey=zero")
	initFunMap(t, req.Seed)
	keys := make([]string, 0, len(tpls))
	for k := range tpls {
		keys = append(keys, k)
	}
	sort.Sort(sort.Reverse(byPathLen(keys)))
	for _, filename := range keys {
		if _, err := t.New(filename).Parse(tpls[filename].tpl); err != nil {
			return nil, cleanupParseError(filename, err)
		}
	}
	rendered = map[string]string{}
	for _, filename := range keys {
		if strings.HasPrefix(path.Base(filename), "_") {
			continue
		}
		vals := tpls[filename].vals
		vals["Template"] = Values{"Name": filename, "BasePath": tpls[filename].basePath}
		var buf strings.Builder
		if err := t.ExecuteTemplate(&buf, filename, vals); err != nil {
			return nil, cleanupExecError(filename, err)
		}
		rendered[filename] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return rendered, nil
}

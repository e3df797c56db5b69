package main

// Chart loading as Helm 3 does it (pkg/chart/loader): Chart.yaml, values.yaml, templates/,
// charts/ (folders and nested .tgz), every other file into Files. YAML goes through JSON the way
// sigs.k8s.io/yaml does, so numbers become float64.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	yaml "gopkg.in/yaml.v2"
)

type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

type Dependency struct {
	Name         string        `json:"name"`
	Version      string        `json:"version,omitempty"`
	Repository   string        `json:"repository"`
	Condition    string        `json:"condition,omitempty"`
	Tags         []string      `json:"tags,omitempty"`
	Enabled      bool          `json:"enabled,omitempty"`
	ImportValues []interface{} `json:"import-values,omitempty"`
	Alias        string        `json:"alias,omitempty"`
}

type Metadata struct {
	Name         string            `json:"name,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Version      string            `json:"version,omitempty"`
	Description  string            `json:"description,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Maintainers  []*Maintainer     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	APIVersion   string            `json:"apiVersion,omitempty"`
	Condition    string            `json:"condition,omitempty"`
	Tags         string            `json:"tags,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Dependencies []*Dependency     `json:"dependencies,omitempty"`
	Type         string            `json:"type,omitempty"`
}

type File struct {
	Name string
	Data []byte
}

type Chart struct {
	Metadata     *Metadata
	Values       map[string]interface{}
	Templates    []*File
	Files        []*File
	parent       *Chart
	dependencies []*Chart
}

func (c *Chart) Name() string           { return c.Metadata.Name }
func (c *Chart) IsRoot() bool           { return c.parent == nil }
func (c *Chart) Dependencies() []*Chart { return c.dependencies }
func (c *Chart) SetDependencies(cs ...*Chart) {
	c.dependencies = nil
	for _, d := range cs {
		d.parent = c
		c.dependencies = append(c.dependencies, d)
	}
}
func (c *Chart) ChartFullPath() string {
	if !c.IsRoot() {
		return c.parent.ChartFullPath() + "/charts/" + c.Name()
	}
	return c.Name()
}

// yamlToJSONValue converts what yaml.v2 decodes into what encoding/json accepts (string keys).
func yamlToJSONValue(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			var key string
			switch kk := k.(type) {
			case string:
				key = kk
			case int:
				key = strconv.Itoa(kk)
			case int64:
				key = strconv.FormatInt(kk, 10)
			case uint64:
				key = strconv.FormatUint(kk, 10)
			case float64:
				key = strconv.FormatFloat(kk, 'g', -1, 64)
			case bool:
				key = strconv.FormatBool(kk)
			case nil:
				key = "null"
			default:
				key = fmt.Sprintf("%v", kk)
			}
			m[key] = yamlToJSONValue(x)
		}
		return m
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			out[i] = yamlToJSONValue(x)
		}
		return out
	default:
		return v
	}
}

// yamlUnmarshal is sigs.k8s.io/yaml.Unmarshal: YAML -> JSON -> target.
func yamlUnmarshal(data []byte, target interface{}) error {
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("error converting YAML to JSON: %v", err)
	}
	j, err := json.Marshal(yamlToJSONValue(raw))
	if err != nil {
		return fmt.Errorf("error converting YAML to JSON: %v", err)
	}
	if err := json.Unmarshal(j, target); err != nil {
		return fmt.Errorf("error unmarshaling JSON: %v", err)
	}
	return nil
}

func readArchiveFile(path string) (map[string][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return readArchive(data)
}

func readArchive(data []byte) (map[string][]byte, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		parts := strings.SplitN(strings.TrimPrefix(h.Name, "./"), "/", 2)
		if len(parts) < 2 {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[parts[1]] = b
	}
	return files, nil
}

func loadFiles(files map[string][]byte) (*Chart, error) {
	c := &Chart{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	subcharts := map[string]map[string][]byte{}
	cy, ok := files["Chart.yaml"]
	if !ok {
		return nil, fmt.Errorf("Chart.yaml file is missing")
	}
	c.Metadata = &Metadata{}
	if err := yamlUnmarshal(cy, c.Metadata); err != nil {
		return nil, fmt.Errorf("cannot load Chart.yaml: %v", err)
	}
	if c.Metadata.APIVersion == "" {
		c.Metadata.APIVersion = "v1"
	}
	for _, n := range names {
		data := files[n]
		switch {
		case n == "Chart.yaml" || n == "Chart.lock" || n == "values.schema.json":
		case n == "values.yaml":
			c.Values = map[string]interface{}{}
			if err := yamlUnmarshal(data, &c.Values); err != nil {
				return nil, fmt.Errorf("cannot load values.yaml: %v", err)
			}
		case n == "requirements.yaml" || n == "requirements.lock":
			if n == "requirements.yaml" {
				if err := yamlUnmarshal(data, c.Metadata); err != nil {
					return nil, err
				}
			}
			if c.Metadata.APIVersion == "v1" {
				c.Files = append(c.Files, &File{n, data})
			}
		case strings.HasPrefix(n, "templates/"):
			c.Templates = append(c.Templates, &File{n, data})
		case strings.HasPrefix(n, "charts/"):
			if filepath.Ext(n) == ".prov" {
				c.Files = append(c.Files, &File{n, data})
				continue
			}
			rest := strings.TrimPrefix(n, "charts/")
			cname := strings.SplitN(rest, "/", 2)[0]
			if subcharts[cname] == nil {
				subcharts[cname] = map[string][]byte{}
			}
			subcharts[cname][rest] = data
		default:
			c.Files = append(c.Files, &File{n, data})
		}
	}
	snames := make([]string, 0, len(subcharts))
	for n := range subcharts {
		snames = append(snames, n)
	}
	sort.Strings(snames)
	var deps []*Chart
	for _, n := range snames {
		if strings.IndexAny(n, "_.") == 0 {
			continue
		}
		var sub map[string][]byte
		var err error
		if filepath.Ext(n) == ".tgz" {
			sub, err = readArchive(subcharts[n][n])
			if err != nil {
				return nil, fmt.Errorf("error unpacking subchart %s in %s: %v", n, c.Name(), err)
			}
		} else {
			sub = map[string][]byte{}
			for k, v := range subcharts[n] {
				parts := strings.SplitN(k, "/", 2)
				if len(parts) == 2 {
					sub[parts[1]] = v
				}
			}
		}
		sc, err := loadFiles(sub)
		if err != nil {
			return nil, fmt.Errorf("error unpacking subchart %s in %s: %v", n, c.Name(), err)
		}
		deps = append(deps, sc)
	}
	c.SetDependencies(deps...)
	return c, nil
}

// Command render-oracle renders Helm charts with Go's text/template and the real Sprig, the way
// Helm 3's `helm template` does, for differential tests of the TypeScript renderer. Test support
// only: it is never shipped.
//
// Protocol: one JSON request per line on stdin, one JSON response per line on stdout.
//
//	{"id":1,"files":{"Chart.yaml":"...","templates/a.yaml":"..."},"values":{...},
//	 "release":{...},"kubeVersion":"v1.30.0","apiVersions":["v1"],"seed":1}
//	{"id":1,"manifests":{"mychart/templates/a.yaml":"..."}} or {"id":1,"error":"..."}
//
// Instead of "files", "archive" names a chart .tgz on disk.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

type releaseOptions struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Revision  int    `json:"revision"`
	IsInstall bool   `json:"isInstall"`
	IsUpgrade bool   `json:"isUpgrade"`
}

type request struct {
	ID          int                    `json:"id"`
	Files       map[string]string      `json:"files"`
	Archive     string                 `json:"archive"`
	Values      map[string]interface{} `json:"values"`
	Release     releaseOptions         `json:"release"`
	KubeVersion string                 `json:"kubeVersion"`
	APIVersions []string               `json:"apiVersions"`
	HelmVersion string                 `json:"helmVersion"`
	Seed        uint32                 `json:"seed"`
}

type response struct {
	ID        int               `json:"id"`
	Manifests map[string]string `json:"manifests,omitempty"`
	Error     string            `json:"error,omitempty"`
}

func handle(req request) (resp response) {
	resp.ID = req.ID
	defer func() {
		if r := recover(); r != nil {
			resp.Manifests = nil
			resp.Error = fmt.Sprintf("panic: %v", r)
		}
	}()
	var files map[string][]byte
	var err error
	if req.Archive != "" {
		files, err = readArchiveFile(req.Archive)
	} else {
		files = map[string][]byte{}
		for k, v := range req.Files {
			files[k] = []byte(v)
		}
	}
	if err != nil {
		resp.Error = err.Error()
		return
	}
	chrt, err := loadFiles(files)
	if err != nil {
		resp.Error = err.Error()
		return
	}
	out, err := renderChart(chrt, req)
	if err != nil {
		resp.Error = err.Error()
		return
	}
	resp.Manifests = out
	return
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	dec := json.NewDecoder(in)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			break
		}
		if req.Values == nil {
			req.Values = map[string]interface{}{}
		}
		if err := enc.Encode(handle(req)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out.Flush()
	}
}

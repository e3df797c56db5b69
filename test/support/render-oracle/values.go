package main

// Helm 3's values handling, re-implemented from pkg/chartutil (coalesce.go, dependencies.go,
// values.go): coalescing of user values over chart defaults with global propagation, dependency
// conditions and tags, aliases, import-values, and the top-level render values.

import (
	"fmt"
	"log"
	"strings"

	semver "github.com/Masterminds/semver"
	"github.com/mitchellh/copystructure"
)

func istable(v interface{}) bool {
	_, ok := v.(map[string]interface{})
	return ok
}

func concatPrefix(a, b string) string {
	if a == "" {
		return b
	}
	return fmt.Sprintf("%s.%s", a, b)
}

func copyValues(vals map[string]interface{}) map[string]interface{} {
	v, err := copystructure.Copy(vals)
	if err != nil {
		return vals
	}
	m, _ := v.(map[string]interface{})
	if m == nil {
		m = map[string]interface{}{}
	}
	return m
}

func coalesceValuesTop(c *Chart, vals map[string]interface{}, merge bool) map[string]interface{} {
	return coalesce(c, copyValues(vals), "", merge)
}

func coalesce(ch *Chart, dest map[string]interface{}, prefix string, merge bool) map[string]interface{} {
	coalesceValues(ch, dest, prefix, merge)
	return coalesceDeps(ch, dest, prefix, merge)
}

func coalesceDeps(chrt *Chart, dest map[string]interface{}, prefix string, merge bool) map[string]interface{} {
	for _, sub := range chrt.Dependencies() {
		if c, ok := dest[sub.Name()]; !ok {
			dest[sub.Name()] = map[string]interface{}{}
		} else if !istable(c) {
			panic(fmt.Sprintf("type mismatch on %s: %t", sub.Name(), c))
		}
		if dv, ok := dest[sub.Name()]; ok {
			dvmap := dv.(map[string]interface{})
			subPrefix := concatPrefix(prefix, chrt.Metadata.Name)
			coalesceGlobals(dvmap, dest, subPrefix)
			dest[sub.Name()] = coalesce(sub, dvmap, subPrefix, merge)
		}
	}
	return dest
}

func coalesceGlobals(dest, src map[string]interface{}, prefix string) {
	var dg, sg map[string]interface{}
	if destglob, ok := dest["global"]; !ok {
		dg = map[string]interface{}{}
	} else if dg, ok = destglob.(map[string]interface{}); !ok {
		return
	}
	if srcglob, ok := src["global"]; !ok {
		sg = map[string]interface{}{}
	} else if sg, ok = srcglob.(map[string]interface{}); !ok {
		return
	}
	for key, val := range sg {
		if istable(val) {
			vv := copyMap(val.(map[string]interface{}))
			if destv, ok := dg[key]; !ok {
				dg[key] = vv
			} else if destvmap, ok := destv.(map[string]interface{}); ok {
				coalesceTablesFullKey(vv, destvmap, concatPrefix(prefix, key), true)
				dg[key] = vv
			}
		} else if dv, ok := dg[key]; ok && istable(dv) {
			// a table is not replaced by a scalar
		} else {
			dg[key] = val
		}
	}
	dest["global"] = dg
}

func copyMap(src map[string]interface{}) map[string]interface{} {
	m := make(map[string]interface{}, len(src))
	for k, v := range src {
		m[k] = v
	}
	return m
}

func coalesceValues(c *Chart, v map[string]interface{}, prefix string, merge bool) {
	subPrefix := concatPrefix(prefix, c.Metadata.Name)
	vc := copyValues(c.Values)
	for key, val := range vc {
		if value, ok := v[key]; ok {
			if value == nil && !merge {
				delete(v, key)
			} else if dest, ok := value.(map[string]interface{}); ok {
				src, ok := val.(map[string]interface{})
				if ok {
					m := merge
					for _, sub := range c.Dependencies() {
						if sub.Name() == key {
							m = true
						}
					}
					coalesceTablesFullKey(dest, src, concatPrefix(subPrefix, key), m)
				}
			}
		} else {
			v[key] = val
		}
	}
}

func coalesceTablesFullKey(dst, src map[string]interface{}, prefix string, merge bool) map[string]interface{} {
	if src == nil {
		return dst
	}
	if dst == nil {
		return src
	}
	for key, val := range dst {
		if val == nil {
			src[key] = nil
		}
	}
	for key, val := range src {
		fullkey := concatPrefix(prefix, key)
		if dv, ok := dst[key]; ok && !merge && dv == nil {
			delete(dst, key)
		} else if !ok {
			dst[key] = val
		} else if istable(val) {
			if istable(dv) {
				coalesceTablesFullKey(dv.(map[string]interface{}), val.(map[string]interface{}), fullkey, merge)
			}
		}
	}
	return dst
}

func tableOf(v map[string]interface{}, path string) (map[string]interface{}, bool) {
	table := v
	for _, n := range strings.Split(path, ".") {
		next, ok := table[n]
		if !ok {
			return nil, false
		}
		t, ok := next.(map[string]interface{})
		if !ok {
			return nil, false
		}
		table = t
	}
	return table, true
}

func pathValue(v map[string]interface{}, path string) (interface{}, bool) {
	parts := strings.Split(path, ".")
	if len(parts) == 1 {
		if x, ok := v[parts[0]]; ok && !istable(x) {
			return x, true
		}
		return nil, false
	}
	t, ok := tableOf(v, strings.Join(parts[:len(parts)-1], "."))
	if !ok {
		return nil, false
	}
	if k, ok := t[parts[len(parts)-1]]; ok && !istable(k) {
		return k, true
	}
	return nil, false
}

func isCompatibleRange(constraint, ver string) bool {
	sv, err := semver.NewVersion(ver)
	if err != nil {
		return false
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return false
	}
	return c.Check(sv)
}

func getAliasDependency(charts []*Chart, dep *Dependency) *Chart {
	for _, c := range charts {
		if c == nil || c.Name() != dep.Name || !isCompatibleRange(dep.Version, c.Metadata.Version) {
			continue
		}
		out := *c
		md := *c.Metadata
		out.Metadata = &md
		if dep.Alias != "" {
			md.Name = dep.Alias
		}
		return &out
	}
	return nil
}

func processDependencyEnabled(c *Chart, v map[string]interface{}, path string) {
	if c.Metadata.Dependencies == nil {
		return
	}
	var chartDependencies []*Chart
Loop:
	for _, existing := range c.Dependencies() {
		for _, req := range c.Metadata.Dependencies {
			if existing.Name() == req.Name && isCompatibleRange(req.Version, existing.Metadata.Version) {
				continue Loop
			}
		}
		chartDependencies = append(chartDependencies, existing)
	}
	for _, req := range c.Metadata.Dependencies {
		if req == nil {
			continue
		}
		if cd := getAliasDependency(c.Dependencies(), req); cd != nil {
			chartDependencies = append(chartDependencies, cd)
		}
		if req.Alias != "" {
			req.Name = req.Alias
		}
	}
	c.SetDependencies(chartDependencies...)
	for _, lr := range c.Metadata.Dependencies {
		lr.Enabled = true
	}
	cvals := coalesceValuesTop(c, v, false)
	// tags
	if vt, ok := tableOf(cvals, "tags"); ok {
		for _, r := range c.Metadata.Dependencies {
			var hasTrue, hasFalse bool
			for _, k := range r.Tags {
				if b, ok := vt[k]; ok {
					if bv, ok := b.(bool); ok {
						if bv {
							hasTrue = true
						} else {
							hasFalse = true
						}
					}
				}
			}
			if !hasTrue && hasFalse {
				r.Enabled = false
			} else if hasTrue || !hasTrue && !hasFalse {
				r.Enabled = true
			}
		}
	}
	// conditions
	for _, r := range c.Metadata.Dependencies {
		for _, cond := range strings.Split(strings.TrimSpace(r.Condition), ",") {
			if len(cond) > 0 {
				if vv, ok := pathValue(cvals, path+cond); ok {
					if bv, ok := vv.(bool); ok {
						r.Enabled = bv
						break
					}
					log.Printf("Warning: Condition path '%s' for chart %s returned non-bool value", cond, r.Name)
				}
			}
		}
	}
	rm := map[string]bool{}
	for _, r := range c.Metadata.Dependencies {
		if !r.Enabled {
			rm[r.Name] = true
		}
	}
	cd := []*Chart{}
	for _, n := range c.Dependencies() {
		if !rm[n.Metadata.Name] {
			cd = append(cd, n)
		}
	}
	cdMetadata := []*Dependency{}
	for _, n := range c.Metadata.Dependencies {
		if !rm[n.Name] {
			cdMetadata = append(cdMetadata, n)
		}
	}
	for _, t := range cd {
		processDependencyEnabled(t, cvals, path+t.Metadata.Name+".")
	}
	c.Metadata.Dependencies = cdMetadata
	c.SetDependencies(cd...)
}

func pathToMap(path string, data map[string]interface{}) map[string]interface{} {
	if path == "." {
		return data
	}
	parts := strings.Split(path, ".")
	cur := data
	for i := len(parts) - 1; i >= 0; i-- {
		cur = map[string]interface{}{parts[i]: cur}
	}
	return cur
}

func processImportValues(c *Chart) {
	if c.Metadata.Dependencies == nil {
		return
	}
	cvals := coalesceValuesTop(c, nil, true)
	b := map[string]interface{}{}
	for _, r := range c.Metadata.Dependencies {
		var outiv []interface{}
		for _, riv := range r.ImportValues {
			switch iv := riv.(type) {
			case map[string]interface{}:
				child := fmt.Sprintf("%v", iv["child"])
				parent := fmt.Sprintf("%v", iv["parent"])
				outiv = append(outiv, map[string]string{"child": child, "parent": parent})
				vv, ok := tableOf(cvals, r.Name+"."+child)
				if !ok {
					continue
				}
				b = coalesceTablesFullKey(b, pathToMap(parent, copyValues(vv)), "", true)
			case string:
				child := "exports." + iv
				outiv = append(outiv, map[string]string{"child": child, "parent": "."})
				vm, ok := tableOf(cvals, r.Name+"."+child)
				if !ok {
					continue
				}
				b = coalesceTablesFullKey(b, copyValues(vm), "", true)
			}
		}
		r.ImportValues = outiv
	}
	c.Values = coalesceTablesFullKey(copyValues(cvals), b, "", true)
}

func processDependencyImportValues(c *Chart) {
	for _, d := range c.Dependencies() {
		processDependencyImportValues(d)
	}
	processImportValues(c)
}

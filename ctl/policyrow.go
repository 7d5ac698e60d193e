package ctl

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// policySpec is the part of an authorization policy its row shows.
type policySpec struct {
	Service   string `json:"service"`
	Namespace string `json:"namespace"`
	Action    string `json:"action"`
	From      []struct {
		Identities []string `json:"identities"`
		Namespaces []string `json:"namespaces"`
		Services   []string `json:"services"`
	} `json:"from"`
	To []struct {
		Methods []string `json:"methods"`
		Paths   []struct {
			Exact, Prefix, Regex, Template string
		} `json:"paths"`
		Headers []struct {
			Name string `json:"name"`
		} `json:"headers"`
	} `json:"to"`
}

func policyRow(item json.RawMessage, _ time.Time) ([]string, error) {
	r, err := decodeItem[resourceOf[policySpec]](item)
	svc := r.Spec.Service
	if ns := r.Spec.Namespace; ns != "" && ns != "default" {
		svc = ns + "/" + svc
	}
	return []string{r.Name, orDash(svc), orDash(r.Spec.Action), r.Spec.from(), r.Spec.to(), strconv.FormatInt(r.Version, 10)}, err
}

// from shows the sources, one "key=values" group per entry, entries
// separated by "; "; "any" when every caller matches.
func (s policySpec) from() string {
	entries := make([]string, len(s.From))
	for i, f := range s.From {
		entries[i] = pairs("ids", strings.Join(f.Identities, ","), "ns", strings.Join(f.Namespaces, ","), "svc", strings.Join(f.Services, ","))
	}
	return anyIfEmpty(entries)
}

// to shows the HTTP targets like from; "any" when every request matches.
func (s policySpec) to() string {
	entries := make([]string, len(s.To))
	for i, t := range s.To {
		paths := make([]string, len(t.Paths))
		for j, p := range t.Paths {
			paths[j] = pathOf(p.Exact, p.Prefix, p.Regex, p.Template)
		}
		headers := make([]string, len(t.Headers))
		for j, h := range t.Headers {
			headers[j] = h.Name
		}
		entries[i] = pairs("methods", strings.Join(t.Methods, ","), "paths", strings.Join(paths, ","), "headers", strings.Join(headers, ","))
	}
	return anyIfEmpty(entries)
}

// pairs joins with spaces the key=value pairs of kv whose value is set.
func pairs(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			parts = append(parts, kv[i]+"="+kv[i+1])
		}
	}
	return strings.Join(parts, " ")
}

// pathOf shows a path match as kind:value, like prefix:/v1.
func pathOf(exact, prefix, regex, template string) string {
	for _, kv := range [][2]string{{"exact", exact}, {"prefix", prefix}, {"regex", regex}, {"template", template}} {
		if kv[1] != "" {
			return kv[0] + ":" + kv[1]
		}
	}
	return ""
}

func anyIfEmpty(entries []string) string {
	if len(entries) == 0 {
		return "any"
	}
	return strings.Join(entries, "; ")
}

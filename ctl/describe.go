package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// runDescribe: describe <kind> <name>.
func runDescribe(ctx context.Context, s *session, args []string) error {
	if len(args) != 2 {
		return usageErrorf("describe takes a kind and a name")
	}
	k, err := configKindOf(args[0], "describe")
	if err != nil {
		return err
	}
	res, err := s.client.Do(ctx, http.MethodGet, "/v1/"+k.plural+"/"+url.PathEscape(args[1]), nil, nil, "")
	if err != nil {
		return err
	}
	var instances fetched
	if k.plural == "services" {
		instances, err = fetchList(ctx, s.client, "/v1/instances", url.Values{"service": {args[1]}}, "items")
		if err != nil {
			return err
		}
	}
	if s.output != "table" {
		return s.printDescription(res, instances.items)
	}
	return s.printDescribed(k, res, instances.items)
}

// printDescription prints the resource and its instances as one object:
// {"resource": ..., "instances": [...]}.
func (s *session) printDescription(res json.RawMessage, instances []json.RawMessage) error {
	if instances == nil {
		instances = []json.RawMessage{}
	}
	doc, err := json.Marshal(struct {
		Resource  json.RawMessage   `json:"resource"`
		Instances []json.RawMessage `json:"instances"`
	}{res, instances})
	if err != nil {
		return fmt.Errorf("encode description: %w", err)
	}
	return s.printDoc(doc)
}

// printDescribed prints the resource for people: its name and version,
// its spec as YAML and, for a service, a table of its instances.
func (s *session) printDescribed(k *kind, res json.RawMessage, instances []json.RawMessage) error {
	var r struct {
		Name    string          `json:"name"`
		Version int64           `json:"version"`
		Spec    json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return fmt.Errorf("read the %s: %w", k.singular, err)
	}
	spec, err := toYAML(r.Spec)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "Kind:     %s\nName:     %s\nVersion:  %d\nSpec:\n%s", k.singular, r.Name, r.Version, indent(string(spec), "  "))
	if k.plural == "services" {
		if err := describeInstances(&b, instances, s.now()); err != nil {
			return err
		}
	}
	_, err = s.stdout.Write(b.Bytes())
	return err
}

func describeInstances(b *bytes.Buffer, instances []json.RawMessage, now time.Time) error {
	if len(instances) == 0 {
		b.WriteString("Instances: <none>\n")
		return nil
	}
	b.WriteString("Instances:\n")
	k, _ := kindOf("instances")
	var t bytes.Buffer
	if err := writeTable(&t, k, instances, now); err != nil {
		return err
	}
	b.WriteString(indent(t.String(), "  "))
	return nil
}

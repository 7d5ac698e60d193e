package resource

import (
	"encoding/json"
	"fmt"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store"
)

// DecodeItem parses one resource of kind k written in YAML or JSON (as in
// the matching section of a config file) and returns its name and its spec
// as config JSON with defaults applied (a consumer's plain API keys
// hashed). Errors are config.Errors with paths inside the item.
func DecodeItem(k Kind, filename string, data []byte) (string, json.RawMessage, error) {
	c, err := config.ParseItem(filename, data, k.Plural)
	if err != nil {
		return "", nil, err
	}
	it := section(c, k)[0]
	spec, err := json.Marshal(it.value)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s: %w", k.Name, err)
	}
	return it.name, spec, nil
}

// named is one item of a config section.
type named struct {
	name  string
	value any
}

// section returns the items of kind k in c, in order.
func section(c *config.Config, k Kind) []named {
	var out []named
	switch k {
	case Listener:
		for _, v := range c.Listeners {
			out = append(out, named{v.Name, v})
		}
	case Service:
		for _, v := range c.Services {
			out = append(out, named{v.Name, v})
		}
	case Consumer:
		for _, v := range c.Consumers {
			out = append(out, named{v.Name, v})
		}
	case Policy:
		for _, v := range c.Policies {
			out = append(out, named{v.Name, v})
		}
	case Route:
		for _, v := range c.Routes {
			out = append(out, named{v.Name, v})
		}
	case AuthorizationPolicy:
		for _, v := range c.AuthorizationPolicies {
			out = append(out, named{v.Name, v})
		}
	}
	return out
}

// DecodeDocument parses a config document (the file a standalone gateway
// reads, or any part of it) into one unconditional change per resource,
// kind by kind in the order of Kinds and in file order within a kind.
// Per-gateway settings in the document (admin, access_log,
// trusted_proxies) are not resources: each one written is named in the
// returned notes and otherwise ignored.
func DecodeDocument(filename string, data []byte) ([]Change, []string, error) {
	c, err := config.ParseParts(filename, data)
	if err != nil {
		return nil, nil, err
	}
	var changes []Change
	for _, k := range Kinds {
		for _, it := range section(c, k) {
			spec, err := json.Marshal(it.value)
			if err != nil {
				return nil, nil, fmt.Errorf("encode %s %s: %w", k.Name, it.name, err)
			}
			changes = append(changes, Change{Kind: k, Name: it.name, Spec: spec, IfVersion: store.Any})
		}
	}
	var notes []string
	for _, f := range []string{"admin", "access_log", "trusted_proxies"} {
		if c.Written(f) {
			notes = append(notes, fmt.Sprintf("%s is a per-gateway setting, not stored; managed gateways take it from their own flags", f))
		}
	}
	return changes, notes, nil
}

package resource

import (
	"encoding/json"
	"fmt"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store"
)

// DecodeItem parses one resource of kind k written in YAML or JSON (as in
// the matching section of a config file) and returns its name and its spec
// as config JSON with defaults applied. Errors are config.Errors with paths
// inside the item.
func DecodeItem(k Kind, filename string, data []byte) (string, json.RawMessage, error) {
	c, err := config.ParseItem(filename, data, k.Plural)
	if err != nil {
		return "", nil, err
	}
	name, item := itemOf(c, k)
	spec, err := json.Marshal(item)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s: %w", k.Name, err)
	}
	return name, spec, nil
}

func itemOf(c *config.Config, k Kind) (string, any) {
	switch k {
	case Listener:
		return c.Listeners[0].Name, c.Listeners[0]
	case Route:
		return c.Routes[0].Name, c.Routes[0]
	case AuthorizationPolicy:
		return c.AuthorizationPolicies[0].Name, c.AuthorizationPolicies[0]
	default:
		return c.Services[0].Name, c.Services[0]
	}
}

// DecodeDocument parses a config document (the file a standalone gateway
// reads, or any part of it) into one unconditional change per listener,
// route, service and authorization policy, in file order. Per-gateway settings in the document
// (admin, access_log, trusted_proxies) are not resources: each one written
// is named in the returned notes and otherwise ignored.
func DecodeDocument(filename string, data []byte) ([]Change, []string, error) {
	c, err := config.ParseParts(filename, data)
	if err != nil {
		return nil, nil, err
	}
	var changes []Change
	add := func(k Kind, name string, item any) error {
		spec, err := json.Marshal(item)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", k.Name, name, err)
		}
		changes = append(changes, Change{Kind: k, Name: name, Spec: spec, IfVersion: store.Any})
		return nil
	}
	for _, l := range c.Listeners {
		if err := add(Listener, l.Name, l); err != nil {
			return nil, nil, err
		}
	}
	for _, r := range c.Routes {
		if err := add(Route, r.Name, r); err != nil {
			return nil, nil, err
		}
	}
	for _, s := range c.Services {
		if err := add(Service, s.Name, s); err != nil {
			return nil, nil, err
		}
	}
	for _, p := range c.AuthorizationPolicies {
		if err := add(AuthorizationPolicy, p.Name, p); err != nil {
			return nil, nil, err
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

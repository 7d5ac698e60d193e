package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mode says what a config must hold to be complete and which checks apply.
type Mode int

const (
	// Standalone is a gateway's own file: at least one listener and one
	// route, every service with at least one endpoint, TLS files readable.
	Standalone Mode = iota
	// Managed is a config a control plane pushed to a data plane: it may
	// have no listeners or routes yet, and a service may have no static
	// endpoints because its instances register with the control plane.
	Managed
	// Stored is a config as a control plane holds it: like Managed, but
	// the TLS files it names are not read, because they live on the data
	// planes' hosts (each data plane checks them when it applies the
	// config, and refuses it if they are missing).
	Stored
)

// ParseMode is Parse with the completeness rules of mode.
func ParseMode(filename string, data []byte, mode Mode) (*Config, error) {
	return parse(filename, data, mode)
}

// ValidateMode is Validate with the completeness rules of mode.
func (c *Config) ValidateMode(mode Mode) error {
	v := newValidator(c, nil, mode)
	if errs := v.run(); len(errs) > 0 {
		errs.sort()
		return errs
	}
	return nil
}

// Sections that ParseItem accepts.
const (
	SectionListeners = "listeners"
	SectionRoutes    = "routes"
	SectionServices  = "services"
	// SectionAuthorizationPolicies holds AuthorizationPolicy items.
	SectionAuthorizationPolicies = "authorization_policies"
	// SectionPolicies holds Policy items.
	SectionPolicies = "policies"
	// SectionConsumers holds Consumer items.
	SectionConsumers = "consumers"
)

// ParseItem decodes data as one item of section (a listener, route or
// service written on its own, in YAML or JSON), applies its defaults and
// checks everything about it in Stored mode except its references to other
// items, which only the whole config can resolve. The result is a Config
// holding just that item. Error paths are relative to the item (name,
// match.path.prefix), with lines and columns in data.
func ParseItem(filename string, data []byte, section string) (*Config, error) {
	switch section {
	case SectionListeners, SectionRoutes, SectionServices, SectionAuthorizationPolicies, SectionPolicies, SectionConsumers:
	default:
		return nil, fmt.Errorf("config: unknown section %q", section)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d := &decoder{file: filename}
		d.syntax(err)
		return nil, d.errs
	}
	item := &doc
	if item.Kind == yaml.DocumentNode && len(item.Content) == 1 {
		item = item.Content[0]
	}
	if item.Kind != yaml.MappingNode {
		return nil, Errors{{File: filename, Line: item.Line, Column: item.Column, Msg: "expected a mapping (an object) holding one item of " + section}}
	}
	wrapped := &yaml.Node{Kind: yaml.MappingNode, Line: item.Line, Column: item.Column, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: section, Line: item.Line, Column: item.Column},
		{Kind: yaml.SequenceNode, Line: item.Line, Column: item.Column, Content: []*yaml.Node{item}},
	}}
	c := &Config{file: filename, pos: map[string]pos{}}
	d := &decoder{file: filename, pos: c.pos}
	d.value(wrapped, reflect.ValueOf(c).Elem(), "")
	c.SetDefaults()
	v := newValidator(c, d.failed, Stored)
	v.refs = false
	errs := append(d.errs, v.run()...)
	if len(errs) == 0 {
		return c, nil
	}
	prefix := section + "[0]"
	for _, e := range errs {
		e.Path = strings.TrimPrefix(strings.TrimPrefix(e.Path, prefix), ".")
	}
	errs.sort()
	return nil, errs
}

// ParseParts decodes a document holding any part of a config (some
// listeners, routes or services, as `pylon ctl apply -f` sends) in Stored
// mode, checking everything except references to items the document does
// not hold: the control plane checks those against everything it stores.
func ParseParts(filename string, data []byte) (*Config, error) {
	c := &Config{file: filename, pos: map[string]pos{}}
	d := &decoder{file: filename, pos: c.pos}
	d.document(data, c)
	c.SetDefaults()
	v := newValidator(c, d.failed, Stored)
	v.refs = false
	errs := append(d.errs, v.run()...)
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return c, nil
}

// Written reports whether the field at path (like "admin" or
// "routes[0].timeout") was written in the parsed source, as opposed to
// left out and given its default.
func (c *Config) Written(path string) bool { return c.has(path) }

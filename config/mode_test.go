package config

import (
	"errors"
	"strings"
	"testing"
)

func TestModes(t *testing.T) {
	empty := "listeners: []\nroutes: []\nservices: [{name: a}]\n"
	if _, err := ParseMode("f.yaml", []byte(empty), Standalone); err == nil {
		t.Fatal("standalone accepted a config without listeners, routes or endpoints")
	}
	for _, m := range []Mode{Managed, Stored} {
		if _, err := ParseMode("f.yaml", []byte(empty), m); err != nil {
			t.Errorf("mode %d: %v", m, err)
		}
	}
	tls := "services:\n  - name: a\n    tls: {ca: /nonexistent/ca.pem}\n"
	if _, err := ParseMode("f.yaml", []byte(tls), Managed); err == nil || !strings.Contains(err.Error(), "services[0].tls.ca") {
		t.Errorf("managed mode must read TLS files; got %v", err)
	}
	if _, err := ParseMode("f.yaml", []byte(tls), Stored); err != nil {
		t.Errorf("stored mode must not read TLS files: %v", err)
	}
}

func TestParseItem(t *testing.T) {
	c, err := ParseItem("body", []byte(`{"name": "r", "match": {"path": {"prefix": "/x"}}, "service": "elsewhere"}`), SectionRoutes)
	if err != nil {
		t.Fatalf("a route naming a service held elsewhere is a valid item: %v", err)
	}
	if got := c.Routes[0].Service; got != "elsewhere" || len(c.Routes) != 1 {
		t.Fatalf("got %+v", c.Routes)
	}
	_, err = ParseItem("body", []byte("name: r\nmatch: {path: {prefx: /x}}\nservice: s\n"), SectionRoutes)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("got %v, want one error", err)
	}
	if got, want := errs[0].Error(), "body:2:16: match.path.prefx: "; !strings.HasPrefix(got, want) {
		t.Errorf("got %q, want prefix %q", got, want)
	}
	if _, err := ParseItem("body", []byte("[1, 2]"), SectionServices); err == nil {
		t.Error("a list is not one item")
	}
}

func TestParseParts(t *testing.T) {
	c, err := ParseParts("f.yaml", []byte("routes:\n  - name: r\n    match: {path: {prefix: /}}\n    service: s\n"))
	if err != nil {
		t.Fatalf("a document with only a route is a valid part: %v", err)
	}
	if c.Written("admin") || !c.Written("routes") {
		t.Errorf("Written: admin %v routes %v", c.Written("admin"), c.Written("routes"))
	}
}

func TestMeshMarks(t *testing.T) {
	c := &Config{
		Listeners: []Listener{{Name: "inbound", Address: "127.0.0.1:15006", Mesh: true}},
		Services:  []Service{{Name: "catalog", Protocol: ProtocolH2, Mesh: true}},
	}
	c.SetDefaults()
	if err := c.ValidateMode(Managed); err != nil {
		t.Errorf("a mesh service speaks h2 without tls settings: %v", err)
	}
	c.Listeners[0].TLS = &ListenerTLS{}
	if err := c.ValidateMode(Managed); err == nil || !strings.Contains(err.Error(), "listeners[0].tls: a mesh listener") {
		t.Errorf("got %v, want a mesh listener with tls refused", err)
	}
	if _, err := Parse("f.yaml", []byte("listeners: [{name: web, address: 127.0.0.1:1, mesh: true}]\nroutes: []\n")); err == nil || !strings.Contains(err.Error(), `unknown field "mesh"`) {
		t.Errorf("got %v, want mesh refused in a file", err)
	}
}

package appfile

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
)

const diffBase = `services:
  - name: a
    command: [a]
    replicas: 2
    env: { K: v }
    upstreams: [b, c]
  - name: b
    command: [b]
  - name: c
    command: [c]
gateway:
  listeners: [{ name: web, address: 127.0.0.1:8080 }]
  routes: [{ name: r, service: a }]
`

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		next string
		want Changes
	}{
		{"same", diffBase, Changes{}},
		{"same, moved lines and reordered upstreams", "\n\n" + replace(diffBase, "upstreams: [b, c]", "upstreams: [c, b]"), Changes{}},
		{"rescaled", replace(diffBase, "replicas: 2", "replicas: 5"), Changes{Rescaled: []string{"a"}}},
		{"rescaled to the default", replace(diffBase, "    replicas: 2\n", ""), Changes{Rescaled: []string{"a"}}},
		{"env changed and rescaled", replace(replace(diffBase, "K: v", "K: w"), "replicas: 2", "replicas: 1"), Changes{Changed: []string{"a"}}},
		{"command changed", replace(diffBase, "command: [b]", "command: [b, -v]"), Changes{Changed: []string{"b"}}},
		{"upstream dropped", replace(diffBase, "upstreams: [b, c]", "upstreams: [b]"), Changes{Changed: []string{"a"}}},
		{"health changed", replace(diffBase, "command: [c]", "command: [c]\n    health: { tcp: {}, interval: 2s }"), Changes{Changed: []string{"c"}}},
		{"protocol changed", replace(diffBase, "command: [c]", "command: [c]\n    protocol: h2c"), Changes{Changed: []string{"c"}, Config: true}},
		{"added and removed", replace(diffBase, "name: c\n    command: [c]", "name: d\n    command: [d]\n  - name: c\n    command: [c]\n  - name: e\n    command: [e]"),
			Changes{Added: []string{"d", "e"}, Config: true}},
		{"removed", replace(replace(diffBase, "  - name: b\n    command: [b]\n", ""), "upstreams: [b, c]", "upstreams: [c]"),
			Changes{Removed: []string{"b"}, Changed: []string{"a"}, Config: true}},
		{"gateway changed", replace(diffBase, "8080", "8081"), Changes{Config: true}},
		{"gateway removed", diffBase[:len(diffBase)-len("gateway:\n  listeners: [{ name: web, address: 127.0.0.1:8080 }]\n  routes: [{ name: r, service: a }]\n")],
			Changes{Config: true}},
	}
	base, err := Parse("app.yaml", []byte(diffBase))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := Parse("app.yaml", []byte(tt.next))
			if err != nil {
				t.Fatal(err)
			}
			got := base.Diff(next)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
			if got, want := got.Empty(), cmp.Equal(tt.want, Changes{}); got != want {
				t.Errorf("Empty() = %v, want %v", got, want)
			}
		})
	}
}

// replace replaces the first old in s with new; old must be there.
func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("replace: " + old + " not found")
	}
	return strings.Replace(s, old, new, 1)
}

const policiesBase = `services:
  - name: a
    command: [a]
gateway:
  listeners: [{ name: web, address: 127.0.0.1:8080 }]
  routes: [{ name: r, service: a, policies: [keyed] }]
  policies:
    - { name: keyed, authentication: { api_key: {} }, allow_consumers: [partner], rate_limit: { requests: 2, per: 1m, by: consumer } }
  consumers:
    - { name: partner, api_keys: [pk-0f1e2d3c4b5a69788] }
`

func TestDiffGatewayPolicies(t *testing.T) {
	base, err := Parse("app.yaml", []byte(policiesBase))
	if err != nil {
		t.Fatal(err)
	}
	hashed := config.HashAPIKey("pk-0f1e2d3c4b5a69788")
	tests := []struct {
		name string
		next string
		want Changes
	}{
		{"same", policiesBase, Changes{}},
		{"a key written as its hash", replace(policiesBase, "pk-0f1e2d3c4b5a69788", hashed), Changes{}},
		{"a policy's limit changed", replace(policiesBase, "requests: 2", "requests: 3"), Changes{Config: true}},
		{"a key rotated", replace(policiesBase, "pk-0f1e2d3c4b5a69788", "pk-a1b2c3d4e5f60718"), Changes{Config: true}},
		{"a route's policy removed", replace(policiesBase, ", policies: [keyed]", ""), Changes{Config: true}},
		{"every policy and consumer removed", replace(policiesBase[:strings.Index(policiesBase, "  policies:")], ", policies: [keyed]", ""), Changes{Config: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, err := Parse("app.yaml", []byte(tt.next))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, base.Diff(next)); d != "" {
				t.Errorf("Diff (-want +got):\n%s", d)
			}
		})
	}
}

package lifecycle

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/appfile"
)

const fullApp = `services:
  - { name: orders, command: [orders] }
gateway:
  listeners: [{ name: web, address: 127.0.0.1:8080 }, { name: alt, address: 127.0.0.1:8081 }]
  routes:
    - { name: orders, service: orders, policies: [keyed] }
    - { name: ext, service: payments, listeners: [alt] }
  services: [{ name: payments, endpoints: [127.0.0.1:9000] }]
  policies:
    - { name: keyed, authentication: { api_key: {} }, allow_consumers: [partner] }
    - { name: spare, rate_limit: { requests: 1, per: 1s } }
  consumers:
    - { name: partner, api_keys: [pk-0f1e2d3c4b5a69788] }
authorization_policies:
  - { name: open, service: orders, action: allow }
`

// TestStaleResources: what an edited app file no longer has is deleted
// each before what it refers to, so every delete leaves a valid config.
func TestStaleResources(t *testing.T) {
	tests := []struct {
		name string
		next string
		want []string
	}{
		{"same", fullApp, nil},
		{"a route's policy dropped", strings.Replace(fullApp, ", policies: [keyed]", "", 1), nil},
		{"policies and consumers dropped", strings.Replace(fullApp[:strings.Index(fullApp, "  policies:")], ", policies: [keyed]", "", 1) +
			"authorization_policies:\n  - { name: open, service: orders, action: allow }\n",
			[]string{"/v1/policies/keyed", "/v1/policies/spare", "/v1/consumers/partner"}},
		{"everything but the services", "services:\n  - { name: orders, command: [orders] }\n",
			[]string{"/v1/authorization_policies/open", "/v1/routes/orders", "/v1/routes/ext", "/v1/policies/keyed", "/v1/policies/spare",
				"/v1/consumers/partner", "/v1/services/payments", "/v1/listeners/web", "/v1/listeners/alt"}},
	}
	old, err := appfile.Parse("app.yaml", []byte(fullApp))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, err := appfile.Parse("app.yaml", []byte(tc.next))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, staleResources(old.Config(), next.Config())); d != "" {
				t.Errorf("deletes (-want +got):\n%s", d)
			}
		})
	}
}

package appfile

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
)

// TestParseGatewayPolicies: the gateway's policies and consumers are
// defaulted like a gateway file's, their relative paths resolved against
// the app file's directory, and they reach Config with keys only hashed.
func TestParseGatewayPolicies(t *testing.T) {
	src := policiesBase + `    - { name: bot, rate_limit: { requests: 10, per: 1s } }
  services: [{ name: ext, endpoints: [127.0.0.1:9000] }]
`
	src = replace(src, "  policies:\n", "  policies:\n    - { name: sso, authentication: { jwt: { issuer: https://id.example, jwks_file: keys/jwks.json } } }\n")
	a, err := Parse("/app/shop/app.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := a.Config()
	wantPolicies := []config.Policy{
		{Name: "sso", Authentication: &config.Authentication{JWT: &config.JWTAuth{
			Issuer: "https://id.example", JWKSFile: "/app/shop/keys/jwks.json",
			JWKSRefresh: config.Duration(5 * time.Minute), Leeway: config.Duration(30 * time.Second), IdentityClaim: "sub",
		}}},
		{Name: "keyed", Authentication: &config.Authentication{APIKey: &config.APIKeyAuth{Header: "X-API-Key"}},
			AllowConsumers: []string{"partner"},
			RateLimit:      &config.RateLimit{Requests: 2, Per: config.Duration(time.Minute), Burst: 2, By: config.RateLimitByConsumer, OnError: config.RateLimitAllow}},
	}
	if d := cmp.Diff(wantPolicies, c.Policies); d != "" {
		t.Errorf("policies (-want +got):\n%s", d)
	}
	wantConsumers := []config.Consumer{
		{Name: "partner", APIKeys: []string{config.HashAPIKey("pk-0f1e2d3c4b5a69788")}},
		{Name: "bot", RateLimit: &config.ConsumerLimit{Requests: 10, Per: config.Duration(time.Second), Burst: 10}},
	}
	if d := cmp.Diff(wantConsumers, c.Consumers); d != "" {
		t.Errorf("consumers (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"keyed"}, c.Routes[0].Policies); d != "" {
		t.Errorf("route policies (-want +got):\n%s", d)
	}
	doc, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), "pk-0f1e2d3c4b5a69788") {
		t.Errorf("the config the control plane is sent holds the plain API key: %s", doc)
	}
}

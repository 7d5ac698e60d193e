package config

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPolicyDefaultsAndKeyHashing(t *testing.T) {
	in := snippet{
		route: "{name: orders, service: orders, policies: [partners, per-ip]}",
		top: `consumers:
  - {name: acme, api_keys: [acme-key-0123456789], rate_limit: {requests: 5, per: 1s}}
policies:
  - name: partners
    authentication: {api_key: {}, jwt: {issuer: https://id.example, jwks_url: "https://id.example/jwks.json"}}
    allow_consumers: [acme]
  - {name: per-ip, rate_limit: {requests: 10, per: 1m}}
`}
	c, err := Parse("f.yaml", []byte(in.String()))
	if err != nil {
		t.Fatalf("Parse: %v\ninput:\n%s", err, in)
	}
	got := []any{
		c.Consumers[0].APIKeys[0], c.Consumers[0].RateLimit.Burst,
		c.Policies[0].Authentication.APIKey.Header, c.Policies[0].Authentication.JWT.IdentityClaim,
		c.Policies[0].Authentication.JWT.Leeway.String(), c.Policies[0].Authentication.JWT.JWKSRefresh.String(),
		*c.Policies[1].RateLimit,
	}
	want := []any{
		HashAPIKey("acme-key-0123456789"), 5,
		"X-API-Key", "sub", "30s", "5m0s",
		RateLimit{Requests: 10, Per: Duration(60e9), Burst: 10, By: RateLimitByClientIP, OnError: RateLimitAllow},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if strings.Contains(string(mustJSON(t, c.Redacted())), "acme-key") {
		t.Errorf("the plain API key is still in the redacted config")
	}
}

func TestPolicyInvalid(t *testing.T) {
	const consumer = "consumers:\n  - {name: acme, api_keys: [acme-key-0123456789]}\n"
	tests := []struct {
		name string
		in   snippet
		want []string
	}{
		{"unknown policy", snippet{route: "{name: orders, service: orders, policies: [nope]}"},
			[]string{`f.yaml:4:48: routes[0].policies[0]: unknown policy "nope"; none are defined`}},
		{"empty policy", snippet{top: "policies:\n  - {name: p}"},
			[]string{`f.yaml:8:5: policies[0]: a policy needs at least one of authentication, allow_consumers, rate_limit`}},
		{"allow without authentication", snippet{top: consumer + "policies:\n  - {name: p, allow_consumers: [acme, ghost]}"},
			[]string{
				`f.yaml:10:15: policies[0].allow_consumers: needs authentication in the same policy: without it no request has a consumer`,
				`f.yaml:10:39: policies[0].allow_consumers[1]: unknown consumer "ghost"; defined: acme`,
			}},
		{"short and duplicate keys", snippet{top: "consumers:\n  - {name: a, api_keys: [short, acme-key-0123456789]}\n  - {name: b, api_keys: [acme-key-0123456789, 'sha256:ab']}"},
			[]string{
				`f.yaml:8:26: consumers[0].api_keys[0]: an API key needs at least 16 characters, found 5; use a random one (openssl rand -hex 24)`,
				`f.yaml:9:26: consumers[1].api_keys[0]: the same API key is already at consumers[0].api_keys[1]; every key names one consumer`,
				`f.yaml:9:47: consumers[1].api_keys[1]: a hashed key is "sha256:" and 64 lower-case hex digits (the SHA-256 of the key)`,
			}},
		{"jwt needs issuer and one key source", snippet{top: "policies:\n  - {name: p, authentication: {jwt: {algorithms: [none]}}}"},
			[]string{
				`f.yaml:8:32: policies[0].authentication.jwt.issuer: required: the iss claim tokens must carry`,
				`f.yaml:8:32: policies[0].authentication.jwt: exactly one of jwks_file, jwks_url is required, found 0`,
				`f.yaml:8:51: policies[0].authentication.jwt.algorithms[0]: "none" is not valid; use one of: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512`,
			}},
		{"jwks file missing", snippet{top: "policies:\n  - {name: p, authentication: {jwt: {issuer: i, jwks_file: /nonexistent/jwks.json}}}"},
			[]string{`f.yaml:8:49: policies[0].authentication.jwt.jwks_file: stat /nonexistent/jwks.json: no such file or directory`}},
		{"rate limit fields", snippet{top: "policies:\n  - {name: p, rate_limit: {requests: 0, by: header, redis: nohost, on_error: maybe}}"},
			[]string{
				`f.yaml:8:15: policies[0].rate_limit.per: required: a period of at least 1ms, like 1s or 1m`,
				`f.yaml:8:15: policies[0].rate_limit.header: required with by: header: the header whose values are counted apart`,
				`f.yaml:8:28: policies[0].rate_limit.requests: must be between 1 and 1000000000, not 0`,
				`f.yaml:8:53: policies[0].rate_limit.redis: "nohost" is not host:port (like 127.0.0.1:8080 or example.com:443)`,
				`f.yaml:8:68: policies[0].rate_limit.on_error: "maybe" is not valid; use one of: allow, deny`,
			}},
		{"consumer limit needs authentication first", snippet{
			route: "{name: orders, service: orders, policies: [limit, auth]}",
			top:   "policies:\n  - {name: limit, rate_limit: {requests: 1, per: 1s, by: consumer}}\n  - {name: auth, authentication: {api_key: {}}}"},
			[]string{`f.yaml:4:48: routes[0].policies[0]: policy "limit" limits by consumer, but no policy before it on this route (or in it) authenticates`}},
		{"two authentications", snippet{
			route: "{name: orders, service: orders, policies: [a, b, a]}",
			top:   "policies:\n  - {name: a, authentication: {api_key: {}}}\n  - {name: b, authentication: {api_key: {header: x-key}}}"},
			[]string{
				`f.yaml:4:51: routes[0].policies[1]: policy "b" authenticates, and so does "a" before it; a route has one way to authenticate`,
				`f.yaml:4:54: routes[0].policies[2]: policy "a" is listed twice`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.in.String()))
			if err == nil {
				t.Fatalf("Parse: got nil error, want %q\ninput:\n%s", tc.want, tc.in)
			}
			if diff := cmp.Diff(tc.want, errLines(t, err)); diff != "" {
				t.Errorf("Parse errors (-want +got):\n%s\ninput:\n%s", diff, tc.in)
			}
		})
	}
}

func mustJSON(t *testing.T, c *Config) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

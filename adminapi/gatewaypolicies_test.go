package adminapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/resource"
)

// Plain API keys a consumer is written with; only their hashes may leave.
const (
	partnerKey = "pk-0f1e2d3c4b5a69788"
	rotatedKey = "pk-a1b2c3d4e5f60718"
)

const gatewayPoliciesDoc = `services: [{name: orders, endpoints: ["127.0.0.1:9001"]}]
routes:
  - {name: orders, match: {path: {prefix: /orders}}, service: orders, policies: [keyed]}
policies:
  - {name: keyed, authentication: {api_key: {}}, allow_consumers: [partner], rate_limit: {requests: 2, per: 1m, by: consumer}}
consumers:
  - {name: partner, api_keys: ["` + partnerKey + `"]}
`

// noPlainKeys fails the test if body holds one of the plain keys.
func noPlainKeys(t *testing.T, what string, body []byte) {
	t.Helper()
	for _, k := range []string{partnerKey, rotatedKey} {
		if strings.Contains(string(body), k) {
			t.Errorf("%s shows the plain API key %q: %s", what, k, body)
		}
	}
}

func TestGatewayPoliciesAndConsumers(t *testing.T) {
	h := newHarness(t)
	resp := h.do(t, "POST", "/v1/apply?dry_run=true", gatewayPoliciesDoc)
	want(t, resp, http.StatusOK, "")
	noPlainKeys(t, "a dry run's diffs", resp.body)
	resp = h.do(t, "POST", "/v1/apply", gatewayPoliciesDoc)
	want(t, resp, http.StatusOK, "")
	var applied adminapi.ApplyResult
	decode(t, resp, &applied)
	wantSteps := []string{"service/orders created", "consumer/partner created", "policy/keyed created", "route/orders created"}
	if d := cmp.Diff(wantSteps, outcomes(applied)); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}

	// A consumer reads back with its key hashed, by GET and by list.
	resp = h.do(t, "GET", "/v1/consumers/partner", "")
	want(t, resp, http.StatusOK, "")
	noPlainKeys(t, "GET /v1/consumers/partner", resp.body)
	var got adminapi.Resource
	decode(t, resp, &got)
	var consumer config.Consumer
	if err := json.Unmarshal(got.Spec, &consumer); err != nil {
		t.Fatal(err)
	}
	wantConsumer := config.Consumer{Name: "partner", APIKeys: []string{config.HashAPIKey(partnerKey)}}
	if d := cmp.Diff(wantConsumer, consumer); d != "" {
		t.Errorf("GET consumer (-want +got):\n%s", d)
	}
	resp = h.do(t, "GET", "/v1/consumers", "")
	want(t, resp, http.StatusOK, "")
	noPlainKeys(t, "GET /v1/consumers", resp.body)

	// Replacing one item (PUT, as ctl and the UI send it) hashes its key too.
	resp = h.do(t, "PUT", "/v1/consumers/partner", "name: partner\napi_keys: ["+rotatedKey+"]\n", "If-Match", etagOf(got.Version))
	want(t, resp, http.StatusOK, "")
	noPlainKeys(t, "PUT /v1/consumers/partner", resp.body)
	resp = h.do(t, "GET", "/v1/consumers/partner", "")
	noPlainKeys(t, "GET after PUT", resp.body)
	if !strings.Contains(string(resp.body), config.HashAPIKey(rotatedKey)) {
		t.Errorf("GET after PUT: got %s, want the new key's hash", resp.body)
	}
	// The consumer's old version is stale now.
	want(t, h.do(t, "PUT", "/v1/consumers/partner", "name: partner\napi_keys: ["+partnerKey+"]\n", "If-Match", etagOf(got.Version)),
		http.StatusPreconditionFailed, "version_mismatch")

	resp = h.do(t, "GET", "/v1/policies/keyed", "")
	want(t, resp, http.StatusOK, "")
	var policy adminapi.Resource
	decode(t, resp, &policy)
	if d := cmp.Diff([2]string{"policy", "keyed"}, [2]string{policy.Kind, policy.Name}); d != "" {
		t.Errorf("GET policy kind and name (-want +got):\n%s", d)
	}
	want(t, h.do(t, "PUT", "/v1/policies/spare", "name: spare\nrate_limit: {requests: 5, per: 1s}\n"), http.StatusCreated, "")
	want(t, h.do(t, "DELETE", "/v1/policies/spare", ""), http.StatusOK, "")
	want(t, h.do(t, "GET", "/v1/policies/spare", ""), http.StatusNotFound, "not_found")
}

func TestGatewayPolicyReferencesRefused(t *testing.T) {
	h := newHarness(t)
	want(t, h.do(t, "POST", "/v1/apply", gatewayPoliciesDoc), http.StatusOK, "")
	tests := []struct {
		name, method, path, body string
		want                     []problem
	}{
		{"deleting a consumer a policy lists", "DELETE", "/v1/consumers/partner", "",
			[]problem{{Resource: "policy/keyed", Path: "allow_consumers[0]", Message: `unknown consumer "partner"; none are defined`}}},
		{"deleting a policy a route lists", "DELETE", "/v1/policies/keyed", "",
			[]problem{{Resource: "route/orders", Path: "policies[0]", Message: `unknown policy "keyed"; none are defined`}}},
		{"a route naming a missing policy", "PUT", "/v1/routes/orders",
			"name: orders\nmatch: {path: {prefix: /orders}}\nservice: orders\npolicies: [keyed, nope]\n",
			[]problem{{Resource: "route/orders", Path: "policies[1]", Message: `unknown policy "nope"; defined: keyed`}}},
		{"a policy naming a missing consumer", "POST", "/v1/policies",
			"name: other\nauthentication: {api_key: {}}\nallow_consumers: [ghost]\n",
			[]problem{{Resource: "policy/other", Path: "allow_consumers[0]", Message: `unknown consumer "ghost"; defined: partner`}}},
		{"a consumer with a short plain key", "POST", "/v1/consumers",
			"name: weak\napi_keys: [short]\n",
			[]problem{{Resource: "body", Path: "api_keys[0]", Line: 2, Column: 12, Message: "an API key needs at least 16 characters, found 5; use a random one (openssl rand -hex 24)"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(t, tc.method, tc.path, tc.body)
			want(t, resp, http.StatusUnprocessableEntity, "invalid_config")
			if d := cmp.Diff(tc.want, decodeError(t, resp).Details); d != "" {
				t.Errorf("details (-want +got):\n%s", d)
			}
		})
	}
	var route adminapi.Resource
	decode(t, h.do(t, "GET", "/v1/routes/orders", ""), &route)
	var spec config.Route
	if err := json.Unmarshal(route.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"keyed"}, spec.Policies); d != "" {
		t.Errorf("route orders' policies after the refused writes (-want +got):\n%s", d)
	}
}

func TestUnknownKindListsEveryKind(t *testing.T) {
	h := newHarness(t)
	resp := h.do(t, "GET", "/v1/widgets", "")
	want(t, resp, http.StatusNotFound, "not_found")
	e := decodeError(t, resp)
	for _, k := range resource.Kinds {
		if !strings.Contains(e.Message, k.Plural) {
			t.Errorf("got message %q, want it to list %s", e.Message, k.Plural)
		}
	}
}

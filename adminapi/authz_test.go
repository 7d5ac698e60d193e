package adminapi_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/config"
)

const policiesDoc = `authorization_policies:
  - name: inventory-writes
    service: inventory
    action: allow
    from: [{ services: [orders] }]
    to: [{ methods: [post], paths: [{ prefix: /v1/stock }] }]
  - { name: no-batch, service: inventory, action: deny, from: [{ namespaces: [batch] }] }
`

func TestAuthorizationPolicies(t *testing.T) {
	h := newHarness(t)
	resp := h.do(t, "POST", "/v1/apply", policiesDoc)
	want(t, resp, http.StatusOK, "")
	var applied adminapi.ApplyResult
	decode(t, resp, &applied)
	wantSteps := []string{"authorization_policy/inventory-writes created", "authorization_policy/no-batch created"}
	if diff := cmp.Diff(wantSteps, outcomes(applied)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}

	resp = h.do(t, "GET", "/v1/authorization_policies/inventory-writes", "")
	want(t, resp, http.StatusOK, "")
	var got adminapi.Resource
	decode(t, resp, &got)
	var spec config.AuthorizationPolicy
	if err := json.Unmarshal(got.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	wantSpec := config.AuthorizationPolicy{
		Name: "inventory-writes", Service: "inventory", Namespace: "default", Action: "allow",
		From: []config.PolicySource{{Services: []string{"orders"}}},
		To:   []config.PolicyTarget{{Methods: []string{"POST"}, Paths: []config.PathMatch{{Prefix: "/v1/stock"}}}},
	}
	if diff := cmp.Diff([2]string{"authorization_policy", "inventory-writes"}, [2]string{got.Kind, got.Name}); diff != "" {
		t.Errorf("GET kind and name (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantSpec, spec); diff != "" {
		t.Errorf("GET spec (-want +got):\n%s", diff)
	}
	var list adminapi.List
	decode(t, h.do(t, "GET", "/v1/authorization_policies", ""), &list)
	if len(list.Items) != 2 {
		t.Errorf("list: got %d items, want 2", len(list.Items))
	}

	want(t, h.do(t, "PUT", "/v1/authorization_policies/open", "name: open\nservice: catalog\naction: allow\n"), http.StatusCreated, "")
	want(t, h.do(t, "DELETE", "/v1/authorization_policies/open", ""), http.StatusOK, "")
	want(t, h.do(t, "GET", "/v1/authorization_policies/open", ""), http.StatusNotFound, "not_found")
}

func TestAuthorizationPolicyInvalid(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name, method, path, body string
		want                     []problem
	}{
		{
			"one policy", "POST", "/v1/authorization_policies",
			"name: p\nservice: s\naction: permit\nfrom: [{identities: [spiffe://td]}]\nto: [{}]\n",
			[]problem{
				{Resource: "body", Path: "action", Line: 3, Column: 1, Message: `"permit" is not valid; use one of: allow, deny`},
				{Resource: "body", Path: "from[0].identities[0]", Line: 4, Column: 22, Message: `"spiffe://td" is not a SPIFFE ID: the path is missing; a workload's is /ns/<namespace>/svc/<service>`},
				{Resource: "body", Path: "to[0]", Line: 5, Column: 6, Message: "at least one of methods, paths, headers is required"},
			},
		},
		{
			"a document", "POST", "/v1/apply",
			"authorization_policies:\n  - {name: p, service: s, action: allow, to: [{paths: [{prefix: v1}]}]}\n",
			[]problem{
				{Resource: "body", Path: "authorization_policies[0].to[0].paths[0].prefix", Line: 2, Column: 57, Message: `must start with "/"`},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(t, tc.method, tc.path, tc.body)
			want(t, resp, http.StatusUnprocessableEntity, "invalid_config")
			if diff := cmp.Diff(tc.want, decodeError(t, resp).Details); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenAPIPolicySchemasMatchTypes(t *testing.T) {
	doc := loadDoc(t)
	for _, tc := range []struct {
		schema string
		value  any
	}{
		{"AuthorizationPolicy", config.AuthorizationPolicy{}},
		{"PolicySource", config.PolicySource{}},
		{"PolicyTarget", config.PolicyTarget{}},
	} {
		s, ok := doc.Components.Schemas[tc.schema]
		if !ok {
			t.Fatalf("no schema %s", tc.schema)
		}
		var got []string
		for name := range s.Properties {
			got = append(got, name)
		}
		slices.Sort(got)
		if diff := cmp.Diff(jsonFields(reflect.TypeOf(tc.value)), got); diff != "" {
			t.Errorf("fields of %T (-) and properties of %s (+) differ:\n%s", tc.value, tc.schema, diff)
		}
	}
}

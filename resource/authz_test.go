package resource

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store"
)

const policiesDoc = `authorization_policies:
  - name: inventory-writes
    service: inventory
    action: allow
    from: [{ services: [orders] }]
    to: [{ methods: [post], paths: [{ prefix: /v1/stock }] }]
  - { name: no-batch, service: inventory, namespace: shop, action: deny, from: [{ namespaces: [batch] }] }
`

func TestApplyAuthorizationPolicies(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	changes, notes, err := DecodeDocument("policies.yaml", []byte(policiesDoc))
	if err != nil || notes != nil {
		t.Fatalf("DecodeDocument: got %v, %v, want no error and no notes", err, notes)
	}
	outs, err := Write(ctx, st, changes, false)
	if err != nil {
		t.Fatalf("Write: got error %v, want nil (a policy's service need not be stored)", err)
	}
	var got []string
	for _, o := range outs {
		got = append(got, o.Kind+"/"+o.Name+" "+o.Action)
	}
	want := []string{"authorization_policy/inventory-writes created", "authorization_policy/no-batch created"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	s, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if it, ok := s.Get(AuthorizationPolicy, "no-batch"); !ok || it.Version == 0 {
		t.Errorf("Get(no-batch): got %+v, %v, want the stored policy", it, ok)
	}
	c, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := config.ParseParts("policies.yaml", []byte(policiesDoc))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(parsed.AuthorizationPolicies, c.AuthorizationPolicies); diff != "" {
		t.Errorf("stored policies (-file +stored):\n%s", diff)
	}
	if got := c.AuthorizationPolicies[0].To[0].Methods; !cmp.Equal(got, []string{"POST"}) {
		t.Errorf("methods: got %v, want [POST]", got)
	}
}

func TestDecodeAuthorizationPolicyItem(t *testing.T) {
	name, spec, err := DecodeItem(AuthorizationPolicy, "body", []byte(`{name: p, service: s, action: deny}`))
	if err != nil {
		t.Fatalf("DecodeItem: got error %v, want nil", err)
	}
	var got config.AuthorizationPolicy
	if err := json.Unmarshal(spec, &got); err != nil {
		t.Fatal(err)
	}
	want := config.AuthorizationPolicy{Name: "p", Service: "s", Namespace: "default", Action: "deny"}
	if name != "p" || !cmp.Equal(want, got) {
		t.Errorf("DecodeItem: got %q %+v, want p %+v", name, got, want)
	}
	_, _, err = DecodeItem(AuthorizationPolicy, "body", []byte("name: p\nservice: s\naction: permit\n"))
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Path != "action" || errs[0].Line != 3 {
		t.Errorf("DecodeItem of a bad action: got %v, want one error at body:3 action", err)
	}
}

func TestInvalidStoredPolicyNamesIt(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	spec := json.RawMessage(`{"name":"p","service":"s","namespace":"default","action":"permit","from":[{"identities":["spiffe://x"]}]}`)
	_, err := Write(ctx, st, []Change{{Kind: AuthorizationPolicy, Name: "p", Spec: spec, IfVersion: store.Absent}}, false)
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("got %v, want an InvalidError", err)
	}
	want := []Problem{
		{Resource: "authorization_policy/p", Path: "action", Message: `"permit" is not valid; use one of: allow, deny`},
		{Resource: "authorization_policy/p", Path: "from[0].identities[0]",
			Message: `"spiffe://x" is not a SPIFFE ID: the path is missing; a workload's is /ns/<namespace>/svc/<service>`},
	}
	if diff := cmp.Diff(want, inv.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestKindOfAuthorizationPolicy(t *testing.T) {
	for _, name := range []string{"authorization_policy", "authorization_policies"} {
		if k, ok := KindOf(name); !ok || k != AuthorizationPolicy {
			t.Errorf("KindOf(%q): got %v, %v, want AuthorizationPolicy", name, k, ok)
		}
	}
	if got, want := AuthorizationPolicy.Key("p"), "config/authorization_policies/p"; got != want {
		t.Errorf("Key: got %q, want %q", got, want)
	}
}

package resource

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store"
)

// plainKey is a consumer's API key as written; only its hash may be stored.
const plainKey = "k-3f9a0c51d2e847b6"

const gatewayPoliciesDoc = `listeners: [{name: web, address: "127.0.0.1:8080"}]
services: [{name: api, endpoints: ["127.0.0.1:9001"]}]
routes:
  - {name: api, match: {path: {prefix: /api}}, service: api, policies: [keyed, per-consumer]}
  - {name: open, match: {path: {prefix: /open}}, service: api}
policies:
  - name: keyed
    authentication: {api_key: {}}
    allow_consumers: [partner]
  - name: per-consumer
    rate_limit: {requests: 2, per: 1m, by: consumer}
  - {name: spare, rate_limit: {requests: 100, per: 1s}}
consumers:
  - {name: partner, api_keys: ["` + plainKey + `"], rate_limit: {requests: 10, per: 1s}}
  - {name: idle, api_keys: ["sha256:` + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" + `"]}
`

// applyPolicies stores gatewayPoliciesDoc.
func applyPolicies(t *testing.T) store.Store {
	t.Helper()
	st := openStore(t)
	changes, _, err := DecodeDocument("gw.yaml", []byte(gatewayPoliciesDoc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), st, changes, false); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestApplyPoliciesAndConsumers(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	changes, _, err := DecodeDocument("gw.yaml", []byte(gatewayPoliciesDoc))
	if err != nil {
		t.Fatal(err)
	}
	outs, err := Write(ctx, st, changes, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		got = append(got, o.Kind+"/"+o.Name+" "+o.Action)
	}
	// Kind by kind, each after the kinds it refers to.
	want := []string{"listener/web created", "service/api created", "consumer/partner created", "consumer/idle created",
		"policy/keyed created", "policy/per-consumer created", "policy/spare created", "route/api created", "route/open created"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	s, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Config()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := config.ParseParts("gw.yaml", []byte(gatewayPoliciesDoc))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(parsed.Policies, c.Policies); d != "" {
		t.Errorf("stored policies (-file +stored):\n%s", d)
	}
	if d := cmp.Diff(parsed.Consumers, c.Consumers); d != "" {
		t.Errorf("stored consumers (-file +stored):\n%s", d)
	}
	if d := cmp.Diff([]string{"keyed", "per-consumer"}, c.Routes[0].Policies); d != "" {
		t.Errorf("route api's policies (-want +got):\n%s", d)
	}
	// Applying the file again changes nothing: a hashed key stays the same.
	outs, err = Write(ctx, st, changes, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Action != Unchanged {
			t.Errorf("second apply: got %+v, want unchanged", o)
		}
	}
}

// TestPolicyReferences: routes may name only stored policies, and policies
// only stored consumers, whichever side the write changes.
func TestPolicyReferences(t *testing.T) {
	st := applyPolicies(t)
	item := func(k Kind, src string) Change {
		t.Helper()
		name, spec, err := DecodeItem(k, "body", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return Change{Kind: k, Name: name, Spec: spec, IfVersion: store.Any}
	}
	del := func(k Kind, name string) Change {
		return Change{Kind: k, Name: name, Delete: true, IfVersion: store.Any}
	}
	tests := []struct {
		name    string
		changes []Change
		want    []Problem // nil: accepted
	}{
		{"a route naming a missing policy",
			[]Change{item(Route, `{name: x, match: {path: {prefix: /x}}, service: api, policies: [keyed, nope]}`)},
			[]Problem{{Resource: "route/x", Path: "policies[1]", Message: `unknown policy "nope"; defined: keyed, per-consumer, spare`}}},
		{"a policy naming a missing consumer",
			[]Change{item(Policy, `{name: keyed, authentication: {api_key: {}}, allow_consumers: [partner, ghost]}`)},
			[]Problem{{Resource: "policy/keyed", Path: "allow_consumers[1]", Message: `unknown consumer "ghost"; defined: idle, partner`}}},
		{"deleting a consumer a policy lists",
			[]Change{del(Consumer, "partner")},
			[]Problem{{Resource: "policy/keyed", Path: "allow_consumers[0]", Message: `unknown consumer "partner"; defined: idle`}}},
		{"deleting a policy a route lists",
			[]Change{del(Policy, "per-consumer")},
			[]Problem{{Resource: "route/api", Path: "policies[1]", Message: `unknown policy "per-consumer"; defined: keyed, spare`}}},
		{"a policy losing the authentication a route's consumer limit needs",
			[]Change{item(Policy, `{name: keyed, rate_limit: {requests: 1, per: 1s}}`)},
			[]Problem{{Resource: "route/api", Path: "policies[1]", Message: `policy "per-consumer" limits by consumer, but no policy before it on this route (or in it) authenticates`}}},
		{"deleting what nothing lists", []Change{del(Policy, "spare"), del(Consumer, "idle")}, nil},
		{"deleting a policy with the route listing it",
			[]Change{del(Route, "api"), del(Policy, "keyed"), del(Policy, "per-consumer"), del(Consumer, "partner")}, nil},
		{"a route and the policy and consumer it needs at once",
			[]Change{
				item(Route, `{name: x, match: {path: {prefix: /x}}, service: api, policies: [new]}`),
				item(Policy, `{name: new, authentication: {api_key: {header: X-Key}}, allow_consumers: [newbie]}`),
				item(Consumer, `{name: newbie, api_keys: ["abcdefghijklmnopqrstuvwxyz"]}`),
			}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := Load(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Write(context.Background(), st, tc.changes, true)
			var got []Problem
			var inv *InvalidError
			if errors.As(err, &inv) {
				got = inv.Problems
			} else if err != nil {
				t.Fatalf("got error %v, want an InvalidError or nil", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			after, _ := Load(context.Background(), st)
			if after.Revision != before.Revision {
				t.Errorf("got revision %d after a dry run, want %d", after.Revision, before.Revision)
			}
		})
	}
}

// TestConsumerKeysStoredHashed: whichever way a consumer is written, the
// store holds only the SHA-256 of its keys.
func TestConsumerKeysStoredHashed(t *testing.T) {
	ctx := context.Background()
	hashed := config.HashAPIKey(plainKey)
	st := applyPolicies(t)                                                                               // a whole document
	name, spec, err := DecodeItem(Consumer, "body", []byte(`{name: solo, api_keys: ["`+plainKey+`x"]}`)) // one item, as PUT sends
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ctx, st, []Change{{Kind: Consumer, Name: name, Spec: spec, IfVersion: store.Absent}}, false); err != nil {
		t.Fatal(err)
	}
	// A spec built by hand with a plain key is refused, not stored.
	raw := []byte(`{"name":"raw","api_keys":["` + plainKey + `y"]}`)
	_, err = Write(ctx, st, []Change{{Kind: Consumer, Name: "raw", Spec: raw, IfVersion: store.Absent}}, false)
	var inv *InvalidError
	if !errors.As(err, &inv) || inv.Problems[0].Resource != "consumer/raw" || inv.Problems[0].Path != "api_keys[0]" {
		t.Errorf("writing a plain key: got %v, want consumer/raw: api_keys[0] refused", err)
	}

	kvs, _, err := st.List(ctx, Prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		if strings.Contains(string(kv.Value), plainKey) {
			t.Errorf("%s holds a plain API key: %s", kv.Key, kv.Value)
		}
	}
	s, _ := Load(ctx, st)
	c, _ := s.Config()
	var keys [][]string
	for _, u := range c.Consumers {
		keys = append(keys, u.APIKeys)
	}
	want := [][]string{{hashed}, {"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}, {config.HashAPIKey(plainKey + "x")}}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("stored keys (-want +got):\n%s", d)
	}
}

func TestPolicyVersionConflict(t *testing.T) {
	ctx := context.Background()
	st := applyPolicies(t)
	s, _ := Load(ctx, st)
	it, _ := s.Get(Policy, "spare")
	_, spec, err := DecodeItem(Policy, "body", []byte(`{name: spare, rate_limit: {requests: 5, per: 1s}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ctx, st, []Change{{Kind: Policy, Name: "spare", Spec: spec, IfVersion: it.Version}}, false); err != nil {
		t.Fatalf("update at the current version: %v", err)
	}
	_, err = Write(ctx, st, []Change{{Kind: Policy, Name: "spare", Delete: true, IfVersion: it.Version}}, false)
	if !errors.Is(err, ErrStale) {
		t.Errorf("delete at the old version: got %v, want ErrStale", err)
	}
	_, err = Write(ctx, st, []Change{{Kind: Consumer, Name: "idle", Spec: spec, IfVersion: store.Absent}}, false)
	if !errors.Is(err, ErrExists) {
		t.Errorf("create of an existing consumer: got %v, want ErrExists", err)
	}
}

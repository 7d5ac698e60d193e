package authz

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/config"
)

func id(s string) spiffeid.ID { return spiffeid.RequireFromString(s) }

// workload is the SPIFFE ID of a service in a namespace of pylon.local.
func workload(ns, svc string) spiffeid.ID {
	return id("spiffe://pylon.local/ns/" + ns + "/svc/" + svc)
}

// headers returns a Request.Header over h, whose keys are lower-case.
func headers(h map[string][]string) func(string) []string {
	return func(name string) []string { return h[name] }
}

func allow(name string, from []config.PolicySource, to []config.PolicyTarget) config.AuthorizationPolicy {
	return config.AuthorizationPolicy{Name: name, Service: "inventory", Action: config.PolicyAllow, From: from, To: to}
}

func deny(name string, from []config.PolicySource, to []config.PolicyTarget) config.AuthorizationPolicy {
	p := allow(name, from, to)
	p.Action = config.PolicyDeny
	return p
}

func services(s ...string) []config.PolicySource   { return []config.PolicySource{{Services: s}} }
func namespaces(s ...string) []config.PolicySource { return []config.PolicySource{{Namespaces: s}} }
func identities(s ...string) []config.PolicySource { return []config.PolicySource{{Identities: s}} }
func methods(m ...string) []config.PolicyTarget    { return []config.PolicyTarget{{Methods: m}} }

func allowed(policy string) Decision {
	return Decision{Allowed: true, Policy: policy, Reason: `allowed by authorization policy "` + policy + `"`}
}

func denied(policy string) Decision {
	return Decision{Policy: policy, Reason: `denied by authorization policy "` + policy + `"`}
}

var (
	defaultAllow = Decision{Allowed: true, Reason: ReasonNoPolicy}
	defaultDeny  = Decision{Reason: ReasonNoAllow}
	orders       = workload("default", "orders")
)

func TestDecide(t *testing.T) {
	get := Request{Source: orders, Method: "GET", Path: "/v1/stock"}
	post := Request{Source: orders, Method: "POST", Path: "/v1/stock"}
	tcp := Request{Source: orders, L4: true}
	plain := Request{Method: "GET", Path: "/v1/stock"}
	tests := []struct {
		name     string
		policies []config.AuthorizationPolicy
		req      Request
		want     Decision
	}{
		{"no policies allow everything", nil, get, defaultAllow},
		{"no policies allow tcp", nil, tcp, defaultAllow},
		{"no policies allow plaintext", nil, plain, defaultAllow},
		{"a policy of another service does not select",
			[]config.AuthorizationPolicy{{Name: "p", Service: "billing", Action: config.PolicyDeny}}, get, defaultAllow},
		{"a policy of another namespace does not select",
			[]config.AuthorizationPolicy{{Name: "p", Service: "inventory", Namespace: "shop", Action: config.PolicyDeny}}, get, defaultAllow},
		{"matching allow", []config.AuthorizationPolicy{allow("from-orders", services("orders"), nil)}, get, allowed("from-orders")},
		{"default deny once selected",
			[]config.AuthorizationPolicy{allow("from-billing", services("billing"), nil)}, get, defaultDeny},
		{"deny only: the rest is denied by default",
			[]config.AuthorizationPolicy{deny("no-billing", services("billing"), nil)}, get, defaultDeny},
		{"deny wins over an earlier allow",
			[]config.AuthorizationPolicy{allow("all", nil, nil), deny("no-orders", services("orders"), nil)}, get, denied("no-orders")},
		{"non-matching deny lets allow decide",
			[]config.AuthorizationPolicy{deny("no-billing", services("billing"), nil), allow("all", nil, nil)}, get, allowed("all")},
		{"first matching allow is named",
			[]config.AuthorizationPolicy{allow("a", nil, methods("POST")), allow("b", nil, nil), allow("c", nil, nil)}, get, allowed("b")},
		{"tcp matches an allow without to", []config.AuthorizationPolicy{allow("all", services("orders"), nil)}, tcp, allowed("all")},
		{"tcp never matches an allow with to", []config.AuthorizationPolicy{allow("reads", nil, methods("GET"))}, tcp, defaultDeny},
		{"tcp never matches a deny with to",
			[]config.AuthorizationPolicy{allow("all", nil, nil), deny("no-writes", nil, methods("POST"))}, tcp, allowed("all")},
		{"tcp is denied by a deny without to",
			[]config.AuthorizationPolicy{allow("all", nil, nil), deny("no-orders", services("orders"), nil)}, tcp, denied("no-orders")},
		{"plaintext matches a policy without from", []config.AuthorizationPolicy{allow("reads", nil, methods("GET"))}, plain, allowed("reads")},
		{"plaintext never matches a from entry",
			[]config.AuthorizationPolicy{allow("all", nil, nil), deny("no-default", namespaces("default"), nil)}, plain, allowed("all")},
		{"plaintext is denied when every allow has from",
			[]config.AuthorizationPolicy{allow("mesh", namespaces("default"), nil)}, plain, defaultDeny},
		{"allow by method", []config.AuthorizationPolicy{allow("writes", nil, methods("POST", "PUT"))}, post, allowed("writes")},
		{"method not listed", []config.AuthorizationPolicy{allow("writes", nil, methods("POST", "PUT"))}, get, defaultDeny},
		{"deny by method", []config.AuthorizationPolicy{allow("all", nil, nil), deny("no-writes", nil, methods("POST"))}, post, denied("no-writes")},
		{"lower-case methods in a policy built in Go", []config.AuthorizationPolicy{allow("writes", nil, methods("post"))}, post, allowed("writes")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile("inventory", "", tc.policies)
			if err != nil {
				t.Fatalf("Compile: got error %v, want nil", err)
			}
			if diff := cmp.Diff(tc.want, e.Decide(tc.req)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideSources(t *testing.T) {
	tests := []struct {
		name   string
		from   []config.PolicySource
		source spiffeid.ID
		want   bool
	}{
		{"identity", identities("spiffe://pylon.local/ns/default/svc/orders"), orders, true},
		{"identity, any of several", identities("spiffe://pylon.local/x", "spiffe://pylon.local/ns/default/svc/orders"), orders, true},
		{"identity of another service", identities("spiffe://pylon.local/ns/default/svc/billing"), orders, false},
		{"identity in another trust domain", identities("spiffe://other.local/ns/default/svc/orders"), orders, false},
		{"identity that is not a workload's", identities("spiffe://pylon.local/batch/nightly"), id("spiffe://pylon.local/batch/nightly"), true},
		{"namespace from the ID path", namespaces("shop"), workload("shop", "orders"), true},
		{"namespace not listed", namespaces("shop"), orders, false},
		{"service from the ID path", services("billing", "orders"), orders, true},
		{"service not listed", services("billing"), orders, false},
		{"service in any namespace", services("orders"), workload("shop", "orders"), true},
		{"namespaces need a workload path", namespaces("ns"), id("spiffe://pylon.local/ns/ns"), false},
		{"services need a workload path", services("svc"), id("spiffe://pylon.local/ns/a/svc/svc/extra"), false},
		{"services need the svc segment", services("b"), id("spiffe://pylon.local/ns/a/service/b"), false},
		{"every field of an entry must match", []config.PolicySource{{Namespaces: []string{"default"}, Services: []string{"billing"}}}, orders, false},
		{"every field of an entry matches", []config.PolicySource{{Identities: []string{orders.String()}, Namespaces: []string{"default"}, Services: []string{"orders"}}}, orders, true},
		{"any entry may match", []config.PolicySource{{Services: []string{"billing"}}, {Namespaces: []string{"default"}}}, orders, true},
		{"no entry matches", []config.PolicySource{{Services: []string{"billing"}}, {Namespaces: []string{"shop"}}}, orders, false},
		{"plaintext never matches", namespaces("default"), spiffeid.ID{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile("inventory", "default", []config.AuthorizationPolicy{allow("p", tc.from, nil)})
			if err != nil {
				t.Fatalf("Compile: got error %v, want nil", err)
			}
			if got := e.Decide(Request{Source: tc.source, Method: "GET", Path: "/"}).Allowed; got != tc.want {
				t.Errorf("allowed: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecideTargets(t *testing.T) {
	hdr := headers(map[string][]string{"x-role": {"viewer", "admin"}, "x-env": {"canary"}})
	tests := []struct {
		name string
		to   config.PolicyTarget
		req  Request
		want bool
	}{
		{"prefix itself", config.PolicyTarget{Paths: []config.PathMatch{{Prefix: "/v1/stock"}}}, Request{Path: "/v1/stock"}, true},
		{"prefix below", config.PolicyTarget{Paths: []config.PathMatch{{Prefix: "/v1/stock"}}}, Request{Path: "/v1/stock/42"}, true},
		{"prefix is segment-aware", config.PolicyTarget{Paths: []config.PathMatch{{Prefix: "/v1/stock"}}}, Request{Path: "/v1/stocks"}, false},
		{"prefix ending in slash", config.PolicyTarget{Paths: []config.PathMatch{{Prefix: "/v1/"}}}, Request{Path: "/v1/x"}, true},
		{"exact", config.PolicyTarget{Paths: []config.PathMatch{{Exact: "/v1/stock"}}}, Request{Path: "/v1/stock"}, true},
		{"exact, not below", config.PolicyTarget{Paths: []config.PathMatch{{Exact: "/v1/stock"}}}, Request{Path: "/v1/stock/1"}, false},
		{"exact is not unescaped", config.PolicyTarget{Paths: []config.PathMatch{{Exact: "/a b"}}}, Request{Path: "/a%20b"}, false},
		{"regex matches the whole path", config.PolicyTarget{Paths: []config.PathMatch{{Regex: "/v[0-9]+/stock"}}}, Request{Path: "/v2/stock"}, true},
		{"regex is anchored", config.PolicyTarget{Paths: []config.PathMatch{{Regex: "/v[0-9]+"}}}, Request{Path: "/v2/stock"}, false},
		{"regex alternatives stay anchored", config.PolicyTarget{Paths: []config.PathMatch{{Regex: "/a|/b"}}}, Request{Path: "/bb"}, false},
		{"template", config.PolicyTarget{Paths: []config.PathMatch{{Template: "/items/{id}/stock"}}}, Request{Path: "/items/42/stock"}, true},
		{"template parameter is one segment", config.PolicyTarget{Paths: []config.PathMatch{{Template: "/items/{id}"}}}, Request{Path: "/items/4/2"}, false},
		{"template parameter is not empty", config.PolicyTarget{Paths: []config.PathMatch{{Template: "/items/{id}"}}}, Request{Path: "/items/"}, false},
		{"any path may match", config.PolicyTarget{Paths: []config.PathMatch{{Exact: "/a"}, {Prefix: "/b"}}}, Request{Path: "/b/c"}, true},
		{"a path that is not origin-form", config.PolicyTarget{Paths: []config.PathMatch{{Regex: ".*"}}}, Request{Path: "*"}, false},
		{"header exact, any value", config.PolicyTarget{Headers: []config.ValueMatch{{Name: "X-Role", Exact: "admin"}}}, Request{Header: hdr}, true},
		{"header exact, no value", config.PolicyTarget{Headers: []config.ValueMatch{{Name: "x-role", Exact: "root"}}}, Request{Header: hdr}, false},
		{"header regex", config.PolicyTarget{Headers: []config.ValueMatch{{Name: "x-env", Regex: "can.*"}}}, Request{Header: hdr}, true},
		{"header regex is anchored", config.PolicyTarget{Headers: []config.ValueMatch{{Name: "x-env", Regex: "can"}}}, Request{Header: hdr}, false},
		{"header present", config.PolicyTarget{Headers: []config.ValueMatch{{Name: "x-env", Present: true}}}, Request{Header: hdr}, true},
		{"header absent", config.PolicyTarget{Headers: []config.ValueMatch{{Name: "x-trace", Present: true}}}, Request{Header: hdr}, false},
		{"no header func", config.PolicyTarget{Headers: []config.ValueMatch{{Name: "x-env", Present: true}}}, Request{}, false},
		{"every header must match", config.PolicyTarget{Headers: []config.ValueMatch{{Name: "x-env", Present: true}, {Name: "x-role", Exact: "root"}}}, Request{Header: hdr}, false},
		{"every field of an entry must match",
			config.PolicyTarget{Methods: []string{"POST"}, Paths: []config.PathMatch{{Prefix: "/v1"}}}, Request{Method: "GET", Path: "/v1"}, false},
		{"every field of an entry matches",
			config.PolicyTarget{Methods: []string{"POST"}, Paths: []config.PathMatch{{Prefix: "/v1"}}, Headers: []config.ValueMatch{{Name: "x-env", Exact: "canary"}}},
			Request{Method: "POST", Path: "/v1/x", Header: hdr}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile("inventory", "default", []config.AuthorizationPolicy{allow("p", nil, []config.PolicyTarget{tc.to})})
			if err != nil {
				t.Fatalf("Compile: got error %v, want nil", err)
			}
			if got := e.Decide(tc.req).Allowed; got != tc.want {
				t.Errorf("allowed: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecideAnyTarget(t *testing.T) {
	to := []config.PolicyTarget{{Methods: []string{"POST"}}, {Paths: []config.PathMatch{{Prefix: "/public"}}}}
	e, err := Compile("inventory", "default", []config.AuthorizationPolicy{allow("p", nil, to)})
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{
		e.Decide(Request{Method: "POST", Path: "/private"}).Allowed,
		e.Decide(Request{Method: "GET", Path: "/public/x"}).Allowed,
		e.Decide(Request{Method: "GET", Path: "/private"}).Allowed,
	}
	if diff := cmp.Diff([]bool{true, true, false}, got); diff != "" {
		t.Errorf("allowed (-want +got):\n%s", diff)
	}
}

func TestSelected(t *testing.T) {
	policies := []config.AuthorizationPolicy{
		allow("a", nil, nil),
		{Name: "b", Service: "inventory", Namespace: "shop", Action: config.PolicyDeny},
	}
	tests := []struct {
		service, namespace string
		want               bool
	}{
		{"inventory", "", true},
		{"inventory", "default", true},
		{"inventory", "shop", true},
		{"inventory", "other", false},
		{"billing", "", false},
	}
	for _, tc := range tests {
		e, err := Compile(tc.service, tc.namespace, policies)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Selected(); got != tc.want {
			t.Errorf("Compile(%q, %q).Selected(): got %v, want %v", tc.service, tc.namespace, got, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name   string
		policy config.AuthorizationPolicy
		want   string
	}{
		{"bad action", config.AuthorizationPolicy{Name: "p", Service: "inventory", Action: "permit"}, `authorization policy "p": action "permit" is not allow or deny`},
		{"bad identity", allow("p", identities("spiffe://Pylon/x"), nil), `authorization policy "p": from[0]: identity "spiffe://Pylon/x": `},
		{"empty source", allow("p", []config.PolicySource{{}}, nil), `authorization policy "p": from[0]: at least one of`},
		{"empty target", allow("p", nil, []config.PolicyTarget{{}}), `authorization policy "p": to[0]: at least one of`},
		{"no path kind", allow("p", nil, []config.PolicyTarget{{Paths: []config.PathMatch{{}}}}), `to[0]: paths[0]: exactly one of`},
		{"two path kinds", allow("p", nil, []config.PolicyTarget{{Paths: []config.PathMatch{{Exact: "/", Prefix: "/"}}}}), `to[0]: paths[0]: exactly one of`},
		{"relative prefix", allow("p", nil, []config.PolicyTarget{{Paths: []config.PathMatch{{Prefix: "v1"}}}}), `paths[0]: path "v1" must start with "/"`},
		{"bad regex", allow("p", nil, []config.PolicyTarget{{Paths: []config.PathMatch{{Regex: "a)|(b"}}}}), `paths[0]: regex "a)|(b": `},
		{"bad template", allow("p", nil, []config.PolicyTarget{{Paths: []config.PathMatch{{Template: "/a/x{id}"}}}}), `paths[0]: template "/a/x{id}": segment "x{id}"`},
		{"header without a condition", allow("p", nil, []config.PolicyTarget{{Headers: []config.ValueMatch{{Name: "x"}}}}), `to[0]: headers[0]: a header condition needs`},
		{"bad header regex", allow("p", nil, []config.PolicyTarget{{Headers: []config.ValueMatch{{Name: "x", Regex: "("}}}}), `headers[0]: header "x": regex "(": `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("inventory", "", []config.AuthorizationPolicy{tc.policy})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Compile: got error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A malformed policy of another service is not compiled at all.
	if _, err := Compile("billing", "", []config.AuthorizationPolicy{tests[0].policy}); err != nil {
		t.Errorf("Compile of another service: got error %v, want nil", err)
	}
}

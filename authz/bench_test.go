package authz

import (
	"testing"

	"github.com/pylon-mesh/pylon/config"
)

// benchEngine is a service with the policies a real one might have: a few
// allows by caller and method and path, a header-gated admin path, and a
// deny of one namespace.
func benchEngine(tb testing.TB) *Engine {
	tb.Helper()
	policies := []config.AuthorizationPolicy{
		deny("no-batch", namespaces("batch"), nil),
		deny("no-debug", nil, []config.PolicyTarget{{Paths: []config.PathMatch{{Prefix: "/debug"}}}}),
		allow("admin", nil, []config.PolicyTarget{{
			Paths:   []config.PathMatch{{Template: "/admin/{id}/reset"}},
			Headers: []config.ValueMatch{{Name: "x-role", Exact: "admin"}},
		}}),
		allow("writes", []config.PolicySource{{Namespaces: []string{"default"}, Services: []string{"billing", "orders"}}},
			[]config.PolicyTarget{{Methods: []string{"POST", "PUT"}, Paths: []config.PathMatch{{Prefix: "/v1/stock"}, {Exact: "/v1/reserve"}}}}),
		allow("reads", identities("spiffe://pylon.local/ns/default/svc/web", orders.String()), methods("GET", "HEAD")),
	}
	e, err := Compile("inventory", "default", policies)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

var benchHeader = headers(map[string][]string{"x-role": {"admin"}, "content-type": {"application/json"}})

var benchRequests = []struct {
	name string
	req  Request
	want bool
}{
	{"allow-write", Request{Source: orders, Method: "PUT", Path: "/v1/stock/42", Header: benchHeader}, true},
	{"allow-read", Request{Source: orders, Method: "GET", Path: "/v1/items", Header: benchHeader}, true},
	{"allow-template-header", Request{Source: workload("shop", "ops"), Method: "POST", Path: "/admin/7/reset", Header: benchHeader}, true},
	{"default-deny", Request{Source: workload("shop", "web"), Method: "DELETE", Path: "/v1/stock/42", Header: benchHeader}, false},
	{"deny-namespace", Request{Source: workload("batch", "nightly"), Method: "GET", Path: "/v1/stock", Header: benchHeader}, false},
	{"l4", Request{Source: orders, L4: true}, false},
}

func TestDecideDoesNotAllocate(t *testing.T) {
	e := benchEngine(t)
	for _, bc := range benchRequests {
		if got := e.Decide(bc.req).Allowed; got != bc.want {
			t.Fatalf("%s: got allowed %v, want %v", bc.name, got, bc.want)
		}
		if n := testing.AllocsPerRun(100, func() { e.Decide(bc.req) }); n != 0 {
			t.Errorf("%s: got %v allocations per Decide, want 0", bc.name, n)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	e := benchEngine(b)
	for _, bc := range benchRequests {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Decide(bc.req)
			}
		})
	}
	b.Run("unselected", func(b *testing.B) {
		none, _ := Compile("catalog", "default", nil)
		b.ReportAllocs()
		for b.Loop() {
			none.Decide(benchRequests[0].req)
		}
	})
}

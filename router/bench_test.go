package router

import (
	"fmt"
	"testing"
)

// benchSpecs returns 100 routes over ten services: per service an exact
// path, three templates, a prefix, a method-restricted route and a header
// route, some behind a host.
func benchSpecs() []Spec {
	var specs []Spec
	for i := range 10 {
		svc := fmt.Sprintf("/api/v1/svc%d", i)
		host := []string(nil)
		if i%3 == 0 {
			host = []string{fmt.Sprintf("svc%d.example.com", i), "*.internal.example.com"}
		}
		specs = append(specs,
			Spec{Hosts: host, PathKind: PathExact, Path: svc + "/health"},
			Spec{Hosts: host, PathKind: PathExact, Path: svc + "/status"},
			Spec{Hosts: host, PathKind: PathTemplate, Path: svc + "/items/{id}"},
			Spec{Hosts: host, PathKind: PathTemplate, Path: svc + "/items/{id}/parts/{part}"},
			Spec{Hosts: host, PathKind: PathTemplate, Path: svc + "/users/{user}/orders/{order}/lines/{line}"},
			Spec{Hosts: host, Path: svc + "/static/"},
			Spec{Hosts: host, Path: svc},
			Spec{Hosts: host, PathKind: PathTemplate, Path: svc + "/items/{id}", Methods: []string{"PUT", "DELETE"}},
			Spec{Hosts: host, PathKind: PathExact, Path: svc + "/admin", Headers: []ValueMatch{{Name: "x-admin", Exact: "yes"}}},
			Spec{Hosts: host, Path: svc + "/v2", Methods: []string{"GET"}},
		)
	}
	return specs
}

// byteHeaders is a Headers that, unlike mapHeaders, does not allocate.
type byteHeaders map[string][]byte

// Header implements Headers.
func (h byteHeaders) Header(name string) ([]byte, bool) {
	v, ok := h[name]
	return v, ok
}

// benchInputs are requests that hit different parts of the table.
var benchInputs = []struct {
	name string
	in   Input
}{
	{"exact", Input{Host: []byte("gw.example.com"), Path: []byte("/api/v1/svc4/health"), Method: []byte("GET")}},
	{"exact host", Input{Host: []byte("SVC3.example.com:443"), Path: []byte("/api/v1/svc3/status"), Method: []byte("GET")}},
	{"wildcard host", Input{Host: []byte("a.internal.example.com"), Path: []byte("/api/v1/svc6/items/42"), Method: []byte("GET")}},
	{"template", Input{Host: []byte("gw.example.com"), Path: []byte("/api/v1/svc5/items/42/parts/7"), Method: []byte("GET")}},
	{"template deep", Input{Host: []byte("gw.example.com"), Path: []byte("/api/v1/svc8/users/u1/orders/o2/lines/3"), Method: []byte("GET")}},
	{"template method", Input{Host: []byte("gw.example.com"), Path: []byte("/api/v1/svc7/items/42"), Method: []byte("DELETE")}},
	{"prefix", Input{Host: []byte("gw.example.com"), Path: []byte("/api/v1/svc2/static/css/site.css"), Method: []byte("GET")}},
	{"prefix method", Input{Host: []byte("gw.example.com"), Path: []byte("/api/v1/svc2/v2/x/y"), Method: []byte("GET")}},
	{"header", Input{Host: []byte("gw.example.com"), Path: []byte("/api/v1/svc1/admin"), Method: []byte("GET"), Headers: byteHeaders{"x-admin": []byte("yes")}}},
	{"miss", Input{Host: []byte("gw.example.com"), Path: []byte("/nothing/here/at/all"), Method: []byte("GET")}},
}

func BenchmarkMatch(b *testing.B) {
	tbl, err := Compile(benchSpecs())
	if err != nil {
		b.Fatalf("compile: %v", err)
	}
	for _, bc := range benchInputs {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var p Params
			for b.Loop() {
				tbl.Match(&bc.in, &p)
			}
		})
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	specs := benchSpecs()
	tbl, err := Compile(specs)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	for _, bc := range benchInputs {
		t.Run(bc.name, func(t *testing.T) {
			in := bc.in
			wantRoute, _, wantOK := refMatch(specs, &in, false)
			var p Params
			var route int
			var ok bool
			allocs := testing.AllocsPerRun(100, func() {
				route, ok = tbl.Match(&in, &p)
				tbl.MethodMismatch(&in)
			})
			if allocs != 0 {
				t.Errorf("got %v allocations per Match, want 0", allocs)
			}
			if route != wantRoute || ok != wantOK {
				t.Errorf("got route %d %v, want %d %v", route, ok, wantRoute, wantOK)
			}
		})
	}
}

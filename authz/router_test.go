package authz

import (
	"testing"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/router"
)

// TestPathsMatchLikeRoutes checks that a policy's paths match exactly the
// requests a route with the same match.path matches.
func TestPathsMatchLikeRoutes(t *testing.T) {
	patterns := []config.PathMatch{
		{Prefix: "/"}, {Prefix: "/v1"}, {Prefix: "/v1/"}, {Prefix: "/v1/stock"},
		{Exact: "/"}, {Exact: "/v1"}, {Exact: "/v1/"}, {Exact: "/a%2Fb"},
		{Regex: "/v[0-9]+/.*"}, {Regex: "/a|/b"}, {Regex: ".*"},
		{Template: "/"}, {Template: "/{a}"}, {Template: "/items/{id}"}, {Template: "/items/{id}/"},
		{Template: "/{a}/{b}/stock"}, {Template: "/items//{id}"},
	}
	paths := []string{
		"", "/", "//", "/v1", "/v1/", "/v1x", "/v1/stock", "/v1/stock/", "/v1/stocks", "/v2/x", "/v2/",
		"/a", "/b", "/bb", "/a%2Fb", "/a/b", "/items", "/items/", "/items/1", "/items/1/", "/items/1/2",
		"/x/y/stock", "/x//stock", "/items//7", "*", "v1",
	}
	for _, pm := range patterns {
		spec := router.Spec{}
		switch {
		case pm.Exact != "":
			spec.PathKind, spec.Path = router.PathExact, pm.Exact
		case pm.Prefix != "":
			spec.PathKind, spec.Path = router.PathPrefix, pm.Prefix
		case pm.Regex != "":
			spec.PathKind, spec.Path = router.PathRegex, pm.Regex
		default:
			spec.PathKind, spec.Path = router.PathTemplate, pm.Template
		}
		table, err := router.Compile([]router.Spec{spec})
		if err != nil {
			t.Fatalf("router.Compile(%+v): %v", spec, err)
		}
		e, err := Compile("s", "", []config.AuthorizationPolicy{{Name: "p", Service: "s", Action: config.PolicyAllow,
			To: []config.PolicyTarget{{Paths: []config.PathMatch{pm}}}}})
		if err != nil {
			t.Fatalf("Compile(%+v): %v", pm, err)
		}
		for _, p := range paths {
			_, want := table.Match(&router.Input{Path: []byte(p), Method: []byte("GET")}, nil)
			if got := e.Decide(Request{Method: "GET", Path: p}).Allowed; got != want {
				t.Errorf("path %+v, request %q: got match %v, want %v (as the router)", pm, p, got, want)
			}
		}
	}
}

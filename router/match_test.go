package router

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// matchCase is one request against a table, with the expected route (-1 for
// none) and, for templates, parameters.
type matchCase struct {
	name   string
	host   string
	path   string
	query  string
	method string
	hdr    mapHeaders
	want   int
	params []string
}

// runMatch compiles specs and checks every case, and that the reference
// agrees with the expectation.
func runMatch(t *testing.T, specs []Spec, cases []matchCase) {
	t.Helper()
	tbl, err := Compile(specs)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &Input{Host: []byte(tc.host), Path: []byte(tc.path), Query: []byte(tc.query), Method: []byte(cmpOr(tc.method, "GET"))}
			if tc.hdr != nil {
				in.Headers = tc.hdr
			}
			var p Params
			got, ok := tbl.Match(in, &p)
			if ok != (tc.want >= 0) || got != tc.want {
				t.Errorf("Match: got route %d (ok %v), want %d", got, ok, tc.want)
			}
			if diff := cmp.Diff(tc.params, paramList(&p)); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
			if ref, _, _ := refMatch(specs, in, false); ref != tc.want {
				t.Errorf("reference: got route %d, want %d", ref, tc.want)
			}
		})
	}
}

// cmpOr returns s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestPrefix(t *testing.T) {
	specs := []Spec{
		{Path: "/orders"},
		{Path: "/orders/"},
		{Path: "/orders/archive"},
	}
	runMatch(t, specs, []matchCase{
		{name: "itself", path: "/orders", want: 0},
		{name: "with slash", path: "/orders/", want: 1},
		{name: "below", path: "/orders/1", want: 1},
		{name: "longest", path: "/orders/archive/2", want: 2},
		{name: "not a segment", path: "/ordersx", want: -1},
		{name: "longer segment", path: "/orders/archived", want: 1},
		{name: "other", path: "/users", want: -1},
	})
	runMatch(t, []Spec{{}, {Path: "/a"}}, []matchCase{
		{name: "root default", path: "/anything/at/all", want: 0},
		{name: "root itself", path: "/", want: 0},
		{name: "longer wins", path: "/a/b", want: 1},
		{name: "asterisk form", path: "*", want: -1},
		{name: "absolute form", path: "http://h/a", want: -1},
		{name: "empty path", path: "", want: -1},
	})
}

func TestPrecedence(t *testing.T) {
	specs := []Spec{
		0:  {Path: "/other"},
		1:  {PathKind: PathRegex, Path: "/users/.*"},
		2:  {Path: "/users"},
		3:  {PathKind: PathTemplate, Path: "/users/{id}"},
		4:  {PathKind: PathExact, Path: "/users/me"},
		5:  {PathKind: PathTemplate, Path: "/users/{id}/{sub}/{item}"},
		6:  {PathKind: PathTemplate, Path: "/{kind}/{id}/items/all"},
		7:  {PathKind: PathTemplate, Path: "/users/{id}", Methods: []string{"POST"}},
		8:  {PathKind: PathExact, Path: "/users/me"},
		9:  {PathKind: PathRegex, Path: "/r.*"},
		10: {PathKind: PathRegex, Path: "/re.*", Methods: []string{"GET"}},
	}
	runMatch(t, specs, []matchCase{
		{name: "exact beats template", path: "/users/me", want: 4},
		{name: "template beats prefix", path: "/users/42", want: 3, params: []string{"id", "42"}},
		{name: "more conditions first", path: "/users/42", method: "POST", want: 7, params: []string{"id", "42"}},
		{name: "prefix beats regex", path: "/users/42/x", want: 2},
		{name: "more literals first", path: "/users/1/items/all", want: 6, params: []string{"kind", "users", "id", "1"}},
		{name: "template params", path: "/users/1/items/9", want: 5, params: []string{"id", "1", "sub", "items", "item", "9"}},
		{name: "regex by conditions", path: "/rest", want: 10},
		{name: "regex by order", path: "/rest", method: "PUT", want: 9},
		{name: "prefix", path: "/other/x", want: 0},
		{name: "nothing", path: "/none", want: -1},
	})
}

func TestMethods(t *testing.T) {
	specs := []Spec{
		{PathKind: PathExact, Path: "/a", Methods: []string{"GET", "HEAD"}},
		{PathKind: PathExact, Path: "/b", Methods: []string{"POST"}},
		{Path: "/b"},
	}
	runMatch(t, specs, []matchCase{
		{name: "listed", path: "/a", method: "HEAD", want: 0},
		{name: "case-sensitive", path: "/a", method: "get", want: -1},
		{name: "not listed", path: "/a", method: "PUT", want: -1},
		{name: "falls through", path: "/b", method: "GET", want: 2},
	})
}

func TestMethodMismatch(t *testing.T) {
	tbl, err := Compile([]Spec{
		{PathKind: PathExact, Path: "/a", Methods: []string{"GET"}},
		{PathKind: PathExact, Path: "/h", Methods: []string{"GET"}, Headers: []ValueMatch{{Name: "x", Exact: "1"}}},
		{Path: "/open"},
	})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	cases := []struct {
		name, path, method string
		hdr                mapHeaders
		want               bool
	}{
		{"wrong method", "/a", "POST", nil, true},
		{"right method", "/a", "GET", nil, false},
		{"no such path", "/b", "POST", nil, false},
		{"header fails too", "/h", "POST", mapHeaders{"x": "2"}, false},
		{"only method fails", "/h", "POST", mapHeaders{"x": "1"}, true},
		{"any method", "/open", "BREW", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := &Input{Path: []byte(tc.path), Method: []byte(tc.method)}
			if tc.hdr != nil {
				in.Headers = tc.hdr
			}
			if got := tbl.MethodMismatch(in); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestWorkedExample is the worked example of docs/routing.md.
func TestWorkedExample(t *testing.T) {
	specs := []Spec{
		0: {Path: "/"},
		1: {PathKind: PathRegex, Path: "/users/[0-9]+/avatar"},
		2: {Path: "/users"},
		3: {PathKind: PathTemplate, Path: "/users/{id}"},
		4: {PathKind: PathExact, Path: "/users/me"},
		5: {PathKind: PathTemplate, Path: "/users/{id}", Methods: []string{"POST"}},
		6: {Hosts: []string{"*.example.com"}, Path: "/"},
		7: {Hosts: []string{"admin.example.com"}, Path: "/users"},
	}
	runMatch(t, specs, []matchCase{
		{name: "exact", host: "other.org", path: "/users/me", want: 4},
		{name: "template", host: "other.org", path: "/users/42", want: 3, params: []string{"id", "42"}},
		{name: "method list", host: "other.org", path: "/users/42", method: "POST", want: 5, params: []string{"id", "42"}},
		{name: "prefix beats regex", host: "other.org", path: "/users/42/avatar", want: 2},
		{name: "root", host: "other.org", path: "/about", want: 0},
		{name: "wildcard host", host: "a.example.com", path: "/users/me", want: 6},
		{name: "exact host", host: "ADMIN.example.com:443", path: "/users/1", want: 7},
		{name: "exact host path fails", host: "admin.example.com", path: "/about", want: 6},
	})
}

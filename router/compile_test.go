package router

import (
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		want string
	}{
		{"bad regex", Spec{PathKind: PathRegex, Path: "(("}, `route 1: bad path regex "(("`},
		{"regex escaping its anchors", Spec{PathKind: PathRegex, Path: "/a)|(?:/b"}, "route 1: bad path regex"},
		{"relative prefix", Spec{Path: "orders"}, `route 1: prefix "orders": must start with '/'`},
		{"empty exact", Spec{PathKind: PathExact}, `route 1: exact path "": must start with '/'`},
		{"bad template", Spec{PathKind: PathTemplate, Path: "/a{b}"}, "route 1: template"},
		{"unknown kind", Spec{PathKind: 9, Path: "/"}, "route 1: unknown path kind 9"},
		{"bad host", Spec{Hosts: []string{"a.*.com"}}, "route 1: host"},
		{"empty method", Spec{Methods: []string{""}}, "route 1: empty method"},
		{"header without name", Spec{Headers: []ValueMatch{{Exact: "x"}}}, "route 1: header"},
		{"header two kinds", Spec{Headers: []ValueMatch{{Name: "a", Exact: "x", Present: true}}}, "exactly one of"},
		{"header none", Spec{Headers: []ValueMatch{{Name: "a"}}}, "exactly one of"},
		{"header bad regex", Spec{Headers: []ValueMatch{{Name: "a", Regex: "["}}}, `route 1: header "a": bad regex`},
		{"query bad regex", Spec{Query: []ValueMatch{{Name: "q", Regex: "["}}}, `route 1: query parameter "q": bad regex`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]Spec{{}, tc.spec})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCompileEmpty(t *testing.T) {
	tbl, err := Compile(nil)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if _, ok := tbl.Match(&Input{Path: []byte("/")}, nil); ok {
		t.Errorf("empty table: got a match, want none")
	}
}

func TestRegexAnchored(t *testing.T) {
	specs := []Spec{{PathKind: PathRegex, Path: "/a|/b"}, {PathKind: PathRegex, Path: "/v[0-9]+/.*"}}
	runMatch(t, specs, []matchCase{
		{name: "alternation anchored", path: "/b", want: 0},
		{name: "alternation whole", path: "/ab", want: -1},
		{name: "whole path", path: "/v1/x", want: 1},
		{name: "not a substring", path: "/x/v1/x", want: -1},
	})
}

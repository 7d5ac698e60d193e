package router

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTemplates(t *testing.T) {
	specs := []Spec{
		0: {PathKind: PathTemplate, Path: "/users/{id}/items/{item}"},
		1: {PathKind: PathTemplate, Path: "/users/{id}"},
		2: {PathKind: PathTemplate, Path: "/files/{name}/"},
		3: {PathKind: PathTemplate, Path: "/"},
		4: {PathKind: PathTemplate, Path: "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}"},
	}
	runMatch(t, specs, []matchCase{
		{name: "two params", path: "/users/7/items/x", want: 0, params: []string{"id", "7", "item", "x"}},
		{name: "raw values", path: "/users/a%2Fb", want: 1, params: []string{"id", "a%2Fb"}},
		{name: "empty segment", path: "/users/", want: -1},
		{name: "empty middle segment", path: "/users//items/x", want: -1},
		{name: "extra segment", path: "/users/7/x", want: -1},
		{name: "trailing slash differs", path: "/users/7/", want: -1},
		{name: "trailing slash template", path: "/files/a/", want: 2, params: []string{"name", "a"}},
		{name: "trailing slash template without", path: "/files/a", want: -1},
		{name: "root template", path: "/", want: 3},
		{name: "eight params", path: "/1/2/3/4/5/6/7/8", want: 4, params: []string{"a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6", "g", "7", "h", "8"}},
	})
}

func TestParseTemplate(t *testing.T) {
	cases := []struct {
		in      string
		want    []segment
		wantErr string
	}{
		{in: "/a/{x}", want: []segment{{literal: "a"}, {param: "x"}}},
		{in: "/", want: []segment{{literal: ""}}},
		{in: "a/{x}", wantErr: "must start with '/'"},
		{in: "/a{x}", wantErr: "must be a literal or a whole {name}"},
		{in: "/{}", wantErr: "must be a literal or a whole {name}"},
		{in: "/{x}}", wantErr: "must be a literal or a whole {name}"},
		{in: "/{x}/{x}", wantErr: "repeated"},
		{in: strings.Repeat("/{p}", 1) + "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", wantErr: "at most 8"},
	}
	for _, tc := range cases {
		got, err := parseTemplate(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseTemplate(%q): got error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseTemplate(%q): got error %v, want none", tc.in, err)
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(segment{})); diff != "" {
			t.Errorf("parseTemplate(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestParamsReset(t *testing.T) {
	tbl, err := Compile([]Spec{{PathKind: PathTemplate, Path: "/u/{id}"}, {Path: "/"}})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	var p Params
	tbl.Match(&Input{Path: []byte("/u/1")}, &p)
	if v, ok := p.Get("id"); !ok || string(v) != "1" {
		t.Errorf("Get(id): got %q %v, want \"1\" true", v, ok)
	}
	if _, ok := p.Get("nope"); ok {
		t.Errorf("Get(nope): got true, want false")
	}
	tbl.Match(&Input{Path: []byte("/other")}, &p)
	if p.Len() != 0 {
		t.Errorf("after a non-template match: got %d params, want 0", p.Len())
	}
	if _, ok := tbl.Match(&Input{Path: []byte("/u/2")}, nil); !ok {
		t.Errorf("Match with nil params: got no match, want one")
	}
}

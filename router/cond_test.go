package router

import "testing"

func TestQuery(t *testing.T) {
	specs := []Spec{
		0: {PathKind: PathExact, Path: "/e", Query: []ValueMatch{{Name: "q", Exact: "a b"}}},
		1: {PathKind: PathExact, Path: "/r", Query: []ValueMatch{{Name: "n", Regex: "[0-9]+"}}},
		2: {PathKind: PathExact, Path: "/p", Query: []ValueMatch{{Name: "flag", Present: true}}},
		3: {PathKind: PathExact, Path: "/k", Query: []ValueMatch{{Name: "a b", Exact: "/"}}},
		4: {PathKind: PathExact, Path: "/two", Query: []ValueMatch{{Name: "x", Exact: "1"}, {Name: "y", Exact: "2"}}},
	}
	runMatch(t, specs, []matchCase{
		{name: "plus is space", path: "/e", query: "q=a+b", want: 0},
		{name: "percent space", path: "/e", query: "q=a%20b", want: 0},
		{name: "raw differs", path: "/e", query: "q=a%2Bb", want: -1},
		{name: "repeated key, later matches", path: "/e", query: "q=x&q=a+b", want: 0},
		{name: "absent", path: "/e", query: "", want: -1},
		{name: "regex decoded whole", path: "/r", query: "n=%31%32", want: 1},
		{name: "regex anchored", path: "/r", query: "n=12x", want: -1},
		{name: "regex repeated", path: "/r", query: "n=x&n=3", want: 1},
		{name: "present without value", path: "/p", query: "flag", want: 2},
		{name: "present empty value", path: "/p", query: "a=1&flag=", want: 2},
		{name: "name prefix is not the name", path: "/p", query: "flags=1", want: -1},
		{name: "encoded name", path: "/k", query: "a%20b=%2F", want: 3},
		{name: "malformed pair ignored", path: "/k", query: "a+b=%2", want: -1},
		{name: "malformed pair skipped", path: "/e", query: "q=%zz&q=a+b", want: 0},
		{name: "malformed present", path: "/p", query: "flag=%", want: -1},
		{name: "all conditions", path: "/two", query: "y=2&x=1", want: 4},
		{name: "one condition missing", path: "/two", query: "x=1", want: -1},
	})
}

func TestHeaders(t *testing.T) {
	specs := []Spec{
		0: {PathKind: PathExact, Path: "/e", Headers: []ValueMatch{{Name: "X-Tenant", Exact: "acme"}}},
		1: {PathKind: PathExact, Path: "/r", Headers: []ValueMatch{{Name: "x-v", Regex: "v[12]"}}},
		2: {PathKind: PathExact, Path: "/p", Headers: []ValueMatch{{Name: "Authorization", Present: true}}},
		3: {PathKind: PathExact, Path: "/p"},
	}
	runMatch(t, specs, []matchCase{
		{name: "exact", path: "/e", hdr: mapHeaders{"x-tenant": "acme"}, want: 0},
		{name: "exact is case-sensitive", path: "/e", hdr: mapHeaders{"x-tenant": "ACME"}, want: -1},
		{name: "nil headers", path: "/e", want: -1},
		{name: "regex", path: "/r", hdr: mapHeaders{"x-v": "v2"}, want: 1},
		{name: "regex anchored", path: "/r", hdr: mapHeaders{"x-v": "v22"}, want: -1},
		{name: "present", path: "/p", hdr: mapHeaders{"authorization": ""}, want: 2},
		{name: "absent falls back", path: "/p", hdr: mapHeaders{}, want: 3},
	})
}

func TestUnescapedEqual(t *testing.T) {
	cases := []struct {
		raw, want string
		eq        bool
	}{
		{"a%2fb", "a/b", true},
		{"a%2Fb", "a/b", true},
		{"a+b", "a b", true},
		{"ab", "a", false},
		{"a", "ab", false},
		{"%", "%", false},
		{"%4", "%4", false},
		{"%g1", "%g1", false},
		{"", "", true},
	}
	for _, tc := range cases {
		if got := unescapedEqual([]byte(tc.raw), tc.want); got != tc.eq {
			t.Errorf("unescapedEqual(%q, %q): got %v, want %v", tc.raw, tc.want, got, tc.eq)
		}
	}
}

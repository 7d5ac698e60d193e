package router

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHosts(t *testing.T) {
	specs := []Spec{
		0: {},
		1: {Hosts: []string{"*.example.com"}},
		2: {Hosts: []string{"*.b.example.com"}},
		3: {Hosts: []string{"API.example.com", "other.org"}},
		4: {Hosts: []string{"[::1]"}},
		5: {Hosts: []string{"127.0.0.1"}},
		6: {Hosts: []string{"*.example.com"}, PathKind: PathExact, Path: "/x"},
		7: {Hosts: []string{"fqdn.test."}},
	}
	runMatch(t, specs, []matchCase{
		{name: "exact", host: "api.example.com", path: "/", want: 3},
		{name: "exact case and port", host: "API.Example.COM:8443", path: "/", want: 3},
		{name: "second host", host: "other.org", path: "/", want: 3},
		{name: "exact beats wildcard path", host: "api.example.com", path: "/x", want: 3},
		{name: "wildcard", host: "a.example.com", path: "/", want: 1},
		{name: "wildcard deep", host: "a.c.example.com:80", path: "/", want: 1},
		{name: "longest wildcard", host: "a.b.example.com", path: "/", want: 2},
		{name: "wildcard needs a label", host: "example.com", path: "/", want: 0},
		{name: "wildcard bucket by path", host: "z.example.com", path: "/x", want: 6},
		{name: "no host header", host: "", path: "/", want: 0},
		{name: "unknown host", host: "nope.test", path: "/", want: 0},
		{name: "ipv6 with port", host: "[::1]:80", path: "/", want: 4},
		{name: "ipv6 bare", host: "[::1]", path: "/", want: 4},
		{name: "ipv4 with port", host: "127.0.0.1:9000", path: "/", want: 5},
		{name: "trailing dot in request", host: "api.example.com.", path: "/", want: 3},
		{name: "trailing dot in config", host: "fqdn.test", path: "/", want: 7},
	})
}

func TestHostName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Example.com:80", "Example.com"},
		{"example.com", "example.com"},
		{"[::1]:443", "::1"},
		{"[::1]", "::1"},
		{"::1", "::1"},
		{"[broken", "[broken"},
		{"a.b.:1", "a.b"},
		{".", "."},
		{"", ""},
	}
	for _, tc := range cases {
		if got := string(hostName([]byte(tc.in))); got != tc.want {
			t.Errorf("hostName(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLongHost(t *testing.T) {
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'A'
	}
	specs := []Spec{{Hosts: []string{string(long) + ".test"}}}
	runMatch(t, specs, []matchCase{
		{name: "longer than the stack buffer", host: string(long) + ".TEST", path: "/", want: 0},
	})
}

func TestParseHost(t *testing.T) {
	cases := []struct {
		in      string
		want    hostKey
		wantErr bool
	}{
		{in: "Api.Example.com", want: hostKey{name: "api.example.com"}},
		{in: "*.Example.com", want: hostKey{name: ".example.com", wildcard: true}},
		{in: "[::1]", want: hostKey{name: "::1"}},
		{in: "", wantErr: true},
		{in: "*", wantErr: true},
		{in: "*example.com", wantErr: true},
		{in: "a.*.com", wantErr: true},
		{in: "*.", wantErr: true},
		{in: "a b", wantErr: true},
	}
	for _, tc := range cases {
		got, err := parseHost(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parseHost(%q): got error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(hostKey{})); diff != "" {
			t.Errorf("parseHost(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

package router

import (
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzMatch builds a random table from a seed plus one route whose host
// and path come from the fuzzer, matches a fuzzed request against it, and
// checks that Match neither panics nor disagrees with the reference.
func FuzzMatch(f *testing.F) {
	f.Add(int64(1), uint8(5), uint8(0), "*.example.com", "/a", "a.example.com:80", "/a/b", "q=1", "GET", "1")
	f.Add(int64(2), uint8(9), uint8(3), "", "/u/{id}", "", "/u/%2F", "q=%zz&q", "POST", "")
	f.Add(int64(3), uint8(1), uint8(2), "[::1]", "/v[0-9]+/.*", "[::1]:8080", "/v2/x", "", "get", "2")
	f.Add(int64(4), uint8(20), uint8(1), "API.example.com.", "/", "api.EXAMPLE.com.", "//", "a+b=x+y", "GET", "")
	f.Fuzz(func(t *testing.T, seed int64, n, kind uint8, specHost, specPath, host, path, query, method, hdr string) {
		r := rand.New(rand.NewSource(seed))
		specs := genSpecs(r, int(n%20))
		extra := Spec{PathKind: PathKind(kind % 4), Path: specPath}
		if specHost != "" {
			extra.Hosts = []string{specHost}
		}
		if kind&4 != 0 {
			extra.Headers = []ValueMatch{{Name: "X-A", Exact: hdr}}
		}
		specs = append(specs, extra)
		tbl, err := Compile(specs)
		if err != nil {
			specs = specs[:len(specs)-1]
			if tbl, err = Compile(specs); err != nil {
				t.Fatalf("compile generated specs: %v", err)
			}
		}
		in := &Input{Host: []byte(host), Path: []byte(path), Query: []byte(query), Method: []byte(method)}
		if hdr != "" {
			in.Headers = mapHeaders{"x-a": hdr}
		}
		got, want := tableResult(tbl, in), refResult(specs, in)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("host %q path %q query %q: mismatch (-want +got):\n%s\nextra route: %+v", host, path, query, diff, extra)
		}
	})
}

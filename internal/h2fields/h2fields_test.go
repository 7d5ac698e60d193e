package h2fields

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2/hpack"
)

func TestHeader(t *testing.T) {
	fields := []hpack.HeaderField{
		{Name: "content-type", Value: "text/plain"},
		{Name: "x-multi", Value: "a"},
		{Name: "set-cookie", Value: "a=1"},
		{Name: "x-multi", Value: "b"},
		{Name: "x-odd-name", Value: "v"},
		{Name: "cookie", Value: "skipped"},
		{Name: "set-cookie", Value: "b=2"},
	}
	got := Header(fields, func(f hpack.HeaderField) bool { return f.Name == "cookie" })
	want := http.Header{
		"Content-Type": {"text/plain"},
		"X-Multi":      {"a", "b"},
		"Set-Cookie":   {"a=1", "b=2"},
		"X-Odd-Name":   {"v"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Header (-want +got):\n%s", diff)
	}
	// Appending to one field's values must not reach another's.
	got["Content-Type"] = append(got["Content-Type"], "extra")
	if v := got["X-Multi"]; len(v) != 2 || v[0] != "a" {
		t.Errorf("X-Multi after appending to Content-Type: %q", v)
	}
	if h := Header(nil, nil); h == nil || len(h) != 0 {
		t.Errorf("Header(nil) = %v, want an empty header", h)
	}
}

func TestCanonicalAndLower(t *testing.T) {
	for _, name := range []string{"content-type", "x-request-id", "www-authenticate", "x-some-thing", "te", "etag"} {
		c := Canonical(name)
		if c != http.CanonicalHeaderKey(name) {
			t.Errorf("Canonical(%q) = %q, want %q", name, c, http.CanonicalHeaderKey(name))
		}
		if l := Lower(c); l != name {
			t.Errorf("Lower(%q) = %q, want %q", c, l, name)
		}
	}
	if n := testing.AllocsPerRun(100, func() { Canonical("x-forwarded-for"); Lower("X-Request-Id") }); n != 0 {
		t.Errorf("common names allocate %v times, want 0", n)
	}
}

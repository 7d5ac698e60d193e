package h2fields

import (
	"bytes"
	"fmt"
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

// The fields that repeat from one request to the next stay in the dynamic
// table while a request ID and a trace context, new in every request, go
// as literals never indexed: after the first request a header block is the
// repeating fields' indexes and the two new values.
func TestFieldKeepsRepeatingFieldsIndexed(t *testing.T) {
	repeating := [][2]string{
		{":method", "GET"}, {":scheme", "https"}, {":authority", "catalog"}, {":path", "/items/1"},
		{"user-agent", "Go-http-client/1.1"}, {"accept-encoding", "gzip"}, {"x-forwarded-for", "127.0.0.1"},
		{"x-forwarded-proto", "http"}, {"x-forwarded-host", "catalog"},
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	dec := hpack.NewDecoder(4096, nil)
	largest := 0
	for i := range 500 {
		block.Reset()
		for _, f := range repeating {
			enc.WriteField(Field(f[0], f[1]))
		}
		enc.WriteField(Field("x-request-id", fmt.Sprintf("%032x", i)))
		enc.WriteField(Field("traceparent", fmt.Sprintf("00-%032x-%016x-01", i+1, i+1)))
		fields, err := dec.DecodeFull(block.Bytes())
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		for _, f := range fields {
			if f.Sensitive != (f.Name == "x-request-id" || f.Name == "traceparent") {
				t.Fatalf("request %d: %s sent never-indexed %v", i, f.Name, f.Sensitive)
			}
		}
		if i > 0 {
			largest = max(largest, block.Len())
		}
	}
	// The two new values take about 80 bytes with their names; each
	// repeating field one byte.
	if largest > 100 {
		t.Errorf("largest header block after the first request: %d bytes, want the repeating fields indexed (100 at most)", largest)
	}
}

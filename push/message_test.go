package push

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestRequestCheck(t *testing.T) {
	long := strings.Repeat("x", maxField+1)
	tests := []struct {
		name  string
		json  string
		first bool
		want  string // error text; "" for none
	}{
		{name: "hello", json: `{"hello":{"nodeId":"gw-1","kind":"gateway","build":"1.0","version":"v1"}}`, first: true},
		{name: "sidecar hello", json: `{"hello":{"nodeId":"s","kind":"sidecar"}}`, first: true},
		{name: "ack", json: `{"ack":{"version":"v1"}}`},
		{name: "nack", json: `{"nack":{"version":"v1","error":"bad"}}`},
		{name: "ack first", json: `{"ack":{"version":"v1"}}`, first: true, want: "first request must carry hello"},
		{name: "hello again", json: `{"hello":{"nodeId":"n","kind":"gateway"}}`, want: "hello sent twice"},
		{name: "empty", json: `{}`, want: "request carries 0 messages, want exactly one of hello, ack, nack"},
		{name: "two", json: `{"ack":{},"nack":{}}`, want: "request carries 2 messages, want exactly one of hello, ack, nack"},
		{name: "no node id", json: `{"hello":{"kind":"gateway"}}`, first: true, want: "hello without node id"},
		{name: "bad kind", json: `{"hello":{"nodeId":"n","kind":"mesh"}}`, first: true, want: `hello kind "mesh": want "gateway" or "sidecar"`},
		{name: "long node id", json: `{"hello":{"nodeId":"` + long + `","kind":"gateway"}}`, first: true, want: "hello node id is 257 bytes, want at most 256"},
		{name: "long ack", json: `{"ack":{"version":"` + long + `"}}`, want: "ack version is 257 bytes, want at most 256"},
		{name: "long nack", json: `{"nack":{"version":"` + long + `"}}`, want: "nack version is 257 bytes, want at most 256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r Request
			if err := json.Unmarshal([]byte(tc.json), &r); err != nil {
				t.Fatal(err)
			}
			got := ""
			if err := r.check(tc.first); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("check error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{in: "short", n: 10, want: "short"},
		{in: "exactly", n: 7, want: "exactly"},
		{in: "cut here", n: 3, want: "cut"},
		{in: "héllo", n: 2, want: "h"}, // é is two bytes; half of it is dropped
		{in: "bad\xffbyte", n: 100, want: "badbyte"},
	}
	for _, tc := range tests {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d): got %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// FuzzRequest feeds the server's checks with what a hostile data plane
// could send: anything the JSON codec decodes.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"hello":{"nodeId":"gw-1","kind":"gateway","version":"v1"}}`,
		`{"ack":{"version":"v1"}}`,
		`{"nack":{"version":"v1","error":"route 3: unknown cluster \u00e9"}}`,
		`{"hello":null,"ack":{}}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		if json.Unmarshal(data, &r) != nil {
			return
		}
		if r.check(true) == nil {
			h := r.Hello
			if h == nil || r.Ack != nil || r.Nack != nil || h.NodeID == "" || len(h.NodeID) > maxField || (h.Kind != KindGateway && h.Kind != KindSidecar) {
				t.Errorf("check(true) accepted %+v", r)
			}
		}
		if r.check(false) == nil && (r.Hello != nil || (r.Ack == nil) == (r.Nack == nil)) {
			t.Errorf("check(false) accepted %+v", r)
		}
		if r.Nack != nil {
			if msg := truncate(r.Nack.Error, maxNackError); len(msg) > maxNackError || !utf8.ValidString(msg) {
				t.Errorf("truncate(%q) = %q: too long or not UTF-8", r.Nack.Error, msg)
			}
		}
	})
}

package h1

import (
	"bytes"
	"io"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAppendHelpers(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"request line", string(AppendRequestLine(nil, []byte("GET"), []byte("/a?b"))), "GET /a?b HTTP/1.1\r\n"},
		{"status default reason", string(AppendStatusLine(nil, 1, 404, nil)), "HTTP/1.1 404 Not Found\r\n"},
		{"status given reason", string(AppendStatusLine([]byte("x"), 0, 200, []byte("Fine"))), "xHTTP/1.0 200 Fine\r\n"},
		{"status unknown", string(AppendStatusLine(nil, 1, 599, nil)), "HTTP/1.1 599 \r\n"},
		{"header", string(AppendHeader(nil, []byte("X-A"), []byte("b c"))), "X-A: b c\r\n"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestAppendStatusLineParses(t *testing.T) {
	raw := string(AppendStatusLine(nil, 1, 418, nil)) + "Content-Length: 0\r\n\r\n"
	resp, _, err := parseResponse(raw, "GET")
	if err != nil || resp.Status != 418 || string(resp.Reason) != "I'm a teapot" {
		t.Errorf("got %d %q, %v; want 418 I'm a teapot, nil", resp.Status, resp.Reason, err)
	}
}

func TestValidField(t *testing.T) {
	tests := []struct {
		name, value string
		nameOK      bool
		valueOK     bool
	}{
		{"X-Ok", "plain value", true, true},
		{"X Bad", "a\r\nInjected: 1", false, false},
		{"", " leading", false, false},
		{"X", "tab\tinside", true, true},
	}
	for _, tt := range tests {
		if got := ValidFieldName([]byte(tt.name)); got != tt.nameOK {
			t.Errorf("ValidFieldName(%q) = %v, want %v", tt.name, got, tt.nameOK)
		}
		if got := ValidFieldValue([]byte(tt.value)); got != tt.valueOK {
			t.Errorf("ValidFieldValue(%q) = %v, want %v", tt.value, got, tt.valueOK)
		}
	}
}

// TestChunkedWriterRoundTrip writes chunks of every size class and reads
// them back with this package's reader and with net/http/httputil's.
func TestChunkedWriterRoundTrip(t *testing.T) {
	var wire bytes.Buffer
	var cw ChunkedWriter
	cw.Reset(&wire)
	parts := []string{"a", "", strings.Repeat("b", 4096), strings.Repeat("c", 10000)}
	for _, p := range parts {
		if n, err := cw.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("got Write = %d, %v; want %d, nil", n, err, len(p))
		}
	}
	if err := cw.Close([]Header{{Name: []byte("X-Sum"), Value: []byte("42")}}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(parts, "")
	got, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(wire.Bytes())))
	if string(got) != want || err != nil {
		t.Errorf("httputil read %d bytes, %v; want %d, nil", len(got), err, len(want))
	}
	r := NewReader(io.MultiReader(strings.NewReader(chunkedHead), &wire), 0)
	var req Request
	if err := r.ReadRequest(&req, Limits{}); err != nil {
		t.Fatal(err)
	}
	body, err := readBody(r, req.ContentLength, req.Chunked)
	if body != want || err != nil {
		t.Errorf("read %d bytes, %v; want %d, nil", len(body), err, len(want))
	}
	if diff := cmp.Diff([]string{"X-Sum: 42"}, viewHeaders(r.Trailers())); diff != "" {
		t.Errorf("trailers mismatch (-want +got):\n%s", diff)
	}
}

func TestHopByHop(t *testing.T) {
	headers := []Header{{Name: []byte("Connection"), Value: []byte("X-Secret, keep-alive")}}
	tests := []struct {
		name      string
		hop, conn bool
	}{
		{"Transfer-Encoding", true, false},
		{"te", true, false},
		{"Proxy-Authorization", true, false},
		{"Keep-Alive", true, true},
		{"x-secret", false, true},
		{"X-Other", false, false},
		{"Content-Length", false, false},
	}
	for _, tt := range tests {
		if got := IsHopByHop([]byte(tt.name)); got != tt.hop {
			t.Errorf("IsHopByHop(%q) = %v, want %v", tt.name, got, tt.hop)
		}
		if got := ConnectionHas(headers, []byte(tt.name)); got != tt.conn {
			t.Errorf("ConnectionHas(%q) = %v, want %v", tt.name, got, tt.conn)
		}
	}
}

// TestConnectionOptions: ConnectionOptions is set by any Connection option
// but keep-alive, in requests and responses alike.
func TestConnectionOptions(t *testing.T) {
	for _, tt := range []struct {
		connection string
		want       bool
	}{
		{"", false},
		{"keep-alive", false},
		{"Keep-Alive, keep-alive", false},
		{"close", true},
		{"Upgrade", true},
		{"keep-alive, X-Trace", true},
		{"x-a", true},
	} {
		field := ""
		if tt.connection != "" {
			field = "Connection: " + tt.connection + "\r\n"
		}
		var req Request
		if err := NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: a\r\n"+field+"\r\n"), 0).ReadRequest(&req, Limits{}); err != nil {
			t.Fatal(err)
		}
		resp, _, err := parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"+field+"\r\n", "GET")
		if err != nil {
			t.Fatal(err)
		}
		if req.ConnectionOptions != tt.want || resp.ConnectionOptions != tt.want {
			t.Errorf("Connection %q: request %v, response %v, want %v", tt.connection, req.ConnectionOptions, resp.ConnectionOptions, tt.want)
		}
	}
}

package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2HeaderBlockOverOneMiB: Go's HTTP/2 client will not send a
// header block over the server's advertised SETTINGS_MAX_HEADER_LIST_SIZE,
// but other clients do. A request whose header block crosses the 1 MiB
// pylon's HTTP/2 server decodes (above any max_header_bytes) in its last
// frame still gets pylon's 431 headers_too_large with a request ID, or a
// gRPC status for a gRPC call, and the connection serves the next
// request. (A client that sends further CONTINUATION frames past the
// limit gets a connection error: x/net's guard against CONTINUATION
// floods.)
func TestHTTP2HeaderBlockOverOneMiB(t *testing.T) {
	rec := startRecorder(t)
	g := startGateway(t, hostileConfig, map[string]string{"Rec": rec.addr})
	fr := dialH2C(t, g.addr("web"), 20*time.Second)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	encode := func(fields []string) []byte {
		block.Reset()
		for i := 0; i < len(fields); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
		return bytes.Clone(block.Bytes())
	}
	// request sends fields and then, in a CONTINUATION frame of its own,
	// last; each of those frames is at most 16 KiB (the default
	// SETTINGS_MAX_FRAME_SIZE).
	request := func(id uint32, fields []string, last ...string) {
		b := encode(fields)
		n := min(len(b), 16384)
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b[:n], EndStream: true, EndHeaders: n == len(b) && last == nil}); err != nil {
			t.Fatal(err)
		}
		for b = b[n:]; len(b) > 0; b = b[n:] {
			n = min(len(b), 16384)
			if err := fr.WriteContinuation(id, n == len(b) && last == nil, b[:n]); err != nil {
				t.Fatal(err)
			}
		}
		if last != nil {
			if err := fr.WriteContinuation(id, true, encode(last)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// response reads frames until stream id ends and returns its status,
	// its header fields and body.
	response := func(id uint32) (map[string]string, []byte) {
		fields := map[string]string{}
		var body []byte
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("reading stream %d's answer: %v", id, err)
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.GoAwayFrame:
				t.Fatalf("GOAWAY %v while waiting for stream %d", f.ErrCode, id)
			case *http2.RSTStreamFrame:
				if f.StreamID == id {
					t.Fatalf("stream %d reset with %v", id, f.ErrCode)
				}
			case *http2.MetaHeadersFrame:
				if f.StreamID != id {
					continue
				}
				for _, h := range f.Fields {
					fields[h.Name] = h.Value
				}
				if f.StreamEnded() {
					return fields, body
				}
			case *http2.DataFrame:
				if f.StreamID != id {
					continue
				}
				body = append(body, f.Data()...)
				if f.StreamEnded() {
					return fields, body
				}
			}
		}
	}
	// Fields up to 10,000 bytes short of 1 MiB (RFC 9113 6.5.2 counts
	// name, value and 32 for each), then a last one of 12,000.
	oversized := func(fields ...string) []string {
		size := 0
		for i := 0; i < len(fields); i += 2 {
			size += len(fields[i]) + len(fields[i+1]) + 32
		}
		for i := 0; size < 1<<20-10000; i++ {
			name, value := fmt.Sprintf("x-filler-%d", i), strings.Repeat("v", min(4000, 1<<20-10000-size))
			fields = append(fields, name, value)
			size += len(name) + len(value) + 32
		}
		return fields
	}
	last := []string{"x-last", strings.Repeat("w", 12000)}
	head := []string{":method", "POST", ":scheme", "http", ":authority", "a.example", ":path", "/big"}

	request(1, oversized(head...), last...)
	fields, body := response(1)
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || fields[":status"] != "431" || e.Error.Code != "headers_too_large" || e.Error.RequestID == "" {
		t.Errorf("a header block over 1 MiB: got %s %q, want 431 headers_too_large with a request ID", fields[":status"], body)
	}
	if fields["x-request-id"] != e.Error.RequestID {
		t.Errorf("X-Request-Id %q, body's request_id %q: want the same", fields["x-request-id"], e.Error.RequestID)
	}

	head[7] = "/svc.Greeter/Hello"
	request(3, oversized(append(head, "content-type", "application/grpc", "te", "trailers")...), last...)
	fields, _ = response(3)
	if fields[":status"] != "200" || fields["grpc-status"] != "8" {
		t.Errorf("a gRPC call with a header block over 1 MiB: got HTTP %s grpc-status %q, want 200 and 8 (RESOURCE_EXHAUSTED)", fields[":status"], fields["grpc-status"])
	}

	head[7] = "/small"
	request(5, head)
	if fields, body = response(5); fields[":status"] != "200" {
		t.Errorf("the next request on the connection: got %s %q, want 200", fields[":status"], body)
	}
	if got := rec.requests(); len(got) != 1 {
		t.Errorf("upstream received %d requests, want only the last one:\n%v", len(got), got)
	}
}

package h1

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// respView is a Response with strings, for cmp.Diff.
type respView struct {
	Minor, Status                      int
	Reason                             string
	Headers                            []string
	ContentLength                      int64
	Chunked, KeepAlive, CloseDelimited bool
}

func viewResponse(r *Response) respView {
	return respView{Minor: r.Minor, Status: r.Status, Reason: string(r.Reason), Headers: viewHeaders(r.Headers),
		ContentLength: r.ContentLength, Chunked: r.Chunked, KeepAlive: r.KeepAlive, CloseDelimited: r.CloseDelimited}
}

func parseResponse(raw, method string) (*Response, *Reader, error) {
	r := NewReader(strings.NewReader(raw), 0)
	resp := new(Response)
	err := r.ReadResponse(resp, Limits{}, []byte(method))
	return resp, r, err
}

func TestReadResponseAccepts(t *testing.T) {
	tests := []struct {
		name, raw, method string
		want              respView
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "GET",
			respView{Minor: 1, Status: 200, Reason: "OK", Headers: []string{"Content-Length: 5"}, ContentLength: 5, KeepAlive: true}},
		{"chunked", "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n", "POST",
			respView{Minor: 1, Status: 201, Reason: "Created", Headers: []string{"Transfer-Encoding: chunked"}, ContentLength: -1, Chunked: true, KeepAlive: true}},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\n", "GET",
			respView{Minor: 1, Status: 200, Reason: "OK", ContentLength: -1, CloseDelimited: true}},
		{"HEAD has no body", "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", "HEAD",
			respView{Minor: 1, Status: 200, Reason: "OK", Headers: []string{"Content-Length: 50"}, KeepAlive: true}},
		{"304 has no body", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", "GET",
			respView{Minor: 1, Status: 304, Reason: "Not Modified", Headers: []string{"Transfer-Encoding: chunked"}, KeepAlive: true}},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", "DELETE",
			respView{Minor: 1, Status: 204, Reason: "No Content", KeepAlive: true}},
		{"100 continue", "HTTP/1.1 100 Continue\r\n\r\n", "PUT",
			respView{Minor: 1, Status: 100, Reason: "Continue", KeepAlive: true}},
		{"101 switching", "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", "GET",
			respView{Minor: 1, Status: 101, Reason: "Switching Protocols", Headers: []string{"Connection: upgrade", "Upgrade: websocket"}, KeepAlive: true}},
		{"no reason", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", "GET",
			respView{Minor: 1, Status: 404, Headers: []string{"Content-Length: 0"}, KeepAlive: true}},
		{"empty reason", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", "GET",
			respView{Minor: 1, Status: 404, Headers: []string{"Content-Length: 0"}, KeepAlive: true}},
		{"HTTP/1.0 close", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET",
			respView{Minor: 0, Status: 200, Reason: "OK", Headers: []string{"Content-Length: 1"}, ContentLength: 1}},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", "GET",
			respView{Minor: 0, Status: 200, Reason: "OK", Headers: []string{"Connection: keep-alive", "Content-Length: 1"}, ContentLength: 1, KeepAlive: true}},
		{"Connection close", "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", "GET",
			respView{Minor: 1, Status: 500, Reason: "Oops", Headers: []string{"Connection: close", "Content-Length: 1"}, ContentLength: 1}},
		{"CONNECT 200", "HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT",
			respView{Minor: 1, Status: 200, Reason: "Connection established", KeepAlive: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, err := parseResponse(tt.raw, tt.method)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if diff := cmp.Diff(tt.want, viewResponse(resp)); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadResponseRefuses(t *testing.T) {
	tests := []struct {
		name, raw string
		want      errView
	}{
		{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"TE gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", errView{501, CodeUnsupportedTransferCoding}},
		{"TE in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", errView{400, CodeAmbiguousFraming}},
		{"204 with length", "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", errView{400, CodeBadRequest}},
		{"100 with TE", "HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n", errView{400, CodeBadRequest}},
		{"status 99", "HTTP/1.1 099 X\r\n\r\n", errView{400, CodeBadRequest}},
		{"status 600", "HTTP/1.1 600 X\r\n\r\n", errView{400, CodeBadRequest}},
		{"status 2 digits", "HTTP/1.1 20 OK\r\n\r\n", errView{400, CodeBadRequest}},
		{"status 4 digits", "HTTP/1.1 2000 OK\r\n\r\n", errView{400, CodeBadRequest}},
		{"status letters", "HTTP/1.1 2x0 OK\r\n\r\n", errView{400, CodeBadRequest}},
		{"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", errView{505, CodeVersionNotSupported}},
		{"garbage", "ICY 200 OK\r\n\r\n", errView{400, CodeBadRequest}},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", errView{400, CodeBadRequest}},
		{"CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", errView{400, CodeBadRequest}},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n", errView{400, CodeBadRequest}},
		{"NUL in value", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", errView{400, CodeBadRequest}},
		{"huge header", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 1<<20) + "\r\n\r\n", errView{431, CodeHeadersTooLarge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseResponse(tt.raw, "GET")
			if diff := cmp.Diff(tt.want, viewError(err)); diff != "" {
				t.Errorf("got error %v (-want +got):\n%s", err, diff)
			}
		})
	}
}

// TestInterimThenFinal reads a 100 Continue, then the final response, then
// its body on one connection.
func TestInterimThenFinal(t *testing.T) {
	raw := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	resp, r, err := parseResponse(raw, "POST")
	if err != nil || resp.Status != 100 {
		t.Fatalf("got %d, %v; want 100, nil", resp.Status, err)
	}
	if err := r.ReadResponse(resp, Limits{}, []byte("POST")); err != nil || resp.Status != 200 {
		t.Fatalf("got %d, %v; want 200, nil", resp.Status, err)
	}
	body, err := readBody(r, resp.ContentLength, resp.Chunked)
	if body != "ok" || err != nil {
		t.Errorf("got body %q, %v; want %q, nil", body, err, "ok")
	}
	if v, ok := resp.Header("content-length"); string(v) != "2" || !ok {
		t.Errorf("got Content-Length %q, %v; want 2, true", v, ok)
	}
}

package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var fuzzLimits = Limits{MaxHeaderBytes: 4096, MaxURIBytes: 1024, MaxHeaders: 32}

func addRequestSeeds(f *testing.F) {
	for _, s := range []string{
		browserRequest,
		chunkedHead + "5;a=\"b\"\r\nhello\r\n0\r\nX: y\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.0\r\n\r\n",
		"GET http://a:1/b?c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: upgrade\r\nUpgrade: ws\r\n\r\n",
		"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzReadRequest checks the reader never panics and that every request it
// accepts has consistent framing and survives re-serialisation unchanged.
func FuzzReadRequest(f *testing.F) {
	addRequestSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 4096)
		var req Request
		for i := range 4 {
			if err := r.ReadRequest(&req, fuzzLimits); err != nil {
				return
			}
			if i == 0 {
				compareNetHTTP(t, &req, data)
			}
			checkRequestFraming(t, &req)
			checkConnectionOptions(t, req.Headers, req.ConnectionOptions)
			checkReserialised(t, &req)
			if _, err := io.Copy(io.Discard, r.BodyReader(req.ContentLength, req.Chunked)); err != nil {
				return
			}
		}
	})
}

func checkRequestFraming(t *testing.T, req *Request) {
	_, hasTE := req.Header("transfer-encoding")
	_, hasCL := req.Header("content-length")
	switch {
	case req.Chunked && (hasCL || !hasTE || req.ContentLength != -1 || req.Minor != 1):
		t.Fatalf("chunked request with CL %v, TE %v, length %d, minor %d", hasCL, hasTE, req.ContentLength, req.Minor)
	case !req.Chunked && (hasTE || req.ContentLength < 0):
		t.Fatalf("non-chunked request with TE %v, length %d", hasTE, req.ContentLength)
	case req.Minor == 1 && len(req.Host) == 0:
		t.Fatalf("HTTP/1.1 request without a host")
	}
}

// checkConnectionOptions checks the promise of ConnectionOptions: when it
// is not set, no field but Keep-Alive is named in Connection.
func checkConnectionOptions(t *testing.T, headers []Header, options bool) {
	if options {
		return
	}
	for _, h := range headers {
		if ConnectionHas(headers, h.Name) && !EqualLower(h.Name, "keep-alive") {
			t.Fatalf("ConnectionOptions unset, but Connection names %q", h.Name)
		}
	}
}

// compareNetHTTP checks that net/http, when it accepts the same request,
// reads the same method, target, host and body framing.
func compareNetHTTP(t *testing.T, req *Request, data []byte) {
	std, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return
	}
	type view struct {
		Method, Target, Host string
		ContentLength        int64
	}
	ours := view{string(req.Method), string(req.Target), string(req.Host), req.ContentLength}
	theirs := view{std.Method, std.RequestURI, std.Host, std.ContentLength}
	if diff := cmp.Diff(theirs, ours); diff != "" {
		t.Fatalf("net/http reads %q differently (-net/http +ours):\n%s", data, diff)
	}
}

// checkReserialised writes req's head again and parses it back.
func checkReserialised(t *testing.T, req *Request) {
	var b []byte
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.Target...)
	b = append(b, " HTTP/1."...)
	b = append(b, byte('0'+req.Minor), '\r', '\n')
	for _, h := range req.Headers {
		b = AppendHeader(b, h.Name, h.Value)
	}
	b = append(b, "\r\n"...)
	var again Request
	if err := NewReader(bytes.NewReader(b), 4096).ReadRequest(&again, fuzzLimits); err != nil {
		t.Fatalf("re-serialised request %q refused: %v", b, err)
	}
	if diff := cmp.Diff(viewRequest(req), viewRequest(&again)); diff != "" {
		t.Fatalf("re-parsed request differs (-first +again):\n%s", diff)
	}
}

// FuzzReadResponse checks the reader never panics and that accepted
// responses have consistent framing.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		typicalResponse,
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody until close",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	methods := [][]byte{[]byte("GET"), []byte("HEAD"), []byte("CONNECT")}
	f.Fuzz(func(t *testing.T, data []byte, m uint8) {
		method := methods[int(m)%len(methods)]
		r := NewReader(bytes.NewReader(data), 4096)
		var resp Response
		for range 4 {
			if err := r.ReadResponse(&resp, fuzzLimits, method); err != nil {
				return
			}
			_, hasTE := resp.Header("transfer-encoding")
			_, hasCL := resp.Header("content-length")
			if hasTE && hasCL {
				t.Fatalf("accepted a response with both Content-Length and Transfer-Encoding")
			}
			if resp.CloseDelimited && (resp.KeepAlive || hasCL || hasTE) {
				t.Fatalf("close-delimited response with keep-alive %v, CL %v, TE %v", resp.KeepAlive, hasCL, hasTE)
			}
			if resp.Status < 100 || resp.Status > 599 {
				t.Fatalf("accepted status %d", resp.Status)
			}
			checkConnectionOptions(t, resp.Headers, resp.ConnectionOptions)
			if _, err := io.Copy(io.Discard, r.BodyReader(resp.ContentLength, resp.Chunked)); err != nil {
				return
			}
		}
	})
}

// FuzzChunked compares chunked decoding with net/http/httputil's: what this
// package accepts, httputil must decode to the same bytes.
func FuzzChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"a;x=1;y=\"q\\\"\"\r\n0123456789\r\n0\r\nT: v\r\n\r\n",
		"0000000000000001\r\nx\r\n0\r\n\r\n",
		"fffffffffffffffff\r\n",
		"5 \r\nhello\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := NewReader(io.MultiReader(strings.NewReader(chunkedHead), bytes.NewReader(body)), 4096)
		var req Request
		if err := r.ReadRequest(&req, fuzzLimits); err != nil {
			t.Fatal(err)
		}
		ours, err := io.ReadAll(r.BodyReader(req.ContentLength, req.Chunked))
		if err != nil {
			return
		}
		theirs, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
		if errors.Is(err, httputil.ErrLineTooLong) {
			return // httputil's line limit is one byte shorter than ours
		}
		if err != nil {
			t.Fatalf("accepted %q, which httputil refuses: %v", body, err)
		}
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("decoded %q, httputil decoded %q", ours, theirs)
		}
	})
}

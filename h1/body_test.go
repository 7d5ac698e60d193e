package h1

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

const chunkedHead = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

func TestChunkedBody(t *testing.T) {
	tests := []struct {
		name, body string
		want       string
		trailers   []string
		err        errView
	}{
		{name: "simple", body: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", want: "hello world"},
		{name: "upper hex and extensions", body: "A;name=val;q=\"a \\\" b\";flag\r\n0123456789\r\n0;last\r\n\r\n", want: "0123456789"},
		{name: "extension without value", body: "5;ext\r\nhello\r\n0\r\n\r\n", want: "hello"},
		{name: "16 hex digits", body: "0000000000000005\r\nhello\r\n0\r\n\r\n", want: "hello"},
		{name: "trailers", body: "1\r\nx\r\n0\r\nX-Sum: 1\r\nX-Other:  b \r\n\r\n", want: "x", trailers: []string{"X-Sum: 1", "X-Other: b"}},
		{name: "empty", body: "0\r\n\r\n"},
		{name: "17 hex digits", body: "fffffffffffffffff\r\n", err: errView{400, CodeBadChunk}},
		{name: "overflow", body: "8000000000000000\r\n", err: errView{400, CodeBadChunk}},
		{name: "non-hex", body: "g\r\n", err: errView{400, CodeBadChunk}},
		{name: "empty size", body: "\r\nhello\r\n", err: errView{400, CodeBadChunk}},
		{name: "negative", body: "-5\r\nhello\r\n", err: errView{400, CodeBadChunk}},
		{name: "0x prefix", body: "0x5\r\nhello\r\n", err: errView{400, CodeBadChunk}},
		{name: "space after size", body: "5 \r\nhello\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "space before ext", body: "5 ;a\r\nhello\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "empty ext name", body: "5;\r\nhello\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "empty ext value", body: "5;a=\r\nhello\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "unterminated quote", body: "5;a=\"b\r\nhello\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "bare LF after size", body: "5\nhello\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "bare CR after size", body: "5\rhello\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "data too long", body: "5\r\nhello!\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "bare LF after data", body: "5\r\nhello\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "missing CRLF after data", body: "5\r\nhello0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "long chunk line", body: "5;a=" + strings.Repeat("b", 5000) + "\r\nhello\r\n0\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "bad trailer", body: "0\r\nX : y\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "trailer obs-fold", body: "0\r\nX: y\r\n z\r\n\r\n", err: errView{400, CodeBadChunk}},
		{name: "bare LF ends trailers", body: "0\r\n\n", err: errView{400, CodeBadChunk}},
		{name: "huge trailer", body: "0\r\nX: " + strings.Repeat("a", 40<<10) + "\r\n\r\n", err: errView{431, CodeHeadersTooLarge}},
		{name: "too many trailers", body: "0\r\n" + strings.Repeat("X: y\r\n", 100) + "\r\n", err: errView{431, CodeHeadersTooLarge}},
		{name: "truncated data", body: "5\r\nhel", err: errView{Code: "h1: reading body: unexpected EOF"}},
		{name: "truncated line", body: "5", err: errView{Code: "h1: reading body: unexpected EOF"}},
		{name: "no trailer end", body: "0\r\n", err: errView{Code: "h1: reading body: unexpected EOF"}},
	}
	wraps := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
	}
	for _, tt := range tests {
		for _, w := range wraps {
			t.Run(tt.name+"/"+w.name, func(t *testing.T) {
				r := NewReader(w.wrap(strings.NewReader(chunkedHead+tt.body)), 0)
				var req Request
				if err := r.ReadRequest(&req, Limits{}); err != nil {
					t.Fatalf("got head error %v, want none", err)
				}
				body, err := readBody(r, req.ContentLength, req.Chunked)
				if diff := cmp.Diff(tt.err, viewError(err)); diff != "" {
					t.Fatalf("got error %v (-want +got):\n%s", err, diff)
				}
				if err != nil {
					return
				}
				if body != tt.want {
					t.Errorf("got body %q, want %q", body, tt.want)
				}
				if diff := cmp.Diff(tt.trailers, viewHeaders(r.Trailers())); diff != "" {
					t.Errorf("trailers mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestBodiesAcrossSmallReads reads pipelined messages of each framing
// through sources that return one byte, or half the asked, at a time.
func TestBodiesAcrossSmallReads(t *testing.T) {
	raw := "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world" +
		chunkedHead + "3\r\nabc\r\n0\r\nT: v\r\n\r\n" +
		"GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
	wraps := map[string]func(io.Reader) io.Reader{"one byte": iotest.OneByteReader, "half": iotest.HalfReader}
	for name, wrap := range wraps {
		t.Run(name, func(t *testing.T) {
			r := NewReader(wrap(strings.NewReader(raw)), 0)
			var got []string
			var req Request
			for {
				err := r.ReadRequest(&req, Limits{})
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				body, err := readBody(r, req.ContentLength, req.Chunked)
				if err != nil {
					t.Fatalf("got body error %v, want none", err)
				}
				got = append(got, string(req.Target)+" "+body)
			}
			want := []string{"/a hello world", "/up abc", "/c "}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("messages mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPipelining(t *testing.T) {
	second := "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
	raw := "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" + second
	req, r, err := parseRequest(raw, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(req.Target); got != "/1" {
		t.Errorf("got first target %q, want /1", got)
	}
	if got := r.Buffered(); got != len(second) {
		t.Errorf("got Buffered() = %d, want %d", got, len(second))
	}
	if err := r.ReadRequest(req, Limits{}); err != nil {
		t.Fatal(err)
	}
	if got := string(req.Target); got != "/2" {
		t.Errorf("got second target %q, want /2", got)
	}
	if got := r.Buffered(); got != 0 {
		t.Errorf("got Buffered() = %d, want 0", got)
	}
	if err := r.ReadRequest(req, Limits{}); err != io.EOF {
		t.Errorf("got %v at the end, want io.EOF", err)
	}
}

// TestUnreadBodyRefused checks a body left unread is never parsed as the
// next request.
func TestUnreadBodyRefused(t *testing.T) {
	raw := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 29\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
	req, r, err := parseRequest(raw, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ReadRequest(req, Limits{}); !errors.Is(err, ErrUnreadBody) {
		t.Errorf("got %v, want ErrUnreadBody", err)
	}
}

func TestFixedAndCloseBodies(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n\r\nrest of the stream"
	resp, r, err := parseResponse(raw, "GET")
	if err != nil {
		t.Fatal(err)
	}
	if body, err := readBody(r, resp.ContentLength, resp.Chunked); body != "abc" || err != nil {
		t.Errorf("got %q, %v; want abc, nil", body, err)
	}
	if err := r.ReadResponse(resp, Limits{}, []byte("GET")); err != nil || !resp.CloseDelimited {
		t.Fatalf("got %v, CloseDelimited %v; want nil, true", err, resp.CloseDelimited)
	}
	if body, err := readBody(r, resp.ContentLength, resp.Chunked); body != "rest of the stream" || err != nil {
		t.Errorf("got %q, %v; want the rest, nil", body, err)
	}
}

func TestShortFixedBody(t *testing.T) {
	req, r, err := parseRequest("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = readBody(r, req.ContentLength, req.Chunked)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestLargeHeadLeavesRoomForChunks checks a head at the byte limit still
// leaves room for chunk lines and an empty trailer section.
func TestLargeHeadLeavesRoomForChunks(t *testing.T) {
	head := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX: "
	lim := Limits{MaxHeaderBytes: 4096}
	head += strings.Repeat("a", lim.MaxHeaderBytes-len(head)-4) + "\r\n\r\n"
	body := "10;" + strings.Repeat("e", 4000) + "\r\n0123456789abcdef\r\n0\r\n\r\n"
	r := NewReader(iotest.HalfReader(strings.NewReader(head+body)), 4096)
	var req Request
	if err := r.ReadRequest(&req, lim); err != nil {
		t.Fatal(err)
	}
	got, err := readBody(r, req.ContentLength, req.Chunked)
	if got != "0123456789abcdef" || err != nil {
		t.Errorf("got %q, %v; want the data, nil", got, err)
	}
	if v, _ := req.Header("host"); string(v) != "a" {
		t.Errorf("got Host %q after reading the body, want a (the head must not move)", v)
	}
}

func TestRawReadAfterUpgrade(t *testing.T) {
	raw := "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"
	_, r, err := parseRequest(raw, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if string(got) != "\x81\x05hello" || err != nil {
		t.Errorf("got %q, %v; want the frame bytes, nil", got, err)
	}
}

func TestPeek(t *testing.T) {
	src := "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
	r := NewReader(iotest.HalfReader(strings.NewReader(src)), 4096)
	var req Request
	for _, want := range []string{"/a", "/b"} {
		b, err := r.Peek()
		if err != nil || len(b) == 0 {
			t.Fatalf("Peek before %s: %q, %v; want bytes of the next request", want, b, err)
		}
		if err := r.ReadRequest(&req, DefaultLimits); err != nil {
			t.Fatalf("ReadRequest after Peek: %v", err)
		}
		if got := string(req.Path); got != want {
			t.Errorf("got path %q, want %q", got, want)
		}
	}
	if _, err := r.Peek(); err != io.EOF {
		t.Errorf("Peek at the end: got %v, want io.EOF", err)
	}
}

// TestBufferGrowsForLargeHeads reads heads and framing larger than the
// starting buffer: fields read before the buffer grew keep their values,
// and a chunked body with trailers after a large head still parses.
func TestBufferGrowsForLargeHeads(t *testing.T) {
	big := strings.Repeat("v", 40<<10)
	src := "POST /upload HTTP/1.1\r\nHost: example.com\r\nX-First: one\r\nX-Big: " + big + "\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n" +
		"5;ext=" + strings.Repeat("e", 3000) + "\r\nhello\r\n0\r\nX-Trailer: " + strings.Repeat("t", 10<<10) + "\r\n\r\n" +
		"GET /next HTTP/1.1\r\nHost: example.com\r\n\r\n"
	r := NewReader(iotest.HalfReader(strings.NewReader(src)), 64<<10)
	if got := len(r.buf); got > initialBuf {
		t.Fatalf("a new Reader holds %d bytes, want at most %d until a message needs more", got, initialBuf)
	}
	var req Request
	if err := r.ReadRequest(&req, Limits{MaxHeaderBytes: 64 << 10}); err != nil {
		t.Fatalf("ReadRequest with a 40 KiB header: %v", err)
	}
	first, _ := req.Header("x-first")
	host, _ := req.Header("host")
	bigv, _ := req.Header("x-big")
	if string(first) != "one" || string(host) != "example.com" || string(bigv) != big || string(req.Path) != "/upload" {
		t.Errorf("fields after the buffer grew: x-first %q, host %q, path %q, x-big intact %v", first, host, req.Path, string(bigv) == big)
	}
	body, err := io.ReadAll(r.BodyReader(req.ContentLength, req.Chunked))
	if err != nil || string(body) != "hello" {
		t.Fatalf("chunked body after a large head: %q, %v", body, err)
	}
	if tr := r.Trailers(); len(tr) != 1 || len(tr[0].Value) != 10<<10 {
		t.Errorf("got trailers %d, want one 10 KiB trailer", len(tr))
	}
	if err := r.ReadRequest(&req, Limits{MaxHeaderBytes: 64 << 10}); err != nil || string(req.Path) != "/next" {
		t.Errorf("next request: path %q, %v", req.Path, err)
	}
}

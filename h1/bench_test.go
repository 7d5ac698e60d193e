package h1

import (
	"io"
	"testing"
)

// browserRequest is a typical browser request with 10 fields.
const browserRequest = "GET /api/v1/items?page=2&sort=name HTTP/1.1\r\n" +
	"Host: shop.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=0123456789abcdef; theme=dark\r\n" +
	"Referer: https://shop.example.com/\r\n" +
	"Cache-Control: max-age=0\r\n" +
	"X-Request-Id: 7f3c2a1e-9b8d-4c6f-a5e4-3d2c1b0a9f8e\r\n\r\n"

const typicalResponse = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Length: 2\r\n" +
	"Date: Mon, 01 Jun 2026 10:00:00 GMT\r\n" +
	"Cache-Control: no-store\r\n" +
	"Server: upstream\r\n\r\n{}"

var chunkedMessage = chunkedHead + "400\r\n" + kib + "\r\n400;x=y\r\n" + kib + "\r\n0\r\nX-Sum: 1\r\n\r\n"

var kib = string(make([]byte, 1024))

// cycle serves data over and over, as a keep-alive peer sending the same
// message repeatedly would: one read never crosses the message's end.
type cycle struct {
	data []byte
	off  int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := copy(p, c.data[c.off:])
	c.off = (c.off + n) % len(c.data)
	return n, nil
}

func readRequestLoop(r *Reader, req *Request, body []byte) func() {
	return func() {
		if err := r.ReadRequest(req, Limits{}); err != nil {
			panic(err)
		}
		if req.Chunked || req.ContentLength > 0 {
			br := r.BodyReader(req.ContentLength, req.Chunked)
			for {
				if _, err := br.Read(body); err == io.EOF {
					break
				} else if err != nil {
					panic(err)
				}
			}
		}
	}
}

func readResponseLoop(r *Reader, resp *Response, body []byte) func() {
	method := []byte("GET")
	return func() {
		if err := r.ReadResponse(resp, Limits{}, method); err != nil {
			panic(err)
		}
		br := r.BodyReader(resp.ContentLength, resp.Chunked)
		for {
			if _, err := br.Read(body); err == io.EOF {
				break
			} else if err != nil {
				panic(err)
			}
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	body := make([]byte, 4096)
	tests := []struct {
		name string
		run  func() func()
	}{
		{"request", func() func() {
			return readRequestLoop(NewReader(&cycle{data: []byte(browserRequest)}, 0), new(Request), body)
		}},
		{"chunked", func() func() {
			return readRequestLoop(NewReader(&cycle{data: []byte(chunkedMessage)}, 0), new(Request), body)
		}},
		{"response", func() func() {
			return readResponseLoop(NewReader(&cycle{data: []byte(typicalResponse)}, 0), new(Response), body)
		}},
		{"write", func() func() {
			var cw ChunkedWriter
			cw.Reset(io.Discard)
			head := make([]byte, 0, 1024)
			return func() {
				h := AppendStatusLine(head[:0], 1, 200, nil)
				h = AppendHeader(h, []byte("Content-Type"), []byte("text/plain"))
				_ = h
				cw.Write(body[:100])
				cw.Close(nil)
			}
		}},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.run()); got != 0 {
			t.Errorf("%s: got %v allocations per message, want 0", tt.name, got)
		}
	}
}

func BenchmarkReadRequest(b *testing.B) {
	run := readRequestLoop(NewReader(&cycle{data: []byte(browserRequest)}, 0), new(Request), nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(browserRequest)))
	for b.Loop() {
		run()
	}
}

func BenchmarkReadResponse(b *testing.B) {
	run := readResponseLoop(NewReader(&cycle{data: []byte(typicalResponse)}, 0), new(Response), make([]byte, 64))
	b.ReportAllocs()
	b.SetBytes(int64(len(typicalResponse)))
	for b.Loop() {
		run()
	}
}

func BenchmarkChunkedRead(b *testing.B) {
	run := readRequestLoop(NewReader(&cycle{data: []byte(chunkedMessage)}, 0), new(Request), make([]byte, 32<<10))
	b.ReportAllocs()
	b.SetBytes(int64(len(chunkedMessage)))
	for b.Loop() {
		run()
	}
}

package proxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/h1"
)

// BenchmarkTraceHTTP1 measures one keep-alive GET through the plaintext
// HTTP/1.1 path with tracing off, on for a request without a traceparent
// (pylon begins the trace), and on for one that carries one.
func BenchmarkTraceHTTP1(b *testing.B) {
	const head = "GET /bench HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\n"
	for _, bc := range []struct {
		name string
		on   bool
		req  string
	}{
		{"off", false, head + "\r\n"},
		{"begin", true, head + "\r\n"},
		{"continue", true, head + "Traceparent: " + callerParent + "\r\nTracestate: k=v\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lc := testListener(b, "plain", testService(b, rawUpstream(b)))
			snap := &Snapshot{Listeners: map[string]*ListenerConfig{"plain": lc}}
			if bc.on {
				snap.Tracing = &Tracing{SampleRatio: 1}
			}
			srv := NewServer(slog.New(slog.DiscardHandler))
			srv.Store(snap)
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
			})
			c, err := net.Dial("tcp", serveOn(b, srv, "plain"))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			req := []byte(bc.req)
			r := h1.NewReader(c, 8192)
			var resp h1.Response
			buf := make([]byte, 4096)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				if err := r.ReadResponse(&resp, h1.DefaultLimits, []byte("GET")); err != nil || resp.Status != 200 {
					b.Fatalf("got %d, %v; want 200", resp.Status, err)
				}
				if _, err := io.CopyBuffer(io.Discard, r.BodyReader(resp.ContentLength, resp.Chunked), buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

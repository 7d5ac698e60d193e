package proxy

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
)

// BenchmarkAuthorizeHTTP1 measures one keep-alive GET through the
// plaintext HTTP/1.1 path without and with an Authorize hook that reads the
// method, path and a header, as a policy engine would.
func BenchmarkAuthorizeHTTP1(b *testing.B) {
	allow := func(a *Access) *flow.Error {
		if a.Method == "" || a.Path == "" {
			return errDenied
		}
		a.Header("x-role")
		return nil
	}
	for _, bc := range []struct {
		name string
		hook func(*Access) *flow.Error
	}{{"off", nil}, {"on", allow}} {
		b.Run(bc.name, func(b *testing.B) {
			lc := testListener(b, "plain", testService(b, rawUpstream(b)))
			lc.Authorize = bc.hook
			benchKeepAlive(b, &Snapshot{Listeners: map[string]*ListenerConfig{"plain": lc}},
				"GET /bench HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\n\r\n")
		})
	}
}

// benchKeepAlive serves snap's listener "plain" and times req, sent again
// and again on one keep-alive connection, to a full 200 response.
func benchKeepAlive(b *testing.B, snap *Snapshot, req string) {
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
	raw := []byte(req)
	r := h1.NewReader(c, 8192)
	var resp h1.Response
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(raw); err != nil {
			b.Fatal(err)
		}
		if err := r.ReadResponse(&resp, h1.DefaultLimits, []byte("GET")); err != nil || resp.Status != 200 {
			b.Fatalf("got %d, %v; want 200", resp.Status, err)
		}
		if _, err := io.CopyBuffer(io.Discard, r.BodyReader(resp.ContentLength, resp.Chunked), buf); err != nil {
			b.Fatal(err)
		}
	}
}

// rawUpstream answers every request on a keep-alive connection with a fixed
// response, allocating nothing per request, so the allocations counted are
// pylon's own.
func rawUpstream(tb testing.TB) string {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n" + string(bytes.Repeat([]byte("x"), 64)))
	return serveRawConns(tb, func(c net.Conn) {
		r := h1.NewReader(c, 8192)
		var req h1.Request
		for r.ReadRequest(&req, h1.DefaultLimits) == nil {
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	})
}

// serveRawConns listens on a loopback port until the test ends and runs
// handle on a goroutine for each connection, closing it afterwards. It
// returns the address.
func serveRawConns(tb testing.TB, handle func(net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

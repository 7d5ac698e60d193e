package dataplane

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	_ "github.com/pylon-mesh/pylon/balancer/all"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/h1"
)

// rawUpstream answers every request on a keep-alive connection with a fixed
// 64-byte response, allocating nothing per request, so the benchmark's
// allocation count is pylon's alone.
func rawUpstream(tb testing.TB) string {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n" + string(bytes.Repeat([]byte("x"), 64)))
	ln := serveEach(tb, func(c net.Conn) {
		r := h1.NewReader(c, 8192)
		var req h1.Request
		for {
			if err := r.ReadRequest(&req, h1.DefaultLimits); err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, r.BodyReader(req.ContentLength, req.Chunked)); err != nil {
				return
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	})
	return ln.Addr().String()
}

// startBenchGateway runs a runtime in-process on a free port.
func startBenchGateway(tb testing.TB, upstream string) string {
	return startBenchGatewayWith(tb, upstream, "", "", "")
}

// startBenchGatewayWith is startBenchGateway with more fields on the route
// (like `, policies: [p]`) and on the service (like `, protocol: h2c`),
// and more top-level YAML.
func startBenchGatewayWith(tb testing.TB, upstream, routeFields, serviceFields, top string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	yaml := fmt.Sprintf(`admin: { address: "off" }
access_log: { path: "off" }
listeners: [ { name: web, address: %q } ]
routes: [ { name: all, match: { path: { prefix: / } }, service: up %s} ]
services: [ { name: up, endpoints: [%q] %s} ]
%s`, addr, routeFields, upstream, serviceFields, top)
	cfg, err := config.Parse("bench.yaml", []byte(yaml))
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rt := New(Options{Logger: slog.New(slog.DiscardHandler), WatchInterval: -1})
	rt.ctx = ctx
	if err := rt.apply(cfg); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cancel(); rt.shutdown() })
	return addr
}

// BenchmarkProxyHTTP1 measures one keep-alive GET through the gateway's
// HTTP/1.1 path, client and upstream included; allocations counted are the
// whole process's, so the raw client and upstream are allocation-free.
func BenchmarkProxyHTTP1(b *testing.B) {
	benchRoundTrips(b, startBenchGateway(b, rawUpstream(b)), "GET /bench HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
}

// BenchmarkProxyHTTP1Policies is BenchmarkProxyHTTP1 on a route whose
// policies check an API key and a rate limit kept in the process.
func BenchmarkProxyHTTP1Policies(b *testing.B) {
	gw := startBenchGatewayWith(b, rawUpstream(b), ", policies: [key, limit]", "", `consumers: [ { name: bench, api_keys: [bench-key-0123456789] } ]
policies:
  - { name: key, authentication: { api_key: {} } }
  - { name: limit, rate_limit: { requests: 1000000000, per: 1s, by: consumer } }
`)
	benchRoundTrips(b, gw, "GET /bench HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\nX-API-Key: bench-key-0123456789\r\n\r\n")
}

// benchRoundTrips sends request on one keep-alive connection per iteration
// and reads the 200 it must get.
func benchRoundTrips(b *testing.B, gw, request string) {
	c, err := net.Dial("tcp", gw)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte(request)
	r := h1.NewReader(c, 8192)
	var resp h1.Response
	buf := make([]byte, 4096)
	roundTrip := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := r.ReadResponse(&resp, h1.DefaultLimits, []byte("GET")); err != nil {
			b.Fatal(err)
		}
		if resp.Status != 200 {
			b.Fatalf("status %d", resp.Status)
		}
		body := r.BodyReader(resp.ContentLength, resp.Chunked)
		for {
			if _, err := body.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	roundTrip()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		roundTrip()
	}
}

// BenchmarkProxyHTTP1Parallel runs the same exchange on 16 connections.
func BenchmarkProxyHTTP1Parallel(b *testing.B) {
	gw := startBenchGateway(b, rawUpstream(b))
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", gw)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		req := []byte("GET /bench HTTP/1.1\r\nHost: bench.local\r\n\r\n")
		br := bufio.NewReader(c)
		r := h1.NewReader(br, 8192)
		var resp h1.Response
		buf := make([]byte, 4096)
		for pb.Next() {
			c.Write(req)
			if err := r.ReadResponse(&resp, h1.DefaultLimits, []byte("GET")); err != nil {
				b.Error(err)
				return
			}
			body := r.BodyReader(resp.ContentLength, resp.Chunked)
			for {
				if _, err := body.Read(buf); err != nil {
					break
				}
			}
		}
	})
}

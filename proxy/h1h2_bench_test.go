package proxy

import (
	"bytes"
	"net"
	"net/http"
	"testing"

	"github.com/pylon-mesh/pylon/h2client"
	"github.com/pylon-mesh/pylon/h2server"
)

// BenchmarkHTTP1ToH2 measures one small GET from an HTTP/1.1 client
// through pylon to an h2c upstream over pylon's HTTP/2 client, the leg a
// mesh sidecar's outbound port serves for every request (there over
// mutual TLS). The upstream is pylon's HTTP/2 server; its allocations are
// counted too.
func BenchmarkHTTP1ToH2(b *testing.B) {
	up := h2cUpstream(b)
	nc, err := net.Dial("tcp", up)
	if err != nil {
		b.Fatal(err)
	}
	cc, err := h2client.New(nc, h2client.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	svc := testService(b, up)
	svc.Protocol, svc.RT = H2C, cc
	lc := testListener(b, "plain", svc)
	benchKeepAlive(b, &Snapshot{Listeners: map[string]*ListenerConfig{"plain": lc}},
		"GET /bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
}

// h2cUpstream serves 64 bytes to every request over h2c with pylon's
// HTTP/2 server.
func h2cUpstream(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 64)
	hs := h2server.New(h2server.Config{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Write(body)
	})})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go hs.ServeConn(c)
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		hs.Close()
	})
	return ln.Addr().String()
}

package test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const slowReaderConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
    limits:
      idle_timeout: 1s
routes:
  - name: all
    service: endless
services:
  - name: endless
    endpoints: [{{.Up}}]
`

// TestSlowReaderIsCutOff: a client that asks for a long response and then
// reads nothing (or, over HTTP/2, grants no more flow-control window) may
// hold pylon's buffers and the upstream's request only for the listener's
// idle_timeout, over either protocol; then pylon lets go of both.
func TestSlowReaderIsCutOff(t *testing.T) {
	ended := make(chan int64, 4)
	up := startHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 1 GiB in 32 KiB pieces: more than any test waits for.
		buf := make([]byte, 32<<10)
		var n int64
		for n < 1<<30 {
			if _, err := w.Write(buf); err != nil {
				break
			}
			n += int64(len(buf))
		}
		ended <- n
	}))
	g := startGateway(t, slowReaderConfig, map[string]string{"Up": up})
	addr := g.addr("web")

	// upstreamLetGo waits for the upstream's handler to end before the
	// whole body was sent.
	upstreamLetGo := func(t *testing.T) {
		t.Helper()
		select {
		case n := <-ended:
			if n >= 1<<30 {
				t.Fatalf("the upstream sent its whole 1 GiB to a client that read nothing")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the upstream still streams 15s after the client stopped reading (idle_timeout is 1s)")
		}
	}

	t.Run("http1, socket not read", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: a.example\r\n\r\n")
		upstreamLetGo(t)
	})

	t.Run("h2c, socket not read", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Prior knowledge, the largest windows, one GET; then silence.
		fr := http2.NewFramer(conn, conn)
		io.WriteString(conn, http2.ClientPreface)
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
		fr.WriteWindowUpdate(0, 1<<31-1-65535)
		var block bytes.Buffer
		enc := hpack.NewEncoder(&block)
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "a.example"}, {":path", "/big"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
		upstreamLetGo(t)
	})

	t.Run("h2c, no window given", func(t *testing.T) {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/big", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// Reading nothing, the client gives no window beyond its first:
		// pylon's write waits for window, then gives up on the stream.
		upstreamLetGo(t)
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil || !strings.Contains(err.Error(), "CANCEL") {
			t.Fatalf("reading the body after the timeout: %d bytes, %v; want the stream reset with CANCEL", n, err)
		}
	})
}

package test

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

const reloadConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: grpc
    match:
      path: { prefix: /grpc.testing.TestService }
    service: grpc
  - name: main
    service: {{.Target}}
services:
  - name: a
    endpoints: [{{.A}}]
  - name: b
    endpoints: [{{.B}}]
  - name: grpc
    protocol: grpc
    endpoints: [{{.GRPC}}]
`

func TestReload(t *testing.T) {
	_, _, grpcAddr := startGRPCServer(t)
	data := map[string]string{"A": startEcho(t, "a"), "B": startEcho(t, "b"), "GRPC": grpcAddr, "Target": "a"}
	g := startGateway(t, reloadConfig, data)
	c := newClient(t)
	ctx := testContext(t, 60*time.Second)

	// Long-lived streams opened before the reload.
	ws, err := dialWS(ctx, g.addr("web"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := echoOnce(ctx, ws, websocket.MessageText, []byte("before")); err != nil {
		t.Fatal(err)
	}
	stream, err := testpb.NewTestServiceClient(dialGRPC(t, g.addr("web"))).FullDuplexCall(ctx)
	if err != nil {
		t.Fatalf("FullDuplexCall: %v", err)
	}
	if err := bidiEcho(stream, "before"); err != nil {
		t.Fatal(err)
	}

	t.Run("route target changes under load", func(t *testing.T) {
		var total, failed atomic.Int64
		var sawB atomic.Bool
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				wc := newClient(t)
				for {
					select {
					case <-stop:
						return
					default:
					}
					total.Add(1)
					resp, body, err := tryGet(wc, g.url("web")+"/r")
					if err != nil || resp.StatusCode != http.StatusOK {
						failed.Add(1)
						continue
					}
					if decodeEchoQuiet(body) == "b" {
						sawB.Store(true)
					}
				}
			}()
		}
		time.Sleep(300 * time.Millisecond)
		data["Target"] = "b"
		g.reload(reloadConfig, data, "success")
		time.Sleep(300 * time.Millisecond)
		close(stop)
		wg.Wait()
		if n := failed.Load(); n > 0 {
			t.Errorf("%d of %d requests failed across the reload, want none", n, total.Load())
		}
		if !sawB.Load() {
			t.Errorf("no request under load reached b after the reload")
		}
		_, body := get(t, c, g.url("web")+"/r")
		if got := decodeEcho(t, body).Instance; got != "b" {
			t.Errorf("after the reload: got instance %q, want b", got)
		}
	})

	t.Run("streams opened before the reload keep working", func(t *testing.T) {
		if err := echoOnce(ctx, ws, websocket.MessageText, []byte("after")); err != nil {
			t.Errorf("WebSocket after the reload: %v", err)
		}
		if err := bidiEcho(stream, "after"); err != nil {
			t.Errorf("gRPC stream after the reload: %v", err)
		}
	})

	t.Run("invalid file is refused", func(t *testing.T) {
		data["Target"] = "nosuch"
		g.reload(reloadConfig, data, "failure")
		line := regexp.MustCompile(`pylon\.yaml:\d+:\d+: routes\[1\]\.service`)
		waitFor(t, 5*time.Second, "a log line naming pylon.yaml:LINE:COL: routes[1].service", func() bool {
			return line.MatchString(g.stderr.String())
		})
		_, body := get(t, c, g.url("web")+"/r")
		if got := decodeEcho(t, body).Instance; got != "b" {
			t.Errorf("after a refused reload: got instance %q, want b (the last good config)", got)
		}
	})

	t.Run("SIGTERM drains an in-flight request", func(t *testing.T) {
		stream.CloseSend()
		ws.Close(websocket.StatusNormalClosure, "")
		type result struct {
			status int
			err    error
		}
		done := make(chan result, 1)
		go func() {
			resp, _, err := tryGet(c, g.url("web")+"/delay/1500")
			if err != nil {
				done <- result{err: err}
				return
			}
			done <- result{status: resp.StatusCode}
		}()
		waitFor(t, 5*time.Second, "the slow request in flight", func() bool {
			return g.endpoint("b", data["B"]).InFlight == 1
		})
		if err := g.stop(); err != nil {
			t.Errorf("stopping during a request: got %v, want exit status 0", err)
		}
		r := <-done
		if r.err != nil || r.status != http.StatusOK {
			t.Errorf("in-flight request during drain: got status %d, err %v, want 200", r.status, r.err)
		}
	})
}

// bidiEcho sends msg on a FullDuplexCall stream and checks the echo.
func bidiEcho(stream testpb.TestService_FullDuplexCallClient, msg string) error {
	if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(msg)}}); err != nil {
		return fmt.Errorf("sending %q: %w", msg, err)
	}
	m, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("receiving the echo of %q: %w", msg, err)
	}
	if got := string(m.GetPayload().GetBody()); got != msg {
		return fmt.Errorf("got echo %q, want %q", got, msg)
	}
	return nil
}

// TestReloadedIdleTimeoutReachesOpenHTTP2Connections: a reload that
// shortens a listener's idle_timeout applies to the HTTP/2 connections
// already open, as it does to HTTP/1.1 ones: an idle one is sent a GOAWAY
// within the new timeout instead of the old.
func TestReloadedIdleTimeoutReachesOpenHTTP2Connections(t *testing.T) {
	tmpl := echoGatewayConfig("idle_timeout: {{.Idle}}")
	data := map[string]string{"Echo": startEcho(t, "e"), "Idle": "5m"}
	g := startGateway(t, tmpl, data)
	fr := dialH2C(t, g.addr("web"), 30*time.Second)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "a.example"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})

	// read returns the next frame other than SETTINGS, which it acknowledges.
	read := func() http2.Frame {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("reading: %v", err)
			}
			if s, ok := f.(*http2.SettingsFrame); ok {
				if !s.IsAck() {
					fr.WriteSettingsAck()
				}
				continue
			}
			return f
		}
	}
	for ended := false; !ended; {
		switch f := read().(type) {
		case *http2.MetaHeadersFrame:
			if s := f.PseudoValue("status"); s != "200" {
				t.Fatalf("got status %s, want 200", s)
			}
			ended = f.StreamEnded()
		case *http2.DataFrame:
			ended = f.StreamEnded()
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v before the response", f.ErrCode)
		}
	}

	data["Idle"] = "1s"
	g.reload(tmpl, data, "success")
	reloaded := time.Now()
	for {
		if f, ok := read().(*http2.GoAwayFrame); ok {
			if f.ErrCode != http2.ErrCodeNo {
				t.Errorf("got GOAWAY %v, want NO_ERROR", f.ErrCode)
			}
			break
		}
	}
	// The connection was idle before the reload, its idle timer armed
	// with the old 5m: the reload re-arms it with the new 1s.
	if waited := time.Since(reloaded); waited > 10*time.Second {
		t.Errorf("GOAWAY %v after the reload to idle_timeout 1s", waited)
	}
}

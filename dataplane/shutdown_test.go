package dataplane

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/config"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// logBuffer is a log destination tests can read while the runtime writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A shutdown that has to cut requests off at the drain deadline says so
// and ends soon after it; a step that keeps it waiting past its time says
// what it waits for: a process that does not stop must tell where it is
// stuck. (The log found the first case hanging for the route's timeout:
// the request cut off was retried on a new connection.)
func TestShutdownSaysWhatItWaitsFor(t *testing.T) {
	for _, mode := range []string{"event loop", "goroutine"} {
		for _, client := range []string{"HTTP/1.1", "h2c"} {
			for _, protocol := range []string{config.ProtocolHTTP1, config.ProtocolH2C} {
				t.Run(mode+", "+client+" client, "+protocol+" upstream", func(t *testing.T) {
					if mode == "goroutine" {
						t.Setenv("PYLON_EVENT_LOOPS", "off")
					}
					testShutdownSaysWhatItWaitsFor(t, client, protocol)
				})
			}
		}
	}
}

func testShutdownSaysWhatItWaitsFor(t *testing.T, clientProto, protocol string) {
	// An upstream that takes requests and never answers: its connections
	// stay open, unanswered, until the listener closes at the test's end.
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	logs := &logBuffer{}
	accessLog := filepath.Join(t.TempDir(), "access.log")
	rt := New(Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), WatchInterval: -1, DrainTimeout: 200 * time.Millisecond})
	rt.ctx = context.Background()
	cfg := &config.Config{
		Admin:     config.Admin{Address: config.AdminOff},
		AccessLog: config.AccessLog{Path: accessLog},
		Listeners: []config.Listener{{Name: "web", Address: "127.0.0.1:0"}},
		Routes:    []config.Route{{Name: "r", Service: "silent"}},
		Services:  []config.Service{{Name: "silent", Protocol: protocol, Endpoints: []config.Endpoint{{Address: up.Addr().String()}}}},
	}
	cfg.SetDefaults()
	if err := rt.apply(cfg); err != nil {
		t.Fatal(err)
	}
	addr := rt.listeners["web"].ln.Addr().String()
	client, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if clientProto == "h2c" {
		sendH2CGet(t, client)
	} else if _, err := client.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the request reaches the silent upstream
	began := time.Now()
	rt.shutdown()
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("the shutdown took %v with a drain deadline of 200 ms:\n%s", d, logs)
	}
	if !strings.Contains(logs.String(), "drain deadline passed") {
		t.Errorf("a shutdown that cut a request off logged nothing about it:\n%s", logs)
	}
	if b, _ := os.ReadFile(accessLog); !strings.Contains(string(b), `"error_code":"shutting_down"`) {
		t.Errorf("the request cut off is not logged as shutting_down:\n%s", b)
	}

	rt.shutdownStep("the test's slow step", 20*time.Millisecond, func() { time.Sleep(100 * time.Millisecond) })
	if !strings.Contains(logs.String(), `"msg":"shutdown still waiting","for":"the test's slow step"`) {
		t.Errorf("a slow step of a shutdown was not named in the log:\n%s", logs)
	}
}

// sendH2CGet opens an HTTP/2 connection by prior knowledge on c and sends
// GET / on stream 1; the test reads no answer.
func sendH2CGet(t *testing.T, c net.Conn) {
	t.Helper()
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr := http2.NewFramer(c, c)
	_, err := c.Write([]byte(http2.ClientPreface))
	if err == nil {
		err = fr.WriteSettings()
	}
	if err == nil {
		err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
	}
	if err != nil {
		t.Fatal(err)
	}
}

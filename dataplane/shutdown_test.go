package dataplane

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/config"
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
		t.Run(mode, func(t *testing.T) {
			if mode == "goroutine" {
				t.Setenv("PYLON_EVENT_LOOPS", "off")
			}
			testShutdownSaysWhatItWaitsFor(t)
		})
	}
}

func testShutdownSaysWhatItWaitsFor(t *testing.T) {
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
	rt := New(Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), WatchInterval: -1, DrainTimeout: 200 * time.Millisecond})
	rt.ctx = context.Background()
	cfg := &config.Config{
		Admin:     config.Admin{Address: config.AdminOff},
		AccessLog: config.AccessLog{Path: "off"},
		Listeners: []config.Listener{{Name: "web", Address: "127.0.0.1:0"}},
		Routes:    []config.Route{{Name: "r", Service: "silent"}},
		Services:  []config.Service{{Name: "silent", Endpoints: []config.Endpoint{{Address: up.Addr().String()}}}},
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
	if _, err := client.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
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

	rt.shutdownStep("the test's slow step", 20*time.Millisecond, func() { time.Sleep(100 * time.Millisecond) })
	if !strings.Contains(logs.String(), `"msg":"shutdown still waiting","for":"the test's slow step"`) {
		t.Errorf("a slow step of a shutdown was not named in the log:\n%s", logs)
	}
}

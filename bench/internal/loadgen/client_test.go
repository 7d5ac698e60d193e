package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCount(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		duration time.Duration
		want     int64
	}{
		{"exact", time.Millisecond, 10 * time.Second, 10000},
		{"partial interval still schedules", 3 * time.Millisecond, 10 * time.Millisecond, 4},
		{"shorter than one interval", time.Second, time.Millisecond, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(tc.interval, tc.duration); got != tc.want {
				t.Errorf("got count %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScheduleTake(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		want []time.Duration
	}{
		{"every due time in order", context.Background(), []time.Duration{0, time.Millisecond, 2 * time.Millisecond}},
		{"none once the context ended", canceled, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Unix(100, 0)
			s := &schedule{start: start, interval: time.Millisecond, n: 3, ctx: tc.ctx}
			var got []time.Duration
			for {
				due, ok := s.take()
				if !ok {
					break
				}
				got = append(got, due.Sub(start))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("due times mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetRequest(t *testing.T) {
	want := "GET /a/b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: fixedrate\r\n\r\n"
	if got := string(GetRequest("127.0.0.1:9", "/a/b?x=1", "fixedrate")); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// newServer starts a loopback server answering with status and a 64-byte
// body, counting requests and distinct connections.
func newServer(t *testing.T, status int) (addr string, reqs, conns *atomic.Int64) {
	t.Helper()
	reqs, conns = new(atomic.Int64), new(atomic.Int64)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqs.Add(1)
		w.WriteHeader(status)
		w.Write(bytes.Repeat([]byte("x"), 64))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), reqs, conns
}

// want64 accepts only a 200 with a 64-byte body.
func want64(status int, n int64) error {
	if status != http.StatusOK || n != 64 {
		return fmt.Errorf("status %d with %d bytes, want 200 with 64", status, n)
	}
	return nil
}

func TestClientRun(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		check     func(int, int64) error
		wantOK    int
		wantErrs  int
		wantConns int64
		wantErr   string
	}{
		{"all succeed on kept-alive connections", http.StatusOK, nil, 40, 0, 4, ""},
		{"non-2xx counts as error and redials", http.StatusInternalServerError, nil, 0, 40, 40, "check response: status 500"},
		{"other 2xx passes the default check", http.StatusAccepted, nil, 40, 0, 4, ""},
		{"a custom check fails requests", http.StatusAccepted, want64, 0, 40, 40, "status 202 with 64 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, reqs, conns := newServer(t, tc.status)
			c := New(Config{Addr: addr, Request: GetRequest(addr, "/", "test"), Conns: 4, Timeout: 5 * time.Second, Check: tc.check})
			defer c.Close()
			lat, errs, err := c.Run(context.Background(), 5*time.Millisecond, 200*time.Millisecond)
			if len(lat) != tc.wantOK || errs != tc.wantErrs {
				t.Errorf("got %d ok, %d errors, want %d ok, %d errors", len(lat), errs, tc.wantOK, tc.wantErrs)
			}
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got last error %v, want one containing %q", err, tc.wantErr)
			}
			if n := reqs.Load(); n != 40 {
				t.Errorf("server saw %d requests, want 40", n)
			}
			if n := conns.Load(); n > tc.wantConns {
				t.Errorf("server saw %d connections, want at most %d", n, tc.wantConns)
			}
		})
	}
}

func TestClientKeepsConnectionsAcrossRuns(t *testing.T) {
	addr, reqs, conns := newServer(t, http.StatusOK)
	c := New(Config{Addr: addr, Request: GetRequest(addr, "/", "test"), Conns: 2, Timeout: 5 * time.Second})
	defer c.Close()
	for range 3 {
		if lat, errs, err := c.Run(context.Background(), 5*time.Millisecond, 50*time.Millisecond); len(lat) != 10 || errs != 0 {
			t.Fatalf("got %d ok, %d errors (last %v), want 10 ok, 0 errors", len(lat), errs, err)
		}
	}
	if r, n := reqs.Load(), conns.Load(); r != 30 || n > 2 {
		t.Errorf("got %d requests on %d connections, want 30 on at most 2", r, n)
	}
}

func TestClientRunStopsWithContext(t *testing.T) {
	addr, reqs, _ := newServer(t, http.StatusOK)
	c := New(Config{Addr: addr, Request: GetRequest(addr, "/", "test"), Conns: 1, Timeout: 5 * time.Second})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lat, errs, err := c.Run(ctx, time.Millisecond, time.Hour)
	if len(lat) != 0 || errs != 0 || err != nil || reqs.Load() != 0 {
		t.Errorf("got %d ok, %d errors, last %v, %d sent; want nothing sent", len(lat), errs, err, reqs.Load())
	}
}

func TestClientRunDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := New(Config{Addr: addr, Request: GetRequest(addr, "/", "test"), Conns: 1, Timeout: time.Second})
	defer c.Close()
	lat, errs, err := c.Run(context.Background(), time.Millisecond, 3*time.Millisecond)
	if len(lat) != 0 || errs != 3 || err == nil || !strings.Contains(err.Error(), "dial") {
		t.Errorf("got %d ok, %d errors, last %v; want 3 dial errors", len(lat), errs, err)
	}
}

func TestSendAt(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration // due time relative to now
	}{
		{"late request is timed from its due time", -time.Second},
		{"early request is timed from the wake-up", 2 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			due := time.Now().Add(tc.offset)
			got := sendAt(due)
			if tc.offset < 0 && !got.Equal(due) {
				t.Errorf("got start %v, want the due time %v", got, due)
			}
			if tc.offset > 0 && (got.Before(due) || time.Now().Before(got)) {
				t.Errorf("got start %v, want between due %v and now", got, due)
			}
		})
	}
}

func BenchmarkClientRun(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	c := New(Config{Addr: addr, Request: GetRequest(addr, "/", "bench"), Conns: 1, Timeout: 5 * time.Second})
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		// A due time in the past for every request: back to back.
		if _, errs, err := c.Run(context.Background(), time.Nanosecond, 100*time.Nanosecond); errs != 0 {
			b.Fatalf("got %d errors, last %v", errs, err)
		}
	}
}

package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlanCount(t *testing.T) {
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
			got := Plan{Interval: tc.interval, Duration: tc.duration}.count()
			if got != tc.want {
				t.Errorf("count() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScheduleTake(t *testing.T) {
	start := time.Unix(100, 0)
	s := &schedule{start: start, interval: time.Millisecond, n: 3}
	var got []time.Duration
	for {
		due, ok := s.take()
		if !ok {
			break
		}
		got = append(got, due.Sub(start))
	}
	want := []time.Duration{0, time.Millisecond, 2 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("due times mismatch (-want +got):\n%s", diff)
	}
}

func TestRequestBytes(t *testing.T) {
	u, err := url.Parse("http://127.0.0.1:9/a/b?x=1")
	if err != nil {
		t.Fatal(err)
	}
	want := "GET /a/b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: fixedrate\r\n\r\n"
	if got := string(RequestBytes(u)); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// newServer starts a loopback server answering with status and counting
// requests and distinct connections.
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

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		wantOK    int
		wantErrs  int
		wantConns int64
	}{
		{"all succeed on kept-alive connections", http.StatusOK, 40, 0, 4},
		{"non-2xx counts as error and redials", http.StatusInternalServerError, 0, 40, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, reqs, conns := newServer(t, tc.status)
			u := &url.URL{Scheme: "http", Host: addr, Path: "/"}
			got, err := Load(Plan{Addr: addr, Request: RequestBytes(u), Interval: 5 * time.Millisecond,
				Duration: 200 * time.Millisecond, Conns: 4, Timeout: 5 * time.Second})
			if err != nil && tc.wantOK > 0 {
				t.Fatalf("Load: %v", err)
			}
			if got.Requests != tc.wantOK || got.Errors != tc.wantErrs {
				t.Errorf("got %d ok, %d errors, want %d ok, %d errors", got.Requests, got.Errors, tc.wantOK, tc.wantErrs)
			}
			if n := reqs.Load(); n != 40 {
				t.Errorf("server saw %d requests, want 40", n)
			}
			if n := conns.Load(); n > tc.wantConns {
				t.Errorf("server saw %d connections, want at most %d", n, tc.wantConns)
			}
			if tc.wantOK > 0 && (got.P50 <= 0 || got.P50 > got.P99 || got.P99 > got.Max) {
				t.Errorf("got percentiles %v, want 0 < p50 <= p99 <= max", got)
			}
		})
	}
}

func TestLoadDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Load(Plan{Addr: addr, Request: []byte("GET / HTTP/1.1\r\n\r\n"), Interval: time.Millisecond,
		Duration: 3 * time.Millisecond, Conns: 1, Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "dial") {
		t.Errorf("got error %v, want a dial error", err)
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"https refused", []string{"-url", "https://127.0.0.1:1/"}, "want http://"},
		{"zero rate refused", []string{"-url", "http://127.0.0.1:1/", "-rate", "0"}, "must be positive"},
		{"zero conns refused", []string{"-url", "http://127.0.0.1:1/", "-conns", "0"}, "must be positive"},
		{"unknown flag", []string{"-nope"}, "not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(tc.args, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestRunPrintsSummary(t *testing.T) {
	addr, _, _ := newServer(t, http.StatusOK)
	var out bytes.Buffer
	err := run([]string{"-url", "http://" + addr + "/", "-rate", "100", "-duration", "50ms", "-conns", "2"}, &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := out.String(); !strings.HasPrefix(got, "requests=5 errors=0 p50_us=") {
		t.Errorf("got output %q, want it to start with requests=5 errors=0 p50_us=", got)
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

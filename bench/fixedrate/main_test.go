package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/bench/internal/loadgen"
)

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
		{"nothing listening", []string{"-url", "http://127.0.0.1:1/", "-duration", "1ms"}, "generate load against 127.0.0.1:1: dial"},
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
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.RequestURI())
		w.Write(bytes.Repeat([]byte("x"), 64))
	}))
	defer srv.Close()
	var out bytes.Buffer
	err := run([]string{"-url", srv.URL + "/a?b=1", "-rate", "100", "-duration", "50ms", "-conns", "1"}, &out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := out.String(); !strings.HasPrefix(got, "requests=5 errors=0 p50_us=") {
		t.Errorf("got output %q, want it to start with requests=5 errors=0 p50_us=", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(paths, " "); got != strings.Repeat("/a?b=1 ", 4)+"/a?b=1" {
		t.Errorf("got request URIs %q, want /a?b=1 five times", got)
	}
}

func TestFormat(t *testing.T) {
	s := loadgen.Summary{Requests: 10, Errors: 1, P50: 1500 * time.Nanosecond, P99: time.Millisecond, P999: 2 * time.Millisecond, Max: 3 * time.Millisecond}
	want := "requests=10 errors=1 p50_us=1.5 p99_us=1000.0 p999_us=2000.0 max_us=3000.0"
	if got := format(s); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

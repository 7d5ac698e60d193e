package accesslog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/proxy"
)

var start = time.Date(2026, 3, 4, 5, 6, 7, 123456789, time.FixedZone("CET", 3600))

func fullRecord() *proxy.Record {
	return &proxy.Record{
		Start:     start,
		Duration:  1500 * time.Microsecond,
		RequestID: []byte("5f0c2a9e"),
		Listener:  "public",
		Route:     &proxy.Route{Name: "api"},
		Service:   &proxy.Service{Name: "users"},
		Endpoint:  "10.0.0.7:8080",
		Proto:     "HTTP/1.1",
		Method:    []byte("POST"),
		Host:      []byte("example.com"),
		Path:      []byte("/v1/users"),
		Remote:    netip.MustParseAddrPort("192.0.2.1:51234"),
		Status:    502,
		BytesIn:   12,
		BytesOut:  345,
		Retries:   2,
		Err:       flow.New(502, flow.CodeUpstreamReset, "the upstream closed the connection"),
	}
}

func decode(t *testing.T, line []byte) map[string]any {
	t.Helper()
	if !json.Valid(line) {
		t.Fatalf("line %q is not valid JSON", line)
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("unmarshal %q: %v", line, err)
	}
	return m
}

func TestAppendRecordFields(t *testing.T) {
	tests := []struct {
		name string
		rec  func() *proxy.Record
		want map[string]any
	}{
		{
			name: "all fields",
			rec:  fullRecord,
			want: map[string]any{
				"time":        "2026-03-04T04:06:07.123456789Z",
				"request_id":  "5f0c2a9e",
				"listener":    "public",
				"route":       "api",
				"service":     "users",
				"endpoint":    "10.0.0.7:8080",
				"method":      "POST",
				"host":        "example.com",
				"path":        "/v1/users",
				"proto":       "HTTP/1.1",
				"remote":      "192.0.2.1:51234",
				"status":      502.0,
				"bytes_in":    12.0,
				"bytes_out":   345.0,
				"duration_ms": 1.5,
				"retries":     2.0,
				"error_code":  "upstream_reset",
				"error":       "upstream_reset: the upstream closed the connection",
			},
		},
		{
			name: "refused before routing",
			rec: func() *proxy.Record {
				r := fullRecord()
				r.Route, r.Service, r.Endpoint, r.Err = nil, nil, "", nil
				r.Status, r.Retries = 200, 0
				r.Remote = netip.MustParseAddrPort("[2001:db8::1]:443")
				return r
			},
			want: map[string]any{
				"time":        "2026-03-04T04:06:07.123456789Z",
				"request_id":  "5f0c2a9e",
				"listener":    "public",
				"method":      "POST",
				"host":        "example.com",
				"path":        "/v1/users",
				"proto":       "HTTP/1.1",
				"remote":      "[2001:db8::1]:443",
				"status":      200.0,
				"bytes_in":    12.0,
				"bytes_out":   345.0,
				"duration_ms": 1.5,
				"retries":     0.0,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			line := AppendRecord(nil, tc.rec())
			if n := bytes.Count(line, []byte("\n")); n != 1 || line[len(line)-1] != '\n' {
				t.Fatalf("AppendRecord = %q: got %d newlines, want exactly one, at the end", line, n)
			}
			got := decode(t, line)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("fields mismatch (-want +got):\n%s", diff)
			}
			ts, err := time.Parse(time.RFC3339Nano, got["time"].(string))
			if err != nil || !ts.Equal(start) {
				t.Errorf("time %q parses as %v (err %v), want %v", got["time"], ts, err, start)
			}
		})
	}
}

func TestAppendRecordEscapes(t *testing.T) {
	tests := []struct {
		name     string
		host     string
		path     string
		wantHost string
		wantPath string
	}{
		{"quotes and backslashes", `a"b\c`, `/x"y\z`, `a"b\c`, `/x"y\z`},
		{"control bytes", "h\x00\x01\n", "/a\r\nb\t\x1b\x7f", "h\x00\x01\n", "/a\r\nb\t\x1b\x7f"},
		{"valid non-ASCII", "bücher.example", "/日本/😀", "bücher.example", "/日本/😀"},
		{"invalid UTF-8", "h\xff", "/a\xc3\x28\xed\xa0\x80", "h\ufffd", "/a\ufffd(\ufffd\ufffd\ufffd"},
		{"truncated rune at end", "h\xe6\x97", "/\xf0", "h\ufffd\ufffd", "/\ufffd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fullRecord()
			r.Host, r.Path = []byte(tc.host), []byte(tc.path)
			line := AppendRecord(nil, r)
			if n := bytes.Count(line, []byte("\n")); n != 1 {
				t.Fatalf("AppendRecord = %q: got %d newlines, want 1", line, n)
			}
			got := decode(t, line)
			if diff := cmp.Diff([2]any{tc.wantHost, tc.wantPath}, [2]any{got["host"], got["path"]}); diff != "" {
				t.Errorf("host, path mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzAppendRecord(f *testing.F) {
	f.Add([]byte("GET"), []byte("example.com"), []byte("/"), "msg")
	f.Add([]byte("P\x00ST"), []byte("h\xff\"\\"), []byte("/\xed\xa0\x80\n\u2028"), "bad \x01 \xfe")
	f.Fuzz(func(t *testing.T, method, host, path []byte, msg string) {
		r := fullRecord()
		r.Method, r.Host, r.Path = method, host, path
		r.Err = flow.New(400, flow.CodeBadRequest, msg)
		line := AppendRecord(nil, r)
		if bytes.IndexByte(line, '\n') != len(line)-1 {
			t.Fatalf("AppendRecord = %q: want one line ending in a newline", line)
		}
		if !json.Valid(line) {
			t.Fatalf("AppendRecord = %q: not valid JSON", line)
		}
		var got struct{ Method, Host, Path string }
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("unmarshal %q: %v", line, err)
		}
		// Valid UTF-8 must come back unchanged.
		for _, c := range []struct {
			name    string
			in, out string
		}{{"method", string(method), got.Method}, {"host", string(host), got.Host}, {"path", string(path), got.Path}} {
			if strings.ToValidUTF8(c.in, "") == c.in && c.in != c.out {
				t.Fatalf("%s %q logged as %q", c.name, c.in, c.out)
			}
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the logger's flusher and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// closeCounter counts Close calls.
type closeCounter struct{ n int }

func (c *closeCounter) Close() error { c.n++; return nil }

// statuses reads the status of every logged line.
func statuses(t *testing.T, out []byte) []int {
	t.Helper()
	var got []int
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var l struct{ Status int }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Bytes(), err)
		}
		got = append(got, l.Status)
	}
	return got
}

func TestSampling(t *testing.T) {
	type req struct {
		status int
		err    bool
	}
	reqs := []req{{200, false}, {204, false}, {301, false}, {404, false}, {500, false}, {0, false}, {200, true}}
	tests := []struct {
		sample float64
		want   []int
	}{
		{0, []int{404, 500, 0, 200}},
		{1, []int{200, 204, 301, 404, 500, 0, 200}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.sample), func(t *testing.T) {
			var out syncBuffer
			cc := &closeCounter{}
			l := New(&out, cc, tc.sample)
			for _, q := range reqs {
				r := fullRecord()
				r.Status, r.Err = q.status, nil
				if q.err {
					r.Err = flow.New(502, flow.CodeUpstreamReset, "reset")
				}
				l.Observe(r)
			}
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if cc.n != 1 {
				t.Errorf("closer closed %d times, want 1", cc.n)
			}
			if diff := cmp.Diff(tc.want, statuses(t, out.Bytes())); diff != "" {
				t.Errorf("logged statuses mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCloseFlushesEverything(t *testing.T) {
	var out syncBuffer
	l := New(&out, nil, 1)
	// More than the 64 KiB buffer, so some lines are written before Close
	// and the rest must be flushed by it.
	const n = 1000
	for range n {
		l.Observe(fullRecord())
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := len(statuses(t, out.Bytes())); got != n {
		t.Errorf("got %d lines after Close, want %d", got, n)
	}
}

func TestConcurrentObserve(t *testing.T) {
	var out syncBuffer
	l := New(&out, nil, 1)
	const workers, per = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				r := fullRecord()
				r.Status = 200 + w
				r.Path = fmt.Appendf(nil, "/w%d/%d", w, i)
				l.Observe(r)
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	counts := make(map[int]int)
	for _, s := range statuses(t, out.Bytes()) {
		counts[s]++
	}
	want := make(map[int]int)
	for w := range workers {
		want[200+w] = per
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("lines per worker mismatch (-want +got):\n%s", diff)
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	b.ReportAllocs()
	r := fullRecord()
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = AppendRecord(buf[:0], r)
	}
}

// blockingWriter blocks every Write until released, like a log pipe whose
// reader has stopped.
type blockingWriter struct{ release chan struct{} }

func (w blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

// TestStuckDestinationNeverBlocksRequests checks that a log destination that
// stops accepting writes neither blocks Observe nor grows memory without
// bound: lines beyond MaxPending are dropped and counted.
func TestStuckDestinationNeverBlocksRequests(t *testing.T) {
	w := blockingWriter{release: make(chan struct{})}
	l := New(w, nil, 1)
	rec := &proxy.Record{Status: 200, Path: []byte("/" + strings.Repeat("p", 1000))}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 * MaxPending / 1000 {
			l.Observe(rec)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Observe blocked behind a stuck destination")
	}
	if l.Dropped() == 0 {
		t.Errorf("no line was dropped after %d bytes of lines with the destination stuck; want drops past MaxPending", 3*MaxPending)
	}
	close(w.release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	before := l.Dropped()
	l.Observe(rec)
	if l.Dropped() != before+1 {
		t.Errorf("a line after Close was not counted as dropped")
	}
}

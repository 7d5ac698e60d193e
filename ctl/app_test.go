package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
)

// fakeApp stands in for package lifecycle's App, which needs real
// processes: fixed processes, events and past log lines, the lines a test
// feeds to followers, and a record of what was asked of it.
type fakeApp struct {
	// live carries the lines a follower gets after the past ones.
	live chan adminapi.LogLine
	// left gets a value when a follower's context ends.
	left chan struct{}

	mu    sync.Mutex
	asked []string
}

var appStart = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

func newFakeApp() *fakeApp {
	return &fakeApp{live: make(chan adminapi.LogLine), left: make(chan struct{}, 1)}
}

func (f *fakeApp) Processes() []adminapi.Process {
	return []adminapi.Process{
		{Name: "orders-1", Service: "orders", Instance: "orders-1", Kind: "app", Pid: 4242, Health: "healthy", Restarts: 1},
		{Name: "orders-1.sidecar", Service: "orders", Instance: "orders-1", Kind: "sidecar", Pid: 4243},
		{Name: "orders-2", Service: "orders", Instance: "orders-2", Kind: "app", Health: "unhealthy", Restarts: 3},
		{Name: "gateway", Kind: "gateway", Pid: 4250},
	}
}

func (f *fakeApp) Events() []adminapi.Event {
	return []adminapi.Event{
		{Time: appStart, Process: "orders-2", Message: "exited: exit status 2; restarting in 1s"},
		{Time: appStart.Add(time.Minute), Process: "gateway", Message: "started (pid 4250)"},
	}
}

// pastLines are what Logs sends first for the service orders.
var pastLines = []adminapi.LogLine{
	{Time: appStart, Process: "orders-1", Stream: "stdout", Text: "listening on 127.0.0.1:20001"},
	{Time: appStart, Process: "orders-12", Stream: "stderr", Text: "panic: boom"},
	{Time: appStart, Process: "orders-1", Stream: "stdout", Text: "GET /orders/1 200"},
}

func (f *fakeApp) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, fmt.Sprintf(format, args...))
}

// recorded returns, and forgets, what was asked so far.
func (f *fakeApp) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.asked
	f.asked = nil
	return out
}

func (f *fakeApp) Logs(ctx context.Context, name string, tail int, follow bool) (<-chan adminapi.LogLine, error) {
	f.record("logs %s tail=%d follow=%t", name, tail, follow)
	if name != "orders" {
		return nil, adminapi.ErrUnknownProcess
	}
	out := make(chan adminapi.LogLine)
	go func() {
		defer close(out)
		for _, l := range pastLines[max(0, len(pastLines)-tail):] {
			out <- l
		}
		for follow {
			select {
			case l := <-f.live:
				out <- l
			case <-ctx.Done():
				f.left <- struct{}{}
				return
			}
		}
	}()
	return out, nil
}

func (f *fakeApp) Scale(_ context.Context, service string, replicas int) error {
	f.record("scale %s %d", service, replicas)
	switch {
	case service != "orders":
		return adminapi.ErrUnknownProcess
	case replicas > 64:
		return fmt.Errorf("%w: %d; want 0 to 64", adminapi.ErrBadScale, replicas)
	}
	return nil
}

func (f *fakeApp) Restart(_ context.Context, service string) error {
	f.record("restart %s", service)
	if service != "orders" {
		return adminapi.ErrUnknownProcess
	}
	return nil
}

func (f *fakeApp) Stop(_ context.Context, instance string) error {
	f.record("stop %s", instance)
	if instance != "orders-2" {
		return adminapi.ErrUnknownProcess
	}
	return nil
}

func (f *fakeApp) Apply(_ context.Context, filename string, content []byte) (adminapi.AppChanges, error) {
	f.record("apply %s", filepath.Base(filename))
	if !strings.Contains(string(content), "command:") {
		return adminapi.AppChanges{}, fmt.Errorf("%w: %s: services[0].command: required", adminapi.ErrInvalidApp, filepath.Base(filename))
	}
	return adminapi.AppChanges{Added: []string{"billing"}, Rescaled: []string{"orders"}}, nil
}

func TestPs(t *testing.T) {
	s := newServerWith(t, newFakeApp())
	r := must(t, s.ctl(t, "ps"))
	want := `NAME               SERVICE   KIND      PID    HEALTH      RESTARTS
orders-1           orders    app       4242   healthy     1
orders-1.sidecar   orders    sidecar   4243   -           0
orders-2           orders    app       -      unhealthy   3
gateway            -         gateway   4250   -           0
`
	if diff := cmp.Diff(want, r.Stdout); diff != "" {
		t.Errorf("ps (-want +got):\n%s", diff)
	}
	r = must(t, s.ctl(t, "ps", "-o", "json"))
	var got adminapi.ProcessList
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("parse ps -o json: %v\n%s", err, r.Stdout)
	}
	if diff := cmp.Diff(newFakeApp().Processes(), got.Items); diff != "" {
		t.Errorf("ps -o json (-want +got):\n%s", diff)
	}
	r = must(t, s.ctl(t, "ps", "-o", "yaml"))
	if !strings.HasPrefix(r.Stdout, "items:\n  - name: orders-1\n") {
		t.Errorf("got ps -o yaml:\n%s\nwant a YAML list of items", r.Stdout)
	}
}

func TestEvents(t *testing.T) {
	s := newServerWith(t, newFakeApp())
	r := must(t, s.ctl(t, "events"))
	want := `TIME                   PROCESS    MESSAGE
2026-11-26T03:00:00Z   orders-2   exited: exit status 2; restarting in 1s
2026-11-26T03:01:00Z   gateway    started (pid 4250)
`
	if diff := cmp.Diff(want, r.Stdout); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	s.Now = func() time.Time { return appStart.Add(90 * time.Second) }
	r = must(t, s.ctl(t, "events", "--since", "60s"))
	if diff := cmp.Diff([]string{"2026-11-26T03:01:00Z", "gateway", "started", "(pid", "4250)"}, rowOf(r.Stdout, "2026-11-26T03:01:00Z")); diff != "" || strings.Contains(r.Stdout, "orders-2") {
		t.Errorf("got events --since 60s:\n%s\nwant only the gateway's (-want +got):\n%s", r.Stdout, diff)
	}
	r = must(t, s.ctl(t, "events", "--since", "1s"))
	if r.Stdout != "" || r.Stderr != "No events found.\n" {
		t.Errorf("got stdout %q, stderr %q, want none and a note", r.Stdout, r.Stderr)
	}
}

func TestLogs(t *testing.T) {
	app := newFakeApp()
	s := newServerWith(t, app)
	tests := []struct {
		name  string
		args  []string
		want  string
		asked string
	}{
		{"default", []string{"logs", "orders"},
			"orders-1 | listening on 127.0.0.1:20001\norders-12 | panic: boom\norders-1  | GET /orders/1 200\n", "logs orders tail=100 follow=false"},
		{"tail", []string{"logs", "--tail", "1", "orders"}, "orders-1 | GET /orders/1 200\n", "logs orders tail=1 follow=false"},
		{"json", []string{"logs", "orders", "--tail=1", "-o", "json"},
			`{"time":"2026-11-26T03:00:00Z","process":"orders-1","stream":"stdout","text":"GET /orders/1 200"}` + "\n", "logs orders tail=1 follow=false"},
		{"yaml", []string{"logs", "orders", "--tail=1", "-o", "yaml"},
			"---\ntime: \"2026-11-26T03:00:00Z\"\nprocess: orders-1\nstream: stdout\ntext: GET /orders/1 200\n", "logs orders tail=1 follow=false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := must(t, s.ctl(t, tc.args...))
			if diff := cmp.Diff(tc.want, r.Stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tc.asked}, app.recorded()); diff != "" {
				t.Errorf("asked of the app (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLogsFollow(t *testing.T) {
	app := newFakeApp()
	s := newServerWith(t, app)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		code := Run(ctx, []string{"logs", "orders", "-f", "--tail", "1"}, Env{Stdout: pw, Stderr: &stderr,
			Getenv: func(k string) string { return s.env()[k] }})
		pw.Close()
		done <- code
	}()
	lines := bufio.NewScanner(pr)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("logs -f ended early: %v", lines.Err())
		}
		return lines.Text()
	}
	if diff := cmp.Diff("orders-1 | GET /orders/1 200", next()); diff != "" {
		t.Errorf("the tail's line (-want +got):\n%s", diff)
	}
	// The stream is open (its first line came): these come after.
	app.live <- adminapi.LogLine{Time: appStart.Add(time.Hour), Process: "orders-2", Stream: "stdout", Text: "GET /orders/2 200"}
	app.live <- adminapi.LogLine{Time: appStart.Add(time.Hour), Process: "orders-12", Stream: "stderr", Text: "restarted"}
	if diff := cmp.Diff([]string{"orders-2 | GET /orders/2 200", "orders-12 | restarted"}, []string{next(), next()}); diff != "" {
		t.Errorf("later lines (-want +got):\n%s", diff)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("got exit %d, stderr %q after an interrupt, want 0", code, stderr.String())
	}
	select {
	case <-app.left:
	case <-time.After(10 * time.Second):
		t.Fatal("the app's Logs context did not end after logs -f was interrupted")
	}
	if diff := cmp.Diff([]string{"logs orders tail=1 follow=true"}, app.recorded()); diff != "" {
		t.Errorf("asked of the app (-want +got):\n%s", diff)
	}
}

func TestAppOperations(t *testing.T) {
	app := newFakeApp()
	s := newServerWith(t, app)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string // how it starts
		asked  []string
	}{
		{"scale", []string{"scale", "orders=3"}, ExitOK, "orders scaled to 3\n", "", []string{"scale orders 3"}},
		{"scale to 0", []string{"scale", "orders=0"}, ExitOK, "orders scaled to 0\n", "", []string{"scale orders 0"}},
		{"scale json", []string{"scale", "orders=2", "-o", "json"}, ExitOK, "{\n  \"service\": \"orders\",\n  \"replicas\": 2\n}\n", "", []string{"scale orders 2"}},
		{"restart", []string{"restart", "orders"}, ExitOK, "orders restarted\n", "", []string{"restart orders"}},
		{"stop", []string{"stop", "orders-2"}, ExitOK, "orders-2 stopped\n", "", []string{"stop orders-2"}},
		{"scale unknown", []string{"scale", "payments=1"}, ExitFailed, "", "error: not_found: ", []string{"scale payments 1"}},
		{"scale too far", []string{"scale", "orders=65"}, ExitFailed, "", "error: bad_request: replicas out of range: 65; want 0 to 64\n", []string{"scale orders 65"}},
		{"restart unknown", []string{"restart", "payments"}, ExitFailed, "", "error: not_found: ", []string{"restart payments"}},
		{"stop unknown", []string{"stop", "orders-9"}, ExitFailed, "", "error: not_found: ", []string{"stop orders-9"}},
		{"scale without =", []string{"scale", "orders"}, ExitUsage, "", `error: scale: "orders" is not SERVICE=REPLICAS`, nil},
		{"scale negative", []string{"scale", "orders=-1"}, ExitUsage, "", `error: scale: "orders=-1" is not SERVICE=REPLICAS`, nil},
		{"scale no service", []string{"scale", "=2"}, ExitUsage, "", `error: scale: "=2" is not SERVICE=REPLICAS`, nil},
		{"scale two", []string{"scale", "orders=1", "catalog=2"}, ExitUsage, "", "error: scale takes one SERVICE=REPLICAS", nil},
		{"restart nothing", []string{"restart"}, ExitUsage, "", "error: restart takes one service", nil},
		{"stop two", []string{"stop", "orders-1", "orders-2"}, ExitUsage, "", "error: stop takes one instance", nil},
		{"logs nothing", []string{"logs"}, ExitUsage, "", "error: logs takes one process, instance or service", nil},
		{"logs negative tail", []string{"logs", "orders", "--tail", "-1"}, ExitUsage, "", "error: --tail must not be negative", nil},
		{"logs tail too long", []string{"logs", "orders", "--tail", "10001"}, ExitFailed, "", "error: bad_request: tail must be", nil},
		{"logs unknown", []string{"logs", "payments"}, ExitFailed, "", "error: not_found: ", []string{"logs payments tail=100 follow=false"}},
		{"ps with an argument", []string{"ps", "orders"}, ExitUsage, "", "error: ps takes no arguments", nil},
		{"events negative since", []string{"events", "--since", "-1m"}, ExitUsage, "", "error: --since must not be negative", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.ctl(t, tc.args...)
			if r.Code != tc.code || r.Stdout != tc.stdout || !strings.HasPrefix(r.Stderr, tc.stderr) || (tc.stderr == "" && r.Stderr != "") {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr starting %q", r.Code, r.Stdout, r.Stderr, tc.code, tc.stdout, tc.stderr)
			}
			if diff := cmp.Diff(tc.asked, app.recorded()); diff != "" {
				t.Errorf("asked of the app (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppCommandsWithoutApp(t *testing.T) {
	s := newServer(t)
	for _, args := range [][]string{{"ps"}, {"events"}, {"logs", "orders"}, {"logs", "orders", "-f"}, {"scale", "orders=2"}, {"restart", "orders"}, {"stop", "orders-2"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := s.ctl(t, args...)
			want := "error: no_app: this control plane runs no app: only pylon up manages instances\n"
			if r.Code != ExitFailed || r.Stderr != want || r.Stdout != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit 1 and %q", r.Code, r.Stdout, r.Stderr, want)
			}
		})
	}
}

// TestAppCommandTimeouts checks --timeout bounds the operations, whose
// own default is long, and only the opening of a followed log stream.
func TestAppCommandTimeouts(t *testing.T) {
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server sees the client leave only once the body is read
		<-r.Context().Done()
	}))
	defer stuck.Close()
	for _, args := range [][]string{{"restart", "orders"}, {"scale", "orders=2"}, {"logs", "orders", "-f"}, {"logs", "orders"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := run(t, map[string]string{"PYLON_SERVER": stuck.URL}, "", append(args, "--timeout", "50ms")...)
			want := "error: cannot reach the control plane at " + stuck.URL + ": context deadline exceeded\n"
			if r.Code != ExitUnreachable || r.Stderr != want {
				t.Errorf("got exit %d, stderr %q, want 3 and %q", r.Code, r.Stderr, want)
			}
		})
	}
	if c := lookup("restart"); c.wait != OperationTimeout {
		t.Errorf("got restart's default timeout %v, want %v", c.wait, OperationTimeout)
	}
}

// TestApplyAppFile: ctl apply -f of an app file sends it to the running
// app and prints what changed; a config document still goes to /v1/apply.
func TestApplyAppFile(t *testing.T) {
	app := newFakeApp()
	s := newServerWith(t, app)
	dir := t.TempDir()
	file := filepath.Join(dir, "app.yaml")
	os.WriteFile(file, []byte("services:\n  - name: billing\n    command: [./billing]\n"), 0o600)
	r := s.ctl(t, "apply", "-f", file)
	if r.Code != ExitOK || r.Stdout != "added: billing\nrescaled: orders\n" {
		t.Errorf("apply of an app file: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if got := app.recorded(); !cmp.Equal(got, []string{"apply app.yaml"}) {
		t.Errorf("asked of the app: %q", got)
	}
	if r := s.ctl(t, "apply", "-f", file, "--dry-run"); r.Code != ExitUsage {
		t.Errorf("--dry-run of an app file: exit %d, stderr %q; want a usage error", r.Code, r.Stderr)
	}
	if isAppFile([]byte("services:\n  - name: orders\n    endpoints: [127.0.0.1:9001]\n")) {
		t.Error("a config document's services were taken for an app file's")
	}
}

package adminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
)

// fakeApp stands in for package lifecycle's App, which needs real
// processes: it holds processes, events and past log lines in memory,
// sends the lines written while a follower listens, and records the
// operations asked of it.
type fakeApp struct {
	procs  []adminapi.Process
	events []adminapi.Event

	mu    sync.Mutex
	lines []adminapi.LogLine
	// followers get the lines written while they follow; each is closed
	// when its context ends.
	followers map[chan adminapi.LogLine]bool
	// left gets a value each time a follower's context ends.
	left chan struct{}
	ops  []string
	// tails are the tails Logs was asked for.
	tails []int
	// err is what Scale, Restart and Stop return.
	err error
	// cancelable records whether an operation's context could end.
	cancelable bool
}

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

func newFakeApp() *fakeApp {
	return &fakeApp{
		procs: []adminapi.Process{
			{Name: "orders-1", Service: "orders", Instance: "orders-1", Kind: "app", Pid: 101, Health: "healthy", Restarts: 1},
			{Name: "orders-1.sidecar", Service: "orders", Instance: "orders-1", Kind: "sidecar", Pid: 102},
			{Name: "orders-2", Service: "orders", Instance: "orders-2", Kind: "app", Health: "unknown"},
			{Name: "gateway", Kind: "gateway", Pid: 103},
		},
		events: []adminapi.Event{
			{Time: t0, Process: "orders-1", Message: "started (pid 99)"},
			{Time: t0.Add(time.Minute), Process: "orders-1", Message: "exited: exit status 2; restarting in 1s"},
			{Time: t0.Add(2 * time.Minute), Process: "orders-1", Message: "started (pid 101)"},
		},
		lines: []adminapi.LogLine{
			{Time: t0, Process: "orders-1", Stream: "stdout", Text: "listening on 127.0.0.1:20001"},
			{Time: t0, Process: "orders-1.sidecar", Stream: "stderr", Text: `{"level":"WARN","msg":"x"}`},
			{Time: t0.Add(time.Second), Process: "orders-2", Stream: "stderr", Text: "panic: boom"},
			{Time: t0.Add(2 * time.Second), Process: "orders-1", Stream: "stdout", Text: "GET /orders/1"},
		},
		followers: map[chan adminapi.LogLine]bool{},
		left:      make(chan struct{}, 16),
	}
}

func (f *fakeApp) Processes() []adminapi.Process { return f.procs }
func (f *fakeApp) Events() []adminapi.Event      { return f.events }

// matches reports whether a log line of process p is one name asks for: p
// itself, the app process of instance name, or those of service name.
func (f *fakeApp) matches(name, p string) bool {
	i := slices.IndexFunc(f.procs, func(q adminapi.Process) bool { return q.Name == p })
	return p == name || (i >= 0 && f.procs[i].Kind == "app" && (f.procs[i].Instance == name || f.procs[i].Service == name))
}

func (f *fakeApp) known(name string) bool {
	return slices.ContainsFunc(f.procs, func(q adminapi.Process) bool { return q.Name == name || q.Service == name })
}

func (f *fakeApp) Logs(ctx context.Context, name string, tail int, follow bool) (<-chan adminapi.LogLine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tails = append(f.tails, tail)
	if !f.known(name) {
		return nil, fmt.Errorf("logs of %q: %w", name, adminapi.ErrUnknownProcess)
	}
	var past []adminapi.LogLine
	for _, l := range f.lines {
		if f.matches(name, l.Process) {
			past = append(past, l)
		}
	}
	past = past[max(0, len(past)-tail):]
	live := make(chan adminapi.LogLine, 16)
	if follow {
		f.followers[live] = true
	}
	out := make(chan adminapi.LogLine)
	go f.send(ctx, name, past, live, follow, out)
	return out, nil
}

func (f *fakeApp) send(ctx context.Context, name string, past []adminapi.LogLine, live chan adminapi.LogLine, follow bool, out chan<- adminapi.LogLine) {
	defer close(out)
	defer func() {
		f.mu.Lock()
		delete(f.followers, live)
		f.mu.Unlock()
		if follow {
			f.left <- struct{}{}
		}
	}()
	for _, l := range past {
		select {
		case out <- l:
		case <-ctx.Done():
			return
		}
	}
	for follow {
		select {
		case l := <-live:
			if f.matches(name, l.Process) {
				out <- l
			}
		case <-ctx.Done():
			return
		}
	}
}

// write is a line a process writes now.
func (f *fakeApp) write(l adminapi.LogLine) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, l)
	for c := range f.followers {
		c <- l
	}
}

func (f *fakeApp) op(ctx context.Context, format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, fmt.Sprintf(format, args...))
	f.cancelable = f.cancelable || ctx.Done() != nil
	return f.err
}

// recorded returns, and forgets, the operations and tails asked so far.
func (f *fakeApp) recorded() (ops []string, tails []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ops, tails = f.ops, f.tails
	f.ops, f.tails = nil, nil
	return ops, tails
}

func (f *fakeApp) Scale(ctx context.Context, service string, replicas int) error {
	return f.op(ctx, "scale %s %d", service, replicas)
}

func (f *fakeApp) Restart(ctx context.Context, service string) error {
	return f.op(ctx, "restart %s", service)
}

func (f *fakeApp) Stop(ctx context.Context, instance string) error {
	return f.op(ctx, "stop %s", instance)
}

func (f *fakeApp) Apply(ctx context.Context, filename string, content []byte) (adminapi.AppChanges, error) {
	err := f.op(ctx, "apply %s %q", filename, content)
	return adminapi.AppChanges{Added: []string{"billing"}, Rescaled: []string{"orders"}, Config: true}, err
}

// appEndpoints are a request to each /v1/app endpoint.
var appEndpoints = []struct{ method, path, body string }{
	{"GET", "/v1/app/processes", ""},
	{"GET", "/v1/app/events", ""},
	{"GET", "/v1/app/logs/orders", ""},
	{"POST", "/v1/app/scale", `{"service":"orders","replicas":3}`},
	{"POST", "/v1/app/restart", `{"service":"orders"}`},
	{"POST", "/v1/app/stop", `{"instance":"orders-2"}`},
	{"PUT", "/v1/app", `{"filename":"/srv/app.yaml","content":"services: []"}`},
}

func newAppHarness(t testing.TB) (*harness, *fakeApp) {
	t.Helper()
	app := newFakeApp()
	return newHarness(t, func(o *adminapi.Options) { o.App = app }), app
}

func TestAppEndpointsWithoutApp(t *testing.T) {
	h := newHarness(t)
	for _, e := range appEndpoints {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			resp := h.do(t, e.method, e.path, e.body)
			want(t, resp, http.StatusNotFound, adminapi.CodeNoApp)
			if msg := decodeError(t, resp).Message; !strings.Contains(msg, "only pylon up manages instances") {
				t.Errorf("got message %q, want it to say only pylon up manages instances", msg)
			}
		})
	}
}

func TestAppEndpointsNeedToken(t *testing.T) {
	h, app := newAppHarness(t)
	for _, e := range appEndpoints {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			want(t, h.do(t, e.method, e.path, e.body, "Authorization", ""), http.StatusUnauthorized, adminapi.CodeUnauthenticated)
			want(t, h.do(t, e.method, e.path, e.body, "Authorization", "Bearer 0123abcd.bad"), http.StatusUnauthorized, adminapi.CodeUnauthenticated)
		})
	}
	if ops, tails := app.recorded(); len(ops) != 0 || len(tails) != 0 {
		t.Errorf("got operations %q and logs %v asked without a token, want none", ops, tails)
	}
}

func TestAppProcesses(t *testing.T) {
	h, app := newAppHarness(t)
	resp := h.do(t, "GET", "/v1/app/processes", "")
	want(t, resp, http.StatusOK, "")
	var got adminapi.ProcessList
	decode(t, resp, &got)
	if diff := cmp.Diff(adminapi.ProcessList{Items: app.procs}, got); diff != "" {
		t.Errorf("processes (-want +got):\n%s", diff)
	}
}

func TestAppProcessesNone(t *testing.T) {
	h, app := newAppHarness(t)
	app.procs = nil
	resp := h.do(t, "GET", "/v1/app/processes", "")
	want(t, resp, http.StatusOK, "")
	if diff := cmp.Diff(`{"items":[]}`, strings.Join(strings.Fields(string(resp.body)), "")); diff != "" {
		t.Errorf("body without processes (-want +got):\n%s", diff)
	}
}

func TestAppEvents(t *testing.T) {
	h, app := newAppHarness(t)
	tests := []struct {
		name   string
		query  string
		status int
		want   []adminapi.Event
	}{
		{"all", "", http.StatusOK, app.events},
		{"since the second", "?since=2026-11-26T03:01:00Z", http.StatusOK, app.events[1:]},
		{"since in another zone", "?since=2026-11-26T04:01:30%2B01:00", http.StatusOK, app.events[2:]},
		{"since after all", "?since=2027-01-01T00:00:00Z", http.StatusOK, []adminapi.Event{}},
		{"since not a time", "?since=yesterday", http.StatusBadRequest, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(t, "GET", "/v1/app/events"+tc.query, "")
			if tc.status != http.StatusOK {
				want(t, resp, tc.status, adminapi.CodeBadRequest)
				return
			}
			want(t, resp, http.StatusOK, "")
			var got adminapi.EventList
			decode(t, resp, &got)
			if diff := cmp.Diff(adminapi.EventList{Items: tc.want}, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// logLines decodes an x-ndjson body of log lines.
func logLines(t *testing.T, resp response) []adminapi.LogLine {
	t.Helper()
	if ct := resp.header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("got Content-Type %q, want application/x-ndjson", ct)
	}
	dec := json.NewDecoder(strings.NewReader(string(resp.body)))
	dec.DisallowUnknownFields()
	out := []adminapi.LogLine{}
	for dec.More() {
		var l adminapi.LogLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("decode log line of %s: %v", resp.body, err)
		}
		out = append(out, l)
	}
	return out
}

func TestAppLogs(t *testing.T) {
	h, app := newAppHarness(t)
	all := app.lines
	tests := []struct {
		name     string
		path     string
		status   int
		code     string
		want     []adminapi.LogLine
		wantTail int
	}{
		{"service", "/v1/app/logs/orders", http.StatusOK, "", []adminapi.LogLine{all[0], all[2], all[3]}, adminapi.DefaultLogTail},
		{"process", "/v1/app/logs/orders-1.sidecar", http.StatusOK, "", []adminapi.LogLine{all[1]}, adminapi.DefaultLogTail},
		{"tail", "/v1/app/logs/orders-1?tail=1", http.StatusOK, "", []adminapi.LogLine{all[3]}, 1},
		{"tail 0", "/v1/app/logs/orders?tail=0", http.StatusOK, "", []adminapi.LogLine{}, 0},
		{"tail max", "/v1/app/logs/orders?tail=10000&follow=false", http.StatusOK, "", []adminapi.LogLine{all[0], all[2], all[3]}, adminapi.MaxLogTail},
		{"unknown", "/v1/app/logs/payments", http.StatusNotFound, adminapi.CodeNotFound, nil, adminapi.DefaultLogTail},
		{"tail above max", "/v1/app/logs/orders?tail=10001", http.StatusBadRequest, adminapi.CodeBadRequest, nil, -1},
		{"tail negative", "/v1/app/logs/orders?tail=-1", http.StatusBadRequest, adminapi.CodeBadRequest, nil, -1},
		{"tail not a number", "/v1/app/logs/orders?tail=all", http.StatusBadRequest, adminapi.CodeBadRequest, nil, -1},
		{"follow not a bool", "/v1/app/logs/orders?follow=maybe", http.StatusBadRequest, adminapi.CodeBadRequest, nil, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.do(t, "GET", tc.path, "")
			want(t, resp, tc.status, tc.code)
			if tc.status == http.StatusOK {
				if diff := cmp.Diff(tc.want, logLines(t, resp)); diff != "" {
					t.Errorf("lines (-want +got):\n%s", diff)
				}
			}
			var wantTails []int
			if tc.wantTail >= 0 {
				wantTails = []int{tc.wantTail}
			}
			_, tails := app.recorded()
			if diff := cmp.Diff(wantTails, tails); diff != "" {
				t.Errorf("tails asked of the app (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppLogsFollow(t *testing.T) {
	h, app := newAppHarness(t)
	ctx, cancel := context.WithTimeout(t.Context(), watchDeadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", h.url+"/v1/app/logs/orders-1?tail=1&follow=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET logs: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("got status %d, Content-Type %q, want 200 and application/x-ndjson", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(resp.Body)
	read := func() adminapi.LogLine {
		t.Helper()
		var l adminapi.LogLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("read a log line: %v", err)
		}
		return l
	}
	if diff := cmp.Diff(app.lines[3], read()); diff != "" {
		t.Errorf("the tail's line (-want +got):\n%s", diff)
	}
	// The stream is open (its first line came), so the app has the
	// follower: these are written after the request started.
	later := []adminapi.LogLine{
		{Time: t0.Add(time.Hour), Process: "orders-1", Stream: "stdout", Text: "GET /orders/2"},
		{Time: t0.Add(time.Hour), Process: "orders-2", Stream: "stdout", Text: "not orders-1's"},
		{Time: t0.Add(2 * time.Hour), Process: "orders-1", Stream: "stderr", Text: "GET /orders/3"},
	}
	for _, l := range later {
		app.write(l)
	}
	for _, w := range []adminapi.LogLine{later[0], later[2]} {
		if diff := cmp.Diff(w, read()); diff != "" {
			t.Errorf("a later line (-want +got):\n%s", diff)
		}
	}
	cancel()
	select {
	case <-app.left:
	case <-time.After(watchDeadline):
		t.Fatal("the app's Logs context did not end after the client left")
	}
}

func TestAppOperations(t *testing.T) {
	h, app := newAppHarness(t)
	tests := []struct {
		name   string
		path   string
		body   string
		err    error
		status int
		code   string
		wantOp string
	}{
		{"scale", "/v1/app/scale", `{"service":"orders","replicas":3}`, nil, http.StatusOK, "", "scale orders 3"},
		{"scale to 0", "/v1/app/scale", `{"service":"orders","replicas":0}`, nil, http.StatusOK, "", "scale orders 0"},
		{"restart", "/v1/app/restart", `{"service":"orders"}`, nil, http.StatusOK, "", "restart orders"},
		{"stop", "/v1/app/stop", `{"instance":"orders-2"}`, nil, http.StatusOK, "", "stop orders-2"},
		{"scale unknown", "/v1/app/scale", `{"service":"payments","replicas":1}`, adminapi.ErrUnknownProcess, http.StatusNotFound, adminapi.CodeNotFound, "scale payments 1"},
		{"scale out of range", "/v1/app/scale", `{"service":"orders","replicas":65}`, fmt.Errorf("scale orders: %w", adminapi.ErrBadScale), http.StatusBadRequest, adminapi.CodeBadRequest, "scale orders 65"},
		{"restart unknown", "/v1/app/restart", `{"service":"payments"}`, adminapi.ErrUnknownProcess, http.StatusNotFound, adminapi.CodeNotFound, "restart payments"},
		{"stop unknown", "/v1/app/stop", `{"instance":"orders-9"}`, adminapi.ErrUnknownProcess, http.StatusNotFound, adminapi.CodeNotFound, "stop orders-9"},
		{"restart fails", "/v1/app/restart", `{"service":"orders"}`, errors.New("orders-3 did not become healthy"), http.StatusInternalServerError, adminapi.CodeInternal, "restart orders"},
		{"app shutting down", "/v1/app/stop", `{"instance":"orders-2"}`, fmt.Errorf("stop: %w", context.Canceled), http.StatusServiceUnavailable, adminapi.CodeUnavailable, "stop orders-2"},
		{"unknown field", "/v1/app/scale", `{"service":"orders","replicas":3,"force":true}`, nil, http.StatusBadRequest, adminapi.CodeBadRequest, ""},
		{"replicas not a number", "/v1/app/scale", `{"service":"orders","replicas":"3"}`, nil, http.StatusBadRequest, adminapi.CodeBadRequest, ""},
		{"no service", "/v1/app/scale", `{"replicas":3}`, nil, http.StatusBadRequest, adminapi.CodeBadRequest, ""},
		{"no instance", "/v1/app/stop", `{}`, nil, http.StatusBadRequest, adminapi.CodeBadRequest, ""},
		{"restart names an instance field", "/v1/app/restart", `{"instance":"orders-1"}`, nil, http.StatusBadRequest, adminapi.CodeBadRequest, ""},
		{"not JSON", "/v1/app/restart", `service: orders`, nil, http.StatusBadRequest, adminapi.CodeBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app.mu.Lock()
			app.err = tc.err
			app.mu.Unlock()
			resp := h.do(t, "POST", tc.path, tc.body)
			want(t, resp, tc.status, tc.code)
			var wantOps []string
			if tc.wantOp != "" {
				wantOps = []string{tc.wantOp}
			}
			ops, _ := app.recorded()
			if diff := cmp.Diff(wantOps, ops); diff != "" {
				t.Errorf("operations asked of the app (-want +got):\n%s", diff)
			}
			if tc.status == http.StatusOK {
				var echoed, sent any
				decode(t, resp, &echoed)
				json.Unmarshal([]byte(tc.body), &sent)
				if diff := cmp.Diff(sent, echoed); diff != "" {
					t.Errorf("answer (-want the request +got):\n%s", diff)
				}
			}
		})
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.cancelable {
		t.Error("an operation got a context that ends with the request, want one that goes on when the client leaves")
	}
}

// TestAppApply: PUT /v1/app hands the app file to the app and answers what
// changed, every list present; a file the app cannot apply is 422.
func TestAppApply(t *testing.T) {
	h, app := newAppHarness(t)
	resp := h.do(t, "PUT", "/v1/app", `{"filename":"/srv/app.yaml","content":"services: []"}`)
	want(t, resp, http.StatusOK, "")
	var got adminapi.AppChanges
	decode(t, resp, &got)
	wantCh := adminapi.AppChanges{Added: []string{"billing"}, Removed: []string{}, Changed: []string{}, Rescaled: []string{"orders"}, Config: true}
	if diff := cmp.Diff(wantCh, got); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	if ops, _ := app.recorded(); !cmp.Equal(ops, []string{`apply /srv/app.yaml "services: []"`}) {
		t.Errorf("operations asked of the app: %q", ops)
	}
	app.mu.Lock()
	app.err = fmt.Errorf("%w: app.yaml:3:5: services[0].command: required", adminapi.ErrInvalidApp)
	app.mu.Unlock()
	want(t, h.do(t, "PUT", "/v1/app", `{"filename":"/srv/app.yaml","content":"x"}`), http.StatusUnprocessableEntity, adminapi.CodeInvalidConfig)
	want(t, h.do(t, "PUT", "/v1/app", `{"filename":"/srv/app.yaml"}`), http.StatusBadRequest, adminapi.CodeBadRequest)
}

// Package test holds pylon's end-to-end tests: each one starts the real
// pylon binary on a config file, real upstreams on loopback and real clients
// (net/http, x/net/http2, grpc-go, coder/websocket, raw TCP), and checks what
// a user would see.
package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// pylonBin is the binary built once by TestMain.
var pylonBin string

// raceEnabled is set when the tests are built with -race (race_test.go);
// pylon is then built with -race too, so the gateway runs under the race
// detector and a race it reports fails the test that ran it.
var raceEnabled bool

// drainTimeout is passed to every gateway; stop waits a little longer.
const drainTimeout = 5 * time.Second

// sidecarDrainDelay is the test sidecars' --drain-delay: long enough for a
// deregistration to reach callers on loopback, short enough that stopping
// the many sidecars of the tests stays quick.
const sidecarDrainDelay = 200 * time.Millisecond

func TestMain(m *testing.M) {
	flag.Parse()
	parallelTests()
	os.Exit(runMain(m))
}

// parallelTests lets the long tests that mostly wait (for `pylon up` to
// build and start an app, for a CA rotation's activation time, for etcd to
// elect a leader) run side by side: each calls t.Parallel, and up to four
// run at once unless -parallel says otherwise (the default, GOMAXPROCS, is
// two on a 2-core CI machine, where these tests leave the CPU mostly
// idle). Tests that measure behaviour under load, or set environment
// variables, stay serial.
func parallelTests() {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "4")
	}
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "pylon-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "creating a temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	pylonBin = filepath.Join(dir, "pylon")
	args := []string{"build", "-o", pylonBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/pylon")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building pylon: %v\n", err)
		return 1
	}
	return m.Run()
}

// syncBuffer is a bytes.Buffer safe for the process's writer goroutine and
// the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// gateway is one running pylon process.
type gateway struct {
	t       *testing.T
	dir     string
	cfgPath string
	ports   map[string]string // listener name -> 127.0.0.1:port
	admin   string            // 127.0.0.1:port
	cmd     *exec.Cmd
	stdout  *syncBuffer // access log
	stderr  *syncBuffer // process log
	done    chan struct{}
	waitErr error
	stopped bool
}

// startGateway writes tmpl (a text/template of the YAML config, without the
// admin section) and starts `pylon gateway` on it. In the template,
// {{listen "name"}} is a free loopback address for a listener, {{.Dir}} the
// gateway's directory and any other {{.Key}} comes from data. It waits for
// /ready and stops the gateway (asserting a clean exit) when the test ends.
func startGateway(t *testing.T, tmpl string, data map[string]string) *gateway {
	t.Helper()
	g := &gateway{
		t:      t,
		dir:    t.TempDir(),
		ports:  map[string]string{},
		admin:  freeAddr(t),
		stdout: &syncBuffer{},
		stderr: &syncBuffer{},
		done:   make(chan struct{}),
	}
	g.cfgPath = filepath.Join(g.dir, "pylon.yaml")
	g.writeConfig(tmpl, data)
	g.cmd = exec.Command(pylonBin, "gateway", "-c", g.cfgPath,
		"--drain-timeout", drainTimeout.String(), "--log-level", "debug")
	g.cmd.Stdout, g.cmd.Stderr = g.stdout, g.stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("starting pylon: %v", err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(g.cleanup)
	g.waitReady()
	return g
}

// writeConfig renders tmpl into the config file atomically (write, rename),
// so the file watcher never reads half a file.
func (g *gateway) writeConfig(tmpl string, data map[string]string) {
	g.t.Helper()
	text := g.render(tmpl, data)
	tmp := g.cfgPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		g.t.Fatalf("writing config: %v", err)
	}
	if err := os.Rename(tmp, g.cfgPath); err != nil {
		g.t.Fatalf("renaming config: %v", err)
	}
}

func (g *gateway) render(tmpl string, data map[string]string) string {
	g.t.Helper()
	funcs := template.FuncMap{"listen": func(name string) string {
		if a, ok := g.ports[name]; ok {
			return a
		}
		a := freeAddr(g.t)
		g.ports[name] = a
		return a
	}}
	tp, err := template.New("pylon.yaml").Funcs(funcs).Option("missingkey=error").Parse(tmpl)
	if err != nil {
		g.t.Fatalf("parsing config template: %v", err)
	}
	vals := map[string]string{"Dir": g.dir}
	for k, v := range data {
		vals[k] = v
	}
	var b strings.Builder
	fmt.Fprintf(&b, "admin:\n  address: %s\n", g.admin)
	if err := tp.Execute(&b, vals); err != nil {
		g.t.Fatalf("rendering config template: %v", err)
	}
	return b.String()
}

func (g *gateway) waitReady() {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			g.t.Fatalf("pylon exited before ready: %v\nstderr:\n%s", g.waitErr, g.stderr.String())
		default:
		}
		resp, err := http.Get(g.adminURL() + "/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("pylon not ready within 10s\nstderr:\n%s", g.stderr.String())
}

// addr is the host:port of listener name.
func (g *gateway) addr(name string) string {
	a, ok := g.ports[name]
	if !ok {
		g.t.Fatalf("no listener %q in the config", name)
	}
	return a
}

// url is the http:// base URL of listener name.
func (g *gateway) url(name string) string { return "http://" + g.addr(name) }

func (g *gateway) adminURL() string { return "http://" + g.admin }

// stop sends SIGTERM and waits for the exit, returning its error (nil for
// exit status 0).
func (g *gateway) stop() error {
	g.t.Helper()
	if g.stopped {
		return g.waitErr
	}
	g.stopped = true
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("sending SIGTERM: %w", err)
	}
	select {
	case <-g.done:
		return g.waitErr
	case <-time.After(drainTimeout + 5*time.Second):
		g.cmd.Process.Kill()
		<-g.done
		return fmt.Errorf("pylon did not exit within %v of SIGTERM", drainTimeout+5*time.Second)
	}
}

func (g *gateway) cleanup() {
	if err := g.stop(); err != nil {
		g.t.Errorf("stopping pylon: got %v, want exit status 0", err)
	}
	if _, race, ok := strings.Cut(g.stderr.String(), "WARNING: DATA RACE"); ok {
		g.t.Errorf("the race detector found a data race in pylon:\n%s", race[:min(len(race), 20000)])
	}
	if g.t.Failed() {
		g.t.Logf("pylon stdout (access log):\n%s", tail(g.stdout.String(), 8000))
		g.t.Logf("pylon stderr:\n%s", tail(g.stderr.String(), 8000))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// metric sums the samples of metric name whose labels contain every one of
// labels (each written as `key="value"`).
func (g *gateway) metric(name string, labels ...string) float64 {
	g.t.Helper()
	text := g.get("/metrics")
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		if !hasAll(line, labels) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			g.t.Fatalf("parsing metric line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

func hasAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// get fetches an admin path and returns the body; it fails the test unless
// the status is 200.
func (g *gateway) get(path string) string {
	g.t.Helper()
	resp, err := http.Get(g.adminURL() + path)
	if err != nil {
		g.t.Fatalf("GET admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatalf("reading admin %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		g.t.Fatalf("GET admin %s: got status %d, want 200; body %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// reload rewrites the config and sends SIGHUP, then waits until a reload
// with result (success or failure) has been counted.
func (g *gateway) reload(tmpl string, data map[string]string, result string) {
	g.t.Helper()
	label := `result="` + result + `"`
	before := g.metric("pylon_config_reloads_total", label)
	g.writeConfig(tmpl, data)
	if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		g.t.Fatalf("sending SIGHUP: %v", err)
	}
	waitFor(g.t, 10*time.Second, "config reload with "+label, func() bool {
		return g.metric("pylon_config_reloads_total", label) > before
	})
}

// services fetches /services.
func (g *gateway) services() []serviceStatus {
	g.t.Helper()
	var s struct {
		Services []serviceStatus `json:"services"`
	}
	if err := json.Unmarshal([]byte(g.get("/services")), &s); err != nil {
		g.t.Fatalf("decoding /services: %v", err)
	}
	return s.Services
}

// endpoint returns the /services entry of one endpoint.
func (g *gateway) endpoint(service, addr string) endpointStatus {
	g.t.Helper()
	for _, s := range g.services() {
		if s.Name != service {
			continue
		}
		for _, e := range s.Endpoints {
			if e.Address == addr {
				return e
			}
		}
	}
	g.t.Fatalf("no endpoint %s of service %s in /services", addr, service)
	return endpointStatus{}
}

// serviceStatus is the part of /services the tests read.
type serviceStatus struct {
	Name      string           `json:"name"`
	Endpoints []endpointStatus `json:"endpoints"`
}

type endpointStatus struct {
	Address   string `json:"address"`
	Healthy   bool   `json:"healthy"`
	Ejected   bool   `json:"ejected"`
	Ejections int    `json:"ejections"`
	InFlight  int64  `json:"in_flight"`
	Requests  uint64 `json:"requests"`
	Failures  uint64 `json:"failures"`
}

// accessLines decodes the JSON access log lines written so far.
func (g *gateway) accessLines() []map[string]any {
	g.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(g.stdout.String(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			g.t.Errorf("access log line is not JSON: %q: %v", line, err)
			continue
		}
		out = append(out, m)
	}
	return out
}

// waitFor polls cond every 20ms until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// handedOut holds the ports freeAddr returned, so it never returns one
// twice: the kernel may give a port just closed to the next :0 listener,
// and two parts of one test given the same "free" port collide.
var handedOut = struct {
	sync.Mutex
	ports map[string]bool
}{ports: map[string]bool{}}

// freeAddr returns a loopback address that was free a moment ago and that
// no earlier call returned. Its port is below the kernel's ephemeral range
// when there is room for it there: the kernel gives ports of that range to
// outgoing connections (every test's clients, in every test process of the
// run), and one could take the port between this call and a child's bind,
// or between a child's stop and its restart on the same address (a
// control plane restarted for the gateways that know its address).
func freeAddr(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	lo, hi := belowEphemeral()
	for range 1000 {
		addr := "127.0.0.1:0"
		if hi > lo {
			addr = "127.0.0.1:" + strconv.Itoa(lo+rand.IntN(hi-lo))
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // taken; try another
		}
		addr = ln.Addr().String()
		ln.Close()
		if !handedOut.ports[addr] {
			handedOut.ports[addr] = true
			return addr
		}
	}
	t.Fatal("finding a free port: 1000 tries failed")
	return ""
}

// belowEphemeral returns the ports [lo, hi) below the kernel's ephemeral
// range that freeAddr picks from, or lo == hi when the range starts too low
// to leave room (freeAddr then takes what the kernel gives).
func belowEphemeral() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0, 0
	}
	start, err := strconv.Atoi(f[0])
	if err != nil || start < 16384 {
		return 0, 0
	}
	return start / 2, start
}

// errorBody is pylon's JSON error body (docs/errors.md).
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// errorCode decodes a pylon error body and returns its code ("" and a test
// error when it is not one).
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" {
		t.Errorf("body is not a pylon error: %q (%v)", body, err)
		return ""
	}
	return e.Error.Code
}

// testContext is a context bounded by d and by the test.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

package test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	upstreamOnce sync.Once
	upstreamBin  string
	upstreamErr  error
)

// buildUpstream builds examples/upstream, the echo server the app files of
// these tests run as their instances.
func buildUpstream(t *testing.T) string {
	t.Helper()
	upstreamOnce.Do(func() {
		upstreamBin = filepath.Join(filepath.Dir(pylonBin), "upstream")
		out, err := exec.Command("go", "build", "-o", upstreamBin, "../examples/upstream").CombinedOutput()
		if err != nil {
			upstreamErr = err
			t.Logf("%s", out)
		}
	})
	if upstreamErr != nil {
		t.Fatalf("building examples/upstream: %v", upstreamErr)
	}
	return upstreamBin
}

// up is a running `pylon up`.
type up struct {
	t     *testing.T
	cmd   *exec.Cmd
	out   *syncBuffer
	errb  *syncBuffer
	done  chan struct{}
	err   error
	web   string // the gateway listener's address
	admin string
	data  string // the data directory
}

// startUp writes app (with $UPSTREAM, $WEB as placeholders) to a temp
// dir and runs `pylon up -f` on it until it says the app is running.
func startUp(t *testing.T, app string) *up {
	t.Helper()
	dir, web := t.TempDir(), freeAddr(t)
	app = strings.NewReplacer("$UPSTREAM", buildUpstream(t), "$WEB", web).Replace(app)
	if err := os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(app), 0o600); err != nil {
		t.Fatal(err)
	}
	u := runUp(t, filepath.Join(dir, "app.yaml"), filepath.Join(dir, ".pylon"), 60*time.Second)
	u.web = web
	return u
}

// runUp runs `pylon up -f file --data data` on free control plane ports
// until it says the app is running.
func runUp(t *testing.T, file, data string, wait time.Duration) *up {
	t.Helper()
	u := &up{t: t, out: &syncBuffer{}, errb: &syncBuffer{}, done: make(chan struct{}), admin: freeAddr(t), data: data}
	u.cmd = exec.Command(pylonBin, "up", "-f", file, "--data", data, "--listen", freeAddr(t), "--admin", u.admin)
	u.cmd.Stdout, u.cmd.Stderr = u.out, u.errb
	if err := u.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { u.err = u.cmd.Wait(); close(u.done) }()
	t.Cleanup(func() {
		u.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-u.done:
		case <-time.After(40 * time.Second):
			u.cmd.Process.Kill()
			t.Error("pylon up did not stop within 40s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("pylon up stdout:\n%s\nstderr:\n%s", u.out, u.errb)
		}
	})
	waitFor(t, wait, "pylon up to say the app is running", func() bool {
		select {
		case <-u.done:
			t.Fatalf("pylon up exited: %v\n%s\n%s", u.err, u.out, u.errb)
		default:
		}
		return strings.Contains(u.out.String(), "is running; Ctrl-C stops it")
	})
	return u
}

var startedRE = regexp.MustCompile(`(?m)\| (\S+): started \(pid (\d+)\)$`)

// pids returns the pid of every process the run has started, by name (the
// latest start of each).
func (u *up) pids() map[string]int { return pidsIn(u.out.String()) }

// pidsIn reads from pylon up's output the pid of every process it
// started, by name (the latest start of each).
func pidsIn(out string) map[string]int {
	pids := map[string]int{}
	for _, m := range startedRE.FindAllStringSubmatch(out, -1) {
		pid, _ := strconv.Atoi(m[2])
		pids[m[1]] = pid
	}
	return pids
}

// health is what the registry says of an instance.
func (u *up) health(instance string) string {
	tok, err := os.ReadFile(filepath.Join(u.data, "admin.token"))
	if err != nil {
		return ""
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+u.admin+"/v1/instances", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var list struct {
		Items []struct{ ID, Health string }
	}
	json.NewDecoder(resp.Body).Decode(&list)
	for _, in := range list.Items {
		if in.ID == instance {
			return in.Health
		}
	}
	return ""
}

// stop sends SIGINT (Ctrl-C) and returns the exit code.
func (u *up) stop() int {
	u.t.Helper()
	u.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-u.done:
	case <-time.After(40 * time.Second):
		u.t.Fatal("pylon up did not stop within 40s of SIGINT")
	}
	return u.cmd.ProcessState.ExitCode()
}

const upApp = `services:
  - name: orders
    command: ["$UPSTREAM", "-addr", "127.0.0.1:${PORT}", "-name", "${PYLON_INSTANCE}"]
    replicas: 2
    protocol: http1
    health: { http: { path: / } }
gateway:
  listeners:
    - name: web
      address: $WEB
  routes:
    - name: orders
      match: { path: { prefix: /orders } }
      service: orders
`

// TestUp: pylon up runs an app (two instances, each with its sidecar,
// and a gateway); a killed instance is restarted while no request through
// the gateway fails; Ctrl-C stops every process cleanly.
func TestUp(t *testing.T) {
	u := startUp(t, upApp)
	base := "http://" + u.web + "/orders/1"
	// A mesh service's instance that joins after the first takes traffic
	// gradually, over the 10 s slow start (config.MeshSlowStart): under the
	// race detector orders-2 can register a few seconds after orders-1.
	for _, inst := range []string{"orders-1", "orders-2"} {
		waitFor(t, 25*time.Second, "the gateway to reach "+inst, func() bool { return servedBy(base, inst) })
	}
	for _, want := range []string{"gateway listener web: http://" + u.web, "admin API: http://" + u.admin, "curl -s http://" + u.web + "/orders"} {
		if !strings.Contains(u.out.String(), want) {
			t.Errorf("pylon up did not print %q", want)
		}
	}

	l := startLoad(base, 4)
	// Retries are budgeted as a share of the traffic of the last seconds:
	// let the load run a moment, as it would in production, before the kill.
	time.Sleep(time.Second)
	before := u.pids()["orders-1"]
	syscall.Kill(before, syscall.SIGKILL)
	waitFor(t, 15*time.Second, "orders-1 to be restarted", func() bool {
		pid := u.pids()["orders-1"]
		return pid != 0 && pid != before
	})
	// Callers ejected the instance while it was down (30 s); the registry
	// says when it is back.
	waitFor(t, 15*time.Second, "the restarted orders-1 to be healthy again", func() bool { return u.health("orders-1") == "healthy" })
	total, failed, first := l.finish()
	if failed != 0 {
		t.Errorf("%d of %d GETs through the gateway failed while an instance was killed and restarted; the first: %s", failed, total, first)
	}
	for _, want := range []string{"orders-1: exited (signal: killed", "orders-1: restarting in"} {
		if !strings.Contains(u.out.String(), want) {
			t.Errorf("no event %q printed", want)
		}
	}

	pids := u.pids()
	if code := u.stop(); code != 0 {
		t.Errorf("pylon up exited %d after Ctrl-C, want 0 (a clean shutdown)\n%s", code, u.errb)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("%s (pid %d) is still running after pylon up exited", name, pid)
		}
	}
	if len(pids) != 5 {
		t.Errorf("got processes %v, want 5: two instances, their sidecars and the gateway", pids)
	}
}

// TestUpOptionalService: an optional service whose command is not
// installed is left out, with a line saying so, and the app runs.
func TestUpOptionalService(t *testing.T) {
	app := strings.Replace(upApp, "gateway:", `    upstreams: [cache]
  - name: cache
    command: ["no-such-cache-server", "--port", "${PORT}"]
    optional: true
gateway:`, 1)
	u := startUp(t, app)
	if !strings.Contains(u.out.String(), "cache is left out (optional: true)") {
		t.Errorf("no line says the optional service was left out")
	}
	waitFor(t, 10*time.Second, "the gateway to reach orders", func() bool { return servedBy("http://"+u.web+"/orders/1", "orders-1") })
}

// TestUpRefusesToStart: problems found before anything starts are all
// reported at once, and nothing is left running.
func TestUpRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	taken := freeAddr(t)
	ln, err := net.Listen("tcp", taken)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	app := strings.NewReplacer("$UPSTREAM", "no-such-command-here", "$WEB", taken).Replace(upApp)
	os.WriteFile(filepath.Join(dir, "app.yaml"), []byte(app), 0o600)
	code, _, stderr := runPylon(t, "up", "-f", filepath.Join(dir, "app.yaml"), "--listen", freeAddr(t), "--admin", freeAddr(t))
	for _, want := range []string{`app.yaml:3:5: services[0].command: command "no-such-command-here" not found in PATH`,
		"app.yaml:10:7: gateway.listeners[0].address: " + taken + " cannot be used"} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("got exit %d, stderr %q; want 1 and %q", code, stderr, want)
		}
	}
	bad := strings.Replace(upApp, "    protocol: http1\n", "    protocol: http1\n    upstreams: [orders]\n    replica: 2\n", 1)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o600)
	code, _, stderr = runPylon(t, "up", "-f", filepath.Join(dir, "bad.yaml"))
	for _, want := range []string{"bad.yaml:6:17: services[0].upstreams[0]: a service cannot call itself", `bad.yaml:7:5: services[0].replica: unknown field "replica"`} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("a bad app file: got exit %d, stderr %q; want 1 and %q", code, stderr, want)
		}
	}
	code, _, stderr = runPylon(t, "up", "-f", filepath.Join(dir, "missing.yaml"))
	if code != 1 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("a missing app file: got exit %d, stderr %q", code, stderr)
	}
}

// TestUpDocFlags checks docs/up.md's flag table against `pylon up -h`.
func TestUpDocFlags(t *testing.T) {
	checkFlagTable(t, "../docs/up.md", "## `pylon up` flags", "up")
}

// api calls the admin API of the running app.
func (u *up) api(method, path, body string) (int, string) {
	u.t.Helper()
	tok, err := os.ReadFile(filepath.Join(u.data, "admin.token"))
	if err != nil {
		u.t.Fatal(err)
	}
	req, _ := http.NewRequest(method, "http://"+u.admin+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// instances returns the app's running instances of service, by name.
func (u *up) instances(service string) []string {
	_, b := u.api(http.MethodGet, "/v1/app/processes", "")
	var list struct {
		Items []struct{ Name, Service, Kind string }
	}
	json.Unmarshal([]byte(b), &list)
	var out []string
	for _, p := range list.Items {
		if p.Service == service && p.Kind == "app" {
			out = append(out, p.Name)
		}
	}
	return out
}

// TestUpOperations: scale a service up, restart it rolling under load
// with no failed request, stop one instance, all through the admin API
// pylon ctl uses.
func TestUpOperations(t *testing.T) {
	t.Parallel() // long and mostly waiting: see parallelTests in harness_test.go
	u := startUp(t, upApp)
	base := "http://" + u.web + "/orders/1"
	waitFor(t, 10*time.Second, "the gateway to reach orders", func() bool { return servedBy(base, "orders-1") })

	if code, b := u.api(http.MethodPost, "/v1/app/scale", `{"service": "orders", "replicas": 3}`); code != http.StatusOK {
		t.Fatalf("scale: %d %s", code, b)
	}
	waitFor(t, 15*time.Second, "orders-3 to take traffic", func() bool { return servedBy(base, "orders-3") })

	l := startLoad(base, 4)
	before := u.pids()
	if code, b := u.api(http.MethodPost, "/v1/app/restart", `{"service": "orders"}`); code != http.StatusOK {
		t.Errorf("restart: %d %s", code, b)
	}
	total, failed, first := l.finish()
	if failed != 0 || total == 0 {
		t.Errorf("%d of %d GETs through the gateway failed during the rolling restart; the first: %s", failed, total, first)
	}
	got := u.instances("orders")
	if want := []string{"orders-4", "orders-5", "orders-6"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("after the rolling restart the instances are %v, want %v", got, want)
	}
	for _, name := range []string{"orders-1", "orders-2", "orders-3"} {
		if err := syscall.Kill(before[name], 0); err == nil {
			t.Errorf("%s (pid %d) still runs after the rolling restart", name, before[name])
		}
	}

	if code, b := u.api(http.MethodPost, "/v1/app/stop", `{"instance": "orders-4"}`); code != http.StatusOK {
		t.Errorf("stop: %d %s", code, b)
	}
	if got := u.instances("orders"); strings.Join(got, ",") != "orders-5,orders-6" {
		t.Errorf("after stopping orders-4 the instances are %v", got)
	}
	if code, _ := u.api(http.MethodPost, "/v1/app/stop", `{"instance": "orders-4"}`); code != http.StatusNotFound {
		t.Errorf("stopping a stopped instance: got %d, want 404", code)
	}
	if code, _ := u.api(http.MethodPost, "/v1/app/scale", `{"service": "orders", "replicas": 65}`); code != http.StatusBadRequest {
		t.Errorf("scaling to 65: got %d, want 400", code)
	}
	_, doc := u.api(http.MethodGet, "/v1/app/events", "")
	var events struct {
		Items []struct{ Process, Message string }
	}
	json.Unmarshal([]byte(doc), &events)
	for _, want := range []string{"orders: scaling from 2 to 3 instances", "orders: rolling restart of 3 instances", "orders-4: stopping: asked to"} {
		if !slices.ContainsFunc(events.Items, func(e struct{ Process, Message string }) bool { return e.Process+": "+e.Message == want }) {
			t.Errorf("no event %q in %s", want, doc)
		}
	}
	t.Logf("%d GETs during the rolling restart, none failed", total)
}

// TestUpDetached: pylon up -d returns once the app runs, which keeps
// running in the background until pylon down stops it, leaving nothing
// behind.
func TestUpDetached(t *testing.T) {
	dir, web := t.TempDir(), freeAddr(t)
	app := strings.NewReplacer("$UPSTREAM", buildUpstream(t), "$WEB", web).Replace(upApp)
	file := filepath.Join(dir, "app.yaml")
	os.WriteFile(file, []byte(app), 0o600)
	data, admin := filepath.Join(dir, "data"), freeAddr(t)
	code, stdout, stderr := runPylon(t, "up", "-d", "-f", file, "--data", data, "--listen", freeAddr(t), "--admin", admin)
	t.Cleanup(func() { exec.Command(pylonBin, "down", "-f", file, "--data", data).Run() })
	if code != 0 || !strings.Contains(stdout, "is running; stop it with pylon down -f "+file) || !strings.Contains(stdout, "runs in the background") {
		t.Fatalf("pylon up -d: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if code, b := body("http://" + web + "/orders/1"); code != http.StatusOK {
		t.Errorf("the detached app's gateway answered %d %s, want 200 as soon as pylon up -d returns", code, b)
	}
	code, stdout, stderr = runPylon(t, "up", "-f", file, "--data", data, "--listen", freeAddr(t), "--admin", freeAddr(t))
	if code != 0 || !strings.Contains(stdout, "pylon up runs this app") || !strings.Contains(stdout, "nothing to change") {
		t.Errorf("a second pylon up of the unchanged file: exit %d, stdout %q, stderr %q; want 0 and nothing to change", code, stdout, stderr)
	}
	log, _ := os.ReadFile(filepath.Join(data, "up.log"))
	pids := pidsIn(string(log))
	code, stdout, stderr = runPylon(t, "down", "-f", file, "--data", data)
	if code != 0 || !strings.Contains(stdout, "stopped") {
		t.Errorf("pylon down: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("%s (pid %d) still runs after pylon down", name, pid)
		}
	}
	if len(pids) != 5 {
		t.Errorf("the log names processes %v, want 5", pids)
	}
	code, _, stderr = runPylon(t, "down", "-f", file, "--data", data)
	if code != 1 || !strings.Contains(stderr, "no pylon up runs") {
		t.Errorf("pylon down of a stopped app: exit %d, stderr %q", code, stderr)
	}
}

// TestUpApplyChanges: running pylon up again on a changed app file
// changes only what differs: a service added and routed to, another
// rescaled without touching its running instances, then a service's env
// changed (its instances replaced) and the added service removed again.
func TestUpApplyChanges(t *testing.T) {
	t.Parallel() // long and mostly waiting: see parallelTests in harness_test.go
	u := startUp(t, upApp)
	file := filepath.Join(filepath.Dir(u.data), "app.yaml")
	write := func(app string) {
		app = strings.NewReplacer("$UPSTREAM", buildUpstream(t), "$WEB", u.web).Replace(app)
		if err := os.WriteFile(file, []byte(app), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	again := func() string {
		code, stdout, stderr := runPylon(t, "up", "-f", file, "--data", u.data)
		if code != 0 {
			t.Fatalf("pylon up again: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		return stdout
	}
	before := u.pids()

	grown := strings.Replace(upApp, "    replicas: 2\n", "    replicas: 3\n", 1)
	grown = strings.Replace(grown, "gateway:", `  - name: billing
    command: ["$UPSTREAM", "-addr", "127.0.0.1:${PORT}", "-name", "${PYLON_INSTANCE}"]
    protocol: http1
    health: { http: { path: / } }
gateway:`, 1) + `    - name: billing
      match: { path: { prefix: /billing } }
      service: billing
`
	write(grown)
	out := again()
	for _, want := range []string{"added: billing", "rescaled: orders"} {
		if !strings.Contains(out, want) {
			t.Errorf("pylon up again printed %q, want it to say %q", out, want)
		}
	}
	waitFor(t, 15*time.Second, "the gateway to route /billing to billing-1", func() bool { return servedBy("http://"+u.web+"/billing/1", "billing-1") })
	waitFor(t, 15*time.Second, "orders-3 to take traffic", func() bool { return servedBy("http://"+u.web+"/orders/1", "orders-3") })
	for _, name := range []string{"orders-1", "orders-2", "gateway"} {
		if now := u.pids()[name]; now != before[name] {
			t.Errorf("%s was restarted (pid %d, then %d); it did not change", name, before[name], now)
		}
	}
	if out := again(); !strings.Contains(out, "nothing to change") {
		t.Errorf("pylon up again on the same file printed %q, want nothing to change", out)
	}

	changed := strings.Replace(upApp, "    health: { http: { path: / } }\n", "    health: { http: { path: / } }\n    env: { COLOR: blue }\n", 1)
	write(changed)
	out = again()
	for _, want := range []string{"changed: orders", "removed: billing"} {
		if !strings.Contains(out, want) {
			t.Errorf("pylon up again printed %q, want it to say %q", out, want)
		}
	}
	if got := u.instances("orders"); len(got) != 2 || slices.Contains(got, "orders-1") {
		t.Errorf("after changing orders' env its instances are %v, want two new ones", got)
	}
	if got := u.instances("billing"); len(got) != 0 {
		t.Errorf("billing still runs %v after it was removed", got)
	}
	waitFor(t, 5*time.Second, "the gateway to drop the billing route", func() bool {
		code, _ := body("http://" + u.web + "/billing/1")
		return code == http.StatusNotFound
	})
}

// TestUpReplacesUnhealthy: an instance whose health check fails for its
// service's replace_after is replaced, and says so in an event.
func TestUpReplacesUnhealthy(t *testing.T) {
	t.Parallel() // long and mostly waiting: see parallelTests in harness_test.go
	app := strings.Replace(upApp, "    health: { http: { path: / } }\n", "    health: { http: { path: /healthz }, replace_after: 2s }\n", 1)
	app = strings.Replace(app, "      match: { path: { prefix: /orders } }", "      match: { path: { prefix: / } }", 1)
	u := startUp(t, app)
	before := u.pids()
	resp, err := http.Post("http://"+u.web+"/healthz/down", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	victim, _, _ := strings.Cut(string(out), " ")
	if victim != "orders-1" && victim != "orders-2" {
		t.Fatalf("POST /healthz/down: %d %q", resp.StatusCode, out)
	}
	waitFor(t, 20*time.Second, victim+" to be replaced", func() bool {
		pid := u.pids()[victim]
		return pid != before[victim] && strings.Contains(u.out.String(), victim+": replacing it: failing its health checks for")
	})
	waitFor(t, 10*time.Second, "the replaced "+victim+" to be healthy", func() bool { return u.health(victim) == "healthy" })
}

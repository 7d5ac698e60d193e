package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// controlPlane is one running `pylon control` process.
type controlPlane struct {
	t       *testing.T
	data    string
	listen  string // data planes connect here
	admin   string
	args    []string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	done    chan struct{}
	waitErr error
}

// startControl starts a control plane on data (a fresh temp dir when
// empty) with extra flags, and waits until its admin API answers.
func startControl(t *testing.T, data string, extra ...string) *controlPlane {
	t.Helper()
	if data == "" {
		data = t.TempDir()
	}
	c := &controlPlane{t: t, data: data, listen: freeAddr(t), admin: freeAddr(t)}
	c.args = append([]string{"control", "--data", data, "--listen", c.listen, "--admin", c.admin, "--log-level", "debug"}, extra...)
	c.start()
	t.Cleanup(func() {
		c.stop()
		if _, race, ok := strings.Cut(c.stderr.String(), "WARNING: DATA RACE"); ok {
			t.Errorf("the race detector found a data race in pylon control:\n%s", race[:min(len(race), 20000)])
		}
		if t.Failed() {
			t.Logf("pylon control (%s) stderr:\n%s", c.listen, tail(c.stderr.String(), 8000))
		}
	})
	return c
}

func (c *controlPlane) start() {
	c.t.Helper()
	c.stderr, c.done = &syncBuffer{}, make(chan struct{})
	c.cmd = exec.Command(pylonBin, c.args...)
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		c.t.Fatalf("starting pylon control: %v", err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-c.done:
			c.t.Fatalf("pylon control exited before serving: %v\nstderr:\n%s", c.waitErr, c.stderr.String())
		default:
		}
		if code, _ := c.api(http.MethodGet, "/v1/status", nil); code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("pylon control not serving within 20s\nstderr:\n%s", c.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits; a second stop does nothing.
func (c *controlPlane) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		if c.waitErr != nil {
			c.t.Errorf("pylon control exited with %v after SIGTERM, want status 0", c.waitErr)
		}
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		c.t.Errorf("pylon control did not exit within 15s of SIGTERM")
	}
}

// kill ends the process at once, as a crash would.
func (c *controlPlane) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

func (c *controlPlane) token() string {
	b, err := os.ReadFile(filepath.Join(c.data, "admin.token"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func (c *controlPlane) server() string { return "http://" + c.admin }

// api calls the admin API with the admin token and returns the status and body.
func (c *controlPlane) api(method, path string, body []byte) (int, []byte) {
	req, err := http.NewRequest(method, c.server()+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// ctl runs `pylon ctl` against c and returns its exit code and output.
func (c *controlPlane) ctl(args ...string) (int, string, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pylonBin, append([]string{"ctl"}, args...)...)
	cmd.Env = append(os.Environ(), "PYLON_SERVER="+c.server(), "PYLON_TOKEN="+c.token())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("running pylon ctl: %v", err)
	}
	return code, out.String(), errb.String()
}

// mustCtl runs `pylon ctl` and fails the test unless it exits 0.
func (c *controlPlane) mustCtl(args ...string) string {
	c.t.Helper()
	code, out, errs := c.ctl(args...)
	if code != 0 {
		c.t.Fatalf("pylon ctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// applyYAML writes doc to a file and applies it with `pylon ctl apply -f`.
func (c *controlPlane) applyYAML(doc string) string {
	c.t.Helper()
	path := filepath.Join(c.t.TempDir(), "apply.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return c.mustCtl("apply", "-f", path)
}

// joinToken makes a join token for service with `pylon ctl token create`.
func (c *controlPlane) joinToken(service string, extra ...string) string {
	c.t.Helper()
	out := c.mustCtl(append([]string{"token", "create", "--service", service}, extra...)...)
	tok := strings.TrimSpace(out)
	if strings.Count(tok, "\n") != 0 || strings.Count(tok, ".") != 2 {
		c.t.Fatalf("token create printed %q, want one line <id>.<secret>.<pin>", out)
	}
	return tok
}

// nodeStatus is what GET /v1/nodes reports per data plane.
type nodeStatus struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Identity  string `json:"identity"`
	Acked     string `json:"acked"`
	Nacked    string `json:"nacked"`
	NackError string `json:"nack_error"`
}

func (c *controlPlane) nodes() []nodeStatus {
	c.t.Helper()
	code, body := c.api(http.MethodGet, "/v1/nodes", nil)
	if code != http.StatusOK {
		c.t.Fatalf("GET /v1/nodes: %d %s", code, body)
	}
	var out struct {
		Items []nodeStatus `json:"items"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		c.t.Fatalf("GET /v1/nodes: %v: %s", err, body)
	}
	return out.Items
}

// startManagedGateway starts `pylon gateway --control` with a join token,
// serving listener web on a free address, and waits until it applied its
// first config.
func startManagedGateway(t *testing.T, controlAddrs []string, token, nodeID string) *gateway {
	t.Helper()
	g := &gateway{t: t, dir: t.TempDir(), ports: map[string]string{"web": freeAddr(t)}, admin: freeAddr(t),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(pylonBin, "gateway", "--control", strings.Join(controlAddrs, ","), "--join-token", token,
		"--node-id", nodeID, "--listen", "web="+g.ports["web"], "--admin", g.admin,
		"--drain-timeout", drainTimeout.String(), "--log-level", "debug")
	g.cmd.Stdout, g.cmd.Stderr = g.stdout, g.stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatalf("starting pylon gateway: %v", err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		close(g.done)
	}()
	t.Cleanup(g.cleanup)
	g.waitReady()
	return g
}

// body GETs url and returns the status and body ("" on a transport error).
func body(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// gatewayDoc is a control plane config with listener web, route /api and
// service api on the given endpoints.
func gatewayDoc(endpoints ...string) string {
	return fmt.Sprintf(`listeners:
  - name: web
    address: 127.0.0.1:1
routes:
  - name: api
    match:
      path: { prefix: /api }
    service: api
services:
  - name: api
    endpoints: [%s]
`, strings.Join(endpoints, ", "))
}

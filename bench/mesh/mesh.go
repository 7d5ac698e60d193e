//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/pylon-mesh/pylon/bench/internal/proc"
)

// body is what the echo app answers every request with: 64 bytes, as
// the upstream of bench/run.sh does.
var body = bytes.Repeat([]byte("x"), 64)

// startEcho builds ./bench/mesh/echo into dir and starts it on a free
// loopback port; it returns once the app answers with body. The app is a
// process of its own, as it is beside a real sidecar: a direct call then
// crosses processes as a call through the mesh does.
func startEcho(ctx context.Context, dir string) (*proc.Child, string, error) {
	bin, err := proc.Build(ctx, dir, "./bench/mesh/echo")
	if err != nil {
		return nil, "", err
	}
	addrs, err := proc.FreeAddrs(1)
	if err != nil {
		return nil, "", err
	}
	app, err := proc.Start("echo app", bin, addrs[0])
	if err != nil {
		return nil, "", err
	}
	url := "http://" + addrs[0] + "/"
	if err := app.Poll(ctx, "the echo app", func() error { return get(ctx, url, body) }); err != nil {
		app.Stop()
		return nil, "", err
	}
	return app, addrs[0], nil
}

// sidecar is one `pylon sidecar` process with its addresses.
type sidecar struct {
	*proc.Child
	admin    string // admin listener: /ready, /debug/pprof
	outbound string // the loopback port of its one upstream, if any
}

// procs is the control plane and the two sidecars under test.
type procs struct {
	control        *proc.Child
	controlListen  string
	controlAdmin   string
	adminToken     string
	client, server *sidecar
}

// startMesh starts the control plane and both sidecars in front of app,
// and returns once the client sidecar reaches app through the server
// sidecar. It never returns nil: the caller stops what it returns, also
// after an error.
func startMesh(ctx context.Context, pylon, dir, app string) (*procs, error) {
	m := &procs{}
	addrs, err := proc.FreeAddrs(2)
	if err != nil {
		return m, err
	}
	m.controlListen, m.controlAdmin = addrs[0], addrs[1]
	m.control, err = proc.Start("pylon control", pylon, "control", "--data", dir, "--listen", m.controlListen,
		"--admin", m.controlAdmin, "--log-level", "warn")
	if err != nil {
		return m, err
	}
	if err := m.control.Poll(ctx, "the control plane's admin API", func() error { return m.status(ctx, dir) }); err != nil {
		return m, err
	}
	if m.server, err = m.startSidecar(ctx, pylon, "echo", app, ""); err != nil {
		return m, err
	}
	if m.client, err = m.startSidecar(ctx, pylon, "client", app, "echo"); err != nil {
		return m, err
	}
	url := "http://" + m.client.outbound + "/"
	return m, m.client.Poll(ctx, "the client sidecar to reach echo through the mesh", func() error { return get(ctx, url, body) })
}

// status reads the admin token from dir and calls GET /v1/status with it.
func (m *procs) status(ctx context.Context, dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		return fmt.Errorf("read the admin token: %w", err)
	}
	m.adminToken = strings.TrimSpace(string(b))
	return m.call(ctx, http.MethodGet, "/v1/status", nil, nil)
}

// startSidecar makes a join token for service and starts its sidecar in
// front of app, with an outbound port for upstream unless it is empty; it
// returns once the sidecar's /ready answers 200.
func (m *procs) startSidecar(ctx context.Context, pylon, service, app, upstream string) (*sidecar, error) {
	var tok struct{ Token string }
	req := map[string]any{"service": service, "description": "mesh benchmark"}
	if err := m.call(ctx, http.MethodPost, "/v1/tokens", req, &tok); err != nil {
		return nil, fmt.Errorf("create a join token for %s: %w", service, err)
	}
	addrs, err := proc.FreeAddrs(3)
	if err != nil {
		return nil, err
	}
	s := &sidecar{admin: addrs[1]}
	args := []string{"sidecar", "--control", m.controlListen, "--join-token", tok.Token, "--service", service,
		"--app", app, "--inbound", addrs[0], "--admin", s.admin, "--access-log", "off",
		"--log-level", "warn", "--drain-timeout", "2s", "--proxy", "off"}
	if upstream != "" {
		s.outbound = addrs[2]
		args = append(args, "--upstream", upstream+"="+s.outbound)
	}
	if s.Child, err = proc.Start(service+" sidecar", pylon, args...); err != nil {
		return nil, err
	}
	ready := "http://" + s.admin + "/ready"
	return s, s.Poll(ctx, "the "+service+" sidecar to be ready", func() error { return get(ctx, ready, nil) })
}

// stop stops the sidecars, then the control plane, so that the sidecars
// can deregister.
func (m *procs) stop() {
	for _, s := range []*sidecar{m.client, m.server} {
		if s != nil {
			s.Stop()
		}
	}
	if m.control != nil {
		m.control.Stop()
	}
}

// call sends in, JSON-encoded, to the control plane's admin API and
// decodes a 2xx answer into out, when out is not nil.
func (m *procs) call(ctx context.Context, method, path string, in, out any) error {
	var r io.Reader
	if in != nil {
		j, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+m.controlAdmin+path, r)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+m.adminToken)
	data, err := do(req)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// get GETs url and checks for a 2xx answer with body want, unless want is
// nil.
func get(ctx context.Context, url string, want []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	got, err := do(req)
	if err != nil {
		return err
	}
	if want != nil && !bytes.Equal(got, want) {
		return fmt.Errorf("GET %s: got body %.100q, want %.100q", url, got, want)
	}
	return nil
}

// do sends req and returns the body of a 2xx answer.
func do(req *http.Request) ([]byte, error) {
	what := req.Method + " " + req.URL.String()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", what, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s: status %d: %.300s", what, resp.StatusCode, data)
	}
	return data, nil
}

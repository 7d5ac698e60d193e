package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// controlPlane is the `pylon control` child process under test.
type controlPlane struct {
	listen string // data planes dial this
	admin  string // admin API, host:port
	token  string // admin token
	cmd    *exec.Cmd
	stderr *tailBuffer
	done   chan struct{} // closed when the process exited
}

// startControl starts `pylon control` on free loopback ports with its data
// in dir, and returns once its admin API answers with the admin token.
func startControl(ctx context.Context, pylon, dir string) (*controlPlane, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c := &controlPlane{listen: listen, admin: admin, stderr: &tailBuffer{max: 32 << 10}, done: make(chan struct{})}
	c.cmd = exec.Command(pylon, "control", "--data", dir, "--listen", listen, "--admin", admin, "--log-level", "warn")
	c.cmd.Stderr = c.stderr
	// A benchmark killed outright must not leave a control plane behind.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pylon control: %w", err)
	}
	go func() {
		c.cmd.Wait()
		close(c.done)
	}()
	if err := c.waitServing(ctx, filepath.Join(dir, "admin.token")); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitServing polls until the admin API answers GET /v1/status with the
// token read from tokenFile.
func (c *controlPlane) waitServing(ctx context.Context, tokenFile string) error {
	for {
		select {
		case <-c.done:
			return fmt.Errorf("pylon control exited before serving: %s", c.stderr)
		case <-ctx.Done():
			return fmt.Errorf("wait for pylon control to serve: %w; stderr: %s", ctx.Err(), c.stderr)
		case <-time.After(50 * time.Millisecond):
		}
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			continue
		}
		c.token = strings.TrimSpace(string(b))
		if err := c.call(ctx, http.MethodGet, "/v1/status", nil, nil); err == nil {
			return nil
		}
	}
}

// stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (c *controlPlane) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// call sends body (JSON-encoded unless it is a []byte) to the admin API
// and decodes a 2xx answer into out, when out is not nil.
func (c *controlPlane) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.admin+path, r)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %.500s", method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent
// use.
type tailBuffer struct {
	max int

	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == 0 {
		return "(nothing on stderr)"
	}
	return string(t.buf)
}

// errExited is returned when the control plane died during the run.
var errExited = errors.New("pylon control exited during the run")

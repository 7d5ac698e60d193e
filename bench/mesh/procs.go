package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is one pylon process the benchmark started.
type child struct {
	name   string // for errors: "pylon control", "echo sidecar"
	cmd    *exec.Cmd
	stderr *tailBuffer
	done   chan struct{} // closed when the process exited
}

// startChild starts pylon with args.
func startChild(name, pylon string, args ...string) (*child, error) {
	c := &child{name: name, stderr: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	c.cmd = exec.Command(pylon, args...)
	c.cmd.Stderr = c.stderr
	// A benchmark killed outright must not leave its processes behind.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// poll calls ready every 50 ms until it returns nil, failing when the
// process exits or ctx ends first.
func (c *child) poll(ctx context.Context, what string, ready func() error) error {
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited while waiting for %s: %s", c.name, what, c.stderr)
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w (last: %v); %s stderr: %s", what, ctx.Err(), err, c.name, c.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the process: SIGTERM, then SIGKILL after 10 s.
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
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

// freeAddrs returns n free loopback addresses.
func freeAddrs(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// buildPylon builds ./cmd/pylon of the module the benchmark belongs to
// into dir.
func buildPylon(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the pylon module: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("find the pylon module: go env GOMOD printed %q; run from inside the pylon module or pass --pylon", mod)
	}
	bin := filepath.Join(dir, "pylon")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/pylon")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pylon: %w\n%s", err, out)
	}
	return bin, nil
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

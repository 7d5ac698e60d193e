//go:build linux

// Package proc runs the benchmarks' child processes and reads what /proc
// says about them: it builds pylon, starts a child that dies with the
// benchmark, keeps the tail of its stderr for error messages, waits for
// it to become ready, stops it, and reads its memory (VmRSS, VmHWM,
// RssAnon, RssFile) and CPU time (utime+stime). Linux only.
package proc

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// stderrTail is how much of a child's stderr is kept for error messages.
const stderrTail = 32 << 10

// Child is one process the benchmark started. Its methods are safe for
// concurrent use.
type Child struct {
	name   string // for errors: "pylon control", "echo sidecar"
	cmd    *exec.Cmd
	stderr *tailBuffer
	done   chan struct{} // closed when the process exited
}

// Start starts path with args; name says what it is in errors. The child
// is killed when the benchmark's thread that started it dies, so a
// benchmark killed outright leaves nothing behind.
func Start(name, path string, args ...string) (*Child, error) {
	c := &Child{name: name, stderr: &tailBuffer{max: stderrTail}, done: make(chan struct{})}
	c.cmd = exec.Command(path, args...)
	c.cmd.Stderr = c.stderr
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

// Pid returns the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Done returns a channel closed once the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Stderr returns the last 32 KiB the child wrote to stderr, or
// "(nothing on stderr)".
func (c *Child) Stderr() string { return c.stderr.String() }

// Poll calls ready every 50 ms until it returns nil, failing when the
// child exits or ctx ends first; what names the wait in errors.
func (c *Child) Poll(ctx context.Context, what string, ready func() error) error {
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

// Stop ends the child: SIGTERM, then SIGKILL after 10 s. It returns once
// the child has exited.
func (c *Child) Stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
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

//go:build unix

package supervise

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperEnv selects what the test binary does when it runs as a child.
const helperEnv = "SUPERVISE_HELPER"

func TestMain(m *testing.M) {
	if b := os.Getenv(helperEnv); b != "" {
		helper(b)
		os.Exit(0)
	}
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines of package supervise still running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// helper is the child's side of the tests: each behaviour is one case.
func helper(behaviour string) {
	switch behaviour {
	case "lines":
		fmt.Println("out 1")
		fmt.Fprintln(os.Stderr, "err 1")
		fmt.Print("out 2\r\n")
	case "partial":
		fmt.Print("no newline")
	case "long":
		fmt.Println(strings.Repeat("x", MaxLine+10) + "\nshort")
	case "exact":
		fmt.Println(strings.Repeat("y", MaxLine) + "\nnext")
	case "crash":
		os.Exit(3)
	case "crashfile":
		// Crash until the file named by the argument exists.
		if _, err := os.Stat(os.Args[len(os.Args)-1]); err != nil {
			os.Exit(3)
		}
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "sleep":
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "graceful":
		// Like a server under `go run`: drain for a while after SIGTERM.
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		<-c
		time.Sleep(50 * time.Millisecond)
		fmt.Println("bye")
	case "grandchild", "grandchild-ignoreterm", "grandchild-graceful", "orphan":
		spawn(behaviour)
	}
}

// spawn starts a sleeping grandchild in the child's group and prints its
// pid; the child then sleeps, except "orphan", which exits leaving it.
func spawn(behaviour string) {
	gc := "sleep"
	switch behaviour {
	case "grandchild-ignoreterm":
		gc = "ignoreterm"
		signal.Ignore(syscall.SIGTERM)
	case "grandchild-graceful":
		gc = "graceful"
	}
	cmd := exec.Command(self(), "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+gc)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("grandchild", cmd.Process.Pid)
	if behaviour != "orphan" {
		time.Sleep(time.Hour)
	}
}

func self() string {
	p, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return p
}

// helperSpec runs the test binary as a child doing behaviour.
func helperSpec(name, behaviour string) Spec {
	return Spec{
		Name: name,
		Path: self(),
		Args: []string{"-test.run=^$"},
		// Under -race a child exiting 0 would sleep a second first.
		Env:         append(os.Environ(), helperEnv+"="+behaviour, "GORACE=atexit_sleep_ms=0"),
		StopTimeout: 5 * time.Second,
	}
}

// collector is a Sink that keeps every line and lets a test wait for one.
type collector struct {
	mu      sync.Mutex
	lines   []Line
	changed chan struct{}
}

func newCollector() *collector {
	return &collector{changed: make(chan struct{})}
}

func (c *collector) Line(l Line) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, l)
	close(c.changed)
	c.changed = make(chan struct{})
}

// all returns the lines so far.
func (c *collector) all() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines...)
}

// wait returns the first line whose text starts with prefix, waiting for
// it for up to 10 s.
func (c *collector) wait(t *testing.T, prefix string) Line {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		for _, l := range c.lines {
			if strings.HasPrefix(l.Text, prefix) {
				c.mu.Unlock()
				return l
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("got no line starting with %q in 10s; lines: %v", prefix, c.all())
		}
	}
}

// gone reports whether pid names no live process (a zombie is not live).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name's closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// waitGone waits up to 10 s for pid to be gone and reports whether it is.
func waitGone(pid int) bool {
	for range 1000 {
		if gone(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// leakedGoroutines returns the stacks of goroutines running this package's
// non-test code, after giving them time to end.
func leakedGoroutines() string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "pylon/supervise.") && !strings.Contains(g, "supervise.TestMain(") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

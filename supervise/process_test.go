//go:build unix

package supervise

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// texts returns the name, stream and text of lines, for comparing.
func texts(lines []Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Name+" "+l.Stream.String()+" "+l.Text)
	}
	return out
}

func TestProcessLogs(t *testing.T) {
	tests := []struct {
		name      string
		behaviour string
		want      []string
	}{
		{"lines", "lines", []string{"p stderr err 1", "p stdout out 1", "p stdout out 2"}},
		{"partial last line", "partial", []string{"p stdout no newline"}},
		{"long line split", "long", []string{
			"p stdout " + strings.Repeat("x", MaxLine),
			"p stdout " + strings.Repeat("x", 10),
			"p stdout short",
		}},
		{"line of MaxLine", "exact", []string{
			"p stdout " + strings.Repeat("y", MaxLine),
			"p stdout next",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCollector()
			p, err := Start(helperSpec("p", tc.behaviour), c)
			if err != nil {
				t.Fatal(err)
			}
			e := p.Wait()
			if !e.Clean() || e.Code != 0 {
				t.Errorf("got exit %v (clean %v), want exit status 0, clean", e, e.Clean())
			}
			// Streams interleave freely; within one, order holds.
			got := texts(c.all())
			if diff := cmp.Diff(tc.want, got, cmpopts.SortSlices(func(a, b string) bool {
				return strings.Fields(a)[1] < strings.Fields(b)[1] // stable by stream
			})); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProcessExit(t *testing.T) {
	p, err := Start(helperSpec("p", "crash"), newCollector())
	if err != nil {
		t.Fatal(err)
	}
	want := Exit{Code: 3}
	if diff := cmp.Diff(want, p.Wait(), cmpopts.IgnoreFields(Exit{}, "Ran")); diff != "" {
		t.Errorf("exit (-want +got):\n%s", diff)
	}
	if got := p.Stop(context.Background()); got.Stopped {
		t.Errorf("got Stopped after the process had exited, want not stopped")
	}
}

func TestProcessStop(t *testing.T) {
	tests := []struct {
		name        string
		behaviour   string
		stopTimeout time.Duration
		grandchild  bool
		want        Exit
	}{
		{"sigterm", "sleep", 5 * time.Second, false,
			Exit{Code: -1, Signal: syscall.SIGTERM, Stopped: true}},
		{"ignores sigterm", "ignoreterm", 100 * time.Millisecond, false,
			Exit{Code: -1, Signal: syscall.SIGKILL, Stopped: true, Killed: true}},
		{"grandchild", "grandchild", 5 * time.Second, true,
			Exit{Code: -1, Signal: syscall.SIGTERM, Stopped: true}},
		{"grandchild ignores sigterm", "grandchild-ignoreterm", 100 * time.Millisecond, true,
			Exit{Code: -1, Signal: syscall.SIGKILL, Stopped: true, Killed: true}},
		// The child dies at once, as `go run` does; the grandchild
		// still has its StopTimeout to finish.
		{"grandchild drains", "grandchild-graceful", 5 * time.Second, true,
			Exit{Code: -1, Signal: syscall.SIGTERM, Stopped: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCollector()
			spec := helperSpec("p", tc.behaviour)
			spec.StopTimeout = tc.stopTimeout
			p, err := Start(spec, c)
			if err != nil {
				t.Fatal(err)
			}
			gc := 0
			if tc.grandchild {
				gc, _ = strconv.Atoi(strings.Fields(c.wait(t, "grandchild ").Text)[1])
				c.wait(t, "ready") // the grandchild's signals are set
			} else {
				c.wait(t, "ready")
			}
			got := p.Stop(context.Background())
			if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(Exit{}, "Ran")); diff != "" {
				t.Errorf("exit (-want +got):\n%s", diff)
			}
			if got.Clean() != !tc.want.Killed {
				t.Errorf("got clean %v, want %v", got.Clean(), !tc.want.Killed)
			}
			if !waitGone(p.Pid()) {
				t.Errorf("child %d still running after Stop", p.Pid())
			}
			if gc != 0 && !waitGone(gc) {
				t.Errorf("grandchild %d still running after Stop", gc)
			}
			if tc.behaviour == "grandchild-graceful" {
				c.wait(t, "bye") // already there: Stop waited for it
			}
		})
	}
}

func TestProcessStopContext(t *testing.T) {
	spec := helperSpec("p", "ignoreterm")
	spec.StopTimeout = time.Hour
	c := newCollector()
	p, err := Start(spec, c)
	if err != nil {
		t.Fatal(err)
	}
	c.wait(t, "ready")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := p.Stop(ctx); !got.Killed || got.Clean() {
		t.Errorf("got exit %v killed %v, want killed at once by a done context", got, got.Killed)
	}
}

// TestLeaderExitEndsGroup checks that what a process leaves in its group
// when it exits is stopped too: a restart must not find it running.
func TestLeaderExitEndsGroup(t *testing.T) {
	c := newCollector()
	p, err := Start(helperSpec("p", "orphan"), c)
	if err != nil {
		t.Fatal(err)
	}
	gc, _ := strconv.Atoi(strings.Fields(c.wait(t, "grandchild ").Text)[1])
	e := p.Wait()
	if e.Code != 0 || e.Stopped {
		t.Errorf("got exit %v stopped %v, want exit status 0 not stopped", e, e.Stopped)
	}
	if !waitGone(gc) {
		t.Errorf("grandchild %d still running after its parent exited", gc)
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"missing command", Spec{Name: "a", Path: "no-such-command-xyz", Env: []string{"PATH=/bin:/usr/bin"}},
			`check a: command "no-such-command-xyz" not found in PATH "/bin:/usr/bin"`},
		{"relative PATH entries skipped", Spec{Name: "a", Path: "sh", Env: []string{"PATH=.:bin"}},
			`check a: command "sh" not found in PATH ".:bin"`},
		{"missing file", Spec{Name: "a", Path: "./nope", Dir: "/"},
			"check a: command /nope: no such file or directory"},
		{"missing dir", Spec{Name: "a", Path: "sh", Dir: "/no/such/dir"},
			"check a: working directory: stat /no/such/dir: no such file or directory"},
		{"dir is a file", Spec{Name: "a", Path: "sh", Dir: "/etc/passwd"},
			"check a: working directory /etc/passwd is not a directory"},
		{"not executable", Spec{Name: "a", Path: "/etc/passwd"},
			"check a: command /etc/passwd: permission denied"},
		{"no command", Spec{Name: "a"}, "check a: no command given"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.spec)
			if err == nil || err.Error() != tc.want {
				t.Errorf("Check: got error %v, want %q", err, tc.want)
			}
			ce, ok := errors.AsType[*CheckError](err)
			if wantDir := strings.Contains(tc.want, "working directory"); !ok || ce.Dir != wantDir || ce.Error() != "check a: "+ce.Msg {
				t.Errorf("Check: got %#v, want a *CheckError with Dir %v and the message after the name", err, wantDir)
			}
			p, err := Start(tc.spec, newCollector())
			if err == nil || err.Error() != tc.want {
				t.Errorf("Start: got error %v, want %q", err, tc.want)
			}
			if p != nil {
				t.Errorf("Start: got a process, want none")
			}
		})
	}
}

func TestStartResolves(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
	}{
		{"from Env PATH", Spec{Name: "a", Path: "sh", Args: []string{"-c", "echo ok"}, Env: []string{"PATH=rel:/bin:/usr/bin"}}},
		{"relative to Dir", Spec{Name: "a", Path: "./sh", Args: []string{"-c", "echo ok"}, Dir: "/bin"}},
		{"inherited PATH", Spec{Name: "a", Path: "sh", Args: []string{"-c", "echo ok"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCollector()
			p, err := Start(tc.spec, c)
			if err != nil {
				t.Fatal(err)
			}
			if e := p.Wait(); e.Code != 0 {
				t.Errorf("got %v, want exit status 0", e)
			}
			if diff := cmp.Diff([]string{"a stdout ok"}, texts(c.all())); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

//go:build unix

package supervise

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder collects a Supervisor's events; hook, if set, runs inside
// OnEvent, before the Supervisor goes on.
type recorder struct {
	ch   chan Event
	hook func(Event)
}

func newRecorder(hook func(Event)) *recorder {
	return &recorder{ch: make(chan Event, 100), hook: hook}
}

func (r *recorder) onEvent(e Event) {
	if r.hook != nil {
		r.hook(e)
	}
	r.ch <- e
}

// next returns the next n events, in brief.
func (r *recorder) next(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case e := <-r.ch:
			got = append(got, brief(e))
		case <-timeout:
			t.Fatalf("got events %q, then none for 10s; want %d", got, n)
		}
	}
	return got
}

// brief is an event without what changes from run to run (pids, times).
func brief(e Event) string {
	switch e.Kind {
	case Exited:
		s := "exited " + e.Exit.String()
		if e.Exit.Stopped {
			s += " (stopped)"
		}
		return s
	case Restarting:
		return "restarting " + e.Delay.String()
	case StartFailed:
		return "start failed"
	case Stopped:
		if e.Clean {
			return "stopped clean"
		}
		return "stopped killed"
	}
	return e.Kind.String()
}

func TestSupervisorBackoff(t *testing.T) {
	tests := []struct {
		name       string
		resetAfter time.Duration
		want       []string
	}{
		{"grows to the cap", time.Hour, []string{
			"started", "exited exit status 3", "restarting 10ms",
			"started", "exited exit status 3", "restarting 20ms",
			"started", "exited exit status 3", "restarting 40ms",
			"started", "exited exit status 3", "restarting 40ms",
		}},
		{"resets after a run", time.Nanosecond, []string{
			"started", "exited exit status 3", "restarting 10ms",
			"started", "exited exit status 3", "restarting 10ms",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder(nil)
			s, err := Supervise(helperSpec("p", "crash"), newCollector(), Options{
				MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
				ResetAfter: tc.resetAfter, OnEvent: r.onEvent,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Stop(context.Background())
			if diff := cmp.Diff(tc.want, r.next(t, len(tc.want))); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSupervisorRestartResets crashes a process until the backoff has
// grown, lets it run, restarts it, and kills it: the next delay is
// MinBackoff again.
func TestSupervisorRestartResets(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "run")
	spec := helperSpec("p", "crashfile")
	spec.Args = append(spec.Args, flag)
	r := newRecorder(func(e Event) {
		if e.Kind == Restarting && e.Delay == 40*time.Millisecond {
			os.WriteFile(flag, nil, 0o600) // the next start runs
		}
	})
	c := newCollector()
	s, err := Supervise(spec, c, Options{
		MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Hour, ResetAfter: time.Hour, OnEvent: r.onEvent,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"started", "exited exit status 3", "restarting 10ms",
		"started", "exited exit status 3", "restarting 20ms",
		"started", "exited exit status 3", "restarting 40ms",
		"started",
	}
	if diff := cmp.Diff(want, r.next(t, len(want))); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if err := s.Restart(context.Background()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	c.wait(t, "ready")
	syscall.Kill(s.Pid(), syscall.SIGKILL)
	want = []string{"exited signal: terminated (stopped)", "started", "exited signal: killed", "restarting 10ms"}
	if diff := cmp.Diff(want, r.next(t, len(want))); diff != "" {
		t.Errorf("events after Restart (-want +got):\n%s", diff)
	}
	s.Stop(context.Background())
}

// TestSupervisorDuringBackoff checks that Restart and Stop do not wait out
// a backoff of an hour.
func TestSupervisorDuringBackoff(t *testing.T) {
	r := newRecorder(nil)
	s, err := Supervise(helperSpec("p", "crash"), newCollector(), Options{MinBackoff: time.Hour, OnEvent: r.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"started", "exited exit status 3", "restarting 1h0m0s"}
	if diff := cmp.Diff(want, r.next(t, len(want))); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if err := s.Restart(context.Background()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if diff := cmp.Diff(want, r.next(t, len(want))); diff != "" {
		t.Fatalf("events after Restart (-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !s.Stop(ctx) {
		t.Errorf("Stop during backoff: got unclean, want clean")
	}
	if ctx.Err() != nil {
		t.Errorf("Stop during backoff returned after its context ended, want at once")
	}
	if diff := cmp.Diff([]string{"stopped clean"}, r.next(t, 1)); diff != "" {
		t.Errorf("events after Stop (-want +got):\n%s", diff)
	}
}

func TestSupervisorStop(t *testing.T) {
	tests := []struct {
		name        string
		behaviour   string
		stopTimeout time.Duration
		want        []string
	}{
		{"clean", "sleep", 5 * time.Second, []string{"started", "exited signal: terminated (stopped)", "stopped clean"}},
		{"killed", "ignoreterm", 50 * time.Millisecond, []string{"started", "exited signal: killed (stopped)", "stopped killed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder(nil)
			c := newCollector()
			spec := helperSpec("p", tc.behaviour)
			spec.StopTimeout = tc.stopTimeout
			s, err := Supervise(spec, c, Options{OnEvent: r.onEvent})
			if err != nil {
				t.Fatal(err)
			}
			c.wait(t, "ready")
			pid := s.Pid()
			clean := s.Stop(context.Background())
			if diff := cmp.Diff(tc.want, r.next(t, len(tc.want))); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			wantClean := tc.want[len(tc.want)-1] == "stopped clean"
			if clean != wantClean || s.Stop(context.Background()) != wantClean {
				t.Errorf("Stop: got clean %v, want %v each time", clean, wantClean)
			}
			if err := s.Restart(context.Background()); !errors.Is(err, ErrStopped) {
				t.Errorf("Restart after Stop: got %v, want ErrStopped", err)
			}
			if s.Pid() != 0 || !waitGone(pid) {
				t.Errorf("got pid %d (process %d gone: %v) after Stop, want 0 and gone", s.Pid(), pid, gone(pid))
			}
		})
	}
}

func TestSupervisorStartFails(t *testing.T) {
	s, err := Supervise(Spec{Name: "a", Path: "no-such-command-xyz"}, newCollector(), Options{})
	if s != nil || err == nil {
		t.Fatalf("got %v, %v; want no supervisor and an error", s, err)
	}
	dir := t.TempDir()
	r := newRecorder(func(e Event) {
		if e.Kind == Exited {
			os.Remove(dir) // later starts fail
		}
	})
	s, err = Supervise(Spec{Name: "a", Path: "sh", Args: []string{"-c", "exit 1"}, Dir: dir}, newCollector(), Options{
		MinBackoff: 10 * time.Millisecond, OnEvent: r.onEvent,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	want := []string{
		"started", "exited exit status 1", "restarting 10ms",
		"start failed", "restarting 20ms",
		"start failed", "restarting 40ms",
	}
	if diff := cmp.Diff(want, r.next(t, len(want))); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestSupervisorConcurrent restarts and stops from several goroutines at
// once, for the race detector and the leak check.
func TestSupervisorConcurrent(t *testing.T) {
	s, err := Supervise(helperSpec("p", "sleep"), newCollector(), Options{MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(context.Background()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 3 {
				if err := s.Restart(context.Background()); err != nil && !errors.Is(err, ErrStopped) {
					t.Errorf("Restart: %v", err)
				}
				s.Pid()
			}
		})
	}
	wg.Go(func() { s.Stop(context.Background()) })
	wg.Wait()
	if err := s.Restart(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Restart after Stop: got %v, want ErrStopped", err)
	}
}

//go:build linux

package proc

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// shell starts sh -c script as a child.
func shell(t *testing.T, script string) *Child {
	t.Helper()
	c, err := Start("test shell", "/bin/sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func TestPoll(t *testing.T) {
	notYet := errors.New("not yet")
	tests := []struct {
		name    string
		script  string
		readyAt int // call of ready that succeeds; 0: never
		timeout time.Duration
		wantErr string
	}{
		{"ready at once", "exec sleep 10", 1, time.Minute, ""},
		{"ready on the third call", "exec sleep 10", 3, time.Minute, ""},
		{"exit ends the wait with stderr", "echo broken >&2; exit 1", 0, time.Minute, "test shell exited while waiting for it: broken"},
		{"context ends the wait", "exec sleep 10", 0, 200 * time.Millisecond, "wait for it: context deadline exceeded (last: not yet)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := shell(t, tc.script)
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			calls := 0
			err := c.Poll(ctx, "it", func() error {
				calls++
				if calls == tc.readyAt {
					return nil
				}
				return notYet
			})
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestStop(t *testing.T) {
	c := shell(t, "exec sleep 10")
	if c.Pid() <= 0 {
		t.Errorf("got pid %d, want a positive one", c.Pid())
	}
	c.Stop()
	select {
	case <-c.Done():
	default:
		t.Error("got Done open after Stop, want it closed")
	}
	if got := c.Stderr(); got != "(nothing on stderr)" {
		t.Errorf("got stderr %q, want (nothing on stderr)", got)
	}
}

func TestStartMissingBinary(t *testing.T) {
	_, err := Start("nothing", "/nonexistent/pylon")
	if err == nil || !strings.HasPrefix(err.Error(), "start nothing: ") {
		t.Errorf("got error %v, want one starting with \"start nothing: \"", err)
	}
}

func TestTailBuffer(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"empty", nil, "(nothing on stderr)"},
		{"fits", []string{"ab", "c"}, "abc"},
		{"keeps the tail", []string{"abc", "defg"}, "defg"},
		{"one long write", []string{"abcdefgh"}, "efgh"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &tailBuffer{max: 4}
			for _, w := range tc.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("got Write = %d, %v, want %d, nil", n, err, len(w))
				}
			}
			if got := b.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFreeAddrs(t *testing.T) {
	addrs, err := FreeAddrs(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil || host != "127.0.0.1" || seen[a] {
			t.Errorf("got address %q in %v, want distinct 127.0.0.1 ports", a, addrs)
		}
		seen[a] = true
	}
}

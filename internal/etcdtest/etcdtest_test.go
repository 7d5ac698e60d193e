package etcdtest

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestCluster writes through one member, reads through another, and
// restarts a member that then serves what was written while it was down.
func TestCluster(t *testing.T) {
	c := StartCluster(t, 3)
	if got := len(c.Endpoints()); got != 3 {
		t.Fatalf("endpoints: got %d, want 3", got)
	}
	one := func(i int) *clientv3.Client {
		cli := c.client(c.Endpoints()[i : i+1])
		t.Cleanup(func() { cli.Close() })
		return cli
	}
	if _, err := one(0).Put(t.Context(), "k", "v1"); err != nil {
		t.Fatalf("put through member 0: %v", err)
	}
	c.Stop(1)
	if _, err := one(2).Put(t.Context(), "k", "v2"); err != nil {
		t.Fatalf("put through member 2 with member 1 down: %v", err)
	}
	c.Start(1)
	resp, err := one(1).Get(t.Context(), "k")
	if err != nil {
		t.Fatalf("get through the restarted member: %v", err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v2" {
		t.Errorf("get through the restarted member: got %v, want k=v2", resp.Kvs)
	}
	if l := c.Leader(); l < 0 || l > 2 {
		t.Errorf("leader: got %d, want a member", l)
	}
}

// fakeTB records how a test was ended.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	how    string
	reason string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) end(how string, args ...any) {
	f.mu.Lock()
	f.how, f.reason = how, fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Skip(args ...any)  { f.end("skip", args...) }
func (f *fakeTB) Fatal(args ...any) { f.end("fatal", args...) }

// TestMissingEtcd checks that without etcd a test is skipped, or fails
// when PYLON_REQUIRE_ETCD=1, saying what to install.
func TestMissingEtcd(t *testing.T) {
	for _, tc := range []struct {
		require string
		want    string
	}{
		{"", "skip"},
		{"1", "fatal"},
	} {
		t.Run("require="+tc.require, func(t *testing.T) {
			t.Setenv("PATH", t.TempDir())
			t.Setenv("PYLON_ETCD", "")
			t.Setenv("PYLON_REQUIRE_ETCD", tc.require)
			f := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() {
				defer close(done)
				binary(f)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("binary did not return")
			}
			if diff := cmp.Diff([]string{tc.want, missing}, []string{f.how, f.reason}); diff != "" {
				t.Errorf("without etcd (-want +got):\n%s", diff)
			}
			if !strings.Contains(f.reason, "etcd-server") {
				t.Errorf("message %q: want it to name the etcd-server package", f.reason)
			}
		})
	}
}

package etcd

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/internal/etcdtest"
	"github.com/pylon-mesh/pylon/store"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// put writes key. With retry, it tries for a second at a time while the
// cluster elects a leader (etcd would hold a write proposed meanwhile
// until its own request timeout, several seconds).
func put(t *testing.T, s *Store, key string, retry bool) int64 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		if !retry {
			ctx, cancel = context.WithCancel(t.Context())
		}
		rev, err := s.Txn(ctx, store.Op{Key: key, Value: []byte(key), IfRevision: store.Any})
		cancel()
		if err == nil {
			return rev
		}
		if !retry || time.Now().After(deadline) {
			t.Fatalf("put %q: %v", key, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLeaderLoss kills the etcd leader under a store that is writing and
// watching, and checks the store goes on with the two members left, and
// that the killed member catches up when it comes back.
func TestLeaderLoss(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	s := open(t, c.Endpoints(), "/failover/")
	before := put(t, s, "before", false)
	wctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ch := s.Watch(wctx, "", before)

	leader := c.Leader()
	c.Stop(leader)
	// Stop waited for a new leader, but the store's client may still try
	// the dead member once; a write that timed out may still have been
	// applied, so the watch can see "during" more than once.
	put(t, s, "during", true)
	after := put(t, s, "after", false)
	var last []string
	for r := range ch {
		if r.Err != nil {
			t.Fatalf("watch across the leader's loss: %v", r.Err)
		}
		for _, ev := range r.Events {
			last = append(last, ev.KV.Key)
		}
		if r.Revision >= after {
			break
		}
	}
	if len(last) < 2 {
		t.Fatalf("watch across the leader's loss: got events %v, want during and after", last)
	}
	if diff := cmp.Diff([]string{"during", "after"}, last[len(last)-2:]); diff != "" {
		t.Errorf("watch's last events (-want +got):\n%s", diff)
	}
	l, err := s.Campaign(t.Context(), "e", "a")
	if err != nil {
		t.Fatalf("campaign with two members: %v", err)
	}
	if err := l.Resign(t.Context()); err != nil {
		t.Fatalf("resign: %v", err)
	}

	c.Start(leader)
	only := open(t, c.Endpoints()[leader:leader+1], "/failover/")
	kv, err := only.Get(t.Context(), "after")
	if err != nil {
		t.Fatalf("get from the restarted member: %v", err)
	}
	if kv.ModRevision != after {
		t.Errorf("restarted member's key: got revision %d, want %d", kv.ModRevision, after)
	}
}

// TestCompacted checks that resuming a watch from a compacted revision
// ends it with store.ErrCompacted.
func TestCompacted(t *testing.T) {
	c := etcdtest.StartCluster(t, 1)
	s := open(t, c.Endpoints(), "/compact/")
	r1 := put(t, s, "a", false)
	put(t, s, "b", false)
	r3 := put(t, s, "c", false)
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	defer cli.Close()
	if _, err := cli.Compact(t.Context(), r3); err != nil {
		t.Fatalf("compact: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var got []store.WatchResponse
	for r := range s.Watch(ctx, "", r1) {
		got = append(got, r)
	}
	if len(got) != 1 || !errors.Is(got[0].Err, store.ErrCompacted) {
		t.Fatalf("watch from a compacted revision: got %+v, want one response with ErrCompacted", got)
	}
	// Watching from the compaction revision on still works.
	ch := s.Watch(ctx, "", r3)
	r4 := put(t, s, "d", false)
	if r := <-ch; r.Revision != r4 || r.Err != nil {
		t.Errorf("watch from the compaction revision: got %+v, want revision %d", r, r4)
	}
}

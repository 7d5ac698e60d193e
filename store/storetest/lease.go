package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/store"
)

// grant makes a lease and puts keys on it, one transaction each.
func grant(t *testing.T, s store.Store, ttl time.Duration, keys ...string) store.LeaseID {
	t.Helper()
	id, err := s.Grant(ctx(t), ttl)
	if err != nil {
		t.Fatalf("grant: %v", err)
	}
	for _, k := range keys {
		if _, err := s.Txn(ctx(t), store.Op{Key: k, Value: []byte("leased"), IfRevision: store.Any, Lease: id}); err != nil {
			t.Fatalf("put %q with lease: %v", k, err)
		}
	}
	return id
}

// waitGone polls until key is deleted, failing after timeout.
func waitGone(t *testing.T, s store.Store, key string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, err := s.Get(ctx(t), key)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatalf("get %q: %v", key, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("leased key %q still there after %v", key, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkDead checks that a lease is gone for every lease operation.
func checkDead(t *testing.T, s store.Store, id store.LeaseID) {
	t.Helper()
	if err := s.KeepAlive(ctx(t), id); !errors.Is(err, store.ErrLeaseNotFound) {
		t.Errorf("keep alive: got %v, want ErrLeaseNotFound", err)
	}
	if err := s.Revoke(ctx(t), id); !errors.Is(err, store.ErrLeaseNotFound) {
		t.Errorf("revoke: got %v, want ErrLeaseNotFound", err)
	}
	_, err := s.Txn(ctx(t), store.Op{Key: "late", IfRevision: store.Any, Lease: id})
	if !errors.Is(err, store.ErrLeaseNotFound) {
		t.Errorf("put with the lease: got %v, want ErrLeaseNotFound", err)
	}
}

func testLeaseExpiry(t *testing.T, s store.Store) {
	id := grant(t, s, time.Second, "l/a")
	kv, err := s.Get(ctx(t), "l/a")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if kv.Lease != id {
		t.Errorf("key's lease: got %d, want %d", kv.Lease, id)
	}
	ch := s.Watch(ctx(t), "l/", 0)
	waitGone(t, s, "l/a")
	r := next(t, ch)
	if diff := cmp.Diff([]store.Event{delEv("l/a", r.Revision)}, r.Events); diff != "" {
		t.Errorf("watch at expiry (-want +got):\n%s", diff)
	}
	checkDead(t, s, id)
}

func testLeaseKeepAlive(t *testing.T, s store.Store) {
	// A ttl of two seconds leaves room for a slow etcd under -race.
	id := grant(t, s, 2*time.Second, "k")
	// One and a half ttls of keep-alives, each well inside the ttl.
	for range 12 {
		time.Sleep(250 * time.Millisecond)
		if err := s.KeepAlive(ctx(t), id); err != nil {
			t.Fatalf("keep alive: %v", err)
		}
	}
	if _, err := s.Get(ctx(t), "k"); err != nil {
		t.Fatalf("get after keep-alives: got %v, want the key", err)
	}
	waitGone(t, s, "k")
}

func testLeaseRevoke(t *testing.T, s store.Store) {
	put(t, s, "v/unleased", "stays")
	id := grant(t, s, time.Minute, "v/a", "v/b")
	ch := s.Watch(ctx(t), "v/", 0)
	if err := s.Revoke(ctx(t), id); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	rev := revision(t, s)
	expect(t, ch, resp(rev, delEv("v/a", rev), delEv("v/b", rev)))
	var keys []string
	for _, kv := range list(t, s, "v/") {
		keys = append(keys, kv.Key)
	}
	if diff := cmp.Diff([]string{"v/unleased"}, keys); diff != "" {
		t.Errorf("keys after revoke (-want +got):\n%s", diff)
	}
	checkDead(t, s, id)
}

func testLeaseDetach(t *testing.T, s store.Store) {
	id := grant(t, s, time.Minute, "d")
	put(t, s, "d", "no lease now")
	if err := s.Revoke(ctx(t), id); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	kv, err := s.Get(ctx(t), "d")
	if err != nil {
		t.Fatalf("get a key put again without the lease: got %v, want the key", err)
	}
	if kv.Lease != 0 {
		t.Errorf("key's lease: got %d, want 0", kv.Lease)
	}
}

func testTxnDeadLease(t *testing.T, s store.Store) {
	rev := revision(t, s)
	_, err := s.Txn(ctx(t),
		store.Op{Key: "a", Value: []byte("a"), IfRevision: store.Any},
		store.Op{Key: "b", Value: []byte("b"), IfRevision: store.Any, Lease: 987654321},
	)
	if !errors.Is(err, store.ErrLeaseNotFound) {
		t.Fatalf("put with a lease never granted: got %v, want ErrLeaseNotFound", err)
	}
	if got := revision(t, s); got != rev {
		t.Errorf("revision after a refused txn: got %d, want %d", got, rev)
	}
	if err := s.KeepAlive(ctx(t), 987654321); !errors.Is(err, store.ErrLeaseNotFound) {
		t.Errorf("keep alive a lease never granted: got %v, want ErrLeaseNotFound", err)
	}
}

package bolt

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/store"
)

// openAt opens the store at path; the caller closes it.
func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// txn applies ops, failing the test on an error.
func txn(t *testing.T, s *Store, ops ...store.Op) int64 {
	t.Helper()
	rev, err := s.Txn(t.Context(), ops...)
	if err != nil {
		t.Fatalf("txn: %v", err)
	}
	return rev
}

// grant makes a lease, failing the test on an error.
func grant(t *testing.T, s *Store, ttl time.Duration) store.LeaseID {
	t.Helper()
	id, err := s.Grant(t.Context(), ttl)
	if err != nil {
		t.Fatalf("grant: %v", err)
	}
	return id
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pylon.db")
	s := openAt(t, path)
	ctx := t.Context()
	id := grant(t, s, time.Second)
	r1 := txn(t, s, store.Op{Key: "a", Value: []byte("1"), IfRevision: store.Any})
	r2 := txn(t, s, store.Op{Key: "a", Value: []byte("2"), IfRevision: store.Any}, store.Op{Key: "l", Value: []byte("leased"), IfRevision: store.Any, Lease: id})
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("store file: got %v (%v), want mode 0600", fi.Mode().Perm(), err)
	}
	// Longer than the lease's ttl: its expiry restarts at the reopen.
	time.Sleep(1500 * time.Millisecond)

	s = openAt(t, path)
	defer s.Close()
	kvs, rev, err := s.List(ctx, "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	want := []store.KV{
		{Key: "a", Value: []byte("2"), ModRevision: r2, CreateRevision: r1},
		{Key: "l", Value: []byte("leased"), ModRevision: r2, CreateRevision: r2, Lease: id},
	}
	if diff := cmp.Diff(want, kvs); diff != "" {
		t.Errorf("keys after reopen (-want +got):\n%s", diff)
	}
	if rev != r2 {
		t.Errorf("revision after reopen: got %d, want %d", rev, r2)
	}
	if id2 := grant(t, s, time.Minute); id2 <= id {
		t.Errorf("lease granted after reopen: got id %d, want more than %d", id2, id)
	}
	// The history starts empty: resuming from before the reopen is compacted.
	if r := <-s.Watch(ctx, "", r1); !errors.Is(r.Err, store.ErrCompacted) {
		t.Errorf("watch from before the reopen: got %+v, want ErrCompacted", r)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := s.Get(ctx, "l"); errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leased key still there 10s after reopen")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := txn(t, s); got != r2+1 {
		t.Errorf("revision after the lease expired: got %d, want %d", got, r2+1)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pylon.db")
	s := openAt(t, path)
	defer s.Close()
	if s2, err := Open(path, Options{}); err == nil {
		s2.Close()
		t.Fatalf("second open of a file in use: got a store, want an error")
	}
}

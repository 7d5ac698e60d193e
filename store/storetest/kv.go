package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/store"
)

func testGetMissing(t *testing.T, s store.Store) {
	if _, err := s.Get(ctx(t), "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing key: got %v, want ErrNotFound", err)
	}
	if kvs := list(t, s, "missing"); len(kvs) != 0 {
		t.Fatalf("list missing prefix: got %v, want nothing", kvs)
	}
}

func testPutGet(t *testing.T, s store.Store) {
	rev := put(t, s, "k", "v1")
	got, err := s.Get(ctx(t), "k")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	want := store.KV{Key: "k", Value: []byte("v1"), ModRevision: rev, CreateRevision: rev}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("get after put (-want +got):\n%s", diff)
	}
}

func testList(t *testing.T, s store.Store) {
	for _, k := range []string{"a/c", "b/a", "a/a", "a", "ab", "a/b/c", "a/b"} {
		put(t, s, k, "v-"+k)
	}
	last := put(t, s, "z", "z")
	kvs, rev, err := s.List(ctx(t), "a/")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var got []string
	for _, kv := range kvs {
		got = append(got, kv.Key+"="+string(kv.Value))
	}
	want := []string{"a/a=v-a/a", "a/b=v-a/b", "a/b/c=v-a/b/c", "a/c=v-a/c"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list a/ (-want +got):\n%s", diff)
	}
	if rev != last {
		t.Errorf("list revision: got %d, want %d", rev, last)
	}
	if got := len(list(t, s, "")); got != 8 {
		t.Errorf("list everything: got %d keys, want 8", got)
	}
}

func testRevisions(t *testing.T, s store.Store) {
	r0 := revision(t, s)
	r1 := put(t, s, "k", "1")
	r2 := put(t, s, "k", "2")
	r3, err := s.Txn(ctx(t),
		store.Op{Key: "x", Value: []byte("x"), IfRevision: store.Any},
		store.Op{Key: "y", Value: []byte("y"), IfRevision: store.Absent},
		store.Op{Key: "k", Delete: true, IfRevision: r2},
	)
	if err != nil {
		t.Fatalf("txn of three ops: %v", err)
	}
	if diff := cmp.Diff([]int64{r0 + 1, r0 + 2, r0 + 3}, []int64{r1, r2, r3}); diff != "" {
		t.Fatalf("revisions of three txns (-want +got):\n%s", diff)
	}
	r4 := put(t, s, "x", "x2")
	got := list(t, s, "")
	want := []store.KV{
		{Key: "x", Value: []byte("x2"), ModRevision: r4, CreateRevision: r3},
		{Key: "y", Value: []byte("y"), ModRevision: r3, CreateRevision: r3},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("keys after txns (-want +got):\n%s", diff)
	}
	// A key deleted and made again starts a new life.
	r5 := put(t, s, "k", "again")
	if kv, _ := s.Get(ctx(t), "k"); kv.CreateRevision != r5 {
		t.Errorf("recreated key's CreateRevision: got %d, want %d", kv.CreateRevision, r5)
	}
	// Transactions that change nothing do not raise the revision.
	if got := del(t, s, "never-there"); got != r5 {
		t.Errorf("delete of a missing key: got revision %d, want %d", got, r5)
	}
	if got := revision(t, s); got != r5 {
		t.Errorf("empty txn: got revision %d, want %d", got, r5)
	}
}

func testConditions(t *testing.T, s store.Store) {
	rev := put(t, s, "here", "v")
	for _, tc := range []struct {
		name string
		op   store.Op
		ok   bool
	}{
		{"put absent on missing", store.Op{Key: "new", IfRevision: store.Absent}, true},
		{"put absent on existing", store.Op{Key: "here", IfRevision: store.Absent}, false},
		{"put at current revision", store.Op{Key: "here", IfRevision: rev}, true},
		{"put at stale revision", store.Op{Key: "here", IfRevision: rev}, false},
		{"put at revision on missing", store.Op{Key: "nope", IfRevision: rev}, false},
		{"delete absent on missing", store.Op{Key: "nope", Delete: true, IfRevision: store.Absent}, true},
		{"delete absent on existing", store.Op{Key: "new", Delete: true, IfRevision: store.Absent}, false},
		{"delete at revision on missing", store.Op{Key: "nope", Delete: true, IfRevision: rev}, false},
		{"delete any on missing", store.Op{Key: "nope", Delete: true, IfRevision: store.Any}, true},
	} {
		_, err := s.Txn(ctx(t), tc.op)
		if tc.ok && err != nil {
			t.Errorf("%s: got %v, want success", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: got %v, want ErrConflict", tc.name, err)
		}
	}
	kv, err := s.Get(ctx(t), "new")
	if err != nil {
		t.Fatalf("get new: %v", err)
	}
	if _, err := s.Txn(ctx(t), store.Op{Key: "new", Delete: true, IfRevision: kv.ModRevision}); err != nil {
		t.Errorf("delete at current revision: got %v, want success", err)
	}
	if _, err := s.Get(ctx(t), "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after conditional delete: got %v, want ErrNotFound", err)
	}
}

func testConflictWritesNothing(t *testing.T, s store.Store) {
	put(t, s, "a", "old")
	rev := put(t, s, "b", "old")
	want := list(t, s, "")
	_, err := s.Txn(ctx(t),
		store.Op{Key: "a", Value: []byte("new"), IfRevision: store.Any},
		store.Op{Key: "c", Value: []byte("new"), IfRevision: store.Absent},
		store.Op{Key: "d", Delete: true, IfRevision: store.Any},
		store.Op{Key: "b", Value: []byte("new"), IfRevision: rev - 1},
	)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("txn with one failed condition: got %v, want ErrConflict", err)
	}
	if diff := cmp.Diff(want, list(t, s, "")); diff != "" {
		t.Errorf("keys after a conflict (-want +got):\n%s", diff)
	}
	if got := revision(t, s); got != rev {
		t.Errorf("revision after a conflict: got %d, want %d", got, rev)
	}
}

func testDuplicateKey(t *testing.T, s store.Store) {
	rev := revision(t, s)
	_, err := s.Txn(ctx(t),
		store.Op{Key: "k", Value: []byte("1"), IfRevision: store.Any},
		store.Op{Key: "k", Value: []byte("2"), IfRevision: store.Any},
	)
	if err == nil {
		t.Fatalf("txn naming a key twice: got success, want an error")
	}
	if got := revision(t, s); got != rev {
		t.Errorf("revision after a refused txn: got %d, want %d", got, rev)
	}
}

func testConcurrentTxn(t *testing.T, s store.Store) {
	rev := put(t, s, "k", "start")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.Txn(ctx(t), store.Op{Key: "k", Value: []byte{byte('a' + i)}, IfRevision: rev})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Fatalf("candidates %d and %d both won", winner, i)
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("candidate %d: got %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no candidate won")
	}
	kv, err := s.Get(ctx(t), "k")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if diff := cmp.Diff([]byte{byte('a' + winner)}, kv.Value); diff != "" {
		t.Errorf("value after the race (-want +got):\n%s", diff)
	}
}

package bolt

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/store"
)

// puts writes n keys, one transaction each, and returns the revisions.
func puts(t *testing.T, s *Store, n int) []int64 {
	t.Helper()
	var revs []int64
	for range n {
		revs = append(revs, txn(t, s, store.Op{Key: "k", Value: []byte("v"), IfRevision: store.Any}))
	}
	return revs
}

func TestHistory(t *testing.T) {
	s := open(t, Options{History: 3})
	revs := puts(t, s, 6)
	for _, tc := range []struct {
		name  string
		after int64
		want  []int64 // revisions seen; nil for ErrCompacted
	}{
		{"older than the history", revs[1], nil},
		{"oldest kept", revs[2], revs[3:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := s.Watch(t.Context(), "", tc.after)
			var got []int64
			for range tc.want {
				got = append(got, (<-ch).Revision)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("revisions (-want +got):\n%s", diff)
			}
			if tc.want == nil {
				if r := <-ch; !errors.Is(r.Err, store.ErrCompacted) {
					t.Errorf("got %+v, want ErrCompacted", r)
				}
			}
		})
	}
}

// TestSlowWatcher checks that a watcher that does not read never holds up
// writers, and is ended with ErrCompacted once too far behind.
func TestSlowWatcher(t *testing.T) {
	s := open(t, Options{History: 4})
	ch := s.Watch(t.Context(), "", 0)
	puts(t, s, 20)
	var last store.WatchResponse
	n := 0
	for r := range ch {
		last = r
		n++
	}
	if !errors.Is(last.Err, store.ErrCompacted) {
		t.Errorf("slow watcher's last response: got %+v, want ErrCompacted", last)
	}
	// At most: one in the channel's buffer, a queue's worth taken by the
	// delivering goroutine before the overflow, and the error.
	if n > 1+4+1 {
		t.Errorf("slow watcher: got %d responses, want at most 6", n)
	}
}

func TestCorruptRecord(t *testing.T) {
	if _, err := decode("k", []byte("short")); !errors.Is(err, errCorrupt) {
		t.Errorf("decode a short record: got %v, want errCorrupt", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add(encode(store.KV{Key: "k", Value: []byte("v"), ModRevision: 3, CreateRevision: 2, Lease: 7}))
	f.Fuzz(func(t *testing.T, b []byte) {
		kv, err := decode("k", b)
		if err != nil {
			return
		}
		again, err := decode("k", encode(kv))
		if err != nil {
			t.Fatalf("decode what encode made: %v", err)
		}
		if diff := cmp.Diff(kv, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/store"
)

// next returns the watch's next response, failing if none comes in time.
func next(t *testing.T, ch <-chan store.WatchResponse) store.WatchResponse {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatalf("watch channel closed, want a response")
		}
		return r
	case <-time.After(timeout):
		t.Fatalf("no watch response after %v", timeout)
	}
	return store.WatchResponse{}
}

// expect checks the watch's next responses.
func expect(t *testing.T, ch <-chan store.WatchResponse, want ...store.WatchResponse) {
	t.Helper()
	for _, w := range want {
		if diff := cmp.Diff(w, next(t, ch)); diff != "" {
			t.Fatalf("watch response (-want +got):\n%s", diff)
		}
	}
}

// putEv and delEv are the events a put and a delete make.
func putEv(key, value string, mod, create int64) store.Event {
	return store.Event{Type: store.Put, KV: store.KV{Key: key, Value: []byte(value), ModRevision: mod, CreateRevision: create}}
}

func delEv(key string, rev int64) store.Event {
	return store.Event{Type: store.Delete, KV: store.KV{Key: key, ModRevision: rev}}
}

// resp is one transaction's response.
func resp(rev int64, evs ...store.Event) store.WatchResponse {
	return store.WatchResponse{Revision: rev, Events: evs}
}

func testWatchFromNow(t *testing.T, s store.Store) {
	put(t, s, "w/old", "before the watch")
	ch := s.Watch(ctx(t), "w/", 0)
	rev, err := s.Txn(ctx(t),
		store.Op{Key: "w/b", Value: []byte("b"), IfRevision: store.Any},
		store.Op{Key: "x/a", Value: []byte("other prefix"), IfRevision: store.Any},
		store.Op{Key: "w/a", Value: []byte("a"), IfRevision: store.Any},
	)
	if err != nil {
		t.Fatalf("txn: %v", err)
	}
	r2 := del(t, s, "w/a")
	r3 := put(t, s, "w/b", "b2")
	expect(t, ch,
		resp(rev, putEv("w/a", "a", rev, rev), putEv("w/b", "b", rev, rev)),
		resp(r2, delEv("w/a", r2)),
		resp(r3, putEv("w/b", "b2", r3, rev)),
	)
}

func testWatchResume(t *testing.T, s store.Store) {
	r1 := put(t, s, "r/a", "1")
	r2 := put(t, s, "r/b", "2")
	put(t, s, "other", "not watched")
	r4, err := s.Txn(ctx(t),
		store.Op{Key: "r/a", Delete: true, IfRevision: store.Any},
		store.Op{Key: "r/c", Value: []byte("3"), IfRevision: store.Absent},
	)
	if err != nil {
		t.Fatalf("txn: %v", err)
	}
	ch := s.Watch(ctx(t), "r/", r1)
	expect(t, ch,
		resp(r2, putEv("r/b", "2", r2, r2)),
		resp(r4, delEv("r/a", r4), putEv("r/c", "3", r4, r4)),
	)
	// The watch goes on live, with nothing in between.
	r5 := put(t, s, "r/d", "4")
	expect(t, ch, resp(r5, putEv("r/d", "4", r5, r5)))

	// Resuming from the latest revision sees only what comes next.
	latest := s.Watch(ctx(t), "r/", r5)
	r6 := put(t, s, "r/e", "5")
	expect(t, latest, resp(r6, putEv("r/e", "5", r6, r6)))
}

func testWatchPrefix(t *testing.T, s store.Store) {
	ch := s.Watch(ctx(t), "p/", 0)
	for _, k := range []string{"p", "q/x", "pp/x", "P/x", "o"} {
		put(t, s, k, "not watched")
	}
	rev := put(t, s, "p/x", "watched")
	expect(t, ch, resp(rev, putEv("p/x", "watched", rev, rev)))
}

func testWatchCancel(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(ctx(t))
	ch := s.Watch(c, "c/", 0)
	rev := put(t, s, "c/a", "1")
	expect(t, ch, resp(rev, putEv("c/a", "1", rev, rev)))
	cancel()
	put(t, s, "c/b", "after cancel")
	deadline := time.After(timeout)
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				return
			}
			if r.Err != nil && !errors.Is(r.Err, context.Canceled) {
				t.Fatalf("watch after cancel: got error %v, want context.Canceled", r.Err)
			}
		case <-deadline:
			t.Fatalf("watch channel still open %v after cancel", timeout)
		}
	}
}

func testWatchSlowReader(t *testing.T, s store.Store) {
	ch := s.Watch(ctx(t), "s/", 0)
	var want []store.WatchResponse
	for i := range 50 {
		k := fmt.Sprintf("s/%02d", i)
		rev := put(t, s, k, "v")
		want = append(want, resp(rev, putEv(k, "v", rev, rev)))
	}
	// Only now does the reader start: nothing was skipped.
	expect(t, ch, want...)
}

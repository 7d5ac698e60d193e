package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/store"
)

// campaign starts a campaign in the background; the result arrives on the
// returned channel.
func campaign(c context.Context, s store.Store, election, value string) <-chan campaignResult {
	ch := make(chan campaignResult, 1)
	go func() {
		l, err := s.Campaign(c, election, value)
		ch <- campaignResult{l, err}
	}()
	return ch
}

type campaignResult struct {
	l   store.Leadership
	err error
}

// won waits for a campaign to win.
func won(t *testing.T, ch <-chan campaignResult) store.Leadership {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("campaign: %v", r.err)
		}
		return r.l
	case <-time.After(timeout):
		t.Fatalf("campaign not won after %v", timeout)
	}
	return nil
}

// notYet checks that a campaign is still waiting a while later.
func notYet(t *testing.T, ch <-chan campaignResult) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("second candidate: got leadership (err %v) while the first leads, want it to wait", r.err)
	case <-time.After(300 * time.Millisecond):
	}
}

// closed waits for a leadership's Done.
func closed(t *testing.T, l store.Leadership) {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(timeout):
		t.Fatalf("leadership Done not closed after %v", timeout)
	}
}

func testCampaign(t *testing.T, s store.Store) {
	a := won(t, campaign(ctx(t), s, "e", "a"))
	b := campaign(ctx(t), s, "e", "b")
	other := won(t, campaign(ctx(t), s, "another", "c"))
	notYet(t, b)
	if kvs := list(t, s, ""); len(kvs) != 0 {
		t.Errorf("keys while an election runs: got %v, want none", kvs)
	}
	select {
	case <-a.Done():
		t.Fatalf("leader's Done closed before it resigned")
	default:
	}
	if err := a.Resign(ctx(t)); err != nil {
		t.Fatalf("resign: %v", err)
	}
	closed(t, a)
	lb := won(t, b)
	if err := lb.Resign(ctx(t)); err != nil {
		t.Fatalf("resign b: %v", err)
	}
	closed(t, lb)
	if err := other.Resign(ctx(t)); err != nil {
		t.Fatalf("resign other: %v", err)
	}
}

func testCampaignCancel(t *testing.T, s store.Store) {
	a := won(t, campaign(ctx(t), s, "e", "a"))
	c, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
	defer cancel()
	if _, err := s.Campaign(c, "e", "b"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("campaign that times out: got %v, want context.DeadlineExceeded", err)
	}
	if err := a.Resign(ctx(t)); err != nil {
		t.Fatalf("resign: %v", err)
	}
	// The abandoned candidate does not stand in the way.
	l := won(t, campaign(ctx(t), s, "e", "c"))
	if err := l.Resign(ctx(t)); err != nil {
		t.Fatalf("resign c: %v", err)
	}
}

func testClose(t *testing.T, s store.Store) {
	ch := s.Watch(ctx(t), "", 0)
	l := won(t, campaign(ctx(t), s, "e", "a"))
	waiting := campaign(ctx(t), s, "e", "b")
	notYet(t, waiting)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	closed(t, l)
	if r := <-waiting; r.err == nil {
		t.Errorf("campaign waiting at close: got leadership, want an error")
	}
	if r := next(t, ch); !errors.Is(r.Err, store.ErrClosed) {
		t.Errorf("watch at close: got %+v, want ErrClosed", r)
	}
	if _, err := s.Get(ctx(t), "k"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("get after close: got %v, want ErrClosed", err)
	}
	if _, err := s.Txn(ctx(t), store.Op{Key: "k", IfRevision: store.Any}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("txn after close: got %v, want ErrClosed", err)
	}
	if r, ok := <-s.Watch(ctx(t), "", 0); !ok || !errors.Is(r.Err, store.ErrClosed) {
		t.Errorf("watch after close: got %+v, want ErrClosed", r)
	}
}

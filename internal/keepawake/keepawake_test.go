//go:build linux

package keepawake

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// burn keeps one goroutine computing until the returned func is called.
func burn() (stop func()) {
	var done atomic.Bool
	go func() {
		x := 0
		for !done.Load() {
			for i := 0; i < 1e5; i++ {
				x += i
			}
		}
		_ = x
	}()
	return func() { done.Store(true) }
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// holdingNow starts a holder and keeps the process computing until the
// test ends; it fails the test unless the holder then holds its P.
func holdingNow(t *testing.T) *Holder {
	t.Helper()
	h := Start()
	stop := burn()
	t.Cleanup(func() {
		stop()
		h.Stop()
	})
	if !waitFor(3*time.Second, h.Holding) {
		t.Fatal("not holding while the process computes")
	}
	return h
}

// The holder holds its P while the process computes and lets go when it
// stops; GOMAXPROCS counts the held P only while it is held.
func TestHoldsWhileBusyOnly(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	h := Start()
	defer h.Stop()
	if h.Holding() {
		t.Fatal("holding before the process did anything")
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("GOMAXPROCS %d before holding, want %d", got, before)
	}
	stop := burn()
	if !waitFor(3*time.Second, h.Holding) {
		stop()
		t.Fatal("not holding while the process computes")
	}
	if got := runtime.GOMAXPROCS(0); got != before+1 {
		stop()
		t.Fatalf("GOMAXPROCS %d while holding, want %d", got, before+1)
	}
	stop()
	if !waitFor(3*time.Second, func() bool { return !h.Holding() }) {
		t.Fatal("still holding after the process went idle")
	}
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("GOMAXPROCS %d after letting go, want %d", got, before)
	}
}

// Stopped while holding, the holder gives its P back to GOMAXPROCS.
func TestStopWhileHolding(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	h := Start()
	stop := burn()
	defer stop()
	if !waitFor(3*time.Second, h.Holding) {
		h.Stop()
		t.Fatal("not holding while the process computes")
	}
	h.Stop()
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Fatalf("GOMAXPROCS %d after Stop, want %d", got, before)
	}
}

// A held P must not stall the runtime: the garbage collector stops the
// world (which interrupts the holder) and goroutines keep running on the
// other Ps.
func TestGarbageCollectionWhileHolding(t *testing.T) {
	holdingNow(t)
	for i := 0; i < 5; i++ {
		done := make(chan struct{})
		go func() { runtime.GC(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatalf("garbage collection %d did not finish within 2 s", i)
		}
	}
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	for i := 0; i < 1000; i++ {
		ping <- i
		if v := <-pong; v != i+1 {
			t.Fatalf("pong %d for ping %d", v, i)
		}
	}
	close(ping)
}

// A garbage collection stops the world, which interrupts the holder; it
// must then let go of its P for a while, so that the collector's
// background workers can run there instead of leaving the marking to the
// goroutines that allocate.
func TestStepsAsideForGarbageCollection(t *testing.T) {
	h := holdingNow(t)
	stepAsides := func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.stepAsides
	}
	before := stepAsides()
	// The holder may be between two slices when the world stops; a few
	// collections make sure one of them finds it blocked.
	if !waitFor(3*time.Second, func() bool { runtime.GC(); return stepAsides() > before }) {
		t.Fatal("the holder did not step aside for a garbage collection")
	}
}

package heapfloor

import (
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// read returns the current value of a uint64 runtime metric.
func read(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func gogcNow() int     { return int(int64(read("/gc/gogc:percent"))) }
func heapGoal() uint64 { return read("/gc/heap/goal:bytes") }

// sink keeps the allocator from proving the garbage unused.
var sink []byte

// allocate makes about rate bytes of garbage a second until the returned
// func is called, which waits for it to end.
func allocate(rate int) (stop func()) {
	const piece = 64 << 10
	every := time.Second * piece / time.Duration(rate)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				sink = make([]byte, piece)
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// While the process allocates quickly the heap goal is the floor; once it
// stops, GOGC is what it was and the heap's free pages go back to the
// system.
func TestHoldsTheFloorWhileAllocating(t *testing.T) {
	const floor = 48 << 20
	base := gogcNow()
	if heapGoal() >= floor/2 {
		t.Fatalf("heap goal %d before the test; the test needs it well under %d", heapGoal(), floor)
	}
	f := Start(floor)
	defer f.Stop()
	stop := allocate(16 << 20)
	if !waitFor(3*time.Second, func() bool { return heapGoal() >= floor }) {
		stop()
		t.Fatalf("heap goal %d bytes at GOGC %d while allocating 16 MiB/s, want at least the floor, %d", heapGoal(), gogcNow(), floor)
	}
	if goal := heapGoal(); goal > floor*5/4 {
		t.Errorf("heap goal %d bytes, want the floor (%d), not much more", goal, floor)
	}
	// Let the heap grow towards the goal before it stops.
	time.Sleep(time.Second)
	released := read("/memory/classes/heap/released:bytes")
	stop()
	if !waitFor(3*time.Second, func() bool { return gogcNow() == base }) {
		t.Fatalf("GOGC %d after the allocation stopped, want %d back", gogcNow(), base)
	}
	if goal := heapGoal(); goal >= floor/2 {
		t.Errorf("heap goal %d bytes once idle, want it back under %d", goal, floor/2)
	}
	// The floor gives the free pages back after it puts GOGC back.
	if !waitFor(3*time.Second, func() bool { return read("/memory/classes/heap/released:bytes") >= released+8<<20 }) {
		t.Errorf("heap pages released to the system went from %d to %d bytes once idle, want 8 MiB more at least", released, read("/memory/classes/heap/released:bytes"))
	}
}

// A process that allocates slowly keeps its GOGC.
func TestLeavesASlowProcessAlone(t *testing.T) {
	base := gogcNow()
	f := Start(48 << 20)
	defer f.Stop()
	stop := allocate(busyRate / 8)
	defer stop()
	time.Sleep(4 * check)
	if p := gogcNow(); p != base {
		t.Errorf("GOGC %d while allocating %d bytes/s, want %d untouched", p, busyRate/8, base)
	}
}

// Stop puts GOGC back even while the process still allocates.
func TestStopPutsGOGCBack(t *testing.T) {
	base := gogcNow()
	f := Start(48 << 20)
	stop := allocate(16 << 20)
	defer stop()
	if !waitFor(3*time.Second, func() bool { return gogcNow() != base }) {
		f.Stop()
		t.Fatal("GOGC never raised while allocating 16 MiB/s")
	}
	f.Stop()
	if p := gogcNow(); p != base {
		t.Errorf("GOGC %d after Stop, want %d", p, base)
	}
}

// A process running with GOGC off gets no floor: collecting at the floor
// would be collecting where it chose not to.
func TestNoFloorWithGOGCOff(t *testing.T) {
	prior := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(prior)
	f := Start(48 << 20)
	stop := allocate(16 << 20)
	time.Sleep(4 * check)
	stop()
	f.Stop()
	if p := gogcNow(); p != -1 {
		t.Errorf("GOGC %d, want off (-1) as the process set it", p)
	}
}

// percentFor gives the least GOGC whose heap goal, by the runtime's rule,
// reaches the floor.
func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	goal := func(p int, live, roots uint64) uint64 {
		return max(runtimeHeapMinimum*uint64(p)/100, live+(live+roots)*uint64(p)/100)
	}
	for _, c := range []struct {
		name               string
		floor, live, roots uint64
		base, want         int
	}{
		{"small heap: the runtime's minimum reaches the floor", 12 * mib, 1 * mib, mib / 4, 100, 300},
		{"nothing live yet", 12 * mib, 0, 0, 100, 300},
		{"mid heap: growth from the live heap reaches it first", 12 * mib, 3 * mib, 1 * mib, 100, 225},
		{"heap at half the floor: GOGC 100 reaches it", 12 * mib, 6 * mib, 0, 100, 100},
		{"heap above the floor", 12 * mib, 20 * mib, 1 * mib, 100, 100},
		{"the process's own GOGC is higher", 12 * mib, 1 * mib, 0, 400, 400},
	} {
		if got := percentFor(c.floor, c.live, c.roots, c.base); got != c.want {
			t.Errorf("%s: percentFor(%d, %d, %d, %d) = %d, want %d", c.name, c.floor, c.live, c.roots, c.base, got, c.want)
		}
	}
	// Over a grid of heaps: the percent reaches the floor, and one less
	// would not (unless it is the base).
	for live := uint64(0); live < 16*mib; live += mib / 3 {
		for roots := uint64(0); roots < 2*mib; roots += mib / 5 {
			p := percentFor(12*mib, live, roots, 100)
			if live < 12*mib && goal(p, live, roots) < 12*mib {
				t.Fatalf("live %d roots %d: GOGC %d gives goal %d, under the floor", live, roots, p, goal(p, live, roots))
			}
			if p > 100 && goal(p-1, live, roots) >= 12*mib {
				t.Fatalf("live %d roots %d: GOGC %d is not the least; %d reaches the floor too", live, roots, p, p-1)
			}
		}
	}
}

// Package heapfloor keeps garbage collections rare in a process that
// allocates steadily but keeps little alive, as a sidecar does: while the
// process allocates quickly, the collector's heap goal is at least a floor.
//
// The Go collector starts a cycle when the heap reaches a goal: the heap
// that was live after the last cycle plus GOGC percent of it (and of the
// goroutine stacks and globals), but at least 4 MiB at GOGC 100. A sidecar
// at 1000 requests/s keeps about 1 MiB alive and allocates 6 to 9 MiB a
// second, so it collects two or three times a second. Each cycle stops the
// world to start and marks for one to two milliseconds while the requests
// in flight wait for the processor, on a sidecar that has one; that is
// where a share of the slowest percent of its requests comes from
// (docs/performance.md).
//
// While the process allocates at least busyRate bytes a second, a Floor
// sets GOGC so that the heap goal is at least its floor (and never below
// what the process's own GOGC gives). When the rate falls under a quarter
// of that, it puts GOGC back and hands the heap's free pages back to the
// operating system, so an idle process is as small as before.
package heapfloor

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

const (
	// check is how often the floor looks at the allocation rate.
	check = 250 * time.Millisecond
	// busyRate is the allocation rate, in bytes per second, from which the
	// floor holds; it lets go under busyRate/4. At busyRate the collector
	// would run about every three seconds at GOGC 100.
	busyRate = 1 << 20
	// runtimeHeapMinimum is the runtime's least heap goal at GOGC 100; it
	// scales with GOGC (defaultHeapMinimum in the runtime's pacer).
	runtimeHeapMinimum = 4 << 20
)

// Floor raises the heap goal to a floor while the process allocates
// quickly.
type Floor struct {
	floor    uint64
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// Start starts a floor of the given bytes. GOGC as the process found it
// (from the environment, or 100) is the percent it puts back when the
// process goes idle and when it stops. A process that runs with GOGC off
// gets no floor.
func Start(floor uint64) *Floor {
	f := &Floor{floor: floor, stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

// Stop ends the floor, puts GOGC back as it was and waits for that.
func (f *Floor) Stop() {
	f.stopOnce.Do(func() { close(f.stop) })
	<-f.done
}

// sample indexes of the metrics the floor reads.
const (
	allocs = iota
	live
	stacks
	globals
	gogc
)

func (f *Floor) run() {
	defer close(f.done)
	s := []metrics.Sample{
		allocs:  {Name: "/gc/heap/allocs:bytes"},
		live:    {Name: "/gc/heap/live:bytes"},
		stacks:  {Name: "/gc/scan/stack:bytes"},
		globals: {Name: "/gc/scan/globals:bytes"},
		gogc:    {Name: "/gc/gogc:percent"},
	}
	metrics.Read(s)
	// GOGC off reads as -1 (as a uint64): the process chose not to collect
	// by heap growth, and a floor has nothing to raise.
	base := int(int64(s[gogc].Value.Uint64()))
	if base < 0 {
		return
	}
	percent := base
	defer func() {
		if percent != base {
			debug.SetGCPercent(base)
		}
	}()
	lastAllocs, lastAt := s[allocs].Value.Uint64(), time.Now()
	tick := time.NewTicker(check)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		metrics.Read(s)
		now := time.Now()
		rate := float64(s[allocs].Value.Uint64()-lastAllocs) / now.Sub(lastAt).Seconds()
		lastAllocs, lastAt = s[allocs].Value.Uint64(), now
		switch {
		case rate >= busyRate:
			p := percentFor(f.floor, s[live].Value.Uint64(), s[stacks].Value.Uint64()+s[globals].Value.Uint64(), base)
			// The live heap moves a little with every cycle; a change of
			// under a tenth is not worth a new goal.
			if p*10 < percent*9 || p*10 > percent*11 {
				debug.SetGCPercent(p)
				percent = p
			}
		case rate < busyRate/4 && percent != base:
			debug.SetGCPercent(base)
			percent = base
			// The heap grew towards the floor; collect now and give its
			// free pages back rather than keep them until the
			// runtime's scavenger gets to them.
			debug.FreeOSMemory()
		}
	}
}

// percentFor is the least GOGC, and at least base, that puts the heap goal
// at or above floor, given the live heap and the stack and global bytes the
// collector scans. The runtime's goal at GOGC p is the larger of
// runtimeHeapMinimum·p/100 and live + (live+roots)·p/100.
func percentFor(floor, live, roots uint64, base int) int {
	if floor <= live {
		return base
	}
	p := (floor*100 + runtimeHeapMinimum - 1) / runtimeHeapMinimum
	if live+roots > 0 {
		p = min(p, ((floor-live)*100+live+roots-1)/(live+roots))
	}
	return max(int(p), base)
}

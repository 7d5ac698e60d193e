//go:build linux

package keepawake

import (
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// busyShare is the share of one core the process must have used since
	// the last check for the holder to hold its P. Holding costs about 1%
	// of a core by itself (the holder's thread and the monitor's, woken
	// every few milliseconds), which must not be enough to keep an idle
	// process holding.
	busyShare = 0.05
	// holdCheck is how often a holding holder looks at the process's CPU
	// time; idleCheck how often a released one does.
	holdCheck = 100 * time.Millisecond
	idleCheck = 250 * time.Millisecond
	// holdSlice is the longest the holder blocks between two yields. It
	// must stay under the runtime's 10 ms preemption period: a goroutine
	// that yields first is never preempted, so a signal that interrupts
	// the holder means that the world stops (see holdUntil).
	holdSlice = 8 * time.Millisecond
	// stepAside is how long the holder lets go of its P after the runtime
	// interrupted it, which it does to stop the world (see holdUntil).
	stepAside = 25 * time.Millisecond
)

// Holder holds a P of the runtime while the process is busy.
type Holder struct {
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	// holding and stepAsides are read by tests; they are written by the
	// holder's goroutine.
	mu         sync.Mutex
	holding    bool
	stepAsides int
}

// Start starts the holder. While it holds its P, GOMAXPROCS is one more
// than it was; Stop ends the holder and leaves GOMAXPROCS as it found it.
func Start() *Holder {
	h := &Holder{stop: make(chan struct{}), done: make(chan struct{})}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		close(h.done)
		return h
	}
	go h.run(epfd)
	return h
}

// Stop lets go of the P and waits for the holder to end.
func (h *Holder) Stop() {
	h.stopOnce.Do(func() { close(h.stop) })
	<-h.done
}

// Holding reports whether the holder holds its P now.
func (h *Holder) Holding() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.holding
}

// run holds a P while the process is busy. The P is added to GOMAXPROCS
// when the holder starts to hold and removed when it lets go, so that an
// idle process runs with the Ps it was given: a spare P would let the
// runtime spread its goroutines over two threads, and each P caches
// memory of its own.
func (h *Holder) run(epfd int) {
	defer close(h.done)
	defer unix.Close(epfd)
	holding := false
	defer func() {
		if holding {
			runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) - 1)
		}
	}()
	lastCPU, lastAt := processCPU(), time.Now()
	for {
		wait := idleCheck
		if holding {
			wait = 0
			if holdUntil(epfd, lastAt.Add(holdCheck)) {
				wait = stepAside
				h.mu.Lock()
				h.stepAsides++
				h.mu.Unlock()
			}
		}
		if !h.sleep(wait) {
			return
		}
		cpu, now := processCPU(), time.Now()
		busy := float64(cpu-lastCPU) >= busyShare*float64(now.Sub(lastAt))
		lastCPU, lastAt = cpu, now
		if busy == holding {
			continue
		}
		holding = busy
		procs := runtime.GOMAXPROCS(0)
		if holding {
			procs++
		} else {
			procs--
		}
		runtime.GOMAXPROCS(procs)
		h.mu.Lock()
		h.holding = holding
		h.mu.Unlock()
	}
}

// sleep waits d (not at all if d is 0) and reports whether the holder may
// go on, which it may not once Stop was called.
func (h *Holder) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-h.stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-h.stop:
		return false
	case <-t.C:
		return true
	}
}

// holdUntil blocks the thread, and with it the calling goroutine's P, in
// epoll_pwait on an empty set until t, in slices of holdSlice. The call is
// raw, so the runtime sees a running goroutine rather than one in a system
// call and neither hands the P to another thread nor counts it idle.
//
// Before each slice the goroutine yields twice. A P can have goroutines
// queued on it (made runnable by the goroutines it ran while the holder
// was away); blocked, the holder would strand them until another thread
// looked for work, which on a sidecar may be the next packet, a
// millisecond later. A yield runs the P's queued goroutines
// before this one, except on every 61st scheduling round, when the runtime
// takes the global queue first for fairness; the second yield covers that
// round. Nothing else queues goroutines on a P that is running one: other
// threads queue what they wake on their own P or on the global queue.
//
// The goroutine is not locked to its thread: a yield then costs no thread
// switch, and whichever P it resumes on is the one it holds.
//
// A goroutine that yields every holdSlice is never preempted, so a signal
// that ends a slice early is the runtime stopping the world, which it does
// to start and end a garbage collection. holdUntil then returns true, and
// the caller lets the P go for a while: the collector counts every P when
// it sets how much of the CPU its background workers take (a quarter), and
// a P that never runs them leaves the marking to the allocating goroutines
// of the other Ps (measured: request goroutines of a sidecar with one P of
// its own stalled up to 10 ms behind a collection while the holder held
// its P through it).
func holdUntil(epfd int, t time.Time) (interrupted bool) {
	var ev [1]unix.EpollEvent
	for {
		slice := min(time.Until(t), holdSlice)
		if slice <= 0 {
			return false
		}
		runtime.Gosched()
		runtime.Gosched()
		// epoll_pwait counts whole milliseconds; a remainder under one
		// would make it return at once, and the loop spin until t.
		ms := max(slice.Milliseconds(), 1)
		_, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&ev[0])), 1, uintptr(ms), 0, 0)
		if errno == unix.EINTR {
			return true
		}
	}
}

// processCPU is the user and system time the process has used.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
	// the last check for the holder to hold its P.
	busyShare = 0.02
	// holdCheck is how often a holding holder looks at the process's CPU
	// time; idleCheck how often a released one does.
	holdCheck = 100 * time.Millisecond
	idleCheck = 250 * time.Millisecond
)

// Holder holds a P of the runtime while the process is busy.
type Holder struct {
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	// holding is read by tests; it is written by the holder's goroutine.
	mu      sync.Mutex
	holding bool
}

// Start raises GOMAXPROCS by one and starts the holder. Stop undoes both.
func Start() *Holder {
	h := &Holder{stop: make(chan struct{}), done: make(chan struct{})}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		close(h.done)
		return h
	}
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	go h.run(epfd)
	return h
}

// Stop lets go of the P, lowers GOMAXPROCS by one and waits for the holder
// to end.
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

func (h *Holder) run(epfd int) {
	defer close(h.done)
	defer unix.Close(epfd)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lastCPU, lastAt := processCPU(), time.Now()
	holding := false
	for {
		select {
		case <-h.stop:
			runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) - 1)
			return
		default:
		}
		if holding {
			holdUntil(epfd, lastAt.Add(holdCheck))
		} else {
			select {
			case <-h.stop:
				continue
			case <-time.After(idleCheck):
			}
		}
		cpu, now := processCPU(), time.Now()
		holding = float64(cpu-lastCPU) >= busyShare*float64(now.Sub(lastAt))
		lastCPU, lastAt = cpu, now
		h.mu.Lock()
		h.holding = holding
		h.mu.Unlock()
	}
}

// holdUntil blocks the thread, and with it the calling goroutine's P, in
// epoll_pwait on an empty set until t. The call is raw, so the runtime
// sees a running goroutine rather than one in a system call. The runtime
// interrupts it with a signal to preempt the goroutine (every 10 ms, and
// to stop the world for the garbage collector); the goroutine then yields.
func holdUntil(epfd int, t time.Time) {
	var ev [1]unix.EpollEvent
	for {
		ms := time.Until(t).Milliseconds()
		if ms <= 0 {
			return
		}
		unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&ev[0])), 1, uintptr(ms), 0, 0)
		// Interrupted or not, a point where the runtime may preempt.
		runtime.Gosched()
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

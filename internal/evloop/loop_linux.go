//go:build linux

package evloop

import (
	"container/heap"
	"errors"
	"fmt"
	"iter"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnavailable is returned by NewGroup where there are no event loops.
var ErrUnavailable = errors.New("evloop: event loops need Linux")

// errGroupClosed is returned by Go once the group is closed.
var errGroupClosed = errors.New("evloop: the group is closed")

// errNotOnLoop is returned by a read or write that would wait but was not
// called from a task of the connection's loop.
var errNotOnLoop = errors.New("evloop: read or write outside a task of the connection's loop")

// Group is a set of event loops that share out the connections given to
// them. It is safe for concurrent use.
type Group struct {
	loops  []*Loop
	next   atomic.Uint32
	closed atomic.Bool
	// OnPanic, when set before the first Go, is told of a task's panic;
	// the task ends and its loop goes on. Unset, the panic is printed.
	OnPanic func(v any)
}

// NewGroup starts n event loops, each on a thread of its own.
func NewGroup(n int) (*Group, error) {
	if n < 1 {
		n = 1
	}
	g := &Group{}
	for i := range n {
		l, err := newLoop(g, i)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.loops = append(g.loops, l)
		go l.run()
	}
	return g, nil
}

// Go hands nc, a TCP connection of the runtime, to one of the loops and
// runs fn with it there as a new task. nc itself is closed; fn owns the
// Conn and must close it. On error nc is left as it was.
func (g *Group) Go(nc net.Conn, fn func(*Conn)) error {
	if g.closed.Load() {
		return errGroupClosed
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return fmt.Errorf("evloop: %T has no file descriptor", nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return err
	}
	if dupErr != nil {
		return os.NewSyscallError("dup", dupErr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return os.NewSyscallError("setnonblock", err)
	}
	local, remote := nc.LocalAddr(), nc.RemoteAddr()
	nc.Close()
	l := g.loops[int(g.next.Add(1))%len(g.loops)]
	l.post(func() {
		c, err := l.register(fd, local, remote)
		if err != nil {
			unix.Close(fd)
			return
		}
		l.spawn(func() { fn(c) })
	})
	return nil
}

// Close stops the loops once their tasks have ended and their connections
// are closed, and makes Go fail from now on.
func (g *Group) Close() {
	if g.closed.Swap(true) {
		return
	}
	for _, l := range g.loops {
		l.post(func() { l.closing = true })
	}
}

// Loop is one event loop: an epoll instance, the connections registered
// with it and the tasks that serve them. Its fields are touched only by
// the loop and its tasks, which never run at the same time, except where
// noted.
type Loop struct {
	group *Group
	id    int
	epfd  int
	// wakefd is an eventfd that ends the loop's epoll_wait when work is
	// posted from another goroutine.
	wakefd int

	// cur is the task running now, nil while the loop itself runs; reads
	// counts its reads since it was resumed (see fairReads).
	cur   *task
	reads int
	tasks int
	// registered counts the connections registered with the loop; a
	// closing loop goes on until they are closed.
	registered int
	conns      []*Conn // by file descriptor
	timers     timerHeap
	// ready holds tasks that made way for the others (Sleep(0)), to be
	// resumed in the next round.
	ready   []*task
	closing bool
	// now is the clock (UnixNano) as the loop last read it, once a round
	// after waiting for events: for deadlines, which may be a round late
	// (one that passed before a task waits is caught by the timers next
	// round anyway).
	now int64

	mu       sync.Mutex // guards posted and sleeping
	posted   []func()
	sleeping bool
}

func newLoop(g *Group, id int) (*Loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wakefd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	l := &Loop{group: g, id: id, epfd: epfd, wakefd: wakefd}
	return l, nil
}

// ID is the loop's index in its group, from 0.
func (l *Loop) ID() int { return l.id }

// post runs fn on the loop soon; it may be called from any goroutine.
func (l *Loop) post(fn func()) {
	l.mu.Lock()
	l.posted = append(l.posted, fn)
	wake := l.sleeping
	l.sleeping = false
	l.mu.Unlock()
	if wake {
		var one = [8]byte{1}
		unix.Write(l.wakefd, one[:])
	}
}

// run is the loop: it runs posted work and ready tasks, waits for events
// or the next deadline, and resumes the tasks they concern.
func (l *Loop) run() {
	// A thread of its own, as an nginx worker has: waiting in epoll_wait
	// is a system call on it, and tasks resume on it. (Parking the loop's
	// goroutine on the epoll descriptor in the runtime's poller instead
	// was tried: cheaper when idle, but a loop woken by the runtime could
	// sit behind another loop's goroutine for milliseconds, and p99
	// latency under load went from 3 to 12-80 ms. A loop not locked to its
	// thread had a worse p99 than a locked one in 14 runs of 14, by 0.8
	// ms in the median run.)
	runtime.LockOSThread()
	// To the scheduler a busy loop is one goroutine that never stops
	// running. The runtime's monitor thread preempts a goroutine that has
	// run for 10 ms, and when the loop is inside epoll_wait just then it
	// also takes the loop's P and then polls every 20 µs for a while:
	// under load 230 preemptions and 1,200 of the monitor's wake-ups a
	// second, 2.4% of the gateway's CPU. A loop that yields more often
	// than that starts a new time slice each time and leaves the monitor
	// asleep; on a locked thread a yield costs two thread hand-offs, as a
	// preemption does.
	lastYield := time.Now().UnixNano()
	l.now = lastYield
	events := make([]unix.EpollEvent, 256)
	var posted []func()
	for {
		l.mu.Lock()
		posted, l.posted = l.posted, posted[:0]
		l.mu.Unlock()
		for i, fn := range posted {
			fn()
			posted[i] = nil
		}
		// Tasks that became ready while the loop ran wait for the next
		// round, so a task that keeps yielding cannot starve the others.
		ready := l.ready
		l.ready = nil
		for _, t := range ready {
			l.resume(t, wokeReady)
		}
		if l.closing && l.tasks == 0 && l.registered == 0 {
			unix.Close(l.epfd)
			unix.Close(l.wakefd)
			return
		}
		// Under load events are usually waiting: take them without
		// entering a blocking system call.
		n, err := pollNow(l.epfd, events)
		if n == 0 && err == nil {
			n, err = l.waitEvents(events)
		}
		if err != nil {
			panic(os.NewSyscallError("epoll_wait", err))
		}
		// The clock is read after the wait, which may have been long,
		// and before the tasks it woke run: they count timeouts from it.
		now := time.Now().UnixNano()
		l.now = now
		l.dispatch(events[:n])
		l.fireTimers(now)
		if now-lastYield >= int64(yieldEvery) {
			runtime.Gosched()
			lastYield = now
		}
	}
}

// Now is the clock as the loop last read it: at most one round of the
// loop late, so for deadlines, not for measuring. Only the loop's tasks
// may call it.
func (l *Loop) Now() time.Time { return time.Unix(0, l.now) }

// yieldEvery is how often a running loop yields the scheduler: under the
// runtime's 10 ms time slice, which its monitor thread checks every 10 ms
// at most.
const yieldEvery = 8 * time.Millisecond

// waitEvents waits in epoll_wait until an event, posted work or the next
// deadline; it only looks when there is work already (ready tasks, posted
// work, a deadline passed).
func (l *Loop) waitEvents(events []unix.EpollEvent) (int, error) {
	wait := -1
	if len(l.timers) > 0 {
		d := l.timers[0].when - time.Now().UnixNano()
		if d <= 0 {
			return pollNow(l.epfd, events)
		}
		// Round up: waking early would only wait again.
		wait = int((d + int64(time.Millisecond) - 1) / int64(time.Millisecond))
	}
	if len(l.ready) > 0 {
		return pollNow(l.epfd, events)
	}
	l.mu.Lock()
	if len(l.posted) > 0 {
		l.mu.Unlock()
		return pollNow(l.epfd, events)
	}
	l.sleeping = true
	l.mu.Unlock()
	n, err := unix.EpollWait(l.epfd, events, wait)
	l.mu.Lock()
	l.sleeping = false
	l.mu.Unlock()
	if err == unix.EINTR {
		return 0, nil
	}
	return n, err
}

// dispatch resumes the tasks waiting on the connections of events.
func (l *Loop) dispatch(events []unix.EpollEvent) {
	for i := range events {
		ev := &events[i]
		fd := int(ev.Fd)
		if fd == l.wakefd {
			var b [8]byte
			unix.Read(l.wakefd, b[:])
			continue
		}
		if fd >= len(l.conns) || l.conns[fd] == nil {
			continue
		}
		c := l.conns[fd]
		if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			c.mayRead = true
			if ev.Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				c.peerClosed = true
			}
			l.wake(&c.r, wokeReady)
		}
		// The task woken above may have closed c.
		if l.conns[fd] == c && ev.Events&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			l.wake(&c.w, wokeReady)
		}
	}
}

// fireTimers wakes the waiters whose deadline has passed; a timer that a
// waiter kept after it was woken otherwise just ends (see schedule).
func (l *Loop) fireTimers(now int64) {
	for len(l.timers) > 0 && l.timers[0].when <= now {
		w := l.timers[0]
		heap.Pop(&l.timers)
		w.index = -1
		l.wake(w, wokeTimeout)
	}
}

// task is code running as a coroutine of a loop.
type task struct {
	next  func() (struct{}, bool)
	yield func(struct{}) bool
	// woke says why the task was last resumed.
	woke wakeReason
}

type wakeReason uint8

const (
	wokeReady wakeReason = iota
	wokeTimeout
	wokeClosed
)

// spawn starts fn as a new task and runs it until it first waits.
func (l *Loop) spawn(fn func()) {
	t := &task{}
	t.next, _ = iter.Pull(func(yield func(struct{}) bool) {
		t.yield = yield
		defer func() {
			if v := recover(); v != nil {
				if l.group.OnPanic != nil {
					l.group.OnPanic(v)
				} else {
					fmt.Fprintf(os.Stderr, "evloop: task panicked: %v\n", v)
				}
			}
		}()
		fn()
	})
	l.tasks++
	l.resume(t, wokeReady)
}

// resume runs t until it waits again or ends.
func (l *Loop) resume(t *task, why wakeReason) {
	t.woke = why
	l.cur = t
	l.reads = 0
	_, alive := t.next()
	l.cur = nil
	if !alive {
		l.tasks--
	}
}

// park hands control back to the loop until w is woken, and says why it
// was. It runs on the task.
func (l *Loop) park(w *waiter, deadline int64) wakeReason {
	t := l.cur
	w.task = t
	w.waiting.Store(true)
	// A deadline set from another goroutine before waiting was published
	// is seen here; one set after sees waiting and tells the loop.
	d := w.deadline.Load()
	if deadline != 0 && (d == 0 || deadline < d) {
		d = deadline
	}
	l.schedule(w, d)
	t.yield(struct{}{})
	return t.woke
}

// schedule gives w a timer at d (0: none). A waiter keeps its timer after
// it is woken, until the timer fires or the waiter waits with another
// deadline: deadlines are moved lazily, so the next wait usually has the
// same one and costs no work on the heap. A timer that fires for a waiter
// nobody waits on does nothing.
func (l *Loop) schedule(w *waiter, d int64) {
	switch {
	case w.index >= 0 && d == 0:
		heap.Remove(&l.timers, w.index)
	case w.index >= 0 && d != w.when:
		w.when = d
		heap.Fix(&l.timers, w.index)
	case w.index < 0 && d != 0:
		w.when = d
		heap.Push(&l.timers, w)
	}
}

// wake resumes the task waiting on w, if any.
func (l *Loop) wake(w *waiter, why wakeReason) {
	t := w.task
	if t == nil {
		return
	}
	w.task = nil
	w.waiting.Store(false)
	l.resume(t, why)
}

// fairReads is how many reads a task may make without waiting before it
// lets the loop's other tasks run: a client that keeps its connection
// busy (pipelining, a fast upstream) must not hold the loop.
const fairReads = 64

// readDone counts a read that did not wait, and makes way for the other
// tasks when the calling task has made fairReads of them in a row.
func (l *Loop) readDone() {
	if l.cur == nil {
		return
	}
	if l.reads++; l.reads >= fairReads {
		l.Sleep(0)
	}
}

// Sleep suspends the calling task for d, letting the loop's other tasks
// run. It must be called from a task of l.
func (l *Loop) Sleep(d time.Duration) {
	if d <= 0 {
		l.ready = append(l.ready, l.cur)
		l.cur.yield(struct{}{})
		return
	}
	l.park(&waiter{index: -1}, time.Now().Add(d).UnixNano())
}

// waiter is one direction of a connection that a task may wait on.
type waiter struct {
	task *task
	// waiting is set while a task waits; read by the deadline setters,
	// which may run on other goroutines.
	waiting atomic.Bool
	// deadline is the direction's deadline in Unix nanoseconds, 0 for none;
	// set from any goroutine.
	deadline atomic.Int64
	// when and index place the waiter in its loop's timer heap (index -1:
	// not in it); see schedule.
	when  int64
	index int
}

// timerHeap orders waiters by deadline.
type timerHeap []*waiter

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].when < h[j].when }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *timerHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

// deadlineChanged re-arms the timer of a task waiting on w after its
// deadline was moved from another goroutine.
func (l *Loop) deadlineChanged(w *waiter) {
	if w.task == nil {
		return
	}
	d := w.deadline.Load()
	if d != 0 && d <= time.Now().UnixNano() {
		l.wake(w, wokeTimeout)
		return
	}
	l.schedule(w, d)
}

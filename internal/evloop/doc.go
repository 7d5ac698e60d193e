// Package evloop runs connection code written in Go's usual blocking style
// on a few event loops, one per core, instead of one goroutine parked in the
// runtime's network poller per connection.
//
// Each loop owns an epoll instance and the connections registered with it.
// The code serving a connection runs as a coroutine (iter.Pull) of its
// loop, a task: when a read or write on a loop connection would block, the
// task hands control back to its loop, which waits in epoll_wait and
// resumes the task on the same thread once the socket is ready or the
// deadline has passed. A hand-over is a coroutine switch, not a park and
// wake-up through the scheduler and its network poller, so a request that
// waits twice (for its upstream, then for the client's next request) costs
// two switches on one thread and no other thread is woken for it.
//
// Rules for code running as a task:
//   - Read and Write of a Conn must be called only from a task of the
//     Conn's loop. Close and the deadline setters may be called from
//     anywhere.
//   - A task that waits for something else (a channel, a lock held for
//     long, time.Sleep, a net.Conn of the runtime) holds up every other task
//     of its loop while it waits. Loop.Sleep waits without doing so; a task
//     that must do more hands its connection to the runtime (Conn.Detach)
//     and carries on in a goroutine of its own.
//
// Each loop runs on an OS thread of its own and waits in a blocking
// epoll_wait, holding its P meanwhile. The runtime takes a P back from a
// system call after 20 µs when no other P is idle, and its monitor thread
// then keeps waking every 20 µs; a program with loops does well to run one
// P more than it has loops (GOMAXPROCS), so that waiting loops are left
// alone unless goroutines need their Ps.
//
// The package is for Linux; elsewhere NewGroup reports that it is not
// available and callers keep to goroutines.
package evloop

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
// The package is for Linux; elsewhere NewGroup reports that it is not
// available and callers keep to goroutines.
package evloop

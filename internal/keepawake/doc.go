// Package keepawake keeps the Go runtime's monitor thread (sysmon) from
// going to sleep between the requests of a process that carries steady
// traffic on few threads, as a sidecar does.
//
// The monitor sleeps whenever every P of the process is idle and is woken
// by the next system call; it then polls every 20 µs until the process is
// idle again. A sidecar at 1000 requests/s goes idle between requests, so
// each request paid for a wake-up of the monitor (a futex call and a thread
// switch on another core) and for its polling: measured in bench/mesh, about
// a quarter of the sidecars' CPU and 60 to 120 µs of a hop's median latency
// (docs/performance.md, "The runtime's monitor thread in the sidecars").
//
// While the process is busy, Start's holder adds one P to GOMAXPROCS and
// holds it with a goroutine blocked in a raw epoll_pwait on an empty epoll
// set. The runtime counts that P as running, so it never finds all Ps idle
// and the monitor stays awake, backing off to a 10 ms period. The holder
// blocks in slices of 8 ms and yields between them, so the runtime never
// has to preempt it, and it yields twice, so that the P it blocks carries
// no goroutines queued behind it. When the runtime stops the world (to
// start or end a garbage collection) the holder lets go of its P for
// 25 ms, leaving it to the collector's workers. When the process is nearly
// idle (under 5% of a core over the last 100 ms) the holder lets go,
// removes the P from GOMAXPROCS and looks again every 250 ms, so an idle
// process does not pay for a monitor that polls.
//
// The package is for Linux; elsewhere Start does nothing.
package keepawake

// Package keepawake keeps the Go runtime's monitor thread (sysmon) from
// going to sleep between the requests of a process that carries steady
// traffic on few threads, as a sidecar does.
//
// The monitor sleeps whenever every P of the process is idle and is woken
// by the next system call; it then polls every 20 µs until the process is
// idle again. A sidecar at 1000 requests/s goes idle between requests, so
// each request paid for a wake-up of the monitor (a futex call and a thread
// switch on another core) and for its polling: measured in bench/mesh, about
// a quarter of the sidecars' CPU and 80 µs of a hop's median latency. The
// hop's p99 doubled with the holder, though, so pylon sidecar uses it only
// when asked (docs/performance.md, "The runtime's monitor thread in the
// sidecars").
//
// Start adds one P and, while the process is busy, holds it with a thread
// blocked in a raw epoll_pwait on an empty epoll set. The runtime counts
// that P as running, so it never finds all Ps idle and the monitor stays
// awake, backing off to a 10 ms period, and preempts the holder every 10 ms;
// the holder then yields and waits again. When the process is nearly idle
// (under 2% of a core over the last check) the holder lets go of its P and
// looks again every 250 ms, so an idle process does not pay for a monitor
// that polls.
//
// The package is for Linux; elsewhere Start does nothing.
package keepawake

// Package supervise runs, stops, restarts and logs one child process well:
// the building block of `pylon up` (issue #5), whose lifecycle manager
// decides what runs and asks this package to run it.
//
// Start runs a Spec in its own process group, so that stopping it stops
// what it started too (`go run` starts the compiled binary as its child and
// does not forward SIGTERM). On Linux the child also gets Pdeathsig=SIGKILL,
// so a crashed parent does not leave its direct children behind. Stop sends
// SIGTERM to the group, waits up to Spec.StopTimeout and then sends SIGKILL.
// When the group's leader ends on its own, whatever it left in its group is
// stopped the same way, so a restart never finds an old instance still
// holding its port. Children run in their own group, so a terminal's Ctrl-C
// does not reach them: the caller decides how they stop.
//
// Every line a process writes to stdout or stderr goes to a Sink: a Printer
// (aligned, coloured prefixes like docker compose), a Buffer (the last
// lines of each process, for `pylon ctl logs`), or both through Tee.
//
// Supervise keeps one Spec running: it restarts it when it exits unasked,
// with exponential backoff, and reports what happens through Events.
//
// Design notes (2026-11): the platform is Unix; elsewhere the package
// compiles, but a stop kills the process at once and does not reach its
// children. Pdeathsig fires when the OS thread that started the child
// exits; Go keeps its threads unless a goroutine locked to one ends, which
// this package never does.
package supervise

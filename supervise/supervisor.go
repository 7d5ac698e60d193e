package supervise

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrStopped is returned by Restart once the Supervisor has been stopped.
var ErrStopped = errors.New("supervisor stopped")

// Supervisor keeps one Spec running: it restarts the process when it exits
// unasked, after a backoff that doubles from Options.MinBackoff up to
// Options.MaxBackoff and starts again from MinBackoff once a process has
// run Options.ResetAfter. A later start that fails is retried the same
// way. It is safe for concurrent use.
type Supervisor struct {
	spec Spec
	sink Sink
	opts Options

	cmds  chan command
	done  chan struct{} // closed when run has returned
	pid   atomic.Int64
	clean bool // set before done is closed
}

// command is a Restart (stop false) or a Stop asked of run.
type command struct {
	ctx   context.Context
	stop  bool
	reply chan error
}

// Supervise starts spec with its lines going to sink, and keeps it
// running until Stop. If the first start fails, it returns the error
// (see Check) and runs nothing: a command that cannot start is not retried.
func Supervise(spec Spec, sink Sink, opts Options) (*Supervisor, error) {
	s := &Supervisor{
		spec: spec,
		sink: sink,
		opts: opts.withDefaults(),
		cmds: make(chan command),
		done: make(chan struct{}),
	}
	p, err := Start(spec, sink)
	if err != nil {
		return nil, err
	}
	s.started(p)
	r := &runner{s: s, p: p, b: backoff{o: s.opts}}
	go r.run()
	return s, nil
}

// Pid returns the pid of the running process, or 0 while none runs.
func (s *Supervisor) Pid() int { return int(s.pid.Load()) }

// Restart stops the running process (as Process.Stop does, ctx bounding
// the wait before SIGKILL) and starts it again now, or starts it now if it
// was waiting to restart, and resets the backoff. It returns the start's
// error, after which restarts continue with backoff, or ErrStopped.
func (s *Supervisor) Restart(ctx context.Context) error {
	return s.do(command{ctx: ctx, reply: make(chan error, 1)})
}

// Stop stops the process, as Process.Stop does, and does not restart it
// again. It reports whether the stop was clean: no SIGKILL was needed (a
// process that was not running stops cleanly). Later calls return the same.
func (s *Supervisor) Stop(ctx context.Context) (clean bool) {
	s.do(command{ctx: ctx, stop: true, reply: make(chan error, 1)})
	<-s.done
	return s.clean
}

// do hands c to run and waits for its reply.
func (s *Supervisor) do(c command) error {
	select {
	case s.cmds <- c:
		return <-c.reply
	case <-s.done:
		return ErrStopped
	}
}

func (s *Supervisor) emit(e Event) {
	if s.opts.OnEvent == nil {
		return
	}
	e.Name, e.Time = s.spec.Name, time.Now()
	s.opts.OnEvent(e)
}

func (s *Supervisor) started(p *Process) {
	s.pid.Store(int64(p.Pid()))
	s.emit(Event{Kind: Started, Pid: p.Pid()})
}

func (s *Supervisor) exited(p *Process, e Exit) {
	s.pid.Store(0)
	s.emit(Event{Kind: Exited, Pid: p.Pid(), Exit: e})
}

// runner is the goroutine that owns a Supervisor's process.
type runner struct {
	s     *Supervisor
	p     *Process    // nil while waiting to restart
	b     backoff     // the next restart's delay
	timer *time.Timer // the restart's, while waiting
}

func (r *runner) run() {
	defer close(r.s.done)
	for {
		var exited <-chan struct{}
		var restart <-chan time.Time
		if r.p != nil {
			exited = r.p.Done()
		} else {
			restart = r.timer.C
		}
		select {
		case <-exited:
			e := r.p.Wait()
			r.s.exited(r.p, e)
			r.p = nil
			r.wait(r.b.after(e.Ran))
		case <-restart:
			r.start()
		case c := <-r.s.cmds:
			if r.command(c) {
				return
			}
		}
	}
}

// command runs a Restart or Stop and reports whether run must return.
func (r *runner) command(c command) (stop bool) {
	clean := true
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.p != nil {
		e := r.p.Stop(c.ctx)
		r.s.exited(r.p, e)
		r.p, clean = nil, e.Clean()
	}
	if c.stop {
		r.s.clean = clean
		r.s.emit(Event{Kind: Stopped, Clean: clean})
		c.reply <- nil
		return true
	}
	r.b.reset()
	c.reply <- r.start()
	return false
}

// start starts the process, or schedules the next try if that fails.
func (r *runner) start() error {
	p, err := Start(r.s.spec, r.s.sink)
	if err != nil {
		r.s.emit(Event{Kind: StartFailed, Err: err})
		r.wait(r.b.after(0))
		return err
	}
	r.p = p
	r.s.started(p)
	return nil
}

// wait schedules a restart after d.
func (r *runner) wait(d time.Duration) {
	r.s.emit(Event{Kind: Restarting, Delay: d})
	r.timer = time.NewTimer(d)
}

package supervise

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// logDrain is how long a process's logs may still be read once its whole
// group has been killed: only a process that left the group can hold its
// output open that long, and it is not waited for.
const logDrain = 2 * time.Second

// Process is one started process and its process group. It is safe for
// concurrent use.
type Process struct {
	spec  Spec
	cmd   *exec.Cmd
	start time.Time
	pipes [2]*os.File // read ends of stdout and stderr

	exited   chan struct{} // closed when the group leader has been reaped
	eof      chan struct{} // one send per stream read to its end
	stopReq  chan struct{} // closed by the first Stop
	stopOnce sync.Once
	stopCtx  context.Context // set before stopReq is closed
	done     chan struct{}   // closed when exit is set and all is over

	state  *os.ProcessState // set before exited is closed
	exitAt time.Time        // set before exited is closed
	killed atomic.Bool
	exit   Exit // set before done is closed
}

// Start starts spec in its own process group, its stdout and stderr read
// line by line into sink, and stdin reading nothing. An error means nothing
// was started; it says why (see Check).
func Start(spec Spec, sink Sink) (*Process, error) {
	path, err := resolve(spec)
	if err != nil {
		return nil, err
	}
	p := &Process{
		spec:    spec,
		exited:  make(chan struct{}),
		eof:     make(chan struct{}, 2),
		stopReq: make(chan struct{}),
		done:    make(chan struct{}),
	}
	writers, err := p.openPipes()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p.cmd = &exec.Cmd{
		Path:        path,
		Args:        append([]string{spec.Path}, spec.Args...),
		Env:         spec.Env,
		Dir:         spec.Dir,
		Stdout:      writers[0],
		Stderr:      writers[1],
		SysProcAttr: sysProcAttr(),
	}
	err = p.cmd.Start()
	closeAll(writers[:]) // the child has its copies; EOF comes when it and its children are gone
	if err != nil {
		closeAll(p.pipes[:])
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p.start = time.Now()
	go p.read(lineReader{spec.Name, Stdout, sink}, p.pipes[0])
	go p.read(lineReader{spec.Name, Stderr, sink}, p.pipes[1])
	go p.reap()
	go p.watch()
	return p, nil
}

// openPipes makes the stdout and stderr pipes, keeping the read ends and
// returning the write ends.
func (p *Process) openPipes() (w [2]*os.File, err error) {
	for i := range w {
		p.pipes[i], w[i], err = os.Pipe()
		if err != nil {
			closeAll(p.pipes[:i])
			closeAll(w[:i])
			return w, fmt.Errorf("make output pipe: %w", err)
		}
	}
	return w, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// Name returns the Spec.Name of the process.
func (p *Process) Name() string { return p.spec.Name }

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done returns a channel closed when the process and its group have ended
// and its last lines have gone to the sink.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits until Done and returns how the process ended.
func (p *Process) Wait() Exit {
	<-p.done
	return p.exit
}

// Stop stops the process and its group: SIGTERM, then SIGKILL once
// Spec.StopTimeout has passed or ctx is done, whichever comes first. It
// returns how the process ended, at once if it had already; Exit.Clean
// says whether the stop was clean.
func (p *Process) Stop(ctx context.Context) Exit {
	p.stopOnce.Do(func() {
		p.stopCtx = ctx
		close(p.stopReq)
	})
	return p.Wait()
}

// read reads one stream to its end.
func (p *Process) read(lr lineReader, r *os.File) {
	lr.run(r)
	p.eof <- struct{}{}
}

// reap waits for the group leader to exit.
func (p *Process) reap() {
	p.cmd.Wait() // its error only restates the state
	p.state = p.cmd.ProcessState
	p.exitAt = time.Now()
	close(p.exited)
}

// watch ends the group once its leader has ended or a stop is asked, and
// then records the exit.
func (p *Process) watch() {
	stopped := false
	var kill <-chan struct{} // done when SIGKILL is due before the timeout
	select {
	case <-p.exited:
	case <-p.stopReq:
		stopped = true
		kill = p.stopCtx.Done()
	}
	streams := p.endGroup(kill)
	p.drainLogs(streams)
	e := exitOf(p.state)
	e.Ran = p.exitAt.Sub(p.start)
	e.Stopped = stopped
	e.Killed = p.killed.Load()
	p.exit = e
	close(p.done)
}

// endGroup sends SIGTERM to the group and waits until the leader has
// exited and both streams have ended, sending SIGKILL if that takes longer
// than StopTimeout or kill is done. The leader's own exit also brings here
// what it left behind. It returns how many streams have ended.
func (p *Process) endGroup(kill <-chan struct{}) (streams int) {
	proc := p.cmd.Process
	signalGroup(proc, syscall.SIGTERM)
	t := time.NewTimer(p.spec.stopTimeout())
	defer t.Stop()
	exited := p.exited
	for exited != nil || streams < 2 {
		select {
		case <-exited:
			exited = nil
		case <-p.eof:
			streams++
		case <-t.C:
			p.sigkill()
			return streams
		case <-kill:
			p.sigkill()
			return streams
		}
	}
	// What is left of the group holds no output: it does not outlive the
	// leader either.
	signalGroup(proc, syscall.SIGKILL)
	return streams
}

// drainLogs waits for the streams not yet ended, closing them if the
// group's end has not ended them within logDrain.
func (p *Process) drainLogs(streams int) {
	defer closeAll(p.pipes[:])
	t := time.NewTimer(logDrain)
	defer t.Stop()
	for ; streams < 2; streams++ {
		select {
		case <-p.eof:
		case <-t.C:
			closeAll(p.pipes[:]) // ends the reads
			for ; streams < 2; streams++ {
				<-p.eof
			}
			return
		}
	}
}

func (p *Process) sigkill() {
	p.killed.Store(true)
	signalGroup(p.cmd.Process, syscall.SIGKILL)
	<-p.exited
}

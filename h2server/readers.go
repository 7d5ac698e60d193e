package h2server

import "time"

// readers runs connections' frame readers on goroutines that have served
// requests before. A reader that reads a request's HEADERS runs its
// handler itself and needs another goroutine to read on; a goroutine that
// has run a handler has the stack a handler needs, while a new one starts
// small and grows by copying its stack several times on the way into the
// handler (4.5% of a called sidecar's CPU in a profile, when every request
// started a goroutine). So a goroutine whose reader finishes waits a while
// for the next reader to run.
type readers struct {
	work chan *conn
	quit chan struct{}
}

// readerIdle is how long a goroutine waits for another reader to run
// before it exits.
const readerIdle = 10 * time.Second

func newReaders() *readers {
	return &readers{work: make(chan *conn), quit: make(chan struct{})}
}

// start runs c's next reader on a waiting goroutine, or a new one.
func (r *readers) start(c *conn) {
	select {
	case r.work <- c:
	default:
		go r.run(c)
	}
}

// run reads c, then each connection start hands it, until it has waited
// readerIdle for one or the server stops.
func (r *readers) run(c *conn) {
	idle := time.NewTimer(readerIdle)
	defer idle.Stop()
	for {
		c.readLoop()
		idle.Reset(readerIdle)
		select {
		case c = <-r.work:
		case <-idle.C:
			return
		case <-r.quit:
			return
		}
	}
}

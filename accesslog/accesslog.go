// Package accesslog writes one JSON line per request. Lines are built by
// appending to a pooled buffer (no reflection, no fmt) and handed to a
// writer goroutine through an in-memory buffer, so logging costs the
// request path one short lock and never a system call: a slow or stuck log
// destination cannot stall requests. When the destination falls so far
// behind that MaxPending bytes wait, new lines are dropped and counted.
package accesslog

import (
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/proxy"
)

// FlushInterval is the longest a line waits before it is written.
const FlushInterval = 200 * time.Millisecond

// MaxPending bounds the bytes of lines waiting to be written; beyond it,
// lines are dropped (and counted) rather than stalling requests.
const MaxPending = 4 << 20

// writeSoon is how much waiting output wakes the writer before the next
// FlushInterval tick.
const writeSoon = 64 << 10

// Logger writes access log lines. It is safe for concurrent use.
type Logger struct {
	sample float64
	w      io.Writer
	closer io.Closer

	// mu guards pending and closed; it is held only to append a line or
	// to swap buffers, never while writing.
	mu      sync.Mutex
	pending []byte
	closed  bool

	dropped atomic.Uint64
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	err     error
}

// New returns a logger writing to w. sample is the share (0 to 1) of
// successful requests logged; refused and failed requests are always logged.
// closer, if not nil, is closed by Close.
func New(w io.Writer, closer io.Closer, sample float64) *Logger {
	l := &Logger{sample: sample, w: w, closer: closer, pending: make([]byte, 0, writeSoon),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.writer()
	return l
}

// writer writes what is pending every FlushInterval, sooner when much is
// waiting, and once more when the logger closes.
func (l *Logger) writer() {
	defer close(l.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	spare := make([]byte, 0, writeSoon)
	for {
		select {
		case <-t.C:
		case <-l.wake:
		case <-l.stop:
			l.writeOut(spare)
			return
		}
		spare = l.writeOut(spare)
	}
}

// writeOut swaps in an empty buffer and writes what was pending. It
// returns the written buffer, emptied, for the next swap.
func (l *Logger) writeOut(spare []byte) []byte {
	l.mu.Lock()
	out := l.pending
	l.pending = spare[:0]
	l.mu.Unlock()
	if len(out) > 0 {
		if _, err := l.w.Write(out); err != nil && l.err == nil {
			l.err = err
		}
	}
	if cap(out) > MaxPending {
		// Do not keep a burst's worth of memory for ever.
		return make([]byte, 0, writeSoon)
	}
	return out[:0]
}

// Dropped is how many lines were dropped because the destination fell
// behind (or came after Close).
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Close writes what is pending, stops the writer and closes the closer. It
// returns the first write or close error. Calling it again does nothing.
func (l *Logger) Close() error {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		if l.closer != nil {
			if err := l.closer.Close(); l.err == nil {
				l.err = err
			}
		}
	})
	return l.err
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Observe logs one request. It implements proxy.Observer.
func (l *Logger) Observe(r *proxy.Record) {
	failed := r.Err != nil || r.Status >= 400 || r.Status == 0
	if !failed && l.sample < 1 && (l.sample <= 0 || rand.Float64() >= l.sample) {
		return
	}
	bp := bufs.Get().(*[]byte)
	b := AppendRecord((*bp)[:0], r)
	l.mu.Lock()
	if l.closed || len(l.pending)+len(b) > MaxPending {
		l.mu.Unlock()
		l.dropped.Add(1)
	} else {
		l.pending = append(l.pending, b...)
		soon := len(l.pending) >= writeSoon
		l.mu.Unlock()
		if soon {
			select {
			case l.wake <- struct{}{}:
			default:
			}
		}
	}
	*bp = b
	bufs.Put(bp)
}

// AppendRecord appends the JSON line of a record.
func AppendRecord(b []byte, r *proxy.Record) []byte {
	b = append(b, `{"time":"`...)
	b = r.Start.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","request_id":`...)
	b = flow.AppendJSONString(b, r.RequestID)
	b = append(b, `,"listener":`...)
	b = flow.AppendJSONString(b, r.Listener)
	if r.Route != nil {
		b = append(b, `,"route":`...)
		b = flow.AppendJSONString(b, r.Route.Name)
	}
	if r.Service != nil {
		b = append(b, `,"service":`...)
		b = flow.AppendJSONString(b, r.Service.Name)
	}
	if r.Endpoint != "" {
		b = append(b, `,"endpoint":`...)
		b = flow.AppendJSONString(b, r.Endpoint)
	}
	b = append(b, `,"method":`...)
	b = flow.AppendJSONString(b, r.Method)
	b = append(b, `,"host":`...)
	b = flow.AppendJSONString(b, r.Host)
	b = append(b, `,"path":`...)
	b = flow.AppendJSONString(b, r.Path)
	b = append(b, `,"proto":`...)
	b = flow.AppendJSONString(b, r.Proto)
	b = append(b, `,"remote":"`...)
	b = r.Remote.AppendTo(b)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"bytes_in":`...)
	b = strconv.AppendInt(b, r.BytesIn, 10)
	b = append(b, `,"bytes_out":`...)
	b = strconv.AppendInt(b, r.BytesOut, 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(r.Duration)/1e6, 'f', 3, 64)
	b = append(b, `,"retries":`...)
	b = strconv.AppendInt(b, int64(r.Retries), 10)
	if r.Consumer != "" {
		b = append(b, `,"consumer":`...)
		b = flow.AppendJSONString(b, r.Consumer)
	}
	if r.Err != nil {
		b = append(b, `,"error_code":`...)
		b = flow.AppendJSONString(b, string(r.Err.Code))
		b = append(b, `,"error":`...)
		b = flow.AppendJSONString(b, r.Err.Error())
	}
	return append(b, "}\n"...)
}

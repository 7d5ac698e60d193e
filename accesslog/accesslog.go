// Package accesslog writes one JSON line per request. Lines are built by
// appending to a pooled buffer (no reflection, no fmt) and written through a
// buffered writer flushed at least every FlushInterval, so logging costs the
// request path one short lock and no system call.
package accesslog

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/proxy"
)

// FlushInterval is the longest a line waits in the buffer.
const FlushInterval = 200 * time.Millisecond

// Logger writes access log lines. It is safe for concurrent use.
type Logger struct {
	sample float64

	mu      sync.Mutex
	w       *bufio.Writer
	closer  io.Closer
	pending bool
	stop    chan struct{}
	done    chan struct{}
}

// New returns a logger writing to w. sample is the share (0 to 1) of
// successful requests logged; refused and failed requests are always logged.
// closer, if not nil, is closed by Close.
func New(w io.Writer, closer io.Closer, sample float64) *Logger {
	l := &Logger{sample: sample, w: bufio.NewWriterSize(w, 64<<10), closer: closer,
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.flusher()
	return l
}

func (l *Logger) flusher() {
	defer close(l.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.mu.Lock()
			if l.pending {
				l.w.Flush()
				l.pending = false
			}
			l.mu.Unlock()
		case <-l.stop:
			return
		}
	}
}

// Close flushes what is buffered and stops the flusher.
func (l *Logger) Close() error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.w.Flush()
	if l.closer != nil {
		if cerr := l.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
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
	l.w.Write(b)
	l.pending = true
	l.mu.Unlock()
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
	if r.Err != nil {
		b = append(b, `,"error_code":`...)
		b = flow.AppendJSONString(b, string(r.Err.Code))
		b = append(b, `,"error":`...)
		b = flow.AppendJSONString(b, r.Err.Error())
	}
	return append(b, "}\n"...)
}

package h2server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pylon-mesh/pylon/internal/h2fields"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// responseWriter is a stream's http.ResponseWriter. Its HEADERS frame is
// written with the first body bytes, on Flush, or when the handler
// returns, so a response without a body (a gRPC trailers-only answer) is
// one HEADERS frame that ends the stream.
type responseWriter struct {
	st     *stream
	header http.Header
	// status is 0 until WriteHeader; fields are the header fields it
	// snapshotted, trailers the names the handler declared in Trailer.
	status   int
	fields   []hpack.HeaderField
	trailers []string
	// fieldsBuf backs fields for a response of a few header fields, which
	// most are, so that snapshotting them allocates nothing.
	fieldsBuf [8]hpack.HeaderField
	// declared is the handler's Content-Length (-1: none), written the
	// body bytes so far.
	declared, written int64
	noBody            bool
	// sentHeader is guarded by the connection's wmu: writeContinue reads
	// it from another goroutine. ended: the response was ended.
	sentHeader bool
	ended      bool
	// finished: finish has run (EndStream or the handler's return); only
	// the handler's goroutine touches it.
	finished bool
}

// errStreamEnded is what writes return after the response has ended.
var errStreamEnded = errors.New("h2server: write after the response ended")

func hf(name, value string) hpack.HeaderField { return hpack.HeaderField{Name: name, Value: value} }

// Header returns the response header, to be set before WriteHeader.
func (w *responseWriter) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

// WriteHeader records the status and takes a snapshot of the header;
// an informational status (1xx) is sent at once.
func (w *responseWriter) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.status != 0 {
		return
	}
	if code < 200 {
		if code != http.StatusSwitchingProtocols {
			w.writeInformational(code)
		}
		return
	}
	w.status = code
	w.declared = -1
	w.noBody = w.st.req.Method == http.MethodHead || code == http.StatusNoContent || code == http.StatusNotModified
	if w.fields == nil {
		w.fields = w.fieldsBuf[:0]
	}
	w.fields = appendFields(w.fields[:0], w.header)
	if _, ok := w.header["Date"]; !ok {
		w.fields = append(w.fields, hf("date", httpDate()))
	}
	if v := w.header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			w.declared = n
		}
	}
	for _, v := range w.header["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			if k = http.CanonicalHeaderKey(strings.TrimSpace(k)); k != "" {
				w.trailers = append(w.trailers, k)
			}
		}
	}
}

// appendFields appends h's fields as HTTP/2 sends them: lower-case names,
// without the fields HTTP/2 forbids, values that could not be sent
// dropped.
func appendFields(dst []hpack.HeaderField, h http.Header) []hpack.HeaderField {
	for k, vv := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := h2fields.Lower(k)
		if h2fields.ConnectionSpecific(name) || !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				dst = append(dst, h2fields.Field(name, v))
			}
		}
	}
	return dst
}

// Write sends body bytes as DATA frames, as the client's flow-control
// windows allow. They reach the connection's buffer at once and the
// network on Flush, when the buffer fills or when the handler returns.
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.ended {
		return 0, errStreamEnded
	}
	if w.noBody {
		if w.st.req.Method == http.MethodHead {
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	st, c := w.st, w.st.c
	done := 0
	for done < len(p) {
		n, err := st.reserve(len(p) - done)
		if err != nil {
			return done, err
		}
		c.wmu.Lock()
		w.sendHeaderLocked(false)
		c.fr.WriteData(st.id, false, p[done:done+n])
		err = c.werr
		c.wmu.Unlock()
		if err != nil {
			return done, err
		}
		done += n
		w.written += int64(n)
	}
	return done, nil
}

// WriteString is Write for a string.
func (w *responseWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

// reserve waits until the stream and the connection may carry at least
// one byte more, and takes up to n bytes (at most one frame) of both
// windows.
func (st *stream) reserve(n int) (int, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	flushed := false
	for {
		if st.reset {
			st.disarmWindowTimerLocked()
			return 0, st.err
		}
		if c.closed {
			st.disarmWindowTimerLocked()
			return 0, c.closeErr
		}
		if st.windowTimedOut {
			st.disarmWindowTimerLocked()
			c.mu.Unlock()
			c.resetStream(st.id, http2.ErrCodeCancel)
			c.mu.Lock()
			return 0, errWindowTimeout
		}
		avail := min(st.sendWindow, c.sendWindow, int64(c.peerMaxFrame), int64(n))
		if avail > 0 {
			st.disarmWindowTimerLocked()
			st.sendWindow -= avail
			c.sendWindow -= avail
			return int(avail), nil
		}
		if !flushed {
			// The client may be waiting for what is buffered before it
			// gives more window: send it before waiting.
			c.mu.Unlock()
			c.wmu.Lock()
			c.flushLocked()
			c.wmu.Unlock()
			c.mu.Lock()
			flushed = true
			continue
		}
		if d := time.Duration(c.srv.writeTimeout.Load()); st.windowTimer == nil && d > 0 {
			st.armWindowTimerLocked(d)
		}
		st.cond.Wait()
	}
}

// armWindowTimerLocked makes a wait for window that lasts d end with
// windowTimedOut set. The caller holds c.mu.
func (st *stream) armWindowTimerLocked(d time.Duration) {
	gen := st.windowGen
	st.windowTimer = time.AfterFunc(d, func() {
		st.c.mu.Lock()
		if st.windowGen == gen {
			st.windowTimedOut = true
			st.cond.Broadcast()
		}
		st.c.mu.Unlock()
	})
}

// disarmWindowTimerLocked ends a wait for window: a timer that fires
// later changes nothing. The caller holds c.mu.
func (st *stream) disarmWindowTimerLocked() {
	if st.windowTimer != nil {
		st.windowTimer.Stop()
		st.windowTimer = nil
		st.windowGen++
	}
	st.windowTimedOut = false
}

// errWindowTimeout fails a write that waited WriteTimeout for window.
var errWindowTimeout = fmt.Errorf("h2server: the client gave no flow-control window within the write timeout: %w", os.ErrDeadlineExceeded)

// sendHeaderLocked writes the HEADERS frame once. The caller holds wmu.
func (w *responseWriter) sendHeaderLocked(end bool) {
	if w.sentHeader {
		return
	}
	w.sentHeader = true
	c := w.st.c
	c.hbuf.Reset()
	c.henc.WriteField(hf(":status", statusText(w.status)))
	for _, f := range w.fields {
		c.henc.WriteField(f)
	}
	c.writeHeaderBlockLocked(w.st.id, end, c.hbuf.Bytes())
}

// writeHeaderBlockLocked writes a header block in the frames the client's
// frame size needs. The caller holds wmu.
func (c *conn) writeHeaderBlockLocked(id uint32, end bool, block []byte) {
	h2fields.WriteHeaderBlock(c.fr, id, end, block, int(c.peerMaxFrameAtomic.Load()))
}

// writeInformational sends a 1xx response with the header set so far.
func (w *responseWriter) writeInformational(code int) {
	c := w.st.c
	fields := appendFields(nil, w.header)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if w.sentHeader {
		return
	}
	c.hbuf.Reset()
	c.henc.WriteField(hf(":status", statusText(code)))
	for _, f := range fields {
		c.henc.WriteField(f)
	}
	c.writeHeaderBlockLocked(w.st.id, false, c.hbuf.Bytes())
	c.flushLocked()
}

// writeContinue answers Expect: 100-continue when the handler starts
// reading the body, unless the response has begun. It may run on another
// goroutine than the handler (a transport reading the body).
func (c *conn) writeContinue(st *stream) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if st.w.sentHeader {
		return
	}
	c.hbuf.Reset()
	c.henc.WriteField(hf(":status", "100"))
	c.writeHeaderBlockLocked(st.id, false, c.hbuf.Bytes())
	c.flushLocked()
}

// FlushError sends the header, if not yet sent, and everything written so
// far to the client.
func (w *responseWriter) FlushError() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	c := w.st.c
	c.mu.Lock()
	reset, err := w.st.reset, w.st.err
	c.mu.Unlock()
	if reset {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !w.ended {
		w.sendHeaderLocked(false)
	}
	return c.flushLocked()
}

// Flush is FlushError for callers of http.Flusher.
func (w *responseWriter) Flush() { w.FlushError() }

// SetReadDeadline makes body reads fail with os.ErrDeadlineExceeded from
// t on (zero: no deadline).
func (w *responseWriter) SetReadDeadline(t time.Time) error {
	st := w.st
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	st.readGen++
	st.readTimedOut = false
	if st.readTimer != nil {
		st.readTimer.Stop()
	}
	if t.IsZero() {
		return nil
	}
	d := time.Until(t)
	if d <= 0 {
		st.readTimedOut = true
		st.cond.Broadcast()
		return nil
	}
	gen := st.readGen
	st.readTimer = time.AfterFunc(d, func() {
		st.c.mu.Lock()
		defer st.c.mu.Unlock()
		if st.readGen == gen {
			st.readTimedOut = true
			st.cond.Broadcast()
		}
	})
	return nil
}

// SetWriteDeadline resets the stream at t (zero: no deadline), which ends
// a write blocked on flow control. A deadline that has passed resets the
// stream before SetWriteDeadline returns, so a handler can end its stream
// with an error rather than a clean end by setting one and returning.
func (w *responseWriter) SetWriteDeadline(t time.Time) error {
	st := w.st
	st.c.mu.Lock()
	st.writeGen++
	if st.writeTimer != nil {
		st.writeTimer.Stop()
	}
	if t.IsZero() {
		st.c.mu.Unlock()
		return nil
	}
	d := time.Until(t)
	if d <= 0 {
		reset := !st.reset
		st.c.mu.Unlock()
		if reset {
			st.c.resetStream(st.id, http2.ErrCodeCancel)
		}
		return nil
	}
	defer st.c.mu.Unlock()
	gen := st.writeGen
	st.writeTimer = time.AfterFunc(d, func() {
		st.c.mu.Lock()
		expired := st.writeGen == gen && !st.reset
		st.c.mu.Unlock()
		if expired {
			st.c.resetStream(st.id, http2.ErrCodeCancel)
		}
	})
	return nil
}

// finish ends the response, on EndStream or once the handler returned:
// the header if not sent, then the trailers or an empty DATA frame with
// END_STREAM. A body shorter than its Content-Length resets the stream
// instead, so that it cannot look complete. A client still sending is
// told to stop.
func (w *responseWriter) finish() {
	w.finished = true
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	st, c := w.st, w.st.c
	if w.declared >= 0 && w.written != w.declared && !w.noBody {
		c.resetStream(st.id, http2.ErrCodeInternal)
		return
	}
	trailers := w.trailerFields()
	c.mu.Lock()
	reset, stillSending := st.reset, !st.remoteClosed
	if stillSending && !reset {
		c.noteResetLocked(st.id)
	}
	c.mu.Unlock()
	if reset {
		return
	}
	c.wmu.Lock()
	w.ended = true
	switch {
	case !w.sentHeader && len(trailers) == 0:
		w.sendHeaderLocked(true)
	case len(trailers) > 0:
		w.sendHeaderLocked(false)
		c.hbuf.Reset()
		for _, f := range trailers {
			c.henc.WriteField(f)
		}
		c.writeHeaderBlockLocked(st.id, true, c.hbuf.Bytes())
	default:
		c.fr.WriteData(st.id, true, nil)
	}
	if stillSending {
		// RFC 9113 8.1: the response is complete; the rest of the
		// request is not needed.
		c.fr.WriteRSTStream(st.id, http2.ErrCodeNo)
	}
	c.flushLocked()
	c.wmu.Unlock()
}

// trailerFields collects the trailers the handler set: the names declared
// in its Trailer header, and keys with http.TrailerPrefix.
func (w *responseWriter) trailerFields() []hpack.HeaderField {
	var out []hpack.HeaderField
	add := func(k string, vv []string) {
		name := h2fields.Lower(k)
		if h2fields.ConnectionSpecific(name) || !httpguts.ValidHeaderFieldName(name) {
			return
		}
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				out = append(out, hf(name, v))
			}
		}
	}
	for _, k := range w.trailers {
		add(k, w.header[k])
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			add(name, vv)
		}
	}
	return out
}

// EndStream sends what is left of the response at once, as the
// handler's return would: the buffered body, the trailers set so far
// and the end of the stream. A handler that has written its whole
// response may call it (through an interface assertion on its
// http.ResponseWriter) before work of its own, such as logging, which
// the client then does not wait for; writes after it fail.
func (w *responseWriter) EndStream() {
	if !w.finished {
		w.finish()
	}
}

// EnableFullDuplex is a no-op: an HTTP/2 handler may always read the
// request body while it writes the response.
func (w *responseWriter) EnableFullDuplex() error { return nil }

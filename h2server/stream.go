package h2server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/internal/h2fields"
	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// stream is one request and its response.
type stream struct {
	c      *conn
	id     uint32
	ctx    context.Context
	cancel context.CancelFunc
	req    *http.Request
	w      responseWriter
	// handler is Config.Handler, or Config.TooLarge for a request whose
	// header block was over the limit.
	handler http.Handler

	// Guarded by c.mu:
	cond sync.Cond
	// buf[off:] holds request body bytes the handler has not read; eof is
	// set once the client ended the stream and err when the body failed.
	buf []byte
	off int
	eof bool
	err error
	// remoteClosed: the client sends nothing more (END_STREAM or reset);
	// reset: the stream was reset, by either side; resetSent: by the
	// server.
	remoteClosed bool
	reset        bool
	resetSent    bool
	bodyClosed   bool
	// declared is the request's content-length (-1: none), received the
	// body bytes so far.
	declared, received int64
	// recvWindow is what the client may still send on the stream;
	// recvUnacked what was consumed and not yet given back.
	recvWindow, recvUnacked int64
	// sendWindow is what the server may still send.
	sendWindow int64
	// wantContinue: the client sent Expect: 100-continue and has not been
	// answered yet.
	wantContinue bool
	// readTimedOut is set while the read deadline has passed. A timer
	// acts only if its generation is still current.
	readTimedOut      bool
	readTimer         *time.Timer
	writeTimer        *time.Timer
	readGen, writeGen uint64
	// windowTimer ends a write's wait for flow-control window after the
	// server's WriteTimeout by setting windowTimedOut; windowGen tells a
	// timer that fires after the wait ended that it is stale.
	windowTimer    *time.Timer
	windowGen      uint64
	windowTimedOut bool
}

// onHeaders opens a stream for a new request, or takes a request's
// trailers. It returns the stream to serve, if any.
func (c *conn) onHeaders(f *http2.MetaHeadersFrame) (*stream, error) {
	id := f.StreamID
	if id%2 == 0 {
		return nil, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		defer c.mu.Unlock()
		return nil, st.trailersLocked(f)
	}
	if id <= c.maxStreamID {
		reset := c.wasResetLocked(id)
		c.mu.Unlock()
		if reset {
			// Trailers the client sent before it saw the server's reset.
			return nil, nil
		}
		return nil, http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.maxStreamID = id
	if f.HasPriority() && f.Priority.StreamDep == id {
		c.mu.Unlock()
		return nil, http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	switch {
	case c.goingAway || c.closed:
		c.mu.Unlock()
		return nil, http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	case uint32(len(c.streams)) >= c.srv.cfg.MaxConcurrentStreams:
		c.mu.Unlock()
		return nil, http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	}
	c.mu.Unlock()
	if f.Truncated && c.srv.cfg.TooLarge == nil {
		c.writeTooLarge(id, f.StreamEnded())
		return nil, nil
	}
	st := &stream{c: c, id: id, declared: -1}
	st.cond.L = &c.mu
	var req *http.Request
	if f.Truncated {
		req = st.tooLargeRequest(f)
		st.handler = c.srv.cfg.TooLarge
	} else {
		var err error
		if req, err = st.newRequest(f); err != nil {
			return nil, err
		}
		st.handler = c.srv.cfg.Handler
	}
	st.req = req
	st.w.st = st
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, nil
	}
	st.recvWindow = int64(c.srv.cfg.MaxReceiveBufferPerStream)
	st.sendWindow = c.peerInitialWindow
	st.remoteClosed = f.StreamEnded()
	c.streams[id] = st
	if c.idle != nil {
		c.idle.Stop()
	}
	c.mu.Unlock()
	return st, nil
}

// writeTooLarge answers a request whose header block was over the limit.
func (c *conn) writeTooLarge(id uint32, ended bool) {
	if !ended {
		c.mu.Lock()
		c.noteResetLocked(id)
		c.mu.Unlock()
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.hbuf.Reset()
	c.henc.WriteField(hf(":status", "431"))
	c.writeHeaderBlockLocked(id, true, c.hbuf.Bytes())
	if !ended {
		c.fr.WriteRSTStream(id, http2.ErrCodeNo)
	}
	c.flushLocked()
}

// newRequest builds the handler's request from a request header block,
// refusing a malformed one (RFC 9113 8.1.1) with a stream error.
func (st *stream) newRequest(f *http2.MetaHeadersFrame) (*http.Request, error) {
	malformed := http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	var method, scheme, authority, path string
	var sawPath bool
	for _, p := range f.PseudoFields() {
		switch p.Name {
		case ":method":
			method = p.Value
		case ":scheme":
			scheme = p.Value
		case ":authority":
			authority = p.Value
		case ":path":
			path, sawPath = p.Value, true
		default: // :protocol (extended CONNECT) is not supported
			return nil, malformed
		}
	}
	connect := method == http.MethodConnect
	switch {
	case method == "":
		return nil, malformed
	case connect && (scheme != "" || sawPath || authority == ""):
		return nil, malformed
	case !connect && (scheme == "" || path == ""):
		return nil, malformed
	}
	regular := f.RegularFields()
	var cookies []string
	for _, h := range regular {
		if h2fields.ConnectionSpecific(h.Name) || h.Name == "te" && h.Value != "trailers" {
			return nil, malformed
		}
		if h.Name == "cookie" {
			cookies = append(cookies, h.Value)
		}
	}
	var header http.Header
	if len(cookies) > 0 {
		header = h2fields.Header(regular, func(h hpack.HeaderField) bool { return h.Name == "cookie" })
		// RFC 9113 8.2.3: crumbs are joined back into one field.
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	} else {
		header = h2fields.Header(regular, nil)
	}
	if authority == "" {
		authority = header.Get("Host")
	}
	var cl int64 = -1
	if vv := header["Content-Length"]; len(vv) > 0 {
		for _, v := range vv {
			n, err := strconv.ParseUint(v, 10, 63)
			if err != nil || cl >= 0 && int64(n) != cl {
				return nil, malformed
			}
			cl = int64(n)
		}
	}
	ended := f.StreamEnded()
	if ended && cl > 0 {
		return nil, malformed
	}
	st.declared = cl
	var u *url.URL
	requestURI := path
	if connect {
		u = &url.URL{Host: authority}
		requestURI = authority
	} else if path == "*" && method == http.MethodOptions {
		u = &url.URL{Path: "*"}
	} else {
		var err error
		if u, err = url.ParseRequestURI(path); err != nil {
			if path[0] != '/' {
				return nil, malformed // RFC 9113 8.3.1
			}
			// A well-formed HTTP/2 request whose path holds a bad
			// percent-encoding: the handler's to refuse with a status,
			// as it would over HTTP/1.1. URL.Path is the path as sent.
			u = &url.URL{Path: path}
		}
	}
	r := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     header,
		Host:       authority,
		RemoteAddr: st.c.remoteAddr,
		RequestURI: requestURI,
		TLS:        st.c.tlsState,
	}
	if vv := header["Trailer"]; len(vv) > 0 {
		r.Trailer = http.Header{}
		for _, v := range vv {
			for _, k := range strings.Split(v, ",") {
				k = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(k))
				if k != "" && httpguts.ValidTrailerHeader(k) {
					r.Trailer[k] = nil
				}
			}
		}
	}
	switch {
	case ended:
		r.Body = http.NoBody
	case cl >= 0:
		r.ContentLength = cl
		r.Body = &requestBody{st: st}
	default:
		r.ContentLength = -1
		r.Body = &requestBody{st: st}
	}
	if !ended && strings.EqualFold(header.Get("Expect"), "100-continue") {
		st.wantContinue = true
	}
	st.ctx, st.cancel = context.WithCancel(st.c.ctx)
	return r.WithContext(st.ctx), nil
}

// tooLargeRequest is the request, for Config.TooLarge, whose header
// block went over the limit: what was decoded of it, unchecked.
func (st *stream) tooLargeRequest(f *http2.MetaHeadersFrame) *http.Request {
	r := &http.Request{
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h2fields.Header(f.RegularFields(), nil),
		RemoteAddr: st.c.remoteAddr,
		TLS:        st.c.tlsState,
		Body:       http.NoBody,
	}
	for _, p := range f.PseudoFields() {
		switch p.Name {
		case ":method":
			r.Method = p.Value
		case ":authority":
			r.Host = p.Value
		case ":path":
			r.RequestURI = p.Value
		}
	}
	r.URL = &url.URL{Path: r.RequestURI}
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		r.URL = u
	}
	if !f.StreamEnded() {
		r.ContentLength = -1
		r.Body = &requestBody{st: st}
	}
	st.ctx, st.cancel = context.WithCancel(st.c.ctx)
	return r.WithContext(st.ctx)
}

// trailersLocked takes the trailer section that ends a request body.
func (st *stream) trailersLocked(f *http2.MetaHeadersFrame) error {
	switch {
	case st.resetSent:
		// Sent before the client saw the server's reset: ignored (RFC
		// 9113 5.4.2); the block was decoded, so HPACK stays in step.
		return nil
	case st.remoteClosed:
		// The client already ended the stream (RFC 9113 5.1).
		return http2.ConnectionError(http2.ErrCodeStreamClosed)
	}
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
		st.abortLocked(errors.New("h2server: malformed request trailers"), true)
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if st.req.Trailer == nil {
		st.req.Trailer = http.Header{}
	}
	for _, h := range f.RegularFields() {
		k := textproto.CanonicalMIMEHeaderKey(h.Name)
		st.req.Trailer[k] = append(st.req.Trailer[k], h.Value)
	}
	return st.receiveLocked(nil, true)
}

// receiveLocked adds request body bytes, and ends the body when end is
// set.
func (st *stream) receiveLocked(data []byte, end bool) error {
	st.received += int64(len(data))
	if st.declared >= 0 && (st.received > st.declared || end && st.received != st.declared) {
		st.abortLocked(errors.New("h2server: request body does not match its content-length"), true)
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	if st.bodyClosed {
		// Nobody reads: the bytes are consumed at once.
		st.c.recvUnacked += int64(len(data))
		st.recvUnacked += int64(len(data))
	} else if len(data) > 0 {
		if st.off > 0 && st.off >= len(st.buf)/2 {
			st.buf = st.buf[:copy(st.buf, st.buf[st.off:])]
			st.off = 0
		}
		st.buf = append(st.buf, data...)
	}
	if end {
		st.remoteClosed = true
		st.eof = true
	}
	st.cond.Broadcast()
	return nil
}

// abortLocked ends the stream with err: body reads and response writes
// fail from now on. sent tells that the server resets the stream (the
// caller sends RST_STREAM); otherwise the client did, or the connection
// is gone.
func (st *stream) abortLocked(err error, sent bool) {
	if st.reset {
		return
	}
	st.reset = true
	st.resetSent = sent
	st.remoteClosed = true
	if st.err == nil {
		st.err = err
	}
	st.cond.Broadcast()
	if st.cancel != nil {
		st.cancel()
	}
}

// run serves the stream on the calling goroutine and ends it.
func (st *stream) run() {
	defer st.c.streamDone(st)
	defer st.cancel()
	defer st.stopTimers()
	if st.serve() && !st.w.finished {
		st.w.finish()
	}
}

// serve runs the handler, reporting whether it returned normally; a
// panic resets the stream.
func (st *stream) serve() (ok bool) {
	defer func() {
		if ok {
			return
		}
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			buf := make([]byte, 16<<10)
			buf = buf[:runtime.Stack(buf, false)]
			st.c.srv.cfg.Logger.Error("http2 handler panic", "remote", st.c.remoteAddr, "panic", fmt.Sprint(p), "stack", string(buf))
		}
		st.c.resetStream(st.id, http2.ErrCodeInternal)
	}()
	st.handler.ServeHTTP(&st.w, st.req)
	return true
}

func (st *stream) stopTimers() {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	if st.readTimer != nil {
		st.readTimer.Stop()
	}
	if st.writeTimer != nil {
		st.writeTimer.Stop()
	}
}

// requestBody is a request's body as the handler reads it.
type requestBody struct {
	st *stream
}

// Read reads body bytes as they arrive, giving flow-control window back
// to the client as they are consumed.
func (b *requestBody) Read(p []byte) (int, error) {
	st := b.st
	c := st.c
	c.mu.Lock()
	if st.wantContinue {
		st.wantContinue = false
		if st.off == len(st.buf) && !st.eof && !st.reset {
			c.mu.Unlock()
			st.c.writeContinue(st)
			c.mu.Lock()
		}
	}
	for st.off == len(st.buf) && !st.eof && st.err == nil && !st.bodyClosed && !st.readTimedOut {
		st.cond.Wait()
	}
	switch {
	case st.bodyClosed:
		c.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	case st.off < len(st.buf):
	case st.err != nil:
		err := st.err
		c.mu.Unlock()
		return 0, err
	case st.readTimedOut:
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	default:
		c.mu.Unlock()
		return 0, io.EOF
	}
	n := copy(p, st.buf[st.off:])
	st.off += n
	if st.off == len(st.buf) {
		st.buf, st.off = st.buf[:0], 0
	}
	c.recvUnacked += int64(n)
	st.recvUnacked += int64(n)
	connInc, stInc := c.windowUpdatesLocked(st)
	var err error
	if st.off == len(st.buf) && st.eof && st.err == nil {
		err = io.EOF
	}
	c.mu.Unlock()
	c.sendWindowUpdates(st.id, connInc, stInc)
	return n, err
}

// Close stops reading: what arrives from now on is dropped.
func (b *requestBody) Close() error {
	st := b.st
	c := st.c
	c.mu.Lock()
	if st.bodyClosed {
		c.mu.Unlock()
		return nil
	}
	st.bodyClosed = true
	c.recvUnacked += int64(len(st.buf) - st.off)
	st.buf, st.off = nil, 0
	st.cond.Broadcast()
	connInc, _ := c.windowUpdatesLocked(nil)
	c.mu.Unlock()
	c.sendWindowUpdates(st.id, connInc, 0)
	return nil
}

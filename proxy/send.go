package proxy

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/policy"
	"github.com/pylon-mesh/pylon/router"
)

// buildRequestHead builds the head sent upstream into c.head: the request
// line with the rewritten target, the client's end-to-end headers, Host,
// framing, forwarding headers, the request ID and the route's edits.
func (c *conn) buildRequestHead(route *Route, trusted, hasBody bool) []byte {
	req := &c.req
	h := c.head[:0]
	h = append(h, req.Method...)
	h = append(h, ' ')
	h = c.appendTarget(h, route)
	h = append(h, " HTTP/1.1\r\n"...)
	h = append(h, "Host: "...)
	if len(route.Rewrite.Host) > 0 {
		h = append(h, route.Rewrite.Host...)
	} else {
		h = append(h, req.Host...)
	}
	h = append(h, '\r', '\n')
	ops := &route.RequestHeaders
	traced := c.rec.traced()
	strip := ""
	if route.Policies != nil {
		strip = c.outcome.StripHeader
	}
	for _, f := range req.Headers {
		if skipRequestHeader(f.Name, req, trusted) || (!ops.Empty() && inOps(f.Name, ops)) || (traced && c.rec.traceHeader(f.Name)) {
			continue
		}
		if strip != "" && h1.EqualLower(f.Name, strip) {
			continue
		}
		h = h1.AppendHeader(h, f.Name, f.Value)
	}
	if route.Policies != nil && c.outcome.Consumer != "" {
		h = append(h, policy.ConsumerHeader+": "...)
		h = append(h, c.outcome.Consumer...)
		h = append(h, '\r', '\n')
	}
	if traced {
		h = c.rec.appendTraceparent(h)
	}
	switch {
	case req.Chunked:
		h = append(h, "Transfer-Encoding: chunked\r\n"...)
	case hasBody:
		h = appendContentLength(h, req.ContentLength)
	}
	if req.Upgrade != nil {
		h = append(h, "Connection: Upgrade\r\nUpgrade: "...)
		h = append(h, req.Upgrade...)
		h = append(h, '\r', '\n')
	}
	h = c.appendForwarded(h, trusted)
	h = append(h, "X-Request-Id: "...)
	h = append(h, c.rid...)
	h = append(h, '\r', '\n')
	h = appendOps(h, ops)
	h = append(h, '\r', '\n')
	c.head = h
	return h
}

// appendTarget appends the origin-form target sent upstream.
func (c *conn) appendTarget(dst []byte, route *Route) []byte {
	if route.Policies != nil && c.outcome.StripQuery != "" {
		q := withoutQueryParam(string(c.req.Query), c.outcome.StripQuery)
		return appendRewritten(dst, &route.Rewrite, string(c.req.Path), q, &c.params)
	}
	return appendRewritten(dst, &route.Rewrite, c.req.Path, c.req.Query, &c.params)
}

// appendRewritten appends the target for path and query after the
// route's rewrite: a templated path, a stripped prefix, or the path as is.
func appendRewritten[S string | []byte](dst []byte, rw *Rewrite, path, query S, params *router.Params) []byte {
	switch {
	case len(rw.Path) > 0:
		for _, part := range rw.Path {
			if part.Param == "" {
				dst = append(dst, part.Literal...)
			} else if v, ok := params.Get(part.Param); ok {
				dst = append(dst, v...)
			}
		}
	case len(rw.StripPrefix) > 0 && hasPathPrefix(path, rw.StripPrefix):
		rest := path[len(rw.StripPrefix):]
		if len(rest) == 0 || rest[0] != '/' {
			dst = append(dst, '/')
		}
		dst = append(dst, rest...)
	default:
		dst = append(dst, path...)
	}
	if len(query) > 0 {
		dst = append(dst, '?')
		dst = append(dst, query...)
	}
	return dst
}

// hasPathPrefix reports whether prefix is a segment-aware prefix of p.
func hasPathPrefix[S string | []byte](p S, prefix []byte) bool {
	if len(p) < len(prefix) || string(p[:len(prefix)]) != string(prefix) {
		return false
	}
	return len(p) == len(prefix) || prefix[len(prefix)-1] == '/' || p[len(prefix)] == '/'
}

// sendRequest writes the head and, when it is already buffered in full, the
// body. fe is a failure on the client's side, upErr one on the upstream's.
func (c *conn) sendRequest(uc *upConn, head []byte, hasBody bool) (fe *flow.Error, upErr error) {
	req := &c.req
	if !hasBody {
		_, upErr = uc.Write(head)
		return nil, upErr
	}
	uc.bw.Write(head)
	if len(c.replay) > 0 {
		uc.bw.Write(c.replay)
		return nil, uc.bw.Flush()
	}
	body := c.br.BodyReader(req.ContentLength, false)
	n, err := io.Copy(uc.bw, body)
	c.rec.BytesIn = n
	if err != nil {
		return clientBodyError(err), nil
	}
	return nil, uc.bw.Flush()
}

// maxReplayBody is the largest body kept for replay on a retry.
const maxReplayBody = 64 << 10

// keepBody reads a small body that has fully arrived into c.replay, so
// retries can send it again. It reports whether it did.
func (c *conn) keepBody() bool {
	req := &c.req
	if req.Chunked || req.ContentLength > maxReplayBody || !c.bodyBuffered() {
		return false
	}
	if cap(c.replay) < int(req.ContentLength) {
		c.replay = make([]byte, 0, max(int(req.ContentLength), 4096))
	}
	c.replay = c.replay[:req.ContentLength]
	if _, err := io.ReadFull(c.br.BodyReader(req.ContentLength, false), c.replay); err != nil {
		c.replay = c.replay[:0]
		return false
	}
	c.rec.BytesIn = req.ContentLength
	return true
}

// bodyBuffered reports whether the whole request body has already been
// read from the client, so it can go upstream with the head in one write.
func (c *conn) bodyBuffered() bool {
	return !c.req.Chunked && int64(c.br.Buffered()) >= c.req.ContentLength
}

// bodyCopy streams a request body upstream on its own goroutine while the
// response is read, so an upstream may answer before the body ends (and a
// full-duplex exchange does not deadlock).
type bodyCopy struct {
	done    chan struct{}
	res     bodyResult
	aborted atomic.Bool
}

// bodyResult is how a body copy ended.
type bodyResult struct {
	// sent reports whether any body byte was taken from the client.
	sent  bool
	fe    *flow.Error
	upErr error
}

// startBody writes the head, invites the body when the client expects a
// 100 Continue, and starts copying the body upstream.
func (c *conn) startBody(uc *upConn, lc *ListenerConfig, head []byte) error {
	if _, err := uc.Write(head); err != nil {
		return err
	}
	if c.req.Expect100 {
		c.dl.setWrite(c.nc, time.Now().Add(lc.BodyReadTimeout), 0)
		c.nc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	}
	b := &c.body
	b.done = make(chan struct{})
	b.aborted.Store(false)
	b.res = bodyResult{}
	go func() {
		defer close(b.done)
		b.res = c.copyBody(uc, lc)
	}()
	return nil
}

// abortBody stops a body copy that is still running (the response is done
// or failed) and waits for it. The client connection cannot be reused: its
// unread body is still on the wire.
func (c *conn) abortBody(uc *upConn) bodyResult {
	b := &c.body
	select {
	case <-b.done:
		return b.res
	default:
	}
	b.aborted.Store(true)
	c.closeAfter = true
	c.nc.SetReadDeadline(time.Now())
	uc.Close()
	<-b.done
	c.dl.reset()
	res := b.res
	if res.fe == errClientSlow {
		// The deadline set above, not the client, stopped the copy.
		res.fe = nil
	}
	return res
}

// bodyFinished reports whether the body copy has ended, waiting a moment
// for it: an upstream that answers once it has read the whole body can
// have its response relayed before the copy, which wrote the last bytes,
// has returned, and taking that copy for an unfinished one would close a
// connection the client may already have sent its next request on.
func (c *conn) bodyFinished() bool {
	select {
	case <-c.body.done:
		return true
	default:
	}
	t := time.NewTimer(bodyFinishGrace)
	defer t.Stop()
	select {
	case <-c.body.done:
		return true
	case <-t.C:
		return false
	}
}

// bodyFinishGrace is how long a relayed response waits for its request
// body's copy to end before taking the body for unfinished.
const bodyFinishGrace = 50 * time.Millisecond

// copyBody streams the client's body to the upstream, re-framing chunked
// bodies and enforcing the listener's body limits.
func (c *conn) copyBody(uc *upConn, lc *ListenerConfig) (res bodyResult) {
	req := &c.req
	body := c.br.BodyReader(req.ContentLength, req.Chunked)
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	var total int64
	var w io.Writer = uc.Conn
	if req.Chunked {
		c.reqCW.Reset(uc.Conn)
		w = &c.reqCW
	}
	defer func() { c.rec.BytesIn = total }()
	for {
		c.dl.setRead(c.nc, time.Now().Add(lc.BodyReadTimeout), lc.BodyReadTimeout/4)
		n, err := body.Read(buf)
		if n > 0 {
			res.sent = true
			total += int64(n)
			if total > lc.MaxBodyBytes {
				res.fe = errBodyTooLarge
				uc.Close() // wakes the response read: this request is over
				return res
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				res.upErr = werr
				return res
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			res.fe = clientBodyError(err)
			uc.Close()
			return res
		}
	}
	if req.Chunked {
		c.reqTrailers = forwardableTrailers(c.reqTrailers[:0], c.br.Trailers())
		res.upErr = c.reqCW.Close(c.reqTrailers)
	}
	return res
}

// clientBodyError maps a failure reading the client's body to the answer.
func clientBodyError(err error) *flow.Error {
	if he, ok := err.(*h1.Error); ok {
		return flow.New(he.Status, flow.Code(he.Code), he.Msg)
	}
	if isTimeout(err) {
		return errClientSlow
	}
	return flow.Wrap(400, flow.CodeBadRequest, "the request body ended early", err)
}

package proxy

import (
	"bytes"
	"io"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
)

// upstreamHeadLimits bound a response head from an upstream.
var upstreamHeadLimits = h1.Limits{MaxHeaderBytes: 64 << 10, MaxURIBytes: 8 << 10, MaxHeaders: 200}

// readResponseHead reads the upstream's response head, relaying 103 Early
// Hints to HTTP/1.1 clients and dropping other interim responses.
func (c *conn) readResponseHead(uc *upConn) error {
	for {
		if err := uc.br.ReadResponse(&uc.resp, upstreamHeadLimits, c.req.Method); err != nil {
			return err
		}
		st := uc.resp.Status
		if st == 101 && c.req.Upgrade != nil {
			if v, ok := uc.resp.Header("upgrade"); ok && !offered(c.req.Upgrade, v) {
				return errUnofferedUpgrade
			}
			return nil
		}
		if st >= 200 {
			return nil
		}
		if st == 103 && c.req.Minor == 1 {
			h := h1.AppendStatusLine(c.out[:0], 1, st, uc.resp.Reason)
			for _, f := range uc.resp.Headers {
				h = h1.AppendHeader(h, f.Name, f.Value)
			}
			h = append(h, '\r', '\n')
			c.out = h
			c.bw.Write(h)
			c.bw.Flush()
		}
	}
}

// errUnofferedUpgrade is a 101 switching to a protocol the client did not
// ask for (RFC 9110 7.8), which it could not speak.
var errUnofferedUpgrade = &h1.Error{Status: 502, Code: h1.CodeBadRequest, Msg: "101 Switching Protocols to a protocol the client did not offer"}

// offered reports whether every protocol the upstream's Upgrade field
// names is among those the client's Upgrade field offered, comparing
// names case-insensitively; an empty name is offered by no client.
func offered(client, upstream []byte) bool {
	for p := range bytes.SplitSeq(upstream, []byte(",")) {
		if p = bytes.TrimSpace(p); len(p) == 0 || !h1.ListHas(client, p) {
			return false
		}
	}
	return true
}

var errUpstreamBody = flow.New(502, flow.CodeUpstreamReset, "the upstream response body was cut short")

// relayResponse writes the upstream's response to the client. reusable says
// whether the upstream connection is clean for another request.
func (c *conn) relayResponse(uc *upConn, lc *ListenerConfig, route *Route) (fe *flow.Error, reusable bool) {
	resp := &uc.resp
	req := &c.req
	c.rec.Status = resp.Status
	if resp.Status == 101 {
		return c.upgrade(uc, route)
	}
	noBody := resp.Status == 204 || resp.Status == 304 || string(req.Method) == "HEAD"
	// How the body is framed to the client: as the upstream did when its
	// length is known, chunked for HTTP/1.1 otherwise, and by closing the
	// connection for HTTP/1.0.
	chunked := !noBody && (resp.Chunked || resp.CloseDelimited) && req.Minor == 1
	if !noBody && (resp.Chunked || resp.CloseDelimited) && req.Minor == 0 {
		c.closeAfter = true
	}
	if !req.KeepAlive || c.s.draining.Load() {
		c.closeAfter = true
	}
	// The head may come long after the request (a long poll): the write
	// deadline counts from now.
	c.dl.setWrite(c.nc, c.deadlineClock().Add(lc.IdleTimeout), lc.IdleTimeout/4)
	c.writeResponseHead(resp, route, noBody, chunked)
	if noBody {
		if err := c.bw.Flush(); err != nil {
			c.closeAfter = true
		}
		return nil, resp.KeepAlive
	}
	// A close-delimited body has ContentLength -1 and is read to EOF.
	body := uc.br.BodyReader(resp.ContentLength, resp.Chunked)
	var w io.Writer = c.bw
	if chunked {
		c.cw.Reset(c.bw)
		w = &c.cw
	}
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	var total int64
	remaining := resp.ContentLength
	for {
		if uc.br.Buffered() == 0 {
			// Going to the network: bound the wait for the upstream and the
			// client by the idle timeout. Bytes already buffered need none.
			now := c.deadlineClock()
			uc.dl.setRead(uc.Conn, now.Add(lc.IdleTimeout), lc.IdleTimeout/4)
			c.dl.setWrite(c.nc, now.Add(lc.IdleTimeout), lc.IdleTimeout/4)
		}
		n, err := body.Read(buf)
		if n > 0 {
			total += int64(n)
			if _, werr := w.Write(buf[:n]); werr != nil {
				c.closeAfter = true
				c.rec.BytesOut = total
				return nil, false
			}
			remaining -= int64(n)
			// Flush as data arrives so streamed responses stream, except when
			// this read finished a body of known length: one write then.
			if resp.ContentLength < 0 || remaining > 0 {
				if werr := c.bw.Flush(); werr != nil {
					c.closeAfter = true
					return nil, false
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			c.closeAfter = true
			c.bw.Flush()
			c.rec.BytesOut = total
			return errUpstreamBody, false
		}
	}
	c.rec.BytesOut = total
	if chunked {
		c.trailers = c.trailers[:0]
		if resp.Chunked {
			c.trailers = forwardableTrailers(c.trailers, uc.br.Trailers())
		}
		if err := c.cw.Close(c.trailers); err != nil {
			c.closeAfter = true
			return nil, false
		}
	}
	if err := c.bw.Flush(); err != nil {
		c.closeAfter = true
	}
	return nil, resp.KeepAlive && !resp.CloseDelimited
}

// writeResponseHead writes the response head to the client's buffer.
func (c *conn) writeResponseHead(resp *h1.Response, route *Route, noBody, chunked bool) {
	h := h1.AppendStatusLine(c.out[:0], 1, resp.Status, resp.Reason)
	ops := &route.ResponseHeaders
	for _, f := range resp.Headers {
		if skipResponseHeader(f.Name, resp) || (!ops.Empty() && inOps(f.Name, ops)) {
			// A HEAD or 304 answer keeps the length the upstream announced.
			if !(noBody && h1.EqualLower(f.Name, "content-length")) {
				continue
			}
		}
		h = h1.AppendHeader(h, f.Name, f.Value)
	}
	switch {
	case noBody:
	case chunked:
		h = append(h, "Transfer-Encoding: chunked\r\n"...)
	case resp.ContentLength >= 0 && !resp.Chunked:
		h = appendContentLength(h, resp.ContentLength)
	}
	h = appendOps(h, ops)
	if route.Policies != nil {
		h = c.outcome.Limit.AppendHeader(h)
	}
	h = append(h, "X-Request-Id: "...)
	h = append(h, c.rid...)
	h = append(h, '\r', '\n')
	switch {
	case c.closeAfter:
		h = append(h, "Connection: close\r\n"...)
	case c.req.Minor == 0:
		h = append(h, "Connection: keep-alive\r\n"...)
	}
	h = append(h, '\r', '\n')
	c.out = h
	c.bw.Write(h)
}

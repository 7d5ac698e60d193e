package proxy

import (
	"io"
	"time"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
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
	h = append(h, "host: "...)
	if len(route.Rewrite.Host) > 0 {
		h = append(h, route.Rewrite.Host...)
	} else {
		h = append(h, req.Host...)
	}
	h = append(h, '\r', '\n')
	ops := &route.RequestHeaders
	for _, f := range req.Headers {
		if skipRequestHeader(f.Name, req.Headers, trusted) || (!ops.Empty() && inOps(f.Name, ops)) {
			continue
		}
		h = h1.AppendHeader(h, f.Name, f.Value)
	}
	switch {
	case req.Chunked:
		h = append(h, "transfer-encoding: chunked\r\n"...)
	case hasBody:
		h = appendContentLength(h, req.ContentLength)
	}
	if req.Upgrade != nil {
		h = append(h, "connection: upgrade\r\nupgrade: "...)
		h = append(h, req.Upgrade...)
		h = append(h, '\r', '\n')
	}
	h = c.appendForwarded(h, trusted)
	h = append(h, "x-request-id: "...)
	h = append(h, c.rid...)
	h = append(h, '\r', '\n')
	h = appendOps(h, ops)
	h = append(h, '\r', '\n')
	c.head = h
	return h
}

// appendTarget appends the origin-form target sent upstream.
func (c *conn) appendTarget(dst []byte, route *Route) []byte {
	req := &c.req
	rw := &route.Rewrite
	switch {
	case len(rw.Path) > 0:
		for _, part := range rw.Path {
			if part.Param == "" {
				dst = append(dst, part.Literal...)
			} else if v, ok := c.params.Get(part.Param); ok {
				dst = append(dst, v...)
			}
		}
	case len(rw.StripPrefix) > 0 && hasPathPrefix(req.Path, rw.StripPrefix):
		rest := req.Path[len(rw.StripPrefix):]
		if len(rest) == 0 || rest[0] != '/' {
			dst = append(dst, '/')
		}
		dst = append(dst, rest...)
	default:
		dst = append(dst, req.Path...)
	}
	if len(req.Query) > 0 {
		dst = append(dst, '?')
		dst = append(dst, req.Query...)
	}
	return dst
}

// hasPathPrefix reports whether prefix is a segment-aware prefix of p.
func hasPathPrefix(p, prefix []byte) bool {
	if len(p) < len(prefix) || string(p[:len(prefix)]) != string(prefix) {
		return false
	}
	return len(p) == len(prefix) || prefix[len(prefix)-1] == '/' || p[len(prefix)] == '/'
}

// sendRequest writes the head and streams the body to the upstream.
// bodySent reports whether any body byte was taken from the client; fe is a
// failure on the client's side (bad chunk, too large, too slow), upErr one
// on the upstream's.
func (c *conn) sendRequest(uc *upConn, lc *ListenerConfig, head []byte, hasBody bool) (bodySent bool, fe *flow.Error, upErr error) {
	req := &c.req
	if !hasBody {
		_, upErr = uc.Write(head)
		return false, nil, upErr
	}
	if _, upErr = uc.bw.Write(head); upErr != nil {
		return false, nil, upErr
	}
	if req.Expect100 {
		// The upstream is reachable: now invite the client's body.
		c.nc.SetWriteDeadline(time.Now().Add(lc.BodyReadTimeout))
		if _, err := c.nc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
			return false, flow.Wrap(400, flow.CodeBadRequest, "client went away", err), nil
		}
	}
	body := c.br.BodyReader(req.ContentLength, req.Chunked)
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	var total int64
	if req.Chunked {
		c.cw.Reset(uc.bw)
	}
	for {
		c.nc.SetReadDeadline(time.Now().Add(lc.BodyReadTimeout))
		n, err := body.Read(buf)
		if n > 0 {
			bodySent = true
			total += int64(n)
			if total > lc.MaxBodyBytes {
				return true, errBodyTooLarge, nil
			}
			var werr error
			if req.Chunked {
				_, werr = c.cw.Write(buf[:n])
			} else {
				_, werr = uc.bw.Write(buf[:n])
			}
			if werr != nil {
				return true, nil, werr
			}
		}
		if err != nil {
			if err == io.EOF {
				break
			}
			return bodySent, clientBodyError(err), nil
		}
	}
	c.nc.SetReadDeadline(time.Time{})
	c.rec.BytesIn = total
	if req.Chunked {
		if err := c.cw.Close(c.br.Trailers()); err != nil {
			return true, nil, err
		}
	}
	return bodySent, nil, uc.bw.Flush()
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

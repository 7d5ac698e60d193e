package proxy

import (
	"io"
	"net"
	"time"

	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
)

// upgrade relays a 101 Switching Protocols answer (WebSocket and the like)
// and then copies bytes both ways until either side closes. The client
// connection ends with the upgraded stream.
func (c *conn) upgrade(uc *upConn, route *Route) (*flow.Error, bool) {
	resp := &uc.resp
	h := h1.AppendStatusLine(c.out[:0], 1, 101, resp.Reason)
	ops := &route.ResponseHeaders
	for _, f := range resp.Headers {
		if skipResponseHeader(f.Name, resp) || (!ops.Empty() && inOps(f.Name, ops)) {
			continue
		}
		h = h1.AppendHeader(h, f.Name, f.Value)
	}
	h = append(h, "Connection: Upgrade\r\nUpgrade: "...)
	if v, ok := resp.Header("upgrade"); ok {
		h = append(h, v...)
	} else {
		h = append(h, c.req.Upgrade...)
	}
	h = append(h, "\r\n"...)
	h = appendOps(h, ops)
	h = append(h, "\r\n"...)
	c.out = h
	c.closeAfter = true
	if _, err := c.bw.Write(h); err != nil {
		return nil, false
	}
	if err := c.bw.Flush(); err != nil {
		return nil, false
	}
	c.nc.SetDeadline(time.Time{})
	uc.SetDeadline(time.Time{})
	c.dl.reset()
	uc.dl.reset()
	done := make(chan int64, 1)
	go func() {
		n, _ := splice(uc.Conn, c.br)
		closeWrite(uc.Conn)
		done <- n
	}()
	out, _ := splice(c.nc, uc.br)
	closeWrite(c.nc)
	// The upstream finished sending; give the client's side a moment to
	// finish its close handshake, then end both.
	select {
	case in := <-done:
		c.rec.BytesIn = in
	case <-time.After(5 * time.Second):
		uc.Close()
		c.nc.Close()
		c.rec.BytesIn = <-done
	}
	c.rec.BytesOut = out
	return nil, false
}

// splice copies src to dst until src ends.
func splice(dst io.Writer, src io.Reader) (int64, error) {
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	return io.CopyBuffer(dst, readerOnly{src}, *bufp)
}

// readerOnly hides WriterTo so CopyBuffer uses the pooled buffer.
type readerOnly struct{ io.Reader }

// closeWrite half-closes a connection, or closes it when it cannot.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

package proxy

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/pylon-mesh/pylon/h1"
)

// upload copies an HTTP/2 client's request body to a pooled HTTP/1.1
// connection on its own goroutine while the handler reads the response, so
// an upstream may answer before the body ends and a full-duplex exchange
// does not deadlock. Its owner is the exchange, which waits for it.
type upload struct {
	done chan struct{}
	// complete is set once the whole body has been written.
	complete atomic.Bool
	// clientErr is a failure reading the client's body, upErr one writing
	// to the upstream; both are read only after done is closed.
	clientErr, upErr error
	cw               h1.ChunkedWriter
}

// errBodyLength is a client body that does not match its Content-Length
// (the HTTP/2 server checks this too; the framing upstream must hold).
var errBodyLength = errors.New("the request body's length differs from its content-length")

// startUpload starts copying rq's body to uc, framed as writeRequestHead
// announced.
func startUpload(uc *upConn, rq *rtRequest) *upload {
	u := &upload{done: make(chan struct{})}
	go u.run(uc, rq.body, rq.contentLength)
	return u
}

// run copies the body; a failure on the client's side closes the
// connection, which wakes the handler's read of the response: the request
// is over.
func (u *upload) run(uc *upConn, body io.Reader, length int64) {
	defer close(u.done)
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	var w io.Writer = uc.Conn
	if length < 0 {
		u.cw.Reset(uc.Conn)
		w = &u.cw
	}
	var total int64
	for {
		n, err := body.Read(buf)
		total += int64(n)
		if length >= 0 && total > length {
			err = errBodyLength
		} else if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				u.upErr = werr
				return
			}
		}
		if err == io.EOF && length >= 0 && total != length {
			err = errBodyLength
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			u.clientErr = err
			uc.Close()
			return
		}
	}
	if length < 0 {
		if u.upErr = u.cw.Close(nil); u.upErr != nil {
			return
		}
	}
	u.complete.Store(true)
}

// finished reports whether the body went out in full, waiting for the
// copy to return when it has written its last byte. A copy still going
// (the upstream answered without reading it all) is left to stop.
func (u *upload) finished() bool {
	if !u.complete.Load() {
		return false
	}
	<-u.done
	return true
}

// stop ends a copy that may still be running and waits for it. The
// connection must be closed already, which fails its writes; closing the
// client's body wakes a read blocked on it.
func (u *upload) stop(rq *rtRequest) {
	select {
	case <-u.done:
		return
	default:
	}
	if rq.stopBody != nil {
		rq.stopBody.Close()
	}
	<-u.done
}

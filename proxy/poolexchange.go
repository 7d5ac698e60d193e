package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// poolExchange is one request of an HTTP/2 client sent on a pooled
// HTTP/1.1 connection. It is also the Body of the response it relays: the
// connection goes back to its pool only when that body was read to its end
// cleanly, and is closed on every other end (an unread or broken body, the
// client gone, Connection: close, a body that runs to the close).
//
// Read and Close are called from the handler's goroutine only; the
// context watch may close the connection from another at any time.
type poolExchange struct {
	uc   *upConn
	rq   *rtRequest
	resp http.Response
	body io.Reader
	// up copies the request body; nil without one.
	up *upload
	// stopWatch stops the watch that closes the connection when the
	// client's context ends; false means the watch has fired.
	stopWatch func() bool
	// ended is set once the body has ended, with err what Read returns.
	ended bool
	err   error
}

// errInterim is a 101 to a request that asked for no upgrade, or more
// interim responses than any upstream has reason to send.
var errInterim = errors.New("unexpected or endless interim (1xx) responses")

// maxInterim bounds the interim responses skipped before the final one.
const maxInterim = 8

// errBodyClosed is what Read returns after Close.
var errBodyClosed = errors.New("read of a closed response body")

// startExchange begins an exchange on uc, which is closed if the client's
// context ends before the exchange does.
func startExchange(uc *upConn, rq *rtRequest) *poolExchange {
	x := &poolExchange{uc: uc, rq: rq}
	x.stopWatch = context.AfterFunc(rq.ctx, x.cancelled)
	return x
}

// cancelled closes the connection, which wakes every read and write on it.
func (x *poolExchange) cancelled() { x.uc.Close() }

// send writes the request head under the try's deadline and starts
// copying the body. written reports that the head reached the socket.
func (x *poolExchange) send(tryDeadline time.Time, slack time.Duration) (written bool, err error) {
	uc := x.uc
	uc.dl.setRead(uc.Conn, tryDeadline, slack)
	uc.dl.setWrite(uc.Conn, tryDeadline, slack)
	host := x.rq.host
	if host == "" {
		host = uc.pool.addr
	}
	writeRequestHead(uc.bw, x.rq, host)
	if err := uc.bw.Flush(); err != nil {
		return false, err
	}
	if x.rq.body != nil {
		// The upload has no write deadline: the try's deadline bounds the
		// wait for the response head, not the body (as for HTTP/1.1
		// clients). A stuck upstream is cut off by the head read.
		uc.dl.setWrite(uc.Conn, time.Time{}, 0)
		x.up = startUpload(uc, x.rq)
	}
	return true, nil
}

// readHead reads the final response head, skipping interim responses
// (100 Continue among them: pylon asks for the client's body itself), and
// makes the response to relay.
func (x *poolExchange) readHead() error {
	uc := x.uc
	for range maxInterim + 1 {
		if err := uc.br.ReadResponse(&uc.resp, upstreamHeadLimits, []byte(x.rq.method)); err != nil {
			return err
		}
		st := uc.resp.Status
		if st == 101 {
			return errInterim
		}
		if st >= 200 {
			// The body's reads are bounded by the client's context only,
			// as with the transport.
			uc.dl.setRead(uc.Conn, time.Time{}, 0)
			x.prepare()
			return nil
		}
	}
	return errInterim
}

// prepare fills in the response from the parsed head.
func (x *poolExchange) prepare() {
	h := &x.uc.resp
	x.resp = http.Response{
		StatusCode:    h.Status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    h.Minor,
		Header:        httpHeaderOf(h.Headers),
		ContentLength: h.ContentLength,
		Close:         !h.KeepAlive,
		Body:          x,
	}
	x.body = x.uc.br.BodyReader(h.ContentLength, h.Chunked)
}

// Read reads the response body. At its end the trailers of a chunked
// body are set in the response and the connection is settled.
func (x *poolExchange) Read(p []byte) (int, error) {
	if x.ended {
		return 0, x.err
	}
	n, err := x.body.Read(p)
	switch {
	case err == io.EOF:
		x.ended, x.err = true, io.EOF
		x.finish()
	case err != nil:
		x.ended, x.err = true, err
		x.abort()
	}
	return n, err
}

// Close ends the exchange; a body not read to its end leaves the
// connection unusable, so it is closed.
func (x *poolExchange) Close() error {
	if !x.ended {
		x.ended, x.err = true, errBodyClosed
		x.abort()
	}
	return nil
}

// finish settles an exchange whose response body was read to its end: the
// connection goes back to its pool when the upstream keeps it open, the
// request body went out in full and the client's context did not end.
func (x *poolExchange) finish() {
	h := &x.uc.resp
	if h.Chunked {
		// The trailers alias the connection's buffer: copy them out before
		// the connection can serve another request.
		x.resp.Trailer = trailerHeaderOf(x.uc.br.Trailers())
	}
	reuse := h.KeepAlive && !h.CloseDelimited && (x.up == nil || x.up.finished())
	if !x.stopWatch() || !reuse {
		x.abort()
		return
	}
	x.uc.pool.put(x.uc, time.Now())
}

// abort closes the connection and stops the upload, waiting for it.
func (x *poolExchange) abort() {
	x.stopWatch()
	x.uc.Close()
	if x.up != nil {
		x.up.stop(x.rq)
	}
}

package tunnel

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
)

// maxErrorBody is how much of a refusal's body a StatusError keeps.
const maxErrorBody = 512

// StatusError is the error of a Dial that the remote sidecar refused.
type StatusError struct {
	Endpoint string // the remote sidecar
	Target   string // the destination asked for
	Code     int    // the HTTP status, like 403, 502 or 504
	Body     string // the start of the answer's body
}

// Error says who refused what, with which status and text.
func (e *StatusError) Error() string {
	return fmt.Sprintf("tunnel: connect to %s via %s: %d %s: %s",
		e.Target, e.Endpoint, e.Code, http.StatusText(e.Code), e.Body)
}

// Dial opens a tunnel to target through the sidecar at endpoint (host:port)
// over rt, which must speak HTTP/2 to it (the sidecar's shared mTLS
// transport): it sends a CONNECT request with target as its :authority and
// returns, once the answer is 2xx, a connection whose Write sends the
// request's body and whose Read reads the response's.
//
// ctx bounds the opening only, as with net.Dialer.DialContext; the tunnel
// lives until it is closed. A refusal is a *StatusError.
//
// rt should share one dial among the requests and tunnels that find no
// connection to an endpoint (meshtls.Pool does; an *http.Transport does
// with MaxConnsPerHost set to 1): otherwise a burst of tunnels dials one
// connection per tunnel.
func Dial(ctx context.Context, rt http.RoundTripper, endpoint, target string) (net.Conn, error) {
	return DialHeader(ctx, rt, endpoint, target, nil)
}

// DialHeader is Dial with more header fields on the CONNECT request, like
// the traceparent that links the remote sidecar's span of the tunnel to
// the caller's.
func DialHeader(ctx context.Context, rt http.RoundTripper, endpoint, target string, header http.Header) (net.Conn, error) {
	if header == nil {
		header = make(http.Header)
	}
	body := newBodyPipe()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, cancel)
	fallback := Addr{Endpoint: endpoint, Target: target}
	c := &conn{body: body, cancel: cancel, local: fallback, remote: fallback}
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if i.Conn != nil {
			c.local, c.remote = i.Conn.LocalAddr(), i.Conn.RemoteAddr()
		}
	}}
	req := (&http.Request{
		Method:        http.MethodConnect,
		URL:           &url.URL{Scheme: "https", Host: endpoint},
		Host:          target,
		Header:        header,
		Body:          body,
		ContentLength: -1,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
	}).WithContext(httptrace.WithClientTrace(sctx, trace))
	resp, err := rt.RoundTrip(req)
	if !stop() && err == nil {
		resp.Body.Close()
		err = context.Cause(ctx)
	}
	if err != nil {
		cancel()
		body.closeWrite(err)
		return nil, fmt.Errorf("tunnel: connect to %s via %s: %w", target, endpoint, err)
	}
	if err := checkAnswer(resp, endpoint, target); err != nil {
		cancel()
		body.closeWrite(io.EOF)
		return nil, err
	}
	c.resp = newBodyReader(resp.Body)
	return c, nil
}

// checkAnswer returns the error of an answer that opens no tunnel, having
// read the start of its body and closed it.
func checkAnswer(resp *http.Response, endpoint, target string) error {
	if resp.ProtoMajor == 2 && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		return fmt.Errorf("tunnel: connect to %s via %s: answered over %s, want HTTP/2", target, endpoint, resp.Proto)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &StatusError{
		Endpoint: endpoint,
		Target:   target,
		Code:     resp.StatusCode,
		Body:     strings.TrimSpace(string(b)),
	}
}

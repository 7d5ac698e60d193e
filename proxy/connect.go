package proxy

import (
	"io"
	"net/http"
	"sync/atomic"

	"github.com/pylon-mesh/pylon/flow"
)

// authorize asks the listener's Authorize hook, if any, about an HTTP/2
// request whose path (without the query) is path.
func (x *h2Exchange) authorize(path string) *flow.Error {
	if x.lc.Authorize == nil {
		return nil
	}
	x.acc = Access{
		Peer:   verifiedPeer(x.r.TLS, x.lc.TLS),
		Method: x.r.Method,
		Path:   path,
		GRPC:   x.grpc,
		header: x.r.Header,
	}
	return authorized(x.lc.Authorize(&x.acc))
}

// serveConnect hands an HTTP/2 CONNECT request (a TCP tunnel) to the
// listener's Connect handler, once the request is within the listener's
// limits and authorized. Without a handler, and for extended CONNECT
// (RFC 8441, :protocol set), it is refused as on HTTP/1.1.
func (x *h2Exchange) serveConnect() {
	if x.lc.Connect == nil || x.r.Header[":protocol"] != nil {
		x.fail(errConnect)
		return
	}
	if fe := x.checkLimits(); fe != nil {
		x.fail(fe)
		return
	}
	if fe := x.authorize(""); fe != nil {
		x.fail(fe)
		return
	}
	// The tunnel's response carries the request ID of its access log line.
	x.w.Header()["X-Request-Id"] = []string{x.rid}
	tw := &tunnelWriter{ResponseWriter: x.w}
	r := x.r
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &countingBody{ReadCloser: r.Body, n: &tw.in}
	}
	defer func() {
		// Also when the handler aborts the stream by panicking.
		x.rec.Status = int(tw.status.Load())
		x.rec.BytesIn, x.rec.BytesOut = tw.in.Load(), tw.out.Load()
	}()
	x.lc.Connect.ServeHTTP(tw, r)
	// A handler that wrote nothing answers 200, as net/http does for it.
	tw.status.CompareAndSwap(0, http.StatusOK)
}

// tunnelWriter is the ResponseWriter a Connect handler gets: the stream's
// own, counting the status and bytes for the access log. Flushing and the
// rest of http.ResponseController reach the stream's writer through Unwrap.
type tunnelWriter struct {
	http.ResponseWriter
	status atomic.Int64
	// in and out count the tunnel's bytes from and to the client.
	in, out atomic.Int64
}

// WriteHeader records the first final status and sends it.
func (w *tunnelWriter) WriteHeader(code int) {
	if code >= 200 {
		w.status.CompareAndSwap(0, int64(code))
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write sends tunnel bytes to the client.
func (w *tunnelWriter) Write(p []byte) (int, error) {
	w.status.CompareAndSwap(0, http.StatusOK)
	n, err := w.ResponseWriter.Write(p)
	w.out.Add(int64(n))
	return n, err
}

// FlushError sends what was written to the client at once.
func (w *tunnelWriter) FlushError() error {
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for handlers that assert http.Flusher.
func (w *tunnelWriter) Flush() { w.FlushError() }

// Unwrap returns the stream's writer, for http.ResponseController.
func (w *tunnelWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the bytes read from a CONNECT request's body, which
// the handler may read on a goroutine of its own.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

package h2server

import (
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/pylon-mesh/pylon/internal/h2spectest"
	"golang.org/x/net/http2"
)

// The third-party conformance suite h2spec against a server on loopback,
// cleartext HTTP/2 with prior knowledge, strict mode (see
// internal/h2spectest). Every case must pass.

func TestH2SpecReference(t *testing.T) {
	t.Parallel()
	runH2Spec(t, func(c net.Conn, h http.Handler) {
		//lint:ignore SA1019 x/net's Server is the reference implementation the kit is validated against.
		(&http2.Server{}).ServeConn(c, &http2.ServeConnOpts{Handler: h})
	}, knownReferenceFailures)
}

// TestH2Spec holds pylon's server to every h2spec case.
func TestH2Spec(t *testing.T) {
	t.Parallel()
	runH2Spec(t, func(c net.Conn, h http.Handler) { New(Config{Handler: h}).ServeConn(c) }, nil)
}

// knownReferenceFailures are the h2spec cases x/net's Server fails (or may
// fail), by h2spec ID. Only TestH2SpecReference uses it: pylon's server is
// held to the whole suite.
var knownReferenceFailures = map[string]string{
	"http2/3.5/2":     "on an invalid preface x/net closes with h2spec's bytes unread, so the kernel resets the TCP connection; h2spec counts only a clean close (x/net may also pass)",
	"http2/4.2/3":     "x/net advertises SETTINGS_MAX_FRAME_SIZE 1 MiB, so the ~20 kB HEADERS frame h2spec sizes for the 16384 default is legal and gets a 200",
	"http2/6.5.3/1":   "x/net rejects a SETTINGS frame that repeats a parameter with GOAWAY PROTOCOL_ERROR; RFC 9113 6.5.3 says to apply the values in order",
	"http2/8.1.2.2/1": "x/net answers a connection-specific field with a 400 and no RST_STREAM; h2spec wants a stream or connection error",
	"http2/8.1.2.2/2": "x/net answers te other than trailers with a 400 and no RST_STREAM; h2spec wants a stream or connection error",
}

// h2specHandler answers every request, GET and POST alike, with a short
// body, after reading the request's: h2spec's flow-control cases need at
// least 5 bytes of DATA on GET /, and its malformed-body cases a server
// that reads the body before it answers.
var h2specHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "pylon h2spec target\n")
})

// runH2Spec runs h2spec against serve; the cases in allowed may fail.
func runH2Spec(t *testing.T, serve serveConnFunc, allowed map[string]string) {
	srv := startKitServer(t, serve, h2specHandler)
	h2spectest.Run(t, srv.addr, h2spectest.Options{Allowed: allowed})
}

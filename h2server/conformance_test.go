//lint:file-ignore SA1019 the kit runs x/net's HTTP/2 client and server (deprecated in favour of net/http's copies) on purpose: they are its reference.

package h2server

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The conformance kit: what an HTTP/2 server for pylon's mesh must do,
// checked with real clients (x/net's Transport, curl, grpc-go) and with raw
// frames (rawconn_test.go). runConformance runs it against any server that
// can serve one net.Conn; TestConformanceReference runs it against
// golang.org/x/net/http2's Server, which every check must pass.
//
// Where RFC 9113 allows more than one reaction (a stream error or a
// connection error, RST_STREAM or GOAWAY, a 4xx response before the reset),
// the checks accept every one the RFC allows, not only x/net's.

// kitTimeout bounds every wait in the kit. It only turns a hang into a
// failure: no check passes or fails by waiting it out.
const kitTimeout = 5 * time.Second

// serveConnFunc serves one accepted connection with h until it is closed.
type serveConnFunc func(c net.Conn, h http.Handler)

func TestConformanceReference(t *testing.T) {
	t.Parallel()
	runConformance(t, func(c net.Conn, h http.Handler) {
		(&http2.Server{}).ServeConn(c, &http2.ServeConnOpts{Handler: h})
	})
}

// TestConformance holds pylon's server to the same checks.
func TestConformance(t *testing.T) {
	t.Parallel()
	runConformance(t, func(c net.Conn, h http.Handler) { New(Config{Handler: h}).ServeConn(c) })
}

// conformanceChecks is the kit. Each check starts its own server.
var conformanceChecks = []struct {
	name string
	run  func(t *testing.T, serve serveConnFunc)
}{
	{"client/get", checkClientGet},
	{"client/post-1MiB-echo", checkClientPostEcho},
	{"client/20-concurrent-on-one-conn", checkClientConcurrent},
	{"curl/get", checkCurlGet},
	{"curl/post", checkCurlPost},
	{"grpc", checkGRPC},
	{"multiplexing/no-head-of-line-blocking", checkNoHeadOfLineBlocking},
	{"trailers/request", checkRequestTrailers},
	{"trailers/response", checkResponseTrailers},
	{"flow-control/initial-window-size", checkFlowInitialWindow},
	{"flow-control/max-frame-size", checkFlowMaxFrameSize},
	{"flow-control/initial-window-size-change", checkFlowWindowChange},
	{"rst-stream-cancels-handler", checkCancel},
	{"handler-abort-panic", checkAbortPanic},
	{"connect-full-duplex", checkConnect},
	{"expect-100-continue", checkExpectContinue},
	{"head-has-no-body", checkHead},
	{"malformed-requests", checkMalformed},
	{"header-list-too-large", checkHeaderListTooLarge},
	{"request-fields", checkRequestFields},
}

// runConformance runs every check against serve, each as a subtest.
func runConformance(t *testing.T, serve serveConnFunc) {
	for _, c := range conformanceChecks {
		t.Run(c.name, func(t *testing.T) { c.run(t, serve) })
	}
}

// ---------------------------------------------------------------------------
// Server and client plumbing.

// kitServer is a loopback listener whose connections are served by the
// implementation under test.
type kitServer struct {
	addr     string
	accepted atomic.Int32 // connections accepted so far
}

func (s *kitServer) url(path string) string { return "http://" + s.addr + path }

// startKitServer listens on 127.0.0.1:0 and runs go serve(c, h) for every
// accepted connection. When t ends it closes the listener and the
// connections, then fails t if a serve call or a handler has not returned
// within kitTimeout.
func startKitServer(t *testing.T, serve serveConnFunc, h http.Handler) *kitServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &kitServer{addr: ln.Addr().String()}
	var (
		mu       sync.Mutex
		conns    []net.Conn
		closed   bool
		wg       sync.WaitGroup
		handlers atomic.Int64
	)
	tracked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlers.Add(1)
		defer handlers.Add(-1)
		h.ServeHTTP(w, r)
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				c.Close()
				return
			}
			conns = append(conns, c)
			srv.accepted.Add(1)
			wg.Add(1)
			mu.Unlock()
			go func() {
				defer wg.Done()
				serve(c, tracked)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(kitTimeout):
			t.Errorf("serve did not return within %v of its connection being closed", kitTimeout)
		}
		for deadline := time.Now().Add(kitTimeout); handlers.Load() != 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("%d handlers still running %v after their connections were closed", handlers.Load(), kitTimeout)
				break
			}
		}
	})
	return srv
}

// h2cTransport returns x/net's HTTP/2 client speaking cleartext HTTP/2 with
// prior knowledge. With cfg set, the client's receive windows etc. come
// from it (through an http.Transport, which is how x/net takes them).
func h2cTransport(t *testing.T, cfg *http.HTTP2Config) *http2.Transport {
	t.Helper()
	tr := &http2.Transport{}
	if cfg != nil {
		var err error
		tr, err = http2.ConfigureTransports(&http.Transport{HTTP2: cfg})
		if err != nil {
			t.Fatal(err)
		}
	}
	tr.AllowHTTP = true
	tr.DialTLSContext = func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// await returns the next value from ch, failing t after kitTimeout.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(kitTimeout):
		t.Fatalf("timed out after %v waiting for %s", kitTimeout, what)
		var zero T
		return zero
	}
}

// trySignal sends on a channel of capacity 1 without ever blocking.
func trySignal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// patternBytes returns n bytes in which every 4-byte word holds its own index, so
// a lost, repeated or reordered chunk shows up in a comparison.
func patternBytes(n int) []byte {
	b := make([]byte, n+3)
	for i := 0; i < n; i += 4 {
		binary.BigEndian.PutUint32(b[i:], uint32(i/4))
	}
	return b[:n]
}

// ---------------------------------------------------------------------------
// Real clients.

func checkClientGet(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("X-Reply", "yes")
		io.WriteString(w, "hello from "+r.URL.Path)
	}))
	client := &http.Client{Transport: h2cTransport(t, nil), Timeout: kitTimeout}
	resp, err := client.Get(srv.url("/greeting"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || string(body) != "hello from /greeting" || resp.Header.Get("X-Reply") != "yes" {
		t.Fatalf("got %s %d, X-Reply %q, body %q", resp.Proto, resp.StatusCode, resp.Header.Get("X-Reply"), body)
	}
}

// checkClientPostEcho sends 1 MiB through a handler that echoes it, with a
// client whose receive windows are 64 KiB: both directions then need many
// WINDOW_UPDATEs to finish.
func checkClientPostEcho(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	// x/net's client takes receive-window sizes only from an http.Transport
	// it is configured into, and then dials no connections of its own.
	tr := h2cTransport(t, &http.HTTP2Config{MaxReceiveBufferPerConnection: 65535, MaxReceiveBufferPerStream: 65535})
	conn, err := net.DialTimeout("tcp", srv.addr, kitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	cc, err := tr.NewClientConn(conn)
	if err != nil {
		t.Fatal(err)
	}
	want := patternBytes(1 << 20)
	req, err := http.NewRequestWithContext(t.Context(), "POST", srv.url("/echo"), bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(kitTimeout))
	resp, err := cc.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the echoed body after %d bytes: %v", len(got), err)
	}
	if resp.StatusCode != 200 || !bytes.Equal(got, want) {
		t.Fatalf("got %d with %d bytes; want 200 with the %d bytes sent", resp.StatusCode, len(got), len(want))
	}
	if n := srv.accepted.Load(); n != 1 {
		t.Errorf("the client opened %d connections, want 1", n)
	}
}

// checkClientConcurrent has 20 requests in flight on one connection at once:
// every handler waits until all 20 have arrived.
func checkClientConcurrent(t *testing.T, serve serveConnFunc) {
	const n = 20
	var arrived atomic.Int32
	all := make(chan struct{})
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == n {
			close(all)
		}
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, r.URL.Path)
	}))
	client := &http.Client{Transport: h2cTransport(t, nil), Timeout: kitTimeout}
	errs := make(chan error, n)
	for i := range n {
		go func() {
			path := fmt.Sprintf("/req/%d", i)
			resp, err := client.Get(srv.url(path))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil && (resp.StatusCode != 200 || string(body) != path) {
				err = fmt.Errorf("%s: got %d %q", path, resp.StatusCode, body)
			}
			errs <- err
		}()
	}
	for range n {
		if err := await(t, errs, "the concurrent requests"); err != nil {
			t.Error(err)
		}
	}
	if c := srv.accepted.Load(); c != 1 {
		t.Errorf("the requests used %d connections, want 1", c)
	}
}

// runCurl runs curl with prior-knowledge HTTP/2 and returns its output, which
// ends with a line "<http_version> <response_code>".
func runCurl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("PYLON_REQUIRE_CURL") == "1" {
			t.Fatal("curl is not on PATH, and PYLON_REQUIRE_CURL=1")
		}
		t.Skip("curl is not on PATH")
	}
	ctx, cancel := context.WithTimeout(t.Context(), kitTimeout)
	defer cancel()
	args = append([]string{"--http2-prior-knowledge", "--silent", "--show-error", "--max-time", "5", "--write-out", "\n%{http_version} %{response_code}"}, args...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// kitEchoHandler answers "METHOD PATH\n" followed by the request body.
var kitEchoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "%s %s\n", r.Method, r.URL.Path)
	io.Copy(w, r.Body)
})

func checkCurlGet(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, kitEchoHandler)
	if got, want := runCurl(t, "", srv.url("/from-curl")), "GET /from-curl\n\n2 200"; got != want {
		t.Fatalf("curl printed %q, want %q", got, want)
	}
}

func checkCurlPost(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, kitEchoHandler)
	body := strings.Repeat("posted by curl ", 1000)
	if got, want := runCurl(t, body, "--data-binary", "@-", srv.url("/upload")), "POST /upload\n"+body+"\n2 200"; got != want {
		t.Fatalf("curl printed %q, want %q", got, want)
	}
}

// ---------------------------------------------------------------------------
// gRPC: grpc-go's server as the http.Handler, grpc-go's client over h2c.

// grpcTestService implements grpc.testing.TestService for checkGRPC.
type grpcTestService struct {
	testpb.UnimplementedTestServiceServer
	emptyCallCtx chan error // EmptyCall's context error once it was cancelled, or nil
}

// UnaryCall echoes the request payload, or returns ResponseStatus as an error.
func (s *grpcTestService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if st := req.GetResponseStatus(); st.GetCode() != 0 {
		return nil, status.Error(codes.Code(st.GetCode()), st.GetMessage())
	}
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

// EmptyCall outlives any deadline: it returns only when its context is
// cancelled (or after kitTimeout), and reports which on emptyCallCtx.
func (s *grpcTestService) EmptyCall(ctx context.Context, _ *testpb.Empty) (*testpb.Empty, error) {
	select {
	case <-ctx.Done():
		s.emptyCallCtx <- ctx.Err()
		return nil, ctx.Err()
	case <-time.After(kitTimeout):
		s.emptyCallCtx <- nil
		return &testpb.Empty{}, nil
	}
}

// StreamingOutputCall sends one response per ResponseParameters, of its size.
func (s *grpcTestService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for i, p := range req.GetResponseParameters() {
		body := bytes.Repeat([]byte{byte('a' + i)}, int(p.GetSize()))
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: body}}); err != nil {
			return err
		}
	}
	return nil
}

// StreamingInputCall answers the total payload size of all requests.
func (s *grpcTestService) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	total := 0
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(total)})
		}
		if err != nil {
			return err
		}
		total += len(req.GetPayload().GetBody())
	}
}

// FullDuplexCall echoes each request's payload as soon as it arrives.
func (s *grpcTestService) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

func checkGRPC(t *testing.T, serve serveConnFunc) {
	const maxMsg = 8 << 20
	svc := &grpcTestService{emptyCallCtx: make(chan error, 1)}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
	testpb.RegisterTestServiceServer(gs, svc)
	t.Cleanup(gs.Stop)
	srv := startKitServer(t, serve, gs)
	cc, err := grpc.NewClient("passthrough:///"+srv.addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	client := testpb.NewTestServiceClient(cc)
	callCtx := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), kitTimeout)
		t.Cleanup(cancel)
		return ctx
	}

	t.Run("unary", func(t *testing.T) {
		resp, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("ping")}})
		if err != nil || string(resp.GetPayload().GetBody()) != "ping" {
			t.Fatalf("got %v, %v; want the payload echoed", resp, err)
		}
	})
	t.Run("unary-4MB", func(t *testing.T) {
		want := patternBytes(4 << 20)
		resp, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{Payload: &testpb.Payload{Body: want}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.GetPayload().GetBody(); !bytes.Equal(got, want) {
			t.Fatalf("got %d bytes back, want the %d sent", len(got), len(want))
		}
	})
	t.Run("server-streaming", func(t *testing.T) {
		sizes := []int32{1, 1000, 70000, 0, 5}
		req := &testpb.StreamingOutputCallRequest{}
		for _, n := range sizes {
			req.ResponseParameters = append(req.ResponseParameters, &testpb.ResponseParameters{Size: n})
		}
		stream, err := client.StreamingOutputCall(callCtx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range sizes {
			resp, err := stream.Recv()
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			if got := resp.GetPayload().GetBody(); !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + i)}, int(n))) {
				t.Fatalf("response %d: got %d bytes, want %d of %q", i, len(got), n, rune('a'+i))
			}
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("after the last response: got %v, want io.EOF", err)
		}
	})
	t.Run("client-streaming", func(t *testing.T) {
		stream, err := client.StreamingInputCall(callCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range []int{10, 100000, 0, 3} {
			total += n
			if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil || resp.GetAggregatedPayloadSize() != int32(total) {
			t.Fatalf("got %v, %v; want aggregated size %d", resp, err, total)
		}
	})
	t.Run("bidi", func(t *testing.T) {
		stream, err := client.FullDuplexCall(callCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range []string{"one", "two", "three"} {
			// Each echo must arrive before the next message is sent.
			if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(msg)}}); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil || string(resp.GetPayload().GetBody()) != msg {
				t.Fatalf("echo of %q: got %v, %v", msg, resp, err)
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != io.EOF {
			t.Fatalf("after CloseSend: got %v, want io.EOF", err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := client.EmptyCall(ctx, &testpb.Empty{})
		if status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("got %v, want DeadlineExceeded", err)
		}
		if err := await(t, svc.emptyCallCtx, "the handler to return"); err == nil {
			t.Errorf("the handler's context was not cancelled within %v of the deadline", kitTimeout)
		}
	})
	t.Run("status-error", func(t *testing.T) {
		_, err := client.UnaryCall(callCtx(t), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no such widget"}})
		if st := status.Convert(err); st.Code() != codes.NotFound || st.Message() != "no such widget" {
			t.Fatalf("got %v, want NotFound: no such widget", err)
		}
	})
	t.Run("status-in-trailers", func(t *testing.T) {
		// The same status, seen by a plain HTTP/2 client: it must come in
		// the response's trailers, after the headers.
		msg, err := proto.Marshal(&testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no such widget"}})
		if err != nil {
			t.Fatal(err)
		}
		frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
		req, err := http.NewRequestWithContext(callCtx(t), "POST", srv.url(testpb.TestService_UnaryCall_FullMethodName), bytes.NewReader(append(frame, msg...)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/grpc")
		req.Header.Set("Te", "trailers")
		resp, err := h2cTransport(t, nil).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Trailer.Get("Grpc-Status") != strconv.Itoa(int(codes.NotFound)) || resp.Trailer.Get("Grpc-Message") != "no such widget" {
			t.Fatalf("got %d, header %v, trailer %v; want 200 with grpc-status and grpc-message in the trailers", resp.StatusCode, resp.Header, resp.Trailer)
		}
	})
}

// ---------------------------------------------------------------------------
// Frame-level checks.

// checkNoHeadOfLineBlocking: stream 1's handler blocks until stream 3, opened
// after it on the same connection, has been answered in full.
func checkNoHeadOfLineBlocking(t *testing.T, serve serveConnFunc) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			trySignal(started)
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, r.URL.Path)
	}))
	rc := dialRaw(t, srv.addr)
	rc.request(1, "GET", "/slow", true)
	await(t, started, "stream 1's handler to start")
	rc.request(3, "GET", "/quick", true)
	expectResponse(t, rc.waitStream(3), 200, "/quick")
	if st := rc.stream(1); st.done() {
		t.Fatalf("stream 1 ended before its handler was released: %s", st)
	}
	close(release)
	expectResponse(t, rc.waitStream(1), 200, "/slow")
}

func checkRequestTrailers(t *testing.T, serve serveConnFunc) {
	trailers := make(chan http.Header, 1)
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		trailers <- r.Trailer.Clone()
		w.Write(body)
	}))
	rc := dialRaw(t, srv.addr)
	rc.request(1, "POST", "/upload", false, "trailer", "x-checksum, x-count")
	rc.data(1, false, []byte("payload"))
	rc.writeHeaders(1, true, "x-checksum", "abc123", "x-count", "7")
	expectResponse(t, rc.waitStream(1), 200, "payload")
	got := await(t, trailers, "the handler to read the body")
	if got.Get("X-Checksum") != "abc123" || got.Get("X-Count") != "7" {
		t.Fatalf("after EOF r.Trailer is %v, want X-Checksum: abc123 and X-Count: 7", got)
	}
}

// checkResponseTrailers: both ways net/http lets a handler send trailers
// must arrive as a final HEADERS frame that carries END_STREAM.
func checkResponseTrailers(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared":
			w.Header().Set("Trailer", "X-Declared")
			w.WriteHeader(200)
			io.WriteString(w, "body")
			w.Header().Set("X-Declared", "d-value")
		case "/prefixed":
			io.WriteString(w, "body")
			http.NewResponseController(w).Flush()
			w.Header().Set(http.TrailerPrefix+"X-Prefixed", "p-value")
		}
	}))
	rc := dialRaw(t, srv.addr)
	for _, c := range []struct {
		id                uint32
		path, name, value string
	}{
		{1, "/declared", "x-declared", "d-value"},
		{3, "/prefixed", "x-prefixed", "p-value"},
	} {
		id := c.id
		rc.request(id, "GET", c.path, true)
		st := rc.waitStream(id)
		expectResponse(t, st, 200, "body")
		if st.trailer == nil || st.endedBy != "HEADERS" {
			t.Errorf("%s: want the trailers in a HEADERS frame with END_STREAM; got %s", c.path, st)
			continue
		}
		if v, _ := fieldValue(st.trailer, c.name); v != c.value {
			t.Errorf("%s: trailer fields %v, want %s: %s", c.path, st.trailer, c.name, c.value)
		}
		for _, f := range st.trailer {
			if strings.HasPrefix(f.Name, ":") {
				t.Errorf("%s: pseudo-header %s in the trailers", c.path, f.Name)
			}
		}
	}
}

// patternHandler answers every request with n patterned bytes in one Write.
func patternHandler(n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(patternBytes(n)) })
}

// expectBodyBytes reads until stream id has received exactly n body bytes,
// then (with a PING round trip) makes sure the server sends no more for now.
func expectBodyBytes(t *testing.T, rc *rawClient, id uint32, n int, why string) {
	t.Helper()
	st := rc.stream(id)
	rc.readUntil(fmt.Sprintf("%d body bytes on stream %d", n, id), func() bool { return st.body.Len() >= n || st.done() })
	rc.sync()
	if st.body.Len() != n || st.done() {
		t.Fatalf("%s: want exactly %d body bytes so far and the stream open; got %d (%s)", why, n, st.body.Len(), st)
	}
}

// checkFlowInitialWindow: with SETTINGS_INITIAL_WINDOW_SIZE=100 the server
// sends 100 bytes, then waits for a WINDOW_UPDATE before the rest.
func checkFlowInitialWindow(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, patternHandler(300))
	rc := dialRaw(t, srv.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	rc.autoWindow = false
	rc.request(1, "GET", "/", true)
	expectBodyBytes(t, rc, 1, 100, "stream window of 100")
	rc.windowUpdate(1, 200)
	st := rc.waitStream(1)
	if !st.endStream || !bytes.Equal(st.body.Bytes(), patternBytes(300)) {
		t.Fatalf("after the WINDOW_UPDATE want the rest of the 300-byte body; got %d bytes (%s)", st.body.Len(), st)
	}
}

// checkFlowMaxFrameSize: the client never raises SETTINGS_MAX_FRAME_SIZE,
// so no DATA frame may exceed 16384 bytes (rawClient checks every frame).
func checkFlowMaxFrameSize(t *testing.T, serve serveConnFunc) {
	const n = 100 << 10
	srv := startKitServer(t, serve, patternHandler(n))
	rc := dialRaw(t, srv.addr)
	rc.request(1, "GET", "/", true)
	st := rc.waitStream(1)
	if !st.endStream || !bytes.Equal(st.body.Bytes(), patternBytes(n)) {
		t.Fatalf("want the %d-byte body; got %d bytes (%s)", n, st.body.Len(), st)
	}
	for _, size := range st.dataSizes {
		if size > clientMaxFrameSize {
			t.Fatalf("DATA frame of %d bytes, over SETTINGS_MAX_FRAME_SIZE %d", size, clientMaxFrameSize)
		}
	}
}

// checkFlowWindowChange: a new SETTINGS_INITIAL_WINDOW_SIZE changes the
// window of a stream already open by the difference, even below zero
// (RFC 9113 6.9.2).
func checkFlowWindowChange(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, patternHandler(300))
	rc := dialRaw(t, srv.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100})
	rc.autoWindow = false
	rc.request(1, "GET", "/", true)
	expectBodyBytes(t, rc, 1, 100, "initial window 100")

	// 100 → 50: the stream's window goes from 0 to -50.
	rc.writeSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 50})
	rc.syncSettings()
	rc.windowUpdate(1, 100) // -50 + 100 = 50 more bytes
	expectBodyBytes(t, rc, 1, 150, "window -50 after lowering INITIAL_WINDOW_SIZE to 50, then WINDOW_UPDATE 100")

	// 50 → 200: +150, enough for the rest.
	rc.writeSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 200})
	st := rc.waitStream(1)
	if !st.endStream || !bytes.Equal(st.body.Bytes(), patternBytes(300)) {
		t.Fatalf("after raising INITIAL_WINDOW_SIZE to 200 want the rest of the 300-byte body; got %d bytes (%s)", st.body.Len(), st)
	}
}

// checkCancel: RST_STREAM(CANCEL) cancels the handler's context, and the
// connection still serves new streams.
func checkCancel(t *testing.T, serve serveConnFunc) {
	started, cancelled := make(chan struct{}, 1), make(chan struct{}, 1)
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/wait" {
			io.WriteString(w, "ok")
			return
		}
		trySignal(started)
		<-r.Context().Done()
		trySignal(cancelled)
	}))
	rc := dialRaw(t, srv.addr)
	rc.request(1, "GET", "/wait", true)
	await(t, started, "the handler to start")
	rc.rstStream(1, http2.ErrCodeCancel)
	await(t, cancelled, "the handler's context to be cancelled")
	rc.request(3, "GET", "/after", true)
	expectResponse(t, rc.waitStream(3), 200, "ok")
}

// checkAbortPanic: a handler that panics with http.ErrAbortHandler, before
// or after sending part of its response, gets its stream reset; the
// connection stays usable.
func checkAbortPanic(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/abort-early":
			panic(http.ErrAbortHandler)
		case "/abort-late":
			io.WriteString(w, "partial")
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, "ok")
	}))
	rc := dialRaw(t, srv.addr)
	for i, path := range []string{"/abort-early", "/abort-late"} {
		id := uint32(2*i + 1)
		rc.request(id, "GET", path, true)
		if st := rc.waitStream(id); !st.rst || st.endStream {
			t.Fatalf("%s: want RST_STREAM and no END_STREAM; got %s (%s)", path, st, rc.describe())
		}
	}
	if !rc.alive() {
		t.Fatalf("the connection did not survive the aborted handlers: %s", rc.describe())
	}
	rc.request(5, "GET", "/", true)
	expectResponse(t, rc.waitStream(5), 200, "ok")
}

// checkConnect: an HTTP/2 CONNECT tunnel (RFC 9113 8.5). The handler
// answers 200, then echoes each chunk as it arrives; the client sends the
// next chunk only after reading the previous echo.
func checkConnect(t *testing.T, serve serveConnFunc) {
	hosts := make(chan string, 1)
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "CONNECT" {
			http.Error(w, "want CONNECT", http.StatusMethodNotAllowed)
			return
		}
		hosts <- r.Host
		rw := http.NewResponseController(w)
		w.WriteHeader(200)
		if rw.Flush() != nil {
			return
		}
		buf := make([]byte, 1024)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				if rw.Flush() != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}))
	rc := dialRaw(t, srv.addr)
	rc.writeHeaders(1, false, ":method", "CONNECT", ":authority", "db.internal:5432")
	st := rc.stream(1)
	rc.readUntil("the response to CONNECT", func() bool { return st.header != nil || st.done() })
	if st.status != 200 || st.done() {
		t.Fatalf("want a 200 that leaves the tunnel open; got %s", st)
	}
	if h := await(t, hosts, "the handler"); h != "db.internal:5432" {
		t.Errorf("r.Host = %q, want db.internal:5432", h)
	}
	for _, chunk := range []string{"first chunk", "second", "the third and last chunk"} {
		before := st.body.Len()
		rc.data(1, false, []byte(chunk))
		rc.readUntil(fmt.Sprintf("the echo of %q", chunk), func() bool { return st.body.Len() >= before+len(chunk) || st.done() })
		if got := st.body.String()[before:]; got != chunk {
			t.Fatalf("echo: got %q, want %q (%s)", got, chunk, st)
		}
	}
	rc.data(1, true, nil)
	if st := rc.waitStream(1); !st.endStream || st.rst {
		t.Fatalf("closing the tunnel: want END_STREAM from the server; got %s", st)
	}
}

// checkExpectContinue: with "expect: 100-continue", a client that waits for
// the 100 before sending the body gets it once the handler reads the body,
// and then the final response.
func checkExpectContinue(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	rc := dialRaw(t, srv.addr)
	rc.request(1, "POST", "/upload", false, "expect", "100-continue", "content-length", "5")
	st := rc.stream(1)
	rc.readUntil("a 100 (Continue) response", func() bool { return len(st.interim) > 0 || st.header != nil || st.done() })
	if len(st.interim) == 0 {
		t.Fatalf("want 100 (Continue) before the body is sent; got %s", st)
	}
	if v, _ := fieldValue(st.interim[0], ":status"); v != "100" {
		t.Fatalf("first informational response is %s, want 100", v)
	}
	rc.data(1, true, []byte("hello"))
	expectResponse(t, rc.waitStream(1), 200, "hello")
}

// checkHead: a response to HEAD carries no content, whatever the handler
// writes; an empty DATA frame with END_STREAM is fine.
func checkHead(t *testing.T, serve serveConnFunc) {
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/with-length" {
			w.Header().Set("Content-Length", "11")
		}
		io.WriteString(w, "hello world")
	}))
	rc := dialRaw(t, srv.addr)
	for i, path := range []string{"/with-length", "/without-length"} {
		id := uint32(2*i + 1)
		rc.request(id, "HEAD", path, true)
		st := rc.waitStream(id)
		if !st.endStream || st.status != 200 || st.body.Len() != 0 {
			t.Errorf("HEAD %s: want 200 with no content; got %s", path, st)
		}
	}
}

// expectRejected fails t unless the server refused stream id in one of the
// ways RFC 9113 8.1.1 allows for a malformed request: a stream error of
// type PROTOCOL_ERROR (RST_STREAM), a connection error (GOAWAY
// PROTOCOL_ERROR, or closing the connection; 5.4.1 makes GOAWAY a SHOULD),
// or an HTTP 4xx response, which a server MAY send before closing or
// resetting the stream.
func expectRejected(t *testing.T, rc *rawClient, id uint32) {
	t.Helper()
	st := rc.waitStream(id)
	t.Logf("outcome: %s", rc.describe())
	switch {
	case st.header != nil && st.status >= 400 && st.status < 500:
	case st.header != nil:
		t.Errorf("want the request rejected; it was answered %d (%s)", st.status, rc.describe())
	case st.rst && st.rstCode == http2.ErrCodeProtocol:
	case st.rst:
		t.Errorf("want RST_STREAM PROTOCOL_ERROR; got %s", st)
	case rc.goAway != nil && rc.goAway.code == http2.ErrCodeProtocol:
	case rc.goAway != nil:
		t.Errorf("want GOAWAY PROTOCOL_ERROR; got %s", rc.describe())
	case rc.readErr != nil:
	default:
		t.Errorf("the request was neither answered nor refused: %s", rc.describe())
	}
}

// syncAfterReject makes sure a connection that outlived a refused stream
// still works (a stream error leaves the connection usable), and gives the
// server a point by which it would have run the refused stream's handler.
func syncAfterReject(t *testing.T, rc *rawClient, id uint32) {
	t.Helper()
	if !rc.alive() {
		return
	}
	rc.request(id, "GET", "/sync", true)
	expectResponse(t, rc.waitStream(id), 200, "sync")
}

// checkMalformed: malformed requests (RFC 9113 8.1.1, 8.2, 8.3) are
// refused. A request whose header section is malformed never reaches the
// handler. A content-length that disagrees with the DATA can only show once
// the handler may already be running, so there the requirement is that the
// handler never sees the body as complete.
func checkMalformed(t *testing.T, serve serveConnFunc) {
	cases := []struct {
		name     string
		send     func(rc *rawClient)
		bodyOnly bool // the handler may run but must get a body error
	}{
		{"missing :path", func(rc *rawClient) {
			rc.writeHeaders(1, true, ":method", "GET", ":scheme", "http", ":authority", rc.authority)
		}, false},
		{"upper-case field name", func(rc *rawClient) { rc.request(1, "GET", "/", true, "X-Upper", "1") }, false},
		{"connection field", func(rc *rawClient) { rc.request(1, "GET", "/", true, "connection", "keep-alive") }, false},
		{"te other than trailers", func(rc *rawClient) { rc.request(1, "GET", "/", true, "te", "gzip") }, false},
		{"content-length above the DATA", func(rc *rawClient) {
			rc.request(1, "POST", "/", false, "content-length", "10")
			rc.data(1, true, []byte("hello"))
		}, true},
		{"content-length below the DATA", func(rc *rawClient) {
			rc.request(1, "POST", "/", false, "content-length", "3")
			rc.data(1, true, []byte("hello"))
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var entered atomic.Int32
			bodyErrs := make(chan error, 1)
			srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/sync" {
					io.WriteString(w, "sync")
					return
				}
				entered.Add(1)
				_, err := io.ReadAll(r.Body)
				bodyErrs <- err
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
				}
			}))
			rc := dialRaw(t, srv.addr)
			c.send(rc)
			expectRejected(t, rc, 1)
			syncAfterReject(t, rc, 3)
			switch {
			case entered.Load() == 0:
			case !c.bodyOnly:
				t.Errorf("the malformed request reached the handler")
			default:
				if err := await(t, bodyErrs, "the handler to read the body"); err == nil {
					t.Errorf("the handler read the body to a clean EOF")
				}
			}
		})
	}
}

// checkHeaderListTooLarge: a header section over the server's limit (its
// SETTINGS_MAX_HEADER_LIST_SIZE, else 1 MiB) gets a 431 or a stream or
// connection error, and never reaches the handler.
func checkHeaderListTooLarge(t *testing.T, serve serveConnFunc) {
	var entered atomic.Int32
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sync" {
			entered.Add(1)
		}
		io.WriteString(w, "sync")
	}))
	rc := dialRaw(t, srv.addr)
	limit, ok := rc.peerSettings[http2.SettingMaxHeaderListSize]
	if !ok {
		limit = 1 << 20
	}
	pairs := []string{":method", "GET", ":scheme", "http", ":authority", rc.authority, ":path", "/big"}
	value := strings.Repeat("v", 4000)
	for size, i := 0, 0; size <= int(limit)+8192; i++ {
		name := fmt.Sprintf("x-filler-%d", i)
		pairs = append(pairs, name, value)
		size += len(name) + len(value) + 32 // RFC 9113 6.5.2's accounting
	}
	block := rc.encode(pairs...)
	rc.stream(1)
	// The server may stop reading part-way, so write while reading.
	written := make(chan error, 1)
	go func() { written <- rc.writeBlock(1, true, block) }()
	st := rc.waitStream(1)
	if !rc.alive() {
		rc.conn.Close() // the server is done with the connection: stop the writer
	}
	await(t, written, "the header block to be written")
	t.Logf("outcome: %s", rc.describe())
	switch {
	case st.header != nil && st.status == http.StatusRequestHeaderFieldsTooLarge:
	case st.header != nil:
		t.Errorf("want 431 or an error; got %d (%s)", st.status, st)
	case st.rst, rc.goAway != nil, rc.readErr != nil:
	default:
		t.Errorf("the request was neither answered nor refused: %s", rc.describe())
	}
	syncAfterReject(t, rc, 3)
	if entered.Load() != 0 {
		t.Errorf("the oversized request reached the handler")
	}
}

// requestView is what checkRequestFields compares of an *http.Request.
type requestView struct {
	Method, Path, RawQuery, RequestURI, Host, Proto string
	ProtoMajor, ProtoMinor                          int
	ContentLength                                   int64
	RemoteAddr                                      string
	Multi, Cookies                                  []string
	Body                                            string
}

func checkRequestFields(t *testing.T, serve serveConnFunc) {
	views := make(chan requestView, 1)
	srv := startKitServer(t, serve, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v := requestView{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, RequestURI: r.RequestURI, Host: r.Host,
			Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor, ContentLength: r.ContentLength,
			RemoteAddr: r.RemoteAddr, Multi: r.Header.Values("X-Multi"), Body: string(body),
		}
		for _, c := range r.Cookies() {
			v.Cookies = append(v.Cookies, c.Name+"="+c.Value)
		}
		views <- v
	}))
	rc := dialRaw(t, srv.addr)
	base := requestView{
		Host: "example.test:8443", Proto: "HTTP/2.0", ProtoMajor: 2, ProtoMinor: 0,
		RemoteAddr: rc.conn.LocalAddr().String(),
	}

	// One connection for all three, so no subtests: rawClient fails the
	// test that dialled it.
	for _, c := range []struct {
		name   string
		id     uint32
		send   func(id uint32)
		expect func(v *requestView)
	}{
		{"with content-length", 1, func(id uint32) {
			rc.writeHeaders(id, false, ":method", "POST", ":scheme", "http", ":authority", "example.test:8443",
				":path", "/a/b%20c?x=1&y=2", "content-length", "5",
				"x-multi", "one", "cookie", "a=1", "x-multi", "two", "cookie", "b=2; c=3")
			rc.data(id, true, []byte("hello"))
		}, func(v *requestView) {
			v.Method, v.Path, v.RawQuery, v.RequestURI = "POST", "/a/b c", "x=1&y=2", "/a/b%20c?x=1&y=2"
			v.ContentLength, v.Multi, v.Cookies, v.Body = 5, []string{"one", "two"}, []string{"a=1", "b=2", "c=3"}, "hello"
		}},
		{"body without content-length", 3, func(id uint32) {
			rc.writeHeaders(id, false, ":method", "PUT", ":scheme", "http", ":authority", "example.test:8443", ":path", "/put")
			rc.data(id, true, []byte("abc"))
		}, func(v *requestView) {
			v.Method, v.Path, v.RequestURI, v.ContentLength, v.Body = "PUT", "/put", "/put", -1, "abc"
		}},
		{"END_STREAM on HEADERS", 5, func(id uint32) {
			rc.writeHeaders(id, true, ":method", "GET", ":scheme", "http", ":authority", "example.test:8443", ":path", "/get?q")
		}, func(v *requestView) {
			v.Method, v.Path, v.RawQuery, v.RequestURI, v.ContentLength = "GET", "/get", "q", "/get?q", 0
		}},
	} {
		c.send(c.id)
		expectResponse(t, rc.waitStream(c.id), 200, "")
		want := base
		c.expect(&want)
		if diff := cmp.Diff(want, await(t, views, "the handler")); diff != "" {
			t.Errorf("%s: the request as the handler saw it (-want +got):\n%s", c.name, diff)
		}
	}
}

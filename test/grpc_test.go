package test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const maxMsg = 8 << 20

// testService implements grpc.testing.TestService for the tests.
type testService struct {
	testpb.UnimplementedTestServiceServer
	canceled chan string // receives the method whose context was canceled
}

// UnaryCall answers with ResponseSize bytes after the delay asked for in the
// x-delay-ms metadata, and sets a trailer.
func (s *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if d := md.Get("x-delay-ms"); len(d) == 1 {
		ms, _ := strconv.Atoi(d[0])
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			s.canceled <- "UnaryCall"
			return nil, ctx.Err()
		}
	}
	grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t-value", "x-request-size", strconv.Itoa(len(req.GetPayload().GetBody()))))
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: bytes.Repeat([]byte{'r'}, int(req.GetResponseSize()))}}, nil
}

// StreamingOutputCall sends one message per response parameter.
func (s *testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for _, p := range req.GetResponseParameters() {
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, p.GetSize())}}); err != nil {
			return err
		}
	}
	return nil
}

// StreamingInputCall sums the payload sizes it receives.
func (s *testService) StreamingInputCall(stream grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	var sum int32
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: sum})
		}
		if err != nil {
			return err
		}
		sum += int32(len(req.GetPayload().GetBody()))
	}
}

// FullDuplexCall echoes each request's payload; it reports a canceled
// context on s.canceled.
func (s *testService) FullDuplexCall(stream grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if stream.Context().Err() != nil {
				s.canceled <- "FullDuplexCall"
			}
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// startGRPCServer serves testService and the health service on loopback.
func startGRPCServer(t *testing.T) (*testService, *health.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
	svc := &testService{canceled: make(chan string, 16)}
	testpb.RegisterTestServiceServer(srv, svc)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return svc, hs, ln.Addr().String()
}

// dialGRPC connects a grpc-go client to addr (pylon's listener).
func dialGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)))
	if err != nil {
		t.Fatalf("creating a gRPC client: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

const grpcConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
  - name: down
    address: {{listen "down"}}
routes:
  - name: test-service
    listeners: [web]
    match:
      path: { prefix: /grpc.testing.TestService }
    service: grpc
  - name: down
    listeners: [down]
    service: down
services:
  - name: grpc
    protocol: grpc
    endpoints: [{{.GRPC}}]
  - name: down
    protocol: grpc
    endpoints: [{{.Closed}}]
`

func TestGRPC(t *testing.T) {
	svc, _, addr := startGRPCServer(t)
	g := startGateway(t, grpcConfig, map[string]string{"GRPC": addr, "Closed": freeAddr(t)})
	client := testpb.NewTestServiceClient(dialGRPC(t, g.addr("web")))

	t.Run("unary with trailers", func(t *testing.T) {
		var trailer metadata.MD
		resp, err := client.UnaryCall(testContext(t, 10*time.Second),
			&testpb.SimpleRequest{ResponseSize: 5, Payload: &testpb.Payload{Body: []byte("abc")}}, grpc.Trailer(&trailer))
		if err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
		got := []string{string(resp.GetPayload().GetBody()), strings.Join(trailer.Get("x-trailer"), ","), strings.Join(trailer.Get("x-request-size"), ",")}
		if diff := cmp.Diff([]string{"rrrrr", "t-value", "3"}, got); diff != "" {
			t.Errorf("[body, x-trailer, x-request-size] (-want +got):\n%s", diff)
		}
	})

	t.Run("4 MB both ways", func(t *testing.T) {
		const size = 4 << 20
		var trailer metadata.MD
		resp, err := client.UnaryCall(testContext(t, 20*time.Second),
			&testpb.SimpleRequest{ResponseSize: size, Payload: &testpb.Payload{Body: make([]byte, size)}}, grpc.Trailer(&trailer))
		if err != nil {
			t.Fatalf("UnaryCall: %v", err)
		}
		got := []string{strconv.Itoa(len(resp.GetPayload().GetBody())), strings.Join(trailer.Get("x-request-size"), ",")}
		if diff := cmp.Diff([]string{strconv.Itoa(size), strconv.Itoa(size)}, got); diff != "" {
			t.Errorf("[response size, request size seen by the server] (-want +got):\n%s", diff)
		}
	})

	t.Run("server streaming", func(t *testing.T) {
		params := []*testpb.ResponseParameters{{Size: 1}, {Size: 10}, {Size: 100000}, {Size: 7}}
		stream, err := client.StreamingOutputCall(testContext(t, 10*time.Second), &testpb.StreamingOutputCallRequest{ResponseParameters: params})
		if err != nil {
			t.Fatalf("StreamingOutputCall: %v", err)
		}
		var sizes []int
		for {
			m, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			sizes = append(sizes, len(m.GetPayload().GetBody()))
		}
		if diff := cmp.Diff([]int{1, 10, 100000, 7}, sizes); diff != "" {
			t.Errorf("message sizes (-want +got):\n%s", diff)
		}
	})

	t.Run("client streaming", func(t *testing.T) {
		stream, err := client.StreamingInputCall(testContext(t, 10*time.Second))
		if err != nil {
			t.Fatalf("StreamingInputCall: %v", err)
		}
		for _, n := range []int{3, 300, 30000, 3000000} {
			if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			t.Fatalf("CloseAndRecv: %v", err)
		}
		if got := resp.GetAggregatedPayloadSize(); got != 3030303 {
			t.Errorf("got aggregated size %d, want 3030303", got)
		}
	})

	t.Run("bidi streaming", func(t *testing.T) {
		stream, err := client.FullDuplexCall(testContext(t, 10*time.Second))
		if err != nil {
			t.Fatalf("FullDuplexCall: %v", err)
		}
		for i := range 20 {
			msg := "ping-" + strconv.Itoa(i)
			if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(msg)}}); err != nil {
				t.Fatalf("Send %d: %v", i, err)
			}
			m, err := stream.Recv()
			if err != nil {
				t.Fatalf("Recv %d: %v", i, err)
			}
			if got := string(m.GetPayload().GetBody()); got != msg {
				t.Fatalf("got echo %q, want %q", got, msg)
			}
		}
		stream.CloseSend()
		if _, err := stream.Recv(); err != io.EOF {
			t.Errorf("after CloseSend: got %v, want io.EOF (status OK)", err)
		}
	})

	t.Run("deadline exceeded", func(t *testing.T) {
		drain(svc.canceled)
		ctx := metadata.AppendToOutgoingContext(testContext(t, 200*time.Millisecond), "x-delay-ms", "3000")
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
		if got := status.Code(err); got != codes.DeadlineExceeded {
			t.Fatalf("got %v (%v), want DeadlineExceeded", got, err)
		}
		waitCanceled(t, svc.canceled, "UnaryCall")
	})

	t.Run("client cancel reaches the server", func(t *testing.T) {
		drain(svc.canceled)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		stream, err := client.FullDuplexCall(ctx)
		if err != nil {
			t.Fatalf("FullDuplexCall: %v", err)
		}
		if err := stream.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("x")}}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("Recv: %v", err)
		}
		cancel()
		waitCanceled(t, svc.canceled, "FullDuplexCall")
	})

	t.Run("no route is UNIMPLEMENTED from pylon", func(t *testing.T) {
		other := testpb.NewUnimplementedServiceClient(dialGRPC(t, g.addr("web")))
		_, err := other.UnimplementedCall(testContext(t, 10*time.Second), &testpb.Empty{})
		st := status.Convert(err)
		if st.Code() != codes.Unimplemented || !strings.Contains(st.Message(), "no_route") {
			t.Errorf("got %v %q, want Unimplemented with a message naming no_route", st.Code(), st.Message())
		}
	})

	t.Run("all endpoints down is UNAVAILABLE", func(t *testing.T) {
		down := testpb.NewTestServiceClient(dialGRPC(t, g.addr("down")))
		_, err := down.UnaryCall(testContext(t, 10*time.Second), &testpb.SimpleRequest{})
		if got := status.Code(err); got != codes.Unavailable {
			t.Errorf("got %v (%v), want Unavailable", got, err)
		}
	})
}

// waitCanceled waits for the server to report that method saw its context
// canceled.
func waitCanceled(t *testing.T, ch <-chan string, method string) {
	t.Helper()
	select {
	case got := <-ch:
		if got != method {
			t.Errorf("server saw %s canceled, want %s", got, method)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("server did not see %s canceled within 5s", method)
	}
}

func drain(ch chan string) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

const grpcHealthConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: all
    service: grpc
services:
  - name: grpc
    protocol: grpc
    endpoints: [{{.GRPC}}]
    health:
      active:
        interval: 100ms
        timeout: 90ms
        healthy_threshold: 1
        unhealthy_threshold: 1
        grpc: {}
`

func TestGRPCHealthCheck(t *testing.T) {
	_, hs, addr := startGRPCServer(t)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	g := startGateway(t, grpcHealthConfig, map[string]string{"GRPC": addr})
	waitFor(t, 10*time.Second, "endpoint unhealthy while NOT_SERVING", func() bool {
		return !g.endpoint("grpc", addr).Healthy
	})
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	waitFor(t, 10*time.Second, "endpoint healthy once SERVING", func() bool {
		return g.endpoint("grpc", addr).Healthy
	})
	if v := g.metric("pylon_upstream_endpoint_healthy", `service="grpc"`); v != 1 {
		t.Errorf("got pylon_upstream_endpoint_healthy %v, want 1", v)
	}
}

const grpcErrorsConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: all
    service: grpc
    timeout: 300ms
services:
  - name: grpc
    protocol: grpc
    endpoints: [{{.GRPC}}]
`

func TestGRPCErrorsFromPylon(t *testing.T) {
	svc, _, addr := startGRPCServer(t)
	g := startGateway(t, grpcErrorsConfig, map[string]string{"GRPC": addr})
	client := testpb.NewTestServiceClient(dialGRPC(t, g.addr("web")))

	t.Run("route timeout is DEADLINE_EXCEEDED", func(t *testing.T) {
		drain(svc.canceled)
		ctx := metadata.AppendToOutgoingContext(testContext(t, 10*time.Second), "x-delay-ms", "3000")
		_, err := client.UnaryCall(ctx, &testpb.SimpleRequest{})
		st := status.Convert(err)
		if st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "upstream_timeout") {
			t.Errorf("got %v %q, want DeadlineExceeded naming upstream_timeout", st.Code(), st.Message())
		}
		waitCanceled(t, svc.canceled, "UnaryCall")
	})
}

package test

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestMeshGRPC: a gRPC app calls another through two sidecars: unary with
// trailers, 4 MB messages, all three streaming kinds, and deadlines.
func TestMeshGRPC(t *testing.T) {
	svc, _, addr := startGRPCServer(t)
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", addr, []string{"--protocol", "grpc"})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	client := grpc_testing.NewTestServiceClient(dialGRPC(t, orders.outbound["catalog"]))
	waitFor(t, 10*time.Second, "catalog to be reachable through the mesh", func() bool {
		_, err := client.UnaryCall(testContext(t, time.Second), &grpc_testing.SimpleRequest{})
		return err == nil
	})

	var trailer metadata.MD
	resp, err := client.UnaryCall(testContext(t, 20*time.Second),
		&grpc_testing.SimpleRequest{ResponseSize: 4 << 20, Payload: &grpc_testing.Payload{Body: make([]byte, 4<<20)}}, grpc.Trailer(&trailer))
	if err != nil {
		t.Fatalf("UnaryCall: %v", err)
	}
	if got := len(resp.GetPayload().GetBody()); got != 4<<20 || strings.Join(trailer.Get("x-request-size"), "") != strconv.Itoa(4<<20) {
		t.Errorf("4 MB unary: got %d bytes back, trailer %v", got, trailer)
	}

	out, err := client.StreamingOutputCall(testContext(t, 10*time.Second), &grpc_testing.StreamingOutputCallRequest{
		ResponseParameters: []*grpc_testing.ResponseParameters{{Size: 1}, {Size: 100000}, {Size: 7}}})
	if err != nil {
		t.Fatalf("StreamingOutputCall: %v", err)
	}
	var sizes []int
	for {
		m, err := out.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		sizes = append(sizes, len(m.GetPayload().GetBody()))
	}
	if len(sizes) != 3 || sizes[1] != 100000 {
		t.Errorf("server streaming: got sizes %v", sizes)
	}

	in, err := client.StreamingInputCall(testContext(t, 10*time.Second))
	if err != nil {
		t.Fatalf("StreamingInputCall: %v", err)
	}
	for _, n := range []int{3, 30000, 3000000} {
		if err := in.Send(&grpc_testing.StreamingInputCallRequest{Payload: &grpc_testing.Payload{Body: make([]byte, n)}}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if r, err := in.CloseAndRecv(); err != nil || r.GetAggregatedPayloadSize() != 3030003 {
		t.Errorf("client streaming: got %v, %v", r, err)
	}

	bidi, err := client.FullDuplexCall(testContext(t, 10*time.Second))
	if err != nil {
		t.Fatalf("FullDuplexCall: %v", err)
	}
	for i := range 10 {
		msg := "ping-" + strconv.Itoa(i)
		if err := bidi.Send(&grpc_testing.StreamingOutputCallRequest{Payload: &grpc_testing.Payload{Body: []byte(msg)}}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if m, err := bidi.Recv(); err != nil || string(m.GetPayload().GetBody()) != msg {
			t.Fatalf("bidi echo %d: got %v, %v", i, m, err)
		}
	}
	bidi.CloseSend()
	if _, err := bidi.Recv(); err != io.EOF {
		t.Errorf("bidi after CloseSend: got %v, want io.EOF", err)
	}

	drain(svc.canceled)
	ctx := metadata.AppendToOutgoingContext(testContext(t, 200*time.Millisecond), "x-delay-ms", "3000")
	if _, err := client.UnaryCall(ctx, &grpc_testing.SimpleRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v, want DeadlineExceeded", err)
	}
	waitCanceled(t, svc.canceled, "UnaryCall")
}

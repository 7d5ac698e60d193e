package test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
)

// TestMeshStreamEndsWhenCalleeStops: a long-lived gRPC stream through the
// mesh ends for the caller once the callee's sidecar has stopped (after
// its drain), rather than hanging open with nothing behind it.
func TestMeshStreamEndsWhenCalleeStops(t *testing.T) {
	_, _, addr := startGRPCServer(t)
	cp := startControl(t, "")
	catalog := startSidecar(t, cp, cp.joinToken("catalog"), "catalog", addr, []string{"--protocol", "grpc"})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	client := grpc_testing.NewTestServiceClient(dialGRPC(t, orders.outbound["catalog"]))
	waitFor(t, 10*time.Second, "catalog to be reachable through the mesh", func() bool {
		_, err := client.UnaryCall(testContext(t, time.Second), &grpc_testing.SimpleRequest{})
		return err == nil
	})
	stream, err := client.FullDuplexCall(testContext(t, 60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&grpc_testing.StreamingOutputCallRequest{Payload: &grpc_testing.Payload{Body: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	go func() {
		err := catalog.stop()
		t.Logf("the callee's sidecar exited %v after SIGTERM: %v", time.Since(stopped), err)
	}()
	ended := make(chan error, 1)
	go func() {
		_, err := stream.Recv()
		ended <- err
	}()
	select {
	case err := <-ended:
		t.Logf("the stream ended %v after the callee's sidecar was asked to stop: %v", time.Since(stopped), err)
		if status.Code(err) != codes.Unavailable {
			t.Errorf("the stream ended with %v, want UNAVAILABLE (the callee went away; a client may retry)", err)
		}
	case <-time.After(drainTimeout + 10*time.Second):
		t.Fatalf("the stream is still open %v after the callee's sidecar was asked to stop (drain %v)", time.Since(stopped), drainTimeout)
	}
}

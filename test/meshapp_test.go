package test

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/interop/grpc_testing"

	"github.com/pylon-mesh/pylon/internal/redistest"
)

// TestMeshApp: the whole picture at once. A control plane; three services
// with two instances each, every instance with its own sidecar; a real
// Redis behind a sidecar; a gateway in front. Requests through the gateway
// are balanced over both orders instances; from an orders instance, gRPC
// to catalog, HTTP to inventory and Redis over TCP all go through the mesh.
func TestMeshApp(t *testing.T) {
	t.Parallel() // long and mostly waiting: see parallelTests in harness_test.go
	cp := startControl(t, "")
	tok := map[string]string{}
	for _, s := range []string{"catalog", "inventory", "orders", "redis", "edge"} {
		tok[s] = cp.joinToken(s, "--uses", "10")
	}
	for i := range 2 {
		_, _, grpcAddr := startGRPCServer(t)
		startSidecar(t, cp, tok["catalog"], "catalog", grpcAddr, []string{"--protocol", "grpc"})
		startSidecar(t, cp, tok["inventory"], "inventory", startEcho(t, fmt.Sprint("inventory-", i+1)), []string{"--health-http", "/"})
	}
	startSidecar(t, cp, tok["redis"], "redis", redistest.Start(t), []string{"--protocol", "tcp"})
	var orders []*meshSidecar
	for i := range 2 {
		orders = append(orders, startSidecar(t, cp, tok["orders"], "orders", startEcho(t, fmt.Sprint("orders-", i+1)), nil,
			"catalog", "inventory", "redis"))
	}
	cp.applyYAML(`listeners:
  - name: web
    address: 127.0.0.1:1
routes:
  - name: orders
    match: { path: { prefix: /orders } }
    service: orders
services:
  - name: orders
`)
	gw := startManagedGateway(t, []string{cp.listen}, tok["edge"], "edge-0")

	for _, inst := range []string{"orders-1", "orders-2"} {
		waitFor(t, 15*time.Second, "the gateway to reach "+inst+" through the mesh", func() bool {
			return servedBy(gw.url("web")+"/orders/7", inst)
		})
	}
	o := orders[0]
	for _, inst := range []string{"inventory-1", "inventory-2"} {
		waitFor(t, 15*time.Second, "orders to reach "+inst, func() bool { return servedBy(o.url("inventory")+"/stock/7", inst) })
	}
	catalog := grpc_testing.NewTestServiceClient(dialGRPC(t, o.outbound["catalog"]))
	waitFor(t, 15*time.Second, "orders to call catalog over gRPC", func() bool {
		_, err := catalog.UnaryCall(testContext(t, time.Second), &grpc_testing.SimpleRequest{ResponseSize: 10})
		return err == nil
	})
	stream, err := catalog.FullDuplexCall(testContext(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&grpc_testing.StreamingOutputCallRequest{Payload: &grpc_testing.Payload{Body: []byte("hi")}}); err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || string(m.GetPayload().GetBody()) != "hi" {
		t.Errorf("bidi stream through the mesh: %v, %v", m, err)
	}
	stream.CloseSend()
	rdb := redis.NewClient(&redis.Options{Addr: o.outbound["redis"], MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	ctx := testContext(t, 20*time.Second)
	waitFor(t, 15*time.Second, "orders to reach redis over TCP", func() bool { return rdb.Ping(ctx).Err() == nil })
	if err := rdb.Set(ctx, "order:7", "paid", 0).Err(); err != nil {
		t.Fatal(err)
	}
	other := redis.NewClient(&redis.Options{Addr: orders[1].outbound["redis"]})
	t.Cleanup(func() { other.Close() })
	if v, err := other.Get(ctx, "order:7").Result(); err != nil || v != "paid" {
		t.Errorf("the other orders instance read %q, %v", v, err)
	}
}

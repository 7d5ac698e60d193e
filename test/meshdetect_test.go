package test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/interop/grpc_testing"

	"github.com/pylon-mesh/pylon/internal/redistest"
)

// TestMeshProtocolDetection: services that declare no protocol. The
// caller's sidecar tells HTTP/1.1, HTTP/2 (gRPC) and other TCP apart on the
// first bytes of each connection: HTTP gets the L7 path (request metrics),
// gRPC reaches its app over HTTP/2 through the callee's sidecar, Redis and
// a server-first protocol (the server speaks first) are tunnelled.
func TestMeshProtocolDetection(t *testing.T) {
	redisAddr := redistest.Start(t)
	_, _, grpcAddr := startGRPCServer(t)
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("web"), "web", startEcho(t, "web-1"), nil)
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", grpcAddr, nil)
	startSidecar(t, cp, cp.joinToken("redis"), "redis", redisAddr, nil)
	startSidecar(t, cp, cp.joinToken("greeter"), "greeter", startGreeter(t), nil)
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "web", "catalog", "redis", "greeter")

	waitFor(t, 10*time.Second, "HTTP/1.1 to web through the mesh", func() bool {
		return servedBy(orders.url("web")+"/items/1", "web-1")
	})

	client := grpc_testing.NewTestServiceClient(dialGRPC(t, orders.outbound["catalog"]))
	waitFor(t, 10*time.Second, "gRPC to catalog through the mesh", func() bool {
		_, err := client.UnaryCall(testContext(t, time.Second), &grpc_testing.SimpleRequest{})
		return err == nil
	})
	bidi, err := client.FullDuplexCall(testContext(t, 10*time.Second))
	if err != nil {
		t.Fatalf("FullDuplexCall: %v", err)
	}
	if err := bidi.Send(&grpc_testing.StreamingOutputCallRequest{Payload: &grpc_testing.Payload{Body: []byte("ping")}}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if m, err := bidi.Recv(); err != nil || string(m.GetPayload().GetBody()) != "ping" {
		t.Errorf("bidi echo: got %v, %v", m, err)
	}
	bidi.CloseSend()

	rdb := redis.NewClient(&redis.Options{Addr: orders.outbound["redis"], MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	ctx := testContext(t, 20*time.Second)
	waitFor(t, 10*time.Second, "redis to answer through the mesh", func() bool { return rdb.Ping(ctx).Err() == nil })
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := rdb.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Errorf("GET: got %q, %v", got, err)
	}

	// The greeter speaks first: after the detection timeout the silent
	// connection is taken for TCP and the greeting comes through. Until
	// the caller's sidecar knows a healthy greeter, it closes such a
	// connection, so the first tries may end at once.
	var greeting string
	waitFor(t, 10*time.Second, "the greeter's greeting through the mesh", func() bool {
		c, err := net.Dial("tcp", orders.outbound["greeter"])
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		greeting, err = bufio.NewReader(c).ReadString('\n')
		return err == nil
	})
	if greeting != "220 greeter ready\r\n" {
		t.Errorf("server-first greeting: got %q", greeting)
	}

	metrics := orders.get("/metrics")
	for _, series := range []string{
		`pylon_mesh_requests_total{class="2xx",destination="web",direction="outbound",source="orders"}`,
		`pylon_mesh_requests_total{class="2xx",destination="catalog",direction="outbound",source="orders"}`,
		`pylon_mesh_tcp_connections_opened_total{destination="redis",direction="outbound",source="orders"}`,
		`pylon_mesh_tcp_connections_opened_total{destination="greeter",direction="outbound",source="orders"}`,
	} {
		if v, ok := metricValue(metrics, series); !ok || v < 1 {
			t.Errorf("%s = %v (found %v), want at least 1", series, v, ok)
		}
	}
	for _, series := range []string{
		`pylon_mesh_tcp_connections_opened_total{destination="web",direction="outbound",source="orders"}`,
		`pylon_mesh_requests_total{class="2xx",destination="redis",direction="outbound",source="orders"}`,
	} {
		if v, ok := metricValue(metrics, series); ok && v != 0 {
			t.Errorf("%s = %v: traffic went the wrong way", series, v)
		}
	}
}

// startGreeter serves a server-first protocol: it greets each connection,
// then echoes lines.
func startGreeter(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "220 greeter ready\r\n")
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					io.WriteString(c, strings.ToUpper(sc.Text())+"\r\n")
				}
			}()
		}
	}()
	return ln.Addr().String()
}

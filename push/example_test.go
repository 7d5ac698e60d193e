package push_test

import (
	"context"
	"encoding/json"
	"log"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/pylon-mesh/pylon/push"
)

// staticGen sends every node the same config.
type staticGen struct{}

func (staticGen) Generate(context.Context, push.Node) (push.Snapshot, error) {
	return push.Snapshot{Version: "sha256:1f2e…", Payload: json.RawMessage(`{"routes":[]}`)}, nil
}

// The control plane serves the protocol on its gRPC server and calls
// Notify whenever its state changes.
func ExampleServer() {
	srv := push.NewServer(staticGen{}, push.Options{})
	g := grpc.NewServer( // with grpc.Creds(mTLS) in production
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 15 * time.Second, PermitWithoutStream: true}),
	)
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go g.Serve(lis)

	srv.Notify() // after every change of the config or the registry

	srv.Close() // ends the streams so that GracefulStop can return
	g.GracefulStop()
}

// A data plane runs Run for its lifetime and applies what it is sent.
func ExampleRun() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	dial := func(context.Context) (*grpc.ClientConn, error) {
		return grpc.NewClient("127.0.0.1:7443", // with mTLS credentials in production
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}))
	}
	apply := func(ctx context.Context, s push.Snapshot) error {
		// Decode, validate and compile s.Payload, then swap it in; an
		// error keeps the old config serving and is sent as a NACK.
		return nil
	}
	hello := push.Hello{NodeID: "gw-1", Kind: push.KindGateway, Build: "v0.1.0"}
	if err := push.Run(ctx, dial, hello, apply, push.ClientOptions{}); err != context.DeadlineExceeded {
		log.Fatal(err)
	}
}

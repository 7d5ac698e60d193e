// Command catalog is the example shop's product catalog, a gRPC service
// whose four methods use every kind of gRPC call (see
// catalogpb/catalog.proto). It serves the standard gRPC health service, so
// the sidecar's gRPC health check sees it. Its products start from a small
// seed; imports are kept in Redis when REDIS_ADDR is set, shared by every
// instance with their price changes, and in the instance's memory
// otherwise.
//
//	go run ./examples/shop/catalog                            # listens on 127.0.0.1:9101
//	PORT=7000 REDIS_ADDR=127.0.0.1:7001 go run ./examples/shop/catalog  # as pylon up starts it
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/examples/shop/internal/env"
	"github.com/pylon-mesh/pylon/examples/shop/internal/serve"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "catalog:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", env.ListenAddr("9101"), "address to listen on; the default comes from PORT")
	redisAddr := flag.String("redis", os.Getenv("REDIS_ADDR"), "Redis address; empty keeps products in this instance's memory; the default comes from REDIS_ADDR")
	flag.Parse()
	log := serve.Logger(env.Instance("catalog"))
	var st products = newStore(seed())
	if *redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: *redisAddr})
		defer rdb.Close()
		st = newRedisStore(rdb, seed())
	} else {
		log.Info("REDIS_ADDR is not set: this instance keeps its own products and price changes")
	}
	ctx, stop := serve.SignalContext()
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen for grpc: %w", err)
	}
	srv, hs := newGRPCServer(st)
	return serveGRPC(ctx, ln, srv, hs, log)
}

// newGRPCServer returns a server with the catalog and the health service
// registered, reporting SERVING.
func newGRPCServer(st products) (*grpc.Server, *health.Server) {
	srv := grpc.NewServer()
	catalogpb.RegisterCatalogServer(srv, &server{store: st})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	return srv, hs
}

// serveGRPC serves on ln until ctx is cancelled. Then it reports
// NOT_SERVING, so health checks take the instance out of rotation, and
// stops gracefully; calls still running after serve.DrainTimeout (price
// watchers never end on their own) are cut.
func serveGRPC(ctx context.Context, ln net.Listener, srv *grpc.Server, hs *health.Server, log *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "protocol", "grpc")
	select {
	case err := <-served:
		return fmt.Errorf("serve grpc: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight calls", "timeout", serve.DrainTimeout)
	hs.Shutdown()
	cut := time.AfterFunc(serve.DrainTimeout, srv.Stop)
	defer cut.Stop()
	srv.GracefulStop()
	return nil
}

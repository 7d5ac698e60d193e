// Command feed is the example shop's live feed: GET /feed upgrades to a
// WebSocket that receives a JSON message per order placed, read from the
// Redis pub/sub channel "orders" that the orders service publishes on
// (REDIS_ADDR, a local port of the instance's sidecar: Redis is a TCP
// service of the mesh), one per price change of the watched products, from
// a bidirectional WatchPrices stream to catalog (CATALOG_ADDR), and a
// heartbeat every few seconds. Without REDIS_ADDR it says so in its log
// and sends no orders; while catalog is unreachable it sends no prices and
// reconnects with backoff.
//
//	go run ./examples/shop/feed -redis 127.0.0.1:6379 -catalog 127.0.0.1:9101
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/examples/shop/internal/env"
	"github.com/pylon-mesh/pylon/examples/shop/internal/serve"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "feed:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", env.ListenAddr("9105"), "address to listen on; the default comes from PORT")
	redisAddr := flag.String("redis", os.Getenv("REDIS_ADDR"), "Redis address; empty sends heartbeats only; the default comes from REDIS_ADDR")
	catalogAddr := flag.String("catalog", env.Or("CATALOG_ADDR", "127.0.0.1:9101"), "catalog's gRPC address; the default comes from CATALOG_ADDR")
	skus := flag.String("skus", "hoodie,mug,sticker,tshirt", "comma-separated products whose prices the feed watches")
	heartbeat := flag.Duration("heartbeat", 5*time.Second, "time between heartbeat messages")
	flag.Parse()
	if *heartbeat <= 0 {
		return fmt.Errorf("-heartbeat must be positive, not %v", *heartbeat)
	}
	watched := strings.Split(*skus, ",")
	if slices.Contains(watched, "") {
		return fmt.Errorf("-skus must list product ids separated by commas, not %q", *skus)
	}
	instance := env.Instance("feed")
	log := serve.Logger(instance)
	var rdb *redis.Client
	if *redisAddr != "" {
		rdb = redis.NewClient(&redis.Options{Addr: *redisAddr})
		defer rdb.Close()
	} else {
		log.Warn("the feed has no Redis (REDIS_ADDR is not set): clients get no orders")
	}
	// Plaintext on purpose: the sidecar behind CATALOG_ADDR does the TLS.
	conn, err := grpc.NewClient(*catalogAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial catalog: %w", err)
	}
	defer conn.Close()
	ctx, stop := serve.SignalContext()
	defer stop()
	hub := newPriceHub()
	w := &priceWatcher{
		catalog: catalogpb.NewCatalogClient(conn), skus: watched, hub: hub, log: log,
		minBackoff: 500 * time.Millisecond, maxBackoff: 5 * time.Second, probe: 10 * time.Second,
	}
	go w.run(ctx)
	f := &feed{rdb: rdb, prices: hub, heartbeat: *heartbeat, instance: instance, log: log, shutdown: ctx.Done()}
	return serve.HTTP(ctx, *addr, newHandler(f), log)
}

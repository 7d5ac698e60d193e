// Command feed is the example shop's live feed: GET /feed upgrades to a
// WebSocket that receives a JSON message per order placed, read from the
// Redis pub/sub channel "orders" that the orders service publishes on
// (REDIS_ADDR, a local port of the instance's sidecar: Redis is a TCP
// service of the mesh), and a heartbeat every few seconds. Without
// REDIS_ADDR it says so in its log and sends heartbeats only.
//
//	go run ./examples/shop/feed -redis 127.0.0.1:6379
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

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
	heartbeat := flag.Duration("heartbeat", 5*time.Second, "time between heartbeat messages")
	flag.Parse()
	if *heartbeat <= 0 {
		return fmt.Errorf("-heartbeat must be positive, not %v", *heartbeat)
	}
	instance := env.Instance("feed")
	log := serve.Logger(instance)
	var rdb *redis.Client
	if *redisAddr != "" {
		rdb = redis.NewClient(&redis.Options{Addr: *redisAddr})
		defer rdb.Close()
	} else {
		log.Warn("the feed has no Redis (REDIS_ADDR is not set): clients get heartbeats only, no orders")
	}
	ctx, stop := serve.SignalContext()
	defer stop()
	f := &feed{rdb: rdb, heartbeat: *heartbeat, instance: instance, log: log, shutdown: ctx.Done()}
	return serve.HTTP(ctx, *addr, newHandler(f), log)
}

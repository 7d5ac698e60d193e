// Command orders is the example shop's order taker, an HTTP/JSON service
// that calls two others through the mesh: POST /orders {"sku", "qty"}
// prices the product with catalog's GetProduct (gRPC, at CATALOG_ADDR),
// reserves the stock with inventory's POST /reserve (HTTP, at
// INVENTORY_ADDR) and records the order. With REDIS_ADDR set it also
// stores the order in Redis and publishes it on the channel "orders", where
// the feed picks it up. GET /orders/{id} shows an order.
//
// The addresses are the local ports of the instance's sidecar, which adds
// mTLS: the service itself speaks plaintext (gRPC over h2c, HTTP/1.1, RESP).
//
//	go run ./examples/shop/orders -catalog 127.0.0.1:9101 -inventory 127.0.0.1:9102
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/examples/shop/internal/env"
	"github.com/pylon-mesh/pylon/examples/shop/internal/serve"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", env.ListenAddr("9103"), "address to listen on; the default comes from PORT")
	catalogAddr := flag.String("catalog", env.Or("CATALOG_ADDR", "127.0.0.1:9101"), "catalog's gRPC address; the default comes from CATALOG_ADDR")
	inventoryAddr := flag.String("inventory", env.Or("INVENTORY_ADDR", "127.0.0.1:9102"), "inventory's HTTP address; the default comes from INVENTORY_ADDR")
	redisAddr := flag.String("redis", os.Getenv("REDIS_ADDR"), "Redis address; empty keeps orders in memory only; the default comes from REDIS_ADDR")
	flag.Parse()
	instance := env.Instance("orders")
	log := serve.Logger(instance)

	// Plaintext on purpose: the sidecar behind CATALOG_ADDR does the TLS.
	conn, err := grpc.NewClient(*catalogAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial catalog: %w", err)
	}
	defer conn.Close()
	var rdb *redis.Client
	if *redisAddr != "" {
		rdb = redis.NewClient(&redis.Options{Addr: *redisAddr})
		defer rdb.Close()
	} else {
		log.Info("REDIS_ADDR is not set: orders stay in this instance's memory and are not published")
	}
	s := &shop{
		catalog:   catalogpb.NewCatalogClient(conn),
		inventory: &inventoryClient{base: "http://" + *inventoryAddr, http: &http.Client{}},
		book:      newBook(rdb),
		instance:  instance,
		log:       log,
	}
	ctx, stop := serve.SignalContext()
	defer stop()
	return serve.HTTP(ctx, *addr, newHandler(s), log)
}

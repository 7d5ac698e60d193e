// Command storefront is the example shop's public HTTP/JSON API, the one
// behind the gateway: GET /api/products (catalog's ListProducts stream),
// GET /api/products/{id} (catalog's GetProduct), POST /api/products (a
// JSON array of products streamed to catalog's ImportProducts) and POST
// /api/orders (handed to orders). It runs as two services, storefront-v1 and
// storefront-v2, that differ only in STOREFRONT_VERSION, which every answer
// carries, so the gateway's weighted canary split between them is visible.
//
//	go run ./examples/shop/storefront -catalog 127.0.0.1:9101 -orders 127.0.0.1:9103
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pylon-mesh/pylon/examples/shop/catalog/catalogpb"
	"github.com/pylon-mesh/pylon/examples/shop/internal/env"
	"github.com/pylon-mesh/pylon/examples/shop/internal/serve"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "storefront:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", env.ListenAddr("9104"), "address to listen on; the default comes from PORT")
	catalogAddr := flag.String("catalog", env.Or("CATALOG_ADDR", "127.0.0.1:9101"), "catalog's gRPC address; the default comes from CATALOG_ADDR")
	ordersAddr := flag.String("orders", env.Or("ORDERS_ADDR", "127.0.0.1:9103"), "orders' HTTP address; the default comes from ORDERS_ADDR")
	version := flag.String("version", env.Or("STOREFRONT_VERSION", "v1"), "the version every answer carries; the default comes from STOREFRONT_VERSION")
	flag.Parse()
	log := serve.Logger(env.Instance("storefront")).With("version", *version)

	// Plaintext on purpose: the sidecar behind CATALOG_ADDR does the TLS.
	conn, err := grpc.NewClient(*catalogAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial catalog: %w", err)
	}
	defer conn.Close()
	s := &storefront{
		version: *version,
		catalog: catalogpb.NewCatalogClient(conn),
		orders:  "http://" + *ordersAddr,
		http:    &http.Client{},
	}
	ctx, stop := serve.SignalContext()
	defer stop()
	return serve.HTTP(ctx, *addr, newHandler(s), log)
}

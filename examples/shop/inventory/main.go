// Command inventory is the example shop's stock keeper, an HTTP/JSON
// service: GET /stock/{sku} tells how many units are left, POST /reserve
// {"sku": "mug", "qty": 2} takes some (409 insufficient_stock when there
// are not enough). Stock lives in memory, per instance. The instance named
// by FLAKY_INSTANCE misbehaves as package flaky describes.
//
//	go run ./examples/shop/inventory            # listens on 127.0.0.1:9102
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pylon-mesh/pylon/examples/shop/internal/env"
	"github.com/pylon-mesh/pylon/examples/shop/internal/flaky"
	"github.com/pylon-mesh/pylon/examples/shop/internal/serve"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "inventory:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", env.ListenAddr("9102"), "address to listen on; the default comes from PORT")
	flag.Parse()
	instance := env.Instance("inventory")
	log := serve.Logger(instance)
	f, err := flaky.FromEnv(os.Getenv, instance)
	if err != nil {
		return err
	}
	if f.Active() {
		log.Warn("this instance is flaky on purpose", "error_rate", f.ErrorRate, "latency", f.Latency)
	}
	ctx, stop := serve.SignalContext()
	defer stop()
	h := newHandler(&api{stock: newStock(seedStock()), instance: instance}, f)
	return serve.HTTP(ctx, *addr, h, log)
}

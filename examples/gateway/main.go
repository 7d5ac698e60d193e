// Command gateway runs the example: two instances of the "orders" echo
// service on 127.0.0.1:9001 and :9002, and pylon's gateway on
// examples/gateway/pylon.yaml in front of them, in one process.
//
//	go run ./examples/gateway
//
// It is the same engine `pylon gateway -c examples/gateway/pylon.yaml` runs;
// see the README's quick start for running the pieces separately.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	_ "github.com/pylon-mesh/pylon/balancer/all"
	"github.com/pylon-mesh/pylon/dataplane"
	"github.com/pylon-mesh/pylon/internal/echo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "example gateway:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	for i, addr := range []string{"127.0.0.1:9001", "127.0.0.1:9002"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("example upstream: %w", err)
		}
		srv := &http.Server{Handler: echo.Handler(fmt.Sprintf("orders-%d", i+1)), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
	}
	fmt.Print(`Example running: pylon gateway on http://127.0.0.1:8080, admin on http://127.0.0.1:9901
Try:
  curl -s http://127.0.0.1:8080/orders/42
  curl -s http://127.0.0.1:8080/nothing-here
  curl -s http://127.0.0.1:9901/services
  curl -s http://127.0.0.1:9901/metrics | grep pylon_http_requests_total
Ctrl-C stops it.
`)
	rt := dataplane.New(dataplane.Options{
		ConfigPath: configPath(),
		Logger:     slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	})
	return rt.Run(ctx)
}

// configPath finds pylon.yaml beside this example, from the repository root
// or from this directory.
func configPath() string {
	for _, p := range []string{"examples/gateway/pylon.yaml", "pylon.yaml"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "pylon.yaml")
}

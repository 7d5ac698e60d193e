// Package serve runs the example shop's HTTP services the way pylon up
// expects: a logger naming the instance, a context cancelled by SIGINT or
// SIGTERM, and a server that drains its in-flight requests before it
// returns.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// DrainTimeout bounds how long HTTP waits for in-flight requests after the
// context is cancelled; it stays below pylon up's default stop_timeout (10s)
// so a draining instance is not killed.
const DrainTimeout = 8 * time.Second

// Logger returns a text logger on stderr whose records carry the instance.
func Logger(instance string) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("instance", instance)
}

// SignalContext returns a context cancelled on SIGINT or SIGTERM, and the
// function that stops listening for them.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

// HTTP serves h on addr until ctx is cancelled, then stops accepting and
// waits up to DrainTimeout for in-flight requests to finish.
func HTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for http: %w", err)
	}
	return Listener(ctx, ln, h, log)
}

// Listener is HTTP on a listener the caller opened; it closes ln.
func Listener(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "timeout", DrainTimeout)
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil {
		return fmt.Errorf("drain http: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

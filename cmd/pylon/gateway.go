package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "github.com/pylon-mesh/pylon/balancer/all"
	"github.com/pylon-mesh/pylon/dataplane"
)

func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pylon gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "pylon.yaml", "config file (also --config)")
	fs.StringVar(cfgPath, "config", "pylon.yaml", "config file")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long graceful shutdown waits for in-flight requests")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	watch := fs.Duration("watch-interval", time.Second, "how often the config file is checked for changes (0 disables)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "pylon gateway: --log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	reload := make(chan struct{}, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	wi := *watch
	if wi == 0 {
		wi = -1
	}
	rt := dataplane.New(dataplane.Options{
		ConfigPath:    *cfgPath,
		Logger:        logger,
		Stdout:        stdout,
		Stderr:        stderr,
		DrainTimeout:  *drain,
		Reload:        reload,
		WatchInterval: wi,
	})
	if err := rt.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "pylon gateway: %v\n", err)
		return 1
	}
	return 0
}

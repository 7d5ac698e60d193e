package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "github.com/pylon-mesh/pylon/balancer/all"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/dataplane"
	"github.com/pylon-mesh/pylon/managed"
	"github.com/pylon-mesh/pylon/tracing"
)

// gatewayFlags are the flags of `pylon gateway`.
type gatewayFlags struct {
	cfgPath, level, controlAddr, joinToken, nodeID string
	admin, accessLog, trusted                      string
	drain, watch                                   time.Duration
	listen                                         listenFlag
	trace                                          traceFlags
}

// traceFlags are --otlp-endpoint and --trace-sample, of the gateway and
// the sidecar.
type traceFlags struct {
	endpoint string
	sample   float64
}

func (t *traceFlags) register(fs *flag.FlagSet, who string) {
	fs.StringVar(&t.endpoint, "otlp-endpoint", "", "export a trace span per HTTP request over OTLP/HTTP to this collector URL, like http://127.0.0.1:4318 (default off)")
	fs.Float64Var(&t.sample, "trace-sample", 1, "with --otlp-endpoint: the share of the traces "+who+" begins that are sampled, 0 to 1 (a caller's traceparent keeps its decision)")
}

// tracer starts the span exporter the flags ask for: nil and a no-op
// flush when --otlp-endpoint is not set.
func (t *traceFlags) tracer(service string, client func(string) bool, logger *slog.Logger) (dataplane.Tracer, func(), error) {
	if t.endpoint == "" {
		return nil, func() {}, nil
	}
	tr, err := tracing.New(tracing.Options{Endpoint: t.endpoint, SampleRatio: t.sample, Service: service, Version: version,
		Client: client, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	flush := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			logger.Warn("trace spans not exported at exit", "err", err.Error())
		}
	}
	return tr, flush, nil
}

func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pylon gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f gatewayFlags
	fs.StringVar(&f.cfgPath, "c", "pylon.yaml", "config file (also --config)")
	fs.StringVar(&f.cfgPath, "config", "pylon.yaml", "config file")
	fs.DurationVar(&f.drain, "drain-timeout", 30*time.Second, "how long graceful shutdown waits for in-flight requests")
	fs.StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.DurationVar(&f.watch, "watch-interval", time.Second, "how often the config file is checked for changes (0 disables)")
	fs.StringVar(&f.controlAddr, "control", "", "comma-separated control plane addresses: take the config from there instead of a file")
	fs.StringVar(&f.joinToken, "join-token", os.Getenv("PYLON_JOIN_TOKEN"), "with --control: the token from 'pylon ctl token create' (env PYLON_JOIN_TOKEN)")
	fs.StringVar(&f.nodeID, "node-id", "", "with --control: this gateway's name at the control plane (default hostname-pid)")
	fs.Var(&f.listen, "listen", "with --control: serve listener NAME on ADDR instead of its configured address (NAME=ADDR, repeatable)")
	fs.StringVar(&f.admin, "admin", "127.0.0.1:9901", "with --control: admin listener address, or off")
	fs.StringVar(&f.accessLog, "access-log", "stdout", "with --control: access log: stdout, stderr, off or a file")
	fs.StringVar(&f.trusted, "trusted-proxies", "", "with --control: comma-separated CIDRs whose forwarding headers are trusted")
	f.trace.register(fs, "the gateway")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.level)); err != nil {
		fmt.Fprintf(stderr, "pylon gateway: --log-level: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	tracer, flush, err := f.trace.tracer(tracing.GatewayService, nil, logger)
	if err != nil {
		fmt.Fprintf(stderr, "pylon gateway: %v\n", err)
		return 2
	}
	defer flush()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	opts := dataplane.Options{ConfigPath: f.cfgPath, Logger: logger, Stdout: stdout, Stderr: stderr, DrainTimeout: f.drain, Tracer: tracer}
	if f.controlAddr != "" {
		return runManaged(ctx, f, opts, stderr)
	}
	opts.Reload = hupChannel()
	opts.WatchInterval = f.watch
	if opts.WatchInterval == 0 {
		opts.WatchInterval = -1
	}
	if err := dataplane.New(opts).Run(ctx); err != nil {
		fmt.Fprintf(stderr, "pylon gateway: %v\n", err)
		return 1
	}
	return 0
}

// hupChannel turns SIGHUP into reload requests.
func hupChannel() <-chan struct{} {
	reload := make(chan struct{}, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default:
			}
		}
	}()
	return reload
}

// runManaged serves what the control plane sends until ctx ends.
func runManaged(ctx context.Context, f gatewayFlags, opts dataplane.Options, stderr io.Writer) int {
	if f.joinToken == "" {
		fmt.Fprintln(stderr, "pylon gateway: --control needs --join-token (make one with `pylon ctl token create --service NAME`)")
		return 2
	}
	local := &config.Config{Admin: config.Admin{Address: f.admin}, AccessLog: config.AccessLog{Path: f.accessLog, Sample: 1}}
	if f.trusted != "" {
		local.TrustedProxies = strings.Split(f.trusted, ",")
	}
	if err := local.ValidateMode(config.Managed); err != nil {
		fmt.Fprintf(stderr, "pylon gateway: %v\n", flagErrors(err))
		return 2
	}
	g, err := managed.New(managed.Options{
		Control: strings.Split(f.controlAddr, ","), JoinToken: f.joinToken, NodeID: f.nodeID,
		Listen: f.listen.m, Local: local, Build: version, Logger: opts.Logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "pylon gateway: %v\n", err)
		return 2
	}
	ignoreHUP(opts.Logger)
	opts.Managed, opts.ConfigPath = local, ""
	opts.Mesh = &dataplane.Mesh{Transport: g.Transport()}
	rt := dataplane.New(opts)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx); cancel() }() // a runtime that fails ends the managed loop too
	if err := g.Run(ctx, rt); err != nil {
		cancel()
		<-done
		fmt.Fprintf(stderr, "pylon gateway: %v\n", err)
		return 1
	}
	if err := <-done; err != nil {
		fmt.Fprintf(stderr, "pylon gateway: %v\n", err)
		return 1
	}
	return 0
}

// flagErrors rewords config paths of local settings as the flags that set them.
func flagErrors(err error) string {
	r := strings.NewReplacer("admin.address", "--admin", "access_log.path", "--access-log", "trusted_proxies", "--trusted-proxies")
	return r.Replace(err.Error())
}

// listenFlag collects NAME=ADDR pairs.
type listenFlag struct{ m map[string]string }

func (l *listenFlag) String() string { return "" }

func (l *listenFlag) Set(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	if !ok || name == "" || addr == "" {
		return fmt.Errorf("want NAME=ADDR, like web=127.0.0.1:8081")
	}
	if l.m == nil {
		l.m = map[string]string{}
	}
	l.m[name] = addr
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/health"
	"github.com/pylon-mesh/pylon/internal/heapfloor"
	"github.com/pylon-mesh/pylon/internal/keepawake"
	"github.com/pylon-mesh/pylon/sidecar"
	"github.com/pylon-mesh/pylon/snapshot"
)

// upstreamFlag collects --upstream NAME=ADDR.
type upstreamFlag []sidecar.Upstream

func (u *upstreamFlag) String() string { return "" }

func (u *upstreamFlag) Set(v string) error {
	name, addr, ok := strings.Cut(v, "=")
	if !ok || name == "" || addr == "" {
		return fmt.Errorf("want NAME=ADDR, like catalog=127.0.0.1:7001")
	}
	*u = append(*u, sidecar.Upstream{Name: name, Listen: addr})
	return nil
}

func runSidecar(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pylon sidecar", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o sidecar.Options
	var ups upstreamFlag
	control := fs.String("control", "", "comma-separated control plane addresses (required)")
	fs.StringVar(&o.JoinToken, "join-token", os.Getenv("PYLON_JOIN_TOKEN"), "the token from 'pylon ctl token create --service NAME' (env PYLON_JOIN_TOKEN)")
	fs.StringVar(&o.Service, "service", "", "the app's service (required; the token must be for it)")
	fs.StringVar(&o.App, "app", "", "the app's address, host:port (required)")
	fs.StringVar(&o.Protocol, "protocol", snapshot.ProtocolAuto, "how the app speaks: http1, h2c, grpc, tcp, or auto (callers detect HTTP on each connection's first bytes)")
	fs.StringVar(&o.Inbound, "inbound", "127.0.0.1:15006", "where other sidecars reach this one (mutual TLS)")
	fs.StringVar(&o.Advertise, "advertise", "", "the inbound address callers dial, registered with the instance; --inbound when not given, and required when --inbound listens on every address")
	fs.Var(&ups, "upstream", "a service the app calls and the loopback address it calls it at: NAME=ADDR (repeatable)")
	fs.StringVar(&o.ProxyAddr, "proxy", "127.0.0.1:15001", "an HTTP proxy listener: the app sends http://<service>/... there; off for none")
	fs.StringVar(&o.InstanceID, "instance-id", "", "the instance's name at the control plane (default <service>-<pid>)")
	httpPath := fs.String("health-http", "", "check the app with GET PATH (any 2xx is healthy)")
	grpcSvc := fs.String("health-grpc", "", "check the app with the gRPC health protocol; the value is the service to ask about, or - for the server")
	interval := fs.Duration("health-interval", time.Second, "time between app checks")
	admin := fs.String("admin", "127.0.0.1:15020", "admin listener (/ready /metrics ...), or off")
	accessLog := fs.String("access-log", "off", "access log: stdout, stderr, off or a file")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 30*time.Second, "how long a graceful stop waits for in-flight requests")
	fs.DurationVar(&o.DrainDelay, "drain-delay", time.Second, "how long a graceful stop keeps serving after deregistering, while callers learn the instance left")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	cpus := fs.Int("cpus", 1, "how many threads run the sidecar at once (Go's GOMAXPROCS, which also counts one P held while traffic flows); 0 for one per core. A sidecar carries one instance's traffic: one thread leaves the cores to the app")
	var trace traceFlags
	trace.register(fs, "the sidecar")
	file := fs.String("c", "", "read the settings from this YAML file: each flag under its name with _ for -, upstreams as a mapping (also --config; flags given here win)")
	fs.StringVar(file, "config", "", "the same as -c")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var from *flagSource
	if *file != "" {
		var err error
		if from, err = applySidecarFile(fs, *file); err != nil {
			fmt.Fprintf(stderr, "pylon sidecar: %v\n", err)
			return 2
		}
	}
	var missing []string
	for name, v := range map[string]string{"--control": *control, "--join-token": o.JoinToken, "--service": o.Service, "--app": o.App} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		where := ""
		if from != nil {
			keys := strings.ReplaceAll(strings.ReplaceAll(strings.Join(missing, ", "), "--", ""), "-", "_")
			where = " (as flags, or in " + *file + " as " + keys + ")"
		}
		fmt.Fprintf(stderr, "pylon sidecar: %s required%s\n", strings.Join(missing, ", "), where)
		return 2
	}
	// Every bad value is reported, not only the first.
	var bad []string
	advertise, name, err := advertiseAddr(o.Inbound, o.Advertise)
	if err != nil {
		bad = append(bad, from.errorf(name, "%v", err))
	}
	o.Advertise = advertise
	switch o.Protocol {
	case config.ProtocolHTTP1, config.ProtocolH2C, config.ProtocolGRPC, snapshot.ProtocolTCP, snapshot.ProtocolAuto:
	default:
		bad = append(bad, from.errorf("protocol", "%q: want http1, h2c, grpc, tcp or auto", o.Protocol))
	}
	if *interval <= 0 {
		bad = append(bad, from.errorf("health-interval", "%s: must be a positive duration", *interval))
	}
	if o.DrainTimeout <= 0 {
		bad = append(bad, from.errorf("drain-timeout", "%s: must be a positive duration", o.DrainTimeout))
	}
	if o.DrainDelay < 0 {
		bad = append(bad, from.errorf("drain-delay", "%s: must not be negative; 0s means none", o.DrainDelay))
	}
	if *cpus < 0 {
		bad = append(bad, from.errorf("cpus", "%d: must not be negative; 0 means one per core", *cpus))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		bad = append(bad, from.errorf("log-level", "%q: want debug, info, warn or error", *level))
	}
	o.Local = config.Config{Admin: config.Admin{Address: *admin}, AccessLog: config.AccessLog{Path: *accessLog, Sample: 1}}
	if err := o.Local.ValidateMode(config.Managed); err != nil {
		var errs config.Errors
		if !errors.As(err, &errs) {
			bad = append(bad, fmt.Sprintf("pylon sidecar: %v", flagErrors(err)))
		}
		for _, e := range errs {
			name := map[string]string{"admin.address": "admin", "access_log.path": "access-log"}[e.Path]
			if name == "" {
				bad = append(bad, fmt.Sprintf("pylon sidecar: %v", flagErrors(e)))
				continue
			}
			bad = append(bad, from.errorf(name, "%s", e.Msg))
		}
	}
	if len(bad) > 0 {
		for _, msg := range bad {
			fmt.Fprintln(stderr, msg)
		}
		return 2
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "cpus" })
	if n, ok := sidecarProcs(*cpus, explicit, os.Getenv("GOMAXPROCS")); ok {
		runtime.GOMAXPROCS(n)
	}
	// One P more, held while traffic flows, so that the runtime's monitor
	// thread is not woken for every request (internal/keepawake, docs/mesh.md).
	if os.Getenv(monitorAwakeEnv) != "off" {
		defer keepawake.Start().Stop()
	}
	// While traffic flows, a garbage collection every second or two rather
	// than two or three a second (internal/heapfloor). GOGC set in the
	// environment takes over.
	if os.Getenv("GOGC") == "" {
		defer heapfloor.Start(sidecarHeapFloor).Stop()
	}
	o.Control, o.Upstreams, o.Build = strings.Split(*control, ","), ups, version
	if o.ProxyAddr == "off" {
		o.ProxyAddr = ""
	}
	o.Health = appCheck(o.Protocol, *httpPath, *grpcSvc, *interval)
	o.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl})).With("service", o.Service)
	tracer, flush, err := trace.tracer(o.Service, func(l string) bool { return l != sidecar.InboundListener }, o.Logger)
	if err != nil {
		fmt.Fprintf(stderr, "pylon sidecar: %v\n", err)
		return 2
	}
	defer flush()
	o.Tracer = tracer
	ignoreHUP(o.Logger)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := sidecar.Run(ctx, o); err != nil {
		fmt.Fprintf(stderr, "pylon sidecar: %v\n", err)
		return 1
	}
	return 0
}

// sidecarHeapFloor is the heap goal a sidecar keeps while it allocates
// quickly: at 1000 requests/s, a collection every one to two seconds rather
// than two or three a second, for about 8 MB more resident memory under
// load (docs/performance.md).
const sidecarHeapFloor = 12 << 20

// monitorAwakeEnv set to "off" lets the runtime's monitor thread sleep
// between requests rather than hold a P to keep it awake while the sidecar
// carries traffic (internal/keepawake).
const monitorAwakeEnv = "PYLON_MONITOR_AWAKE"

// sidecarProcs is the GOMAXPROCS a sidecar runs with, and whether to set
// it: cpus when --cpus (or the config file) gave it, or when the
// environment does not set GOMAXPROCS (the default then is --cpus's, 1);
// cpus 0 leaves Go's default, one per core.
func sidecarProcs(cpus int, explicit bool, env string) (int, bool) {
	if cpus == 0 || !explicit && env != "" {
		return 0, false
	}
	return cpus, true
}

// advertiseAddr is the address the instance registers: advertise, or the
// inbound address when callers can dial it as it is. On error, setting
// names the flag at fault (advertise or inbound).
func advertiseAddr(inbound, advertise string) (addr, setting string, err error) {
	addr, setting = advertise, "advertise"
	if addr == "" {
		addr, setting = inbound, "inbound"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" || port == "0" {
		return "", setting, fmt.Errorf("%q: want HOST:PORT with a port callers can dial", addr)
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if advertise != "" {
			return "", setting, fmt.Errorf("%q: callers cannot dial an unspecified address; give this host's address", advertise)
		}
		return "", setting, fmt.Errorf("%q listens on every address; give --advertise HOST:PORT, the one callers dial", inbound)
	}
	return addr, "", nil
}

// appCheck is the app's health check from the flags: HTTP when a path is
// given, gRPC when asked (or the app speaks gRPC), else a TCP connect.
func appCheck(protocol, httpPath, grpcSvc string, interval time.Duration) health.Config {
	c := health.Config{Interval: interval, Timeout: interval, UnhealthyThreshold: 2}
	switch {
	case httpPath != "":
		c.Kind, c.HTTPPath, c.Protocol = health.HTTP, httpPath, protocol
		if protocol == snapshot.ProtocolAuto {
			c.Protocol = config.ProtocolHTTP1
		}
	case grpcSvc != "" || protocol == config.ProtocolGRPC:
		c.Kind = health.GRPC
		if grpcSvc != "-" {
			c.GRPCService = grpcSvc
		}
	default:
		c.Kind = health.TCP
	}
	return c
}

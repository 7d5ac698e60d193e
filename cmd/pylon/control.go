package main

import (
	"os"
	"runtime/debug"

	"context"
	"flag"
	"fmt"
	"github.com/pylon-mesh/pylon/config"
	"io"
	"log/slog"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pylon-mesh/pylon/ca"
	"github.com/pylon-mesh/pylon/control"
)

func runControl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pylon control", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o control.Options
	fs.StringVar(&o.DataDir, "data", "./pylon-data", "data directory: the embedded store, the CA key file and admin.token")
	fs.StringVar(&o.Store, "store", "", "store URL: empty for a bbolt file in --data, bolt:///path/file.db, or etcd://host:port,host:port")
	fs.StringVar(&o.ControlAddr, "listen", control.DefaultControlAddr, "address data planes connect to (gRPC over mTLS)")
	fs.StringVar(&o.AdminAddr, "admin", control.DefaultAdminAddr, "admin API address (loopback unless --admin-tls-cert and --admin-tls-key are set)")
	fs.StringVar(&o.AdminTLSCert, "admin-tls-cert", "", "PEM certificate for the admin API")
	fs.StringVar(&o.AdminTLSKey, "admin-tls-key", "", "PEM private key for the admin API")
	fs.StringVar(&o.TrustDomain, "trust-domain", "pylon.local", "SPIFFE trust domain of workload identities")
	fs.DurationVar(&o.CertTTL, "cert-ttl", 0, "lifetime of workload certificates (default 12h)")
	fs.DurationVar(&o.CAPropagation, "ca-propagation", 0, "after pylon ctl certs rotate, how long the new CA is only trusted before it issues (default 1m)")
	fs.StringVar(&o.CAKeyFile, "ca-key-file", "", "key sealing the CA's private key in the store (default <data>/ca.key); every replica on one etcd store needs the same file")
	caRoot := fs.String("ca-root", "", "at first start, use this root (PEM) instead of minting one; with --ca-intermediate and --ca-intermediate-key")
	caInter := fs.String("ca-intermediate", "", "intermediate certificate (PEM) signed by --ca-root, that issues workload certificates")
	caInterKey := fs.String("ca-intermediate-key", "", "private key (PEM) of --ca-intermediate")
	hosts := fs.String("hosts", "", "comma-separated extra DNS names or IPs data planes use to reach --listen")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	memLimit := fs.String("memory-limit", "160MiB", "soft memory limit for the Go runtime (GOMEMLIMIT wins when set); 0 for none")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pylon control: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(stderr, "pylon control: --log-level: %v\n", err)
		return 2
	}
	if *caRoot != "" || *caInter != "" || *caInterKey != "" {
		if *caRoot == "" || *caInter == "" || *caInterKey == "" {
			fmt.Fprintln(stderr, "pylon control: --ca-root, --ca-intermediate and --ca-intermediate-key go together")
			return 2
		}
		g, err := ca.LoadGiven(*caRoot, *caInter, *caInterKey)
		if err != nil {
			fmt.Fprintf(stderr, "pylon control: %v\n", err)
			return 1
		}
		o.CAGiven = g
	}
	if err := setMemoryLimit(*memLimit); err != nil {
		fmt.Fprintf(stderr, "pylon control: --memory-limit: %v\n", err)
		return 2
	}
	if *hosts != "" {
		o.Hosts = strings.Split(*hosts, ",")
	}
	o.Logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	ignoreHUP(o.Logger)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := control.Run(ctx, o); err != nil {
		fmt.Fprintf(stderr, "pylon control: %v\n", err)
		return 1
	}
	return 0
}

// setMemoryLimit applies a soft memory limit unless GOMEMLIMIT set one:
// the garbage collector then works harder as the heap nears it, so the
// headroom it keeps above the live heap (about as much again, by default)
// does not grow the process past it when many data planes are connected.
func setMemoryLimit(v string) error {
	if v == "0" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	n, err := config.ParseByteSize(v)
	if err != nil {
		return err
	}
	debug.SetMemoryLimit(int64(n))
	return nil
}

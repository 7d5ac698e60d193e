//go:build linux

// Command mesh measures what one hop through two `pylon sidecar`
// processes costs: the latency it adds over a direct call at a fixed
// request rate, the sidecars' memory idle and under load, and their CPU
// per 1000 requests/s. docs/performance.md holds its results.
//
//	go run ./bench/mesh [flags]
//
// It starts `pylon control` on free loopback ports with a fresh data
// directory, an HTTP/1.1 echo app that answers every request with a
// 64-byte body (./bench/mesh/echo, a process of its own, as an app is
// beside its sidecar), a server sidecar (service echo, --app the echo app)
// and a client sidecar (service client, --upstream echo=ADDR). Once the
// client sidecar's outbound port answers with the echo app's body it
// waits --settle, reads both sidecars' VmRSS (idle)
// and runs interleaved rounds at a fixed rate over keep-alive connections
// against two targets: direct (the echo app) and mesh (the client
// sidecar's outbound port, so each request crosses the client sidecar,
// one mutual-TLS HTTP/2 hop and the server sidecar). Each target gets an
// unmeasured warm-up first. The latency of request i runs from its due
// time, start + i/rate, when every connection was busy, else from when the
// client's timer woke (bench/fixedrate's rule). It prints a markdown
// table and stops every process it started.
//
// Flags:
//
//	--pylon PATH     pylon binary; default: go build ./cmd/pylon into a temp dir
//	--rate R         requests per second (default 1000)
//	--rounds N       rounds per target, interleaved (default 3)
//	--duration D     length of one round (default 20s)
//	--warmup D       unmeasured load per target before the rounds (default 2s)
//	--conns N        keep-alive connections of the load generator (default 16)
//	--settle D       wait before reading idle memory (default 12s: a data
//	                 plane releases the pages only its start used when it
//	                 first serves and again 10 s later, see internal/memtrim)
//	--profile DIR    after the rounds, one more mesh round, not counted,
//	                 while fetching a CPU profile of each sidecar from its
//	                 admin listener into DIR/client.pprof and DIR/server.pprof
//	--timeout D      bound on the whole run (default 5m)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pylon-mesh/pylon/bench/internal/benchcmd"
)

// options are the benchmark's parameters.
type options struct {
	benchcmd.Common
	rate             float64
	rounds, conns    int
	duration, warmup time.Duration
	settle           time.Duration
	profile          string
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	os.Exit(benchcmd.Run("mesh", o.Timeout, os.Stdout, os.Stderr, func(ctx context.Context, logw io.Writer) (benchcmd.Report, error) {
		return run(ctx, o, logw)
	}))
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	err := benchcmd.Parse("mesh", args, stderr, &o.Common, func(fs *flag.FlagSet) {
		fs.Float64Var(&o.rate, "rate", 1000, "requests per second")
		fs.IntVar(&o.rounds, "rounds", 3, "rounds per target, interleaved")
		fs.DurationVar(&o.duration, "duration", 20*time.Second, "length of one round")
		fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load per target before the rounds")
		fs.IntVar(&o.conns, "conns", 16, "keep-alive connections of the load generator")
		fs.DurationVar(&o.settle, "settle", 12*time.Second, "wait before reading the sidecars' idle memory")
		fs.StringVar(&o.profile, "profile", "", "write CPU profiles of both sidecars, taken in an extra mesh round, to this directory")
	}, o.check)
	return o, err
}

func (o *options) check() error {
	switch {
	case o.rate <= 0 || o.rounds <= 0 || o.conns <= 0:
		return fmt.Errorf("check flags: --rate, --rounds and --conns must be positive")
	case o.duration <= 0:
		return fmt.Errorf("check flags: --duration must be positive")
	case o.warmup < 0 || o.settle < 0:
		return fmt.Errorf("check flags: --warmup and --settle must not be negative")
	case o.profile != "" && o.duration < time.Second:
		return fmt.Errorf("check flags: --profile needs a --duration of at least 1s")
	}
	return nil
}

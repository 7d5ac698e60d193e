//go:build linux

// Command controlplane measures the push fan-out of a real `pylon control`
// process: how long one endpoint change takes to reach N data-plane
// streams, and what the control plane costs in memory and CPU while it
// serves them. docs/performance.md holds its results.
//
//	go run ./bench/controlplane [flags]
//
// It starts `pylon control` as a child process on free loopback ports with
// a fresh data directory, applies a config of S services × E static
// endpoints (one listener, one route per service), creates one join token
// with unlimited uses and runs N simulated gateways in its own process:
// each enrolls with its own enroll.Agent and holds its own config stream
// (push.Run over agent.Dial), as a real gateway does. Once every node has
// acked the first version it reads the control plane's VmRSS and VmHWM,
// then runs R rounds: PUT one service with one endpoint moved, and time
// each node's receipt of the new version from the moment the API call
// returned. It prints a table and stops the control plane.
//
// Flags:
//
//	--pylon PATH     pylon binary; default: go build ./cmd/pylon into a temp dir
//	--nodes N        simulated data planes (default 1000)
//	--services S     services, each with one route (default 50)
//	--endpoints E    static endpoints per service (default 100)
//	--rounds R       endpoint changes measured (default 5)
//	--decode MODE    what each node does with a snapshot (default full):
//	                 full: decode and check it with snapshot.Decode, as a
//	                 gateway does; envelope: only push.Run's JSON decode of
//	                 the message; version: read only the version and skip
//	                 the payload, so the nodes leave the CPU to the control
//	                 plane
//	--timeout D      bound on the whole run (default 5m)
//	--cpuprofile F   write a CPU profile of this process (the simulated
//	                 nodes) during the rounds to F
//
// All nodes share the machine with the control plane; with --decode full
// or envelope their decoding competes with it for the CPU, which a fleet
// of real gateways on their own machines would not.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pylon-mesh/pylon/bench/internal/benchcmd"
)

// options are the benchmark's parameters.
type options struct {
	benchcmd.Common
	nodes, services, endpoints, rounds int
	decode                             string
	cpuprofile                         string
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	os.Exit(benchcmd.Run("controlplane", o.Timeout, os.Stdout, os.Stderr, func(ctx context.Context, logw io.Writer) (benchcmd.Report, error) {
		return run(ctx, o, logw)
	}))
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	err := benchcmd.Parse("controlplane", args, stderr, &o.Common, func(fs *flag.FlagSet) {
		fs.IntVar(&o.nodes, "nodes", 1000, "simulated data planes, each with its own agent and connection")
		fs.IntVar(&o.services, "services", 50, "services in the config, each with one route")
		fs.IntVar(&o.endpoints, "endpoints", 100, "static endpoints per service")
		fs.IntVar(&o.rounds, "rounds", 5, "endpoint changes to measure")
		fs.StringVar(&o.decode, "decode", "full", "full: nodes decode each snapshot with snapshot.Decode; envelope: only the push message; version: only its version")
		fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the simulated nodes during the rounds to this file")
	}, o.check)
	return o, err
}

func (o *options) check() error {
	switch {
	case min(o.nodes, o.services, o.endpoints, o.rounds) <= 0:
		return fmt.Errorf("check flags: --nodes, --services, --endpoints and --rounds must be positive")
	case o.decode != "full" && o.decode != "envelope" && o.decode != "version":
		return fmt.Errorf("check flags: --decode %q, want full, envelope or version", o.decode)
	}
	return nil
}

// Command pylon is one binary for every role of Pylon: the API gateway
// (`pylon gateway`), the mesh sidecar (`pylon sidecar`), the control plane
// (`pylon control`) and its client (`pylon ctl`), the local platform
// (`pylon up`), config validation (`pylon validate`) and `pylon version`.
// This file only dispatches; each role lives in its own file and package.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: it parses its own flags and runs.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"gateway", "run the API gateway on a config file or from a control plane", runGateway},
	{"control", "run the control plane", runControl},
	{"sidecar", "run the mesh sidecar beside one instance of a service", runSidecar},
	{"up", "run a whole app on this machine: control plane, instances with sidecars, gateway", runUp},
	{"down", "stop the app pylon up -d runs", runDown},
	{"ctl", "drive a control plane: get, describe, apply, delete, tokens, certs, nodes; ps, events, logs, scale, restart, stop of a pylon up app", runCtl},
	{"validate", "check a config file without serving it", runValidate},
	{"version", "print the version", runVersion},
}

func main() {
	os.Exit(dispatch(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "pylon: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: pylon <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'pylon <command> -h' for a command's flags.")
}

// ignoreHUP logs and otherwise ignores SIGHUP, which would end the process
// at once, for the roles whose config comes from elsewhere than a file.
func ignoreHUP(logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			logger.Info("SIGHUP ignored: the config comes from the control plane (the store for pylon control), not a file")
		}
	}()
}

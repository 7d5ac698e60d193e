package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pylon-mesh/pylon/appfile"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/control"
	"github.com/pylon-mesh/pylon/lifecycle"
	"github.com/pylon-mesh/pylon/supervise"
)

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pylon up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o lifecycle.Options
	file := fs.String("f", "app.yaml", "the app file (also --file)")
	fs.StringVar(file, "file", "app.yaml", "the app file")
	fs.StringVar(&o.DataDir, "data", "", "the control plane's data directory, cleared at start; when not given, .pylon beside the app file")
	fs.StringVar(&o.ControlAddr, "listen", control.DefaultControlAddr, "address the sidecars and the gateway connect to")
	fs.StringVar(&o.AdminAddr, "admin", control.DefaultAdminAddr, "admin API address")
	fs.StringVar(&o.LogLevel, "log-level", "warn", "log level of pylon's own processes (control plane, sidecars, gateway): debug, info, warn, error")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 3*time.Minute, "how long to wait for every instance to be healthy before the gateway starts anyway")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pylon up: unexpected argument %q; the app file is given with -f\n", fs.Arg(0))
		return 2
	}
	app, err := appfile.Load(*file)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			fmt.Fprintln(stderr, errs.Error())
		} else {
			fmt.Fprintf(stderr, "pylon up: %v\n", err)
		}
		return 1
	}
	o.App, o.AppFile = app, *file
	o.Out, o.Color = stdout, supervise.Colorable(stdout)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		<-sig
		cancel()
		for range sig { // the processes' stop timeouts bound the shutdown
			fmt.Fprintln(stderr, "pylon up: already shutting down; each process gets SIGKILL after its stop timeout")
		}
	}()
	if err := lifecycle.Run(ctx, o); err != nil {
		fmt.Fprintf(stderr, "pylon up: %v\n", err)
		return 1
	}
	return 0
}

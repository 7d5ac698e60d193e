package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/pylon-mesh/pylon/dataplane"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pylon validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "pylon.yaml", "config file (also --config)")
	fs.StringVar(cfgPath, "config", "pylon.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := dataplane.Check(*cfgPath); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", *cfgPath)
	return 0
}

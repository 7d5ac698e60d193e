package main

import (
	"context"
	"io"
	"os"

	"github.com/pylon-mesh/pylon/ctl"
)

// runCtl is `pylon ctl`, the control plane's command-line client.
func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return ctl.Run(ctx, args, ctl.Env{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr})
}

// Package benchcmd is the command-line shell shared by the benchmarks that
// start pylon processes (bench/controlplane, bench/mesh): the --pylon and
// --timeout flags, flag checking, a bound on the whole run, the report on
// stdout and the exit status.
package benchcmd

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"
)

// Common holds the flags every such benchmark has.
type Common struct {
	Pylon   string        // --pylon: pylon binary; "" builds ./cmd/pylon into a temp dir
	Timeout time.Duration // --timeout: bound on the whole run
}

// Parse defines --pylon and --timeout into c, lets define add the
// command's own flags, parses args and then calls check. Flag errors and
// usage go to stderr, and so does check's error, prefixed with name.
func Parse(name string, args []string, stderr io.Writer, c *Common, define func(fs *flag.FlagSet), check func() error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Pylon, "pylon", "", "pylon binary (default: go build ./cmd/pylon into a temp dir)")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Minute, "bound on the whole run")
	define(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.Timeout <= 0 {
		return report(stderr, name, fmt.Errorf("check flags: --timeout must be positive"))
	}
	if err := check(); err != nil {
		return report(stderr, name, err)
	}
	return nil
}

// report writes err to w as "name: err" and returns it.
func report(w io.Writer, name string, err error) error {
	fmt.Fprintf(w, "%s: %v\n", name, err)
	return err
}

// Report is a benchmark's result, printed once the run is done.
type Report interface {
	Print(w io.Writer)
}

// Run runs one benchmark bounded by timeout, with its progress on
// stderr, and prints its report to stdout. It returns the exit status: 0,
// or 1 after writing "name: error" to stderr.
func Run(name string, timeout time.Duration, stdout, stderr io.Writer, run func(ctx context.Context, progress io.Writer) (Report, error)) int {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := run(ctx, stderr)
	if err != nil {
		report(stderr, name, err)
		return 1
	}
	res.Print(stdout)
	return 0
}

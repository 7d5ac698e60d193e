package ctl

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Defaults of the global flags.
const (
	DefaultServer  = "http://127.0.0.1:15000"
	DefaultTimeout = 10 * time.Second
	// OperationTimeout is --timeout's default for scale, restart and
	// stop, which wait for instances to start healthy or drain.
	OperationTimeout = 10 * time.Minute
)

// globals are the flags every subcommand takes, before or after its name.
type globals struct {
	server    string
	token     string
	tokenFile string
	// tokenFlag is whether --token was given, which beats --token-file.
	tokenFlag bool
	output    string
	timeout   time.Duration
	// timeoutFlag is whether --timeout was given, which beats a
	// command's own default.
	timeoutFlag bool
}

// newGlobals starts from the defaults and the environment.
func newGlobals(getenv func(string) string) *globals {
	g := &globals{server: DefaultServer, output: "table", timeout: DefaultTimeout}
	if v := getenv("PYLON_SERVER"); v != "" {
		g.server = v
	}
	g.token = getenv("PYLON_TOKEN")
	return g
}

// register adds the global flags to fs, bound to g's current values.
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.server, "server", g.server, "control plane admin API URL (env PYLON_SERVER)")
	fs.Func("token", "admin bearer token (env PYLON_TOKEN)", func(v string) error {
		g.token, g.tokenFlag = v, true
		return nil
	})
	fs.StringVar(&g.tokenFile, "token-file", g.tokenFile, "read the admin token from this file")
	fs.StringVar(&g.output, "output", g.output, "output format: table, json or yaml")
	fs.StringVar(&g.output, "o", g.output, "short for --output")
	fs.Func("timeout", "how long the whole command may take (default 10s)", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("parse error")
		}
		g.timeout, g.timeoutFlag = d, true
		return nil
	})
}

// check validates the flag values and resolves the token: --token beats
// --token-file, which beats PYLON_TOKEN.
func (g *globals) check() error {
	switch g.output {
	case "table", "json", "yaml":
	default:
		return usageErrorf("--output: %q is not table, json or yaml", g.output)
	}
	if g.timeout <= 0 {
		return usageErrorf("--timeout: must be positive, not %s", g.timeout)
	}
	if !strings.Contains(g.server, "://") {
		g.server = "http://" + g.server
	}
	if !strings.HasPrefix(g.server, "http://") && !strings.HasPrefix(g.server, "https://") {
		return usageErrorf("--server: %q is not an http:// or https:// URL", g.server)
	}
	if g.tokenFile != "" && !g.tokenFlag {
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return fmt.Errorf("read token file: %w", err)
		}
		g.token = strings.TrimSpace(string(b))
	}
	return nil
}

// newFlagSet returns a flag set that reports errors to the caller only.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseLeading parses flags up to the first argument that is not one and
// returns the rest, starting with that argument.
func parseLeading(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

// parseInterspersed parses flags anywhere in args and returns the other
// arguments in order. Everything after "--" is an argument.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

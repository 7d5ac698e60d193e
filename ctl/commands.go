package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// runFunc runs a subcommand with its arguments (flags removed).
type runFunc func(ctx context.Context, s *session, args []string) error

// command is one subcommand. setup registers its own flags on fs and
// returns what runs once they are parsed.
type command struct {
	name    string
	args    string
	summary string
	setup   func(fs *flag.FlagSet) runFunc
	// wait is how long the command may take when --timeout is not given:
	// 0 is DefaultTimeout; unbounded leaves the command no deadline, for it
	// to bound with the session's timeout what needs bounding.
	wait time.Duration
}

// unbounded is the wait of a command that may run until it is
// interrupted (logs -f).
const unbounded = -1

// noFlags is the setup of a command without flags of its own.
func noFlags(run runFunc) func(*flag.FlagSet) runFunc {
	return func(*flag.FlagSet) runFunc { return run }
}

// commands is every subcommand, in the order usage lists them.
var commands = []*command{
	{name: "get", args: "<kind> [name]", summary: "list resources of a kind, or show one", setup: noFlags(runGet)},
	{name: "describe", args: "<kind> <name>", summary: "show a config resource in full (a service with its instances)", setup: noFlags(runDescribe)},
	{name: "apply", args: "-f FILE [--dry-run]", summary: "write every resource of a config document (-f - reads stdin)", setup: setupApply},
	{name: "delete", args: "<kind> <name>", summary: "delete a config resource (or revoke a token)", setup: noFlags(runDelete)},
	{name: "token create", args: "--service S [--namespace N] [--uses N] [--ttl D] [--admin] [--description D]", summary: "create a token and print only its secret", setup: setupTokenCreate},
	{name: "token list", summary: "list tokens (same as get tokens)", setup: noFlags(runTokenList)},
	{name: "token revoke", args: "<id>", summary: "revoke a token", setup: noFlags(runTokenRevoke)},
	{name: "certs", args: "[rotate]", summary: "list the trusted CA roots, or rotate to a new root", setup: noFlags(runCerts)},
	{name: "nodes", summary: "list the data planes connected to the control plane (same as get nodes)", setup: noFlags(runNodes)},
	{name: "ps", summary: "list the processes of the app pylon up runs", setup: noFlags(runPs)},
	{name: "events", args: "[--since D]", summary: "list what happened to the app's processes, oldest first", setup: setupEvents},
	{name: "logs", args: "<name> [-f] [--tail N]", summary: "print the output of an app's process, instance or service (-f follows it)", setup: setupLogs, wait: unbounded},
	{name: "scale", args: "<service>=<replicas>", summary: "start or stop instances of an app's service until it has replicas", setup: noFlags(runScale), wait: OperationTimeout},
	{name: "restart", args: "<service>", summary: "replace an app's service's instances one at a time, each healthy first", setup: noFlags(runRestart), wait: OperationTimeout},
	{name: "stop", args: "<instance>", summary: "stop one instance of an app for good (one replica fewer)", setup: noFlags(runStop), wait: OperationTimeout},
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// isGroup reports whether name is the first word of longer commands.
func isGroup(name string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.name, name+" ") {
			return true
		}
	}
	return false
}

const usageTail = `Kinds: listeners (listener), routes (route), services (service, svc),
policies (policy, pol), consumers (consumer, cons),
authorization_policies (authorization_policy, authz), instances (instance),
views (view), tokens (token), nodes (node), certs (cert). "get views SERVICE"
shows how the callers' sidecars see the service's endpoints.

Global flags, before or after the command:
  --server URL        admin API URL (env PYLON_SERVER, default http://127.0.0.1:15000)
  --token T           admin bearer token (env PYLON_TOKEN)
  --token-file F      read the admin token from F
  -o, --output FMT    table, json or yaml (default table)
  --timeout D         how long the command may take (default 10s; 10m for scale,
                      restart and stop; for logs -f, how long the stream may
                      take to open)

Exit codes: 0 success; 1 the server refused or failed the request (or a local
file could not be read); 2 usage error; 3 the server could not be reached
(or did not answer within --timeout).
`

// printUsage prints the usage of cmd, or of pylon ctl as a whole when cmd
// is nil.
func printUsage(w io.Writer, cmd *command) {
	if cmd != nil {
		fmt.Fprintf(w, "usage: pylon ctl %s %s\n  %s\n\n", cmd.name, cmd.args, cmd.summary)
		fs := newFlagSet("")
		cmd.setup(fs)
		fs.SetOutput(w)
		if hasFlags(fs) {
			fmt.Fprintln(w, "Flags:")
			fs.PrintDefaults()
			fmt.Fprintln(w)
		}
		fmt.Fprint(w, usageTail)
		return
	}
	fmt.Fprintln(w, "usage: pylon ctl <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, usageTail)
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

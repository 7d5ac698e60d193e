package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Exit codes of Run.
const (
	ExitOK          = 0 // success
	ExitFailed      = 1 // the server refused or failed the request, or a local file could not be read
	ExitUsage       = 2 // the command line is wrong
	ExitUnreachable = 3 // the server could not be reached, or did not answer within --timeout
)

// Env is what a run of pylon ctl reads and writes besides its arguments.
type Env struct {
	// Stdin is read by apply -f -; nil reads nothing.
	Stdin io.Reader
	// Stdout gets only the output asked for; Stderr gets errors and notes.
	Stdout, Stderr io.Writer
	// Getenv looks up PYLON_SERVER and PYLON_TOKEN; nil means os.Getenv.
	Getenv func(string) string
	// Now is the clock ages and expiries are shown against; nil means
	// time.Now.
	Now func() time.Time
	// HTTP sends the requests; nil means a client of its own.
	HTTP *http.Client
}

// session is what a subcommand runs with.
type session struct {
	client *Client
	output string
	// timeout is --timeout, or the command's default: the deadline of
	// the whole command unless the command is unbounded.
	timeout time.Duration
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	now     func() time.Time
}

// Run runs `pylon ctl` with args (the arguments after "ctl") and returns
// its exit code: ExitOK, ExitFailed, ExitUsage or ExitUnreachable.
func Run(ctx context.Context, args []string, env Env) int {
	env = env.withDefaults()
	g := newGlobals(env.Getenv)
	cmd, rest, err := resolve(g, args)
	if err == nil {
		err = cmd.exec(ctx, g, rest, env)
	}
	return report(env.Stderr, cmd, err)
}

func (e Env) withDefaults() Env {
	if e.Stdin == nil {
		e.Stdin = strings.NewReader("")
	}
	if e.Stdout == nil {
		e.Stdout = io.Discard
	}
	if e.Stderr == nil {
		e.Stderr = io.Discard
	}
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.HTTP == nil {
		e.HTTP = &http.Client{}
	}
	return e
}

// resolve finds the subcommand in args, parsing the global flags that come
// before it, and returns the arguments after its name.
func resolve(g *globals, args []string) (*command, []string, error) {
	name := ""
	for {
		fs := newFlagSet("pylon ctl")
		g.register(fs)
		rest, err := parseLeading(fs, args)
		if err != nil {
			return nil, nil, flagError(err)
		}
		if len(rest) == 0 {
			if name == "" {
				return nil, nil, usageErrorf("no command given")
			}
			return nil, nil, usageErrorf("%s: no subcommand given", name)
		}
		name = strings.TrimSpace(name + " " + rest[0])
		if c := lookup(name); c != nil {
			return c, rest[1:], nil
		}
		if !isGroup(name) {
			return nil, nil, usageErrorf("unknown command %q", name)
		}
		args = rest[1:]
	}
}

// exec parses the command's flags (and the global ones again, since they
// may follow the command) and runs it.
func (c *command) exec(ctx context.Context, g *globals, args []string, env Env) error {
	fs := newFlagSet("pylon ctl " + c.name)
	g.register(fs)
	run := c.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if err := g.check(); err != nil {
		return err
	}
	timeout := g.timeout
	if !g.timeoutFlag && c.wait > 0 {
		timeout = c.wait
	}
	if c.wait != unbounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	s := &session{
		client: &Client{Server: g.server, Token: g.token, HTTP: env.HTTP},
		output: g.output, timeout: timeout, stdin: env.Stdin, stdout: env.Stdout, stderr: env.Stderr, now: env.Now,
	}
	return run(ctx, s, pos)
}

// usageError is a command line that is wrong.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp is a request for the usage text.
var errHelp = errors.New("help requested")

func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return &usageError{msg: err.Error()}
}

// report prints err (if any) to stderr and returns the exit code for it.
func report(stderr io.Writer, cmd *command, err error) int {
	var usage *usageError
	var api *APIError
	var unreachable *UnreachableError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, errHelp):
		printUsage(stderr, cmd)
		return ExitOK
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "error: %s\n", usage.msg)
		fmt.Fprintf(stderr, "Run 'pylon ctl %s-h' for usage.\n", helpName(cmd))
		return ExitUsage
	case errors.As(err, &unreachable):
		fmt.Fprintf(stderr, "error: %v\n", unreachable)
		return ExitUnreachable
	case errors.As(err, &api):
		printAPIError(stderr, api)
		return ExitFailed
	default:
		fmt.Fprintf(stderr, "error: %v\n", err)
		return ExitFailed
	}
}

func helpName(cmd *command) string {
	if cmd == nil {
		return ""
	}
	return cmd.name + " "
}

// printAPIError prints the code, the message and each detail. When there
// are details, only the message's first line is printed: the API's message
// repeats the details in its later lines.
func printAPIError(w io.Writer, e *APIError) {
	msg := e.Message
	if len(e.Details) > 0 {
		msg, _, _ = strings.Cut(msg, "\n")
	}
	fmt.Fprintf(w, "error: %s: %s\n", e.Code, msg)
	for _, d := range e.Details {
		where := d.Resource
		if d.Line > 0 {
			where += ":" + strconv.Itoa(d.Line)
			if d.Column > 0 {
				where += ":" + strconv.Itoa(d.Column)
			}
		}
		if d.Path != "" {
			where += ": " + d.Path
		}
		fmt.Fprintf(w, "  %s: %s\n", where, d.Message)
	}
}

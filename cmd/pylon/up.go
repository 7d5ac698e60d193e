package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pylon-mesh/pylon/appfile"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/control"
	"github.com/pylon-mesh/pylon/ctl"
	"github.com/pylon-mesh/pylon/lifecycle"
	"github.com/pylon-mesh/pylon/supervise"
)

// detachedEnv marks the pylon up that `pylon up -d` started.
const detachedEnv = "PYLON_UP_DETACHED"

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pylon up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o lifecycle.Options
	file := fs.String("f", "app.yaml", "the app file (also --file)")
	fs.StringVar(file, "file", "app.yaml", "the app file")
	detach := fs.Bool("d", false, "detach: run in the background, output to up.log in the data directory (also --detach)")
	fs.BoolVar(detach, "detach", false, "detach: run in the background")
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
	app, code := loadApp(*file, stderr)
	if app == nil {
		return code
	}
	if o.DataDir == "" {
		o.DataDir = lifecycle.DataDir(app.Dir)
	}
	switch r, ok, err := lifecycle.FindRunning(o.DataDir); {
	case err != nil:
		fmt.Fprintf(stderr, "pylon up: %v\n", err)
		return 1
	case ok:
		return applyToRunning(ctx, r, *file, o.DataDir, stdout, stderr)
	}
	if *detach {
		if errDetach != nil {
			fmt.Fprintf(stderr, "pylon up: -d: %v\n", errDetach)
			return 2
		}
		return detachUp(args, *file, o, stdout, stderr)
	}
	o.App, o.AppFile = app, *file
	o.Out, o.Color = stdout, supervise.Colorable(stdout)
	if os.Getenv(detachedEnv) != "" {
		o.StopHint = "stop it with pylon down -f " + *file
	}
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

// loadApp reads the app file; on failure it prints why and returns the
// exit code.
func loadApp(file string, stderr io.Writer) (*appfile.App, int) {
	app, err := appfile.Load(file)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			fmt.Fprintln(stderr, errs.Error())
		} else {
			fmt.Fprintf(stderr, "pylon up: %v\n", err)
		}
		return nil, 1
	}
	return app, 0
}

// detachUp starts pylon up again in its own session, without -d, its
// output going to up.log in the data directory, and returns once the app
// runs (printing pylon up's own lines), or with the log's end if it
// stopped.
func detachUp(args []string, file string, o lifecycle.Options, stdout, stderr io.Writer) int {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		fmt.Fprintf(stderr, "pylon up: %v\n", err)
		return 1
	}
	logPath := filepath.Join(o.DataDir, lifecycle.LogName)
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(stderr, "pylon up: %v\n", err)
		return 1
	}
	defer logFile.Close()
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "pylon up: %v\n", err)
		return 1
	}
	// The same flags, with -d turned off again (the last setting wins).
	cmd := exec.Command(exe, append(append([]string{"up"}, args...), "-d=false")...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), detachedEnv+"=1")
	cmd.SysProcAttr = detachedProcAttr()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "pylon up: start in the background: %v\n", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(o.ReadyTimeout + time.Minute)
	for {
		log, _ := os.ReadFile(logPath)
		if strings.Contains(string(log), " is running; ") {
			printOwnLines(log, stdout)
			fmt.Fprintf(stdout, "pylon up runs in the background (pid %d); its output: %s, or pylon ctl logs NAME\n", cmd.Process.Pid, logPath)
			return 0
		}
		select {
		case err := <-exited:
			stderr.Write(log)
			fmt.Fprintf(stderr, "pylon up: the background pylon up stopped: %v\n", err)
			return 1
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "pylon up: the app did not start within %v; it keeps trying in the background (pid %d, output in %s)\n", o.ReadyTimeout+time.Minute, cmd.Process.Pid, logPath)
			return 1
		}
	}
}

// printOwnLines prints pylon up's own lines ("up | ...") of its log.
func printOwnLines(log []byte, w io.Writer) {
	sc := bufio.NewScanner(strings.NewReader(string(log)))
	for sc.Scan() {
		if name, _, ok := strings.Cut(sc.Text(), "|"); ok && strings.TrimSpace(name) == "up" {
			fmt.Fprintln(w, sc.Text())
		}
	}
}

// runDown stops the pylon up running an app file, as Ctrl-C would.
func runDown(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pylon down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "app.yaml", "the app file (also --file)")
	fs.StringVar(file, "file", "app.yaml", "the app file")
	data := fs.String("data", "", "the data directory pylon up was given; when not given, .pylon beside the app file")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the app to stop")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := *data
	if dir == "" {
		abs, err := filepath.Abs(*file)
		if err != nil {
			fmt.Fprintf(stderr, "pylon down: %v\n", err)
			return 1
		}
		dir = lifecycle.DataDir(filepath.Dir(abs))
	}
	r, ok, err := lifecycle.FindRunning(dir)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "pylon down: %v\n", err)
		return 1
	case !ok:
		fmt.Fprintf(stderr, "pylon down: no pylon up runs %s (data directory %s)\n", *file, dir)
		return 1
	}
	if err := askToStop(r.Pid); err != nil {
		fmt.Fprintf(stderr, "pylon down: signal pylon up (pid %d): %v\n", r.Pid, err)
		return 1
	}
	fmt.Fprintf(stdout, "stopping pylon up (pid %d)...\n", r.Pid)
	deadline := time.Now().Add(*timeout)
	for {
		if _, ok, _ := lifecycle.FindRunning(dir); !ok {
			fmt.Fprintln(stdout, "stopped")
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "pylon down: pylon up (pid %d) still runs after %v\n", r.Pid, *timeout)
			return 1
		}
		select {
		case <-ctx.Done():
			return 1
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// applyToRunning sends the app file to the pylon up running it, which
// changes what differs from what runs, and prints what changed.
func applyToRunning(ctx context.Context, r lifecycle.Running, file, dataDir string, stdout, stderr io.Writer) int {
	content, err := os.ReadFile(file)
	if err == nil {
		var tok []byte
		if tok, err = os.ReadFile(filepath.Join(dataDir, control.AdminTokenFile)); err == nil {
			c := &ctl.Client{Server: "http://" + r.Admin, Token: strings.TrimSpace(string(tok))}
			fmt.Fprintf(stdout, "pylon up runs this app (pid %d): applying the changes of %s\n", r.Pid, file)
			err = ctl.ApplyApp(ctx, c, file, content, stdout)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "pylon up: %v\n", err)
		return 1
	}
	return 0
}

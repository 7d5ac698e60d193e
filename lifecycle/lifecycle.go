package lifecycle

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/appfile"
	"github.com/pylon-mesh/pylon/control"
	"github.com/pylon-mesh/pylon/ctl"
	"github.com/pylon-mesh/pylon/supervise"
)

// Options configure a run.
type Options struct {
	// App is the parsed app file; AppFile its path, for messages.
	App     *appfile.App
	AppFile string
	// DataDir holds the control plane's state; default .pylon beside the
	// app file. It is cleared at start and locked while the app runs.
	DataDir string
	// ControlAddr and AdminAddr are the control plane's; defaults as
	// `pylon control`'s.
	ControlAddr, AdminAddr string
	// Pylon is the binary the sidecars and the gateway run; default this
	// process's executable.
	Pylon string
	// Out gets every process's lines, prefixed with its name, and this
	// run's own; Color colours the prefixes.
	Out   io.Writer
	Color bool
	// LogLevel is that of pylon's own processes (control plane, sidecars,
	// gateway); default warn, so the apps' lines stand out.
	LogLevel string
	// ReadyTimeout bounds the wait for every instance to be healthy before
	// the gateway starts anyway; default 3m.
	ReadyTimeout time.Duration
	// Backoff tunes crash restarts (zero: supervise's defaults).
	Backoff supervise.Options
	// StopHint says how to stop the app, in the line saying it runs;
	// default "Ctrl-C stops it".
	StopHint string
}

func (o *Options) defaults() error {
	if o.DataDir == "" {
		o.DataDir = DataDir(o.App.Dir)
	}
	o.ControlAddr = cmp.Or(o.ControlAddr, control.DefaultControlAddr)
	o.AdminAddr = cmp.Or(o.AdminAddr, control.DefaultAdminAddr)
	o.LogLevel = cmp.Or(o.LogLevel, "warn")
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 3 * time.Minute
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Pylon == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find the pylon binary for the sidecars: %w", err)
		}
		o.Pylon = exe
	}
	return nil
}

// upName prefixes this run's own lines.
const upName = "up"

// platform is one running app.
type platform struct {
	o      Options
	out    supervise.Sink
	logs   *supervise.Buffer
	events *eventLog
	client *ctl.Client
	ports  portPool
	tokens map[string]string // join token per service, and for the gateway

	mu        sync.Mutex
	instances []*instance       // in start order
	next      map[string]int    // the highest instance number used, per service
	health    map[string]string // the registry's health per instance, as last read
	gateway   *supervise.Supervisor
	gwStarts  atomic.Int32
	// ops serializes the operations on instances (scale, restart, stop).
	ops sync.Mutex
}

// gatewayService is the service name of the gateway's join token.
const gatewayService = "gateway"

// Run runs the app until ctx ends, then shuts it down in order. It
// returns an error if the app could not start, or if the shutdown was not
// clean (a process needed SIGKILL).
func Run(ctx context.Context, o Options) error {
	if err := o.defaults(); err != nil {
		return err
	}
	dir, err := openDataDir(o.DataDir, o.AdminAddr)
	if err != nil {
		return err
	}
	defer dir.close()
	notes, err := preflight(&o)
	if err != nil {
		return err
	}
	p := &platform{o: o, logs: supervise.NewBuffer(1000), tokens: map[string]string{}, next: map[string]int{}}
	p.out = supervise.Tee(supervise.NewPrinter(o.Out, 0, o.Color), p.logs)
	p.events = &eventLog{sink: p.out}
	for _, n := range notes {
		p.say("%s", n)
	}

	cctx, stopControl := context.WithCancel(context.WithoutCancel(ctx))
	defer stopControl()
	controlDone := make(chan error, 1)
	go func() {
		controlDone <- control.Run(cctx, control.Options{DataDir: o.DataDir, ControlAddr: o.ControlAddr, AdminAddr: o.AdminAddr, App: p,
			Logger: slog.New(slog.NewJSONHandler(&lineWriter{name: "control", sink: p.out}, &slog.HandlerOptions{Level: level(o.LogLevel)}))})
	}()
	err = p.start(ctx, controlDone)
	if err == nil {
		p.say("%s is running; %s", o.AppFile, cmp.Or(o.StopHint, "Ctrl-C stops it"))
		err = p.monitor(ctx, controlDone)
	}
	clean := p.shutdown()
	stopControl()
	if cerr := <-controlDone; cerr != nil && err == nil {
		err = fmt.Errorf("control plane: %w", cerr)
	}
	if err == nil && !clean {
		err = errors.New("the shutdown was not clean: some processes had to be killed (see above)")
	}
	return err
}

// preflight checks, before anything starts, that every command can run
// and every fixed address is free. An optional service whose command
// cannot run is left out, said in notes.
func preflight(o *Options) (notes []string, err error) {
	app, notes, problems := checkCommands(o.App)
	o.App = app
	for _, a := range [][2]string{{o.ControlAddr, "--listen"}, {o.AdminAddr, "--admin"}} {
		if err := checkFree(a[0]); err != nil {
			problems = append(problems, fmt.Sprintf("%s %s: %v", a[1], a[0], err))
		}
	}
	if g := o.App.Gateway; g != nil {
		for i, l := range g.Listeners {
			if err := checkFree(l.Address); err != nil {
				problems = append(problems, app.ErrorAt(fmt.Sprintf("gateway.listeners[%d].address", i), err.Error()).Error())
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s cannot start:\n  %s", o.AppFile, strings.Join(problems, "\n  "))
	}
	return notes, nil
}

// checkCommands checks that every service's command can run. It returns
// app with the optional services whose command cannot run left out, the
// notes saying so, and the problems of the others.
func checkCommands(app *appfile.App) (_ *appfile.App, notes, problems []string) {
	var missing []string
	for i, s := range app.Services {
		err := supervise.Check(supervise.Spec{Name: s.Name, Path: s.Command[0], Dir: s.Dir})
		if err == nil {
			continue
		}
		field, msg := "command", err.Error()
		if ce, ok := errors.AsType[*supervise.CheckError](err); ok {
			msg = ce.Msg
			if ce.Dir {
				field = "dir"
			}
		}
		if s.Optional {
			missing = append(missing, s.Name)
			notes = append(notes, fmt.Sprintf("%s is left out (optional: true): %s; install %s to run it", s.Name, msg, s.Command[0]))
			continue
		}
		problems = append(problems, app.ErrorAt(fmt.Sprintf("services[%d].%s", i, field), msg).Error())
	}
	if len(missing) > 0 {
		app = leaveOut(app, missing)
	}
	return app, notes, problems
}

// leaveOut returns a copy of app in which the services named run no
// instance and are no one's upstream; they stay declared, so the
// gateway's routes to them still hold (and answer 503).
func leaveOut(app *appfile.App, names []string) *appfile.App {
	out := *app
	out.Services = slices.Clone(app.Services)
	for i := range out.Services {
		s := &out.Services[i]
		if slices.Contains(names, s.Name) {
			s.Replicas = 0
		}
		s.Upstreams = slices.DeleteFunc(slices.Clone(s.Upstreams), func(u string) bool { return slices.Contains(names, u) })
	}
	return &out
}

// start brings the app up: the control plane's API, the app's config and
// tokens, every instance, and the gateway once the instances are healthy.
func (p *platform) start(ctx context.Context, controlDone <-chan error) error {
	if err := p.connect(ctx, controlDone); err != nil {
		return err
	}
	cfg, err := json.Marshal(p.o.App.Config())
	if err != nil {
		return fmt.Errorf("encode the app's config: %w", err)
	}
	q := map[string][]string{"filename": {p.o.AppFile}}
	if _, err := p.client.Do(ctx, http.MethodPost, "/v1/apply", q, cfg, "application/json"); err != nil {
		return fmt.Errorf("apply the app's config: %w", err)
	}
	for _, s := range p.o.App.Services {
		if err := p.token(ctx, s.Name); err != nil {
			return err
		}
	}
	// The first instance of each service first: the others start once it
	// is healthy, so a command that builds (go run) builds once, not once
	// per replica at the same time. Operations from the API wait.
	p.ops.Lock()
	defer p.ops.Unlock()
	for _, first := range []bool{true, false} {
		for i := range p.o.App.Services {
			svc := &p.o.App.Services[i]
			for n := 1; n <= svc.Replicas; n++ {
				if (n == 1) != first {
					continue
				}
				if err := p.startInstance(svc, n); err != nil {
					return err
				}
			}
		}
		if err := p.waitReady(ctx); err != nil {
			return err
		}
	}
	if p.o.App.Gateway != nil {
		return p.startGateway(ctx)
	}
	return nil
}

// connect waits for the control plane's admin API and its token.
func (p *platform) connect(ctx context.Context, controlDone <-chan error) error {
	tokenFile := filepath.Join(p.o.DataDir, control.AdminTokenFile)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-controlDone:
			return fmt.Errorf("the control plane stopped: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if tok, err := os.ReadFile(tokenFile); err == nil && len(tok) > 0 {
			p.client = &ctl.Client{Server: "http://" + p.o.AdminAddr, Token: strings.TrimSpace(string(tok))}
			if _, err := p.client.Do(ctx, http.MethodGet, "/v1/status", nil, nil, ""); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the control plane's admin API at %s did not answer within 30s", p.o.AdminAddr)
		}
	}
}

// token creates the join token the instances of service use.
func (p *platform) token(ctx context.Context, service string) error {
	body, _ := json.Marshal(map[string]string{"kind": "join", "service": service, "description": "pylon up"})
	doc, err := p.client.Do(ctx, http.MethodPost, "/v1/tokens", nil, body, "application/json")
	if err != nil {
		return fmt.Errorf("create a join token for %s: %w", service, err)
	}
	var created struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(doc, &created); err != nil || created.Token == "" {
		return fmt.Errorf("create a join token for %s: no token in the answer", service)
	}
	p.tokens[service] = created.Token
	return nil
}

// say writes one of this run's own lines.
func (p *platform) say(format string, args ...any) {
	p.out.Line(supervise.Line{Name: upName, Time: time.Now(), Text: fmt.Sprintf(format, args...)})
}

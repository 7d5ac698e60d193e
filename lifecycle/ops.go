package lifecycle

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/appfile"
	"github.com/pylon-mesh/pylon/supervise"
)

// The platform is the app the admin API serves at /v1/app.
var _ adminapi.App = (*platform)(nil)

// Processes lists the instances' apps and sidecars, then the gateway.
func (p *platform) Processes() []adminapi.Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []adminapi.Process
	for _, in := range p.instances {
		out = append(out,
			adminapi.Process{Name: in.name, Service: in.svc.Name, Instance: in.name, Kind: "app", Pid: in.app.Pid(),
				Health: cmp.Or(p.health[in.name], "unknown"), Restarts: restarts(in.appStarts.Load())},
			adminapi.Process{Name: sidecarName(in.name), Service: in.svc.Name, Instance: in.name, Kind: "sidecar",
				Pid: in.sidecar.Pid(), Restarts: restarts(in.sidecarStarts.Load())})
	}
	if p.gateway != nil {
		out = append(out, adminapi.Process{Name: gatewayService, Kind: "gateway", Pid: p.gateway.Pid(), Restarts: restarts(p.gwStarts.Load())})
	}
	return out
}

func restarts(starts int32) int { return max(int(starts)-1, 0) }

// Events returns the events kept, oldest first.
func (p *platform) Events() []adminapi.Event { return p.events.list() }

// Logs gives the output of the processes name stands for: a service's
// instances' apps, an instance's app, or a process by its name.
func (p *platform) Logs(ctx context.Context, name string, tail int, follow bool) (<-chan adminapi.LogLine, error) {
	names := p.processNames(name)
	if len(names) == 0 {
		return nil, adminapi.ErrUnknownProcess
	}
	out := make(chan adminapi.LogLine, 64)
	if !follow {
		var lines []supervise.Line
		for _, n := range names {
			lines = append(lines, p.logs.Tail(n, tail)...)
		}
		slices.SortStableFunc(lines, func(a, b supervise.Line) int { return a.Time.Compare(b.Time) })
		go func() {
			defer close(out)
			for _, l := range lines {
				select {
				case out <- logLine(l):
				case <-ctx.Done():
					return
				}
			}
		}()
		return out, nil
	}
	done := make(chan struct{})
	for _, n := range names {
		in := p.logs.Follow(ctx, n, tail)
		go func() {
			for l := range in {
				select {
				case out <- logLine(l):
				case <-ctx.Done():
				}
			}
			done <- struct{}{}
		}()
	}
	go func() {
		for range names {
			<-done
		}
		close(out)
	}()
	return out, nil
}

func logLine(l supervise.Line) adminapi.LogLine {
	return adminapi.LogLine{Time: l.Time, Process: l.Name, Stream: l.Stream.String(), Text: l.Text}
}

// processNames resolves a name given to Logs.
func (p *platform) processNames(name string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, in := range p.instances {
		switch name {
		case in.svc.Name, in.name:
			out = append(out, in.name)
		case sidecarName(in.name):
			out = append(out, name)
		}
	}
	if len(out) == 0 && slices.Contains(p.logs.Names(), name) {
		out = append(out, name) // the gateway, control, up, or an instance gone
	}
	return out
}

// service finds a service of the app.
func (p *platform) service(name string) (*appfile.Service, error) {
	p.mu.Lock()
	app := p.o.App
	p.mu.Unlock()
	if s := serviceIn(app, name); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("%w: service %q", adminapi.ErrUnknownProcess, name)
}

// instancesOf returns the running instances of service, in start order.
func (p *platform) instancesOf(service string) []*instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*instance
	for _, in := range p.instances {
		if in.svc.Name == service {
			out = append(out, in)
		}
	}
	return out
}

// Scale starts new instances, or stops the newest ones, until service has
// replicas.
func (p *platform) Scale(ctx context.Context, service string, replicas int) error {
	svc, err := p.service(service)
	if err != nil {
		return err
	}
	if replicas < 0 || replicas > appfile.MaxReplicas {
		return fmt.Errorf("%w: %d; want 0 to %d", adminapi.ErrBadScale, replicas, appfile.MaxReplicas)
	}
	p.ops.Lock()
	defer p.ops.Unlock()
	return p.scaleLocked(svc, replicas)
}

// scaleLocked scales svc, with p.ops held.
func (p *platform) scaleLocked(svc *appfile.Service, replicas int) error {
	running := p.instancesOf(svc.Name)
	p.events.note(svc.Name, fmt.Sprintf("scaling from %d to %d instances", len(running), replicas))
	for n := len(running); n < replicas; n++ {
		if err := p.startInstance(svc, p.nextIndex(svc.Name)); err != nil {
			return err
		}
	}
	for i := len(running) - 1; i >= replicas; i-- {
		p.stopInstance(running[i])
	}
	svc.Replicas = replicas
	return nil
}

func (p *platform) nextIndex(service string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next[service] + 1
}

// Restart replaces the instances of service one at a time: a new one
// starts and becomes healthy before an old one stops, so callers always
// have as many healthy instances as before.
func (p *platform) Restart(ctx context.Context, service string) error {
	svc, err := p.service(service)
	if err != nil {
		return err
	}
	p.ops.Lock()
	defer p.ops.Unlock()
	return p.replaceAll(ctx, svc)
}

// replaceAll replaces the running instances of svc's service with
// instances of svc, one at a time, with p.ops held.
func (p *platform) replaceAll(ctx context.Context, svc *appfile.Service) error {
	old := p.instancesOf(svc.Name)
	p.events.note(svc.Name, fmt.Sprintf("rolling restart of %d instances", len(old)))
	for _, in := range old {
		n := p.nextIndex(svc.Name)
		if err := p.startInstance(svc, n); err != nil {
			return err
		}
		name := svc.Name + "-" + strconv.Itoa(n)
		if err := p.waitHealthy(ctx, name, max(3*svc.Health.ReplaceAfter, minStartGrace)); err != nil {
			return fmt.Errorf("rolling restart of %s stopped, %s still runs: %w", svc.Name, in.name, err)
		}
		p.events.note(in.name, "stopping: replaced by "+name)
		p.stopInstance(in)
	}
	return nil
}

// waitHealthy waits until the registry says instance is healthy.
func (p *platform) waitHealthy(ctx context.Context, instance string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		health, err := p.healthOf(ctx)
		if err == nil && health[instance] == stateHealthy {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy within %v", instance, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops one instance for good; its service has one replica fewer.
func (p *platform) Stop(ctx context.Context, name string) error {
	p.ops.Lock()
	defer p.ops.Unlock()
	p.mu.Lock()
	i := slices.IndexFunc(p.instances, func(in *instance) bool { return in.name == name })
	var in *instance
	if i >= 0 {
		in = p.instances[i]
	}
	p.mu.Unlock()
	if in == nil {
		return fmt.Errorf("%w: instance %q", adminapi.ErrUnknownProcess, name)
	}
	p.events.note(name, "stopping: asked to")
	p.stopInstance(in)
	in.svc.Replicas = len(p.instancesOf(in.svc.Name))
	return nil
}

package lifecycle

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/appfile"
	"github.com/pylon-mesh/pylon/supervise"
)

// startInstance starts instance n of svc: its app, then its sidecar,
// which registers it and lets traffic in once the app is healthy.
func (p *platform) startInstance(svc *appfile.Service, n int) error {
	in, err := newInstance(svc, n, &p.ports)
	if err != nil {
		return err
	}
	in.health.restarted(time.Now())
	opts := p.o.Backoff
	opts.OnEvent = func(e supervise.Event) {
		if e.Kind == supervise.Started {
			in.appStarts.Add(1)
			p.mu.Lock()
			in.health.restarted(e.Time)
			p.mu.Unlock()
		}
		p.events.add(e)
	}
	if in.app, err = supervise.Supervise(in.appSpec(), p.out, opts); err != nil {
		return fmt.Errorf("start %s: %w", in.name, err)
	}
	sopts := p.o.Backoff
	sopts.OnEvent = func(e supervise.Event) {
		if e.Kind == supervise.Started {
			in.sidecarStarts.Add(1)
		}
		p.events.add(e)
	}
	spec := in.sidecarSpec(p.o.Pylon, p.o.ControlAddr, p.tokens[svc.Name], p.o.LogLevel)
	if in.sidecar, err = supervise.Supervise(spec, p.out, sopts); err != nil {
		in.app.Stop(context.Background())
		return fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p.mu.Lock()
	p.instances = append(p.instances, in)
	p.next[svc.Name] = max(p.next[svc.Name], n)
	p.mu.Unlock()
	return nil
}

// stopInstance stops an instance, its sidecar first (it deregisters, so
// callers stop choosing it, and drains), then its app, and forgets it. It
// reports whether neither needed SIGKILL.
func (p *platform) stopInstance(in *instance) bool {
	clean := in.sidecar.Stop(context.Background())
	clean = in.app.Stop(context.Background()) && clean
	p.mu.Lock()
	p.instances = slices.DeleteFunc(p.instances, func(x *instance) bool { return x == in })
	p.mu.Unlock()
	return clean
}

// startGateway starts `pylon gateway` under the control plane: it serves
// the listeners and routes of the app file.
func (p *platform) startGateway(ctx context.Context) error {
	if err := p.token(ctx, gatewayService); err != nil {
		return err
	}
	admin, err := p.ports.next()
	if err != nil {
		return err
	}
	opts := p.o.Backoff
	opts.OnEvent = func(e supervise.Event) {
		if e.Kind == supervise.Started {
			p.gwStarts.Add(1)
		}
		p.events.add(e)
	}
	spec := supervise.Spec{Name: gatewayService, Path: p.o.Pylon, StopTimeout: sidecarDrain + 5*time.Second,
		Args: []string{"gateway", "--control", p.o.ControlAddr, "--join-token", p.tokens[gatewayService], "--node-id", gatewayService,
			"--admin", admin, "--access-log", "off", "--log-level", p.o.LogLevel, "--drain-timeout", sidecarDrain.String()}}
	g, err := supervise.Supervise(spec, p.out, opts)
	if err != nil {
		return fmt.Errorf("start the gateway: %w", err)
	}
	p.mu.Lock()
	p.gateway = g
	p.mu.Unlock()
	if err := waitReady(ctx, "http://"+admin+"/ready", 30*time.Second); err != nil {
		return fmt.Errorf("the gateway: %w", err)
	}
	if err := p.waitGatewayEndpoints(ctx, "http://"+admin+"/services", 15*time.Second); err != nil {
		p.say("%v", err)
	}
	p.sayGateway()
	return nil
}

// waitGatewayEndpoints waits until the gateway has an endpoint that may
// take traffic for every app service it knows that runs instances: the
// control plane pushes endpoints as their health arrives, a moment after
// the gateway's first config.
func (p *platform) waitGatewayEndpoints(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		missing, err := p.gatewayMissing(ctx, url)
		if err == nil && len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gateway has no endpoint yet for %s after %v", strings.Join(missing, ", "), limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// gatewayMissing lists the app services with instances for which the
// gateway's /services shows no available endpoint.
func (p *platform) gatewayMissing(ctx context.Context, url string) ([]string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		Services []struct {
			Name      string `json:"name"`
			Available int    `json:"available"`
		} `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("read the gateway's services: %w", err)
	}
	var missing []string
	for _, s := range doc.Services {
		if svc := serviceIn(p.o.App, s.Name); svc != nil && svc.Replicas > 0 && s.Available == 0 {
			missing = append(missing, s.Name)
		}
	}
	return missing, nil
}

// waitReady polls url until it answers 200: a gateway's /ready does once
// it serves the config its control plane sent.
func waitReady(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v (%s)", limit, url)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sayGateway prints where the app is reached and what to try.
func (p *platform) sayGateway() {
	g := p.o.App.Gateway
	for _, l := range g.Listeners {
		scheme := "http"
		if l.TLS != nil {
			scheme = "https"
		}
		p.say("gateway listener %s: %s://%s", l.Name, scheme, l.Address)
	}
	p.say("admin API: http://%s (token in %s)", p.o.AdminAddr, tokenPath(p.o.DataDir))
	p.say("try:")
	for _, t := range p.o.App.Try {
		p.say("  %s", t)
	}
	for _, r := range g.Routes {
		path := cmp.Or(r.Match.Path.Exact, r.Match.Path.Prefix)
		if len(p.o.App.Try) > 0 || path == "" || len(g.Listeners) == 0 {
			continue
		}
		p.say("  curl -s http://%s%s", g.Listeners[0].Address, path)
	}
	p.say("  PYLON_SERVER=http://%s PYLON_TOKEN=$(cat %s) pylon ctl get instances", p.o.AdminAddr, tokenPath(p.o.DataDir))
}

// registered is an instance as the registry lists it.
type registered struct {
	ID     string `json:"id"`
	Health string `json:"health"`
}

// healthOf returns the health of every registered instance by ID.
func (p *platform) healthOf(ctx context.Context) (map[string]string, error) {
	doc, err := p.client.Do(ctx, http.MethodGet, "/v1/instances", nil, nil, "")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []registered `json:"items"`
	}
	if err := json.Unmarshal(doc, &list); err != nil {
		return nil, fmt.Errorf("read the registry: %w", err)
	}
	out := map[string]string{}
	for _, in := range list.Items {
		out[in.ID] = in.Health
	}
	return out, nil
}

// waitReady waits until every instance is healthy, or ReadyTimeout,
// saying which it still waits for every ten seconds.
func (p *platform) waitReady(ctx context.Context) error {
	start := time.Now()
	lastSaid := start
	for {
		health, err := p.healthOf(ctx)
		if err != nil {
			return err
		}
		var waiting []string
		p.mu.Lock()
		p.health = health
		for _, in := range p.instances {
			if h := health[in.name]; h != stateHealthy {
				waiting = append(waiting, in.name+" ("+cmp.Or(h, "not registered")+")")
			}
		}
		p.mu.Unlock()
		switch {
		case len(waiting) == 0:
			p.say("all %d instances are healthy (%v)", len(p.instances), time.Since(start).Round(100*time.Millisecond))
			return nil
		case time.Since(start) > p.o.ReadyTimeout:
			p.say("starting the gateway although these are not healthy after %v: %s", p.o.ReadyTimeout, strings.Join(waiting, ", "))
			return nil
		case time.Since(lastSaid) >= 10*time.Second:
			p.say("waiting for %s", strings.Join(waiting, ", "))
			lastSaid = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// monitor watches the instances' health until ctx ends, replacing those
// failing for longer than their service allows.
func (p *platform) monitor(ctx context.Context, controlDone <-chan error) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-controlDone:
			return fmt.Errorf("the control plane stopped: %w", err)
		case <-tick.C:
		}
		health, err := p.healthOf(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.say("reading the registry failed: %v", err)
			}
			continue
		}
		now := time.Now()
		p.mu.Lock()
		p.health = health
		var replace []*instance
		var why []string
		for _, in := range p.instances {
			if reason := in.health.observe(health[in.name], now, in.svc.Health.ReplaceAfter); reason != "" {
				in.health.restarted(now)
				replace, why = append(replace, in), append(why, reason)
			}
		}
		p.mu.Unlock()
		for i, in := range replace {
			p.events.note(in.name, "replacing it: "+why[i])
			go in.app.Restart(context.Background())
		}
	}
}

// shutdown stops everything in order: the gateway (it stops accepting
// and drains), then every instance at once, each sidecar (it deregisters
// and drains) before its app. It reports whether no process needed
// SIGKILL.
func (p *platform) shutdown() bool {
	p.mu.Lock()
	g, ins := p.gateway, slices.Clone(p.instances)
	p.mu.Unlock()
	if g == nil && len(ins) == 0 {
		return true
	}
	p.say("shutting down: the gateway first, then each sidecar and its app")
	clean := true
	if g != nil {
		clean = g.Stop(context.Background())
	}
	var mu sync.Mutex
	var killed []string
	var wg sync.WaitGroup
	for _, in := range ins {
		wg.Go(func() {
			for _, s := range []*supervise.Supervisor{in.sidecar, in.app} {
				if s != nil && !s.Stop(context.Background()) {
					mu.Lock()
					killed = append(killed, in.name)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if len(killed) > 0 {
		sort.Strings(killed)
		p.say("killed after their stop timeout: %s", strings.Join(killed, ", "))
		clean = false
	}
	p.say("stopped")
	return clean
}

// level parses a log level, warn when it does not parse.
func level(s string) slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return slog.LevelWarn
	}
	return l
}

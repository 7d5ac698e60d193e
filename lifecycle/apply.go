package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/appfile"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/resource"
)

// Apply makes the running app what the app file filename (holding data)
// says, changing only what differs: services added are started, removed
// ones stopped, changed ones restarted rolling with their new settings,
// rescaled ones scaled, and the control plane's config (gateway, policies)
// replaced. A file that does not parse, or names a command that cannot
// run, changes nothing.
func (p *platform) Apply(ctx context.Context, filename string, data []byte) (adminapi.AppChanges, error) {
	ch, err := p.apply(ctx, filename, data)
	return adminapi.AppChanges{Added: ch.Added, Removed: ch.Removed, Changed: ch.Changed, Rescaled: ch.Rescaled, Config: ch.Config}, err
}

func (p *platform) apply(ctx context.Context, filename string, data []byte) (appfile.Changes, error) {
	next, err := appfile.Parse(filename, data)
	if err != nil {
		return appfile.Changes{}, fmt.Errorf("%w:\n%w", adminapi.ErrInvalidApp, err)
	}
	next, notes, problems := checkCommands(next)
	if len(problems) > 0 {
		return appfile.Changes{}, fmt.Errorf("%w:\n  %s", adminapi.ErrInvalidApp, strings.Join(problems, "\n  "))
	}
	p.ops.Lock()
	defer p.ops.Unlock()
	cur := p.o.App
	ch := cur.Diff(next)
	if ch.Empty() {
		return ch, nil
	}
	for _, n := range notes {
		p.say("%s", n)
	}
	p.events.note(upName, fmt.Sprintf("applying %s: %s", filename, describe(ch)))
	if ch.Config {
		if err := p.applyConfig(ctx, next.Config()); err != nil {
			return ch, err
		}
	}
	for _, name := range ch.Added {
		if err := p.token(ctx, name); err != nil {
			return ch, err
		}
	}
	p.mu.Lock()
	p.o.App = next
	for _, in := range p.instances { // instances keep running with the service as it is now
		if s := serviceIn(next, in.svc.Name); s != nil && !slices.Contains(ch.Changed, s.Name) {
			in.svc = s
		}
	}
	p.mu.Unlock()
	for _, name := range ch.Added {
		svc := serviceIn(next, name)
		for range svc.Replicas {
			if err := p.startInstance(svc, p.nextIndex(name)); err != nil {
				return ch, err
			}
		}
	}
	for _, name := range ch.Changed {
		svc := serviceIn(next, name)
		if err := p.replaceAll(ctx, svc); err != nil {
			return ch, err
		}
		if err := p.scaleLocked(svc, svc.Replicas); err != nil {
			return ch, err
		}
	}
	for _, name := range ch.Rescaled {
		if err := p.scaleLocked(serviceIn(next, name), serviceIn(next, name).Replicas); err != nil {
			return ch, err
		}
	}
	for _, name := range ch.Removed {
		for _, in := range p.instancesOf(name) {
			p.stopInstance(in)
		}
	}
	if ch.Config {
		if err := p.deleteStale(ctx, cur.Config(), next.Config()); err != nil {
			return ch, err
		}
	}
	return ch, p.reconcileGateway(ctx, next)
}

func serviceIn(app *appfile.App, name string) *appfile.Service {
	for i := range app.Services {
		if app.Services[i].Name == name {
			return &app.Services[i]
		}
	}
	return nil
}

// describe says in a line what a change does.
func describe(ch appfile.Changes) string {
	var parts []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"adds", ch.Added}, {"removes", ch.Removed}, {"changes", ch.Changed}, {"rescales", ch.Rescaled}} {
		if len(p.names) > 0 {
			parts = append(parts, p.what+" "+strings.Join(p.names, ", "))
		}
	}
	if ch.Config {
		parts = append(parts, "changes the gateway or policies")
	}
	return strings.Join(parts, "; ")
}

// applyConfig writes every resource of cfg to the control plane.
func (p *platform) applyConfig(ctx context.Context, cfg *config.Config) error {
	body, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode the app's config: %w", err)
	}
	q := url.Values{"filename": {p.o.AppFile}}
	if _, err := p.client.Do(ctx, http.MethodPost, "/v1/apply", q, body, "application/json"); err != nil {
		return fmt.Errorf("apply the app's config: %w", err)
	}
	return nil
}

// deleteStale deletes the resources of old that new no longer has, one at
// a time, those that refer to others first.
func (p *platform) deleteStale(ctx context.Context, old, new *config.Config) error {
	for _, path := range staleResources(old, new) {
		if _, err := p.client.Do(ctx, http.MethodDelete, path, nil, nil, ""); err != nil {
			return fmt.Errorf("delete %s: %w", strings.TrimPrefix(path, "/v1/"), err)
		}
	}
	return nil
}

// staleResources returns the API paths of the resources of old that new
// no longer has, in reverse resource.Kinds order: each before the kinds it
// refers to, so every delete leaves a valid config.
func staleResources(old, new *config.Config) []string {
	had, has := resourceNames(old), resourceNames(new)
	var out []string
	for _, k := range slices.Backward(resource.Kinds) {
		for _, name := range had[k] {
			if !slices.Contains(has[k], name) {
				out = append(out, "/v1/"+k.Plural+"/"+url.PathEscape(name))
			}
		}
	}
	return out
}

// resourceNames lists the names of c's resources by kind.
func resourceNames(c *config.Config) map[resource.Kind][]string {
	out := map[resource.Kind][]string{}
	for _, l := range c.Listeners {
		out[resource.Listener] = append(out[resource.Listener], l.Name)
	}
	for _, s := range c.Services {
		out[resource.Service] = append(out[resource.Service], s.Name)
	}
	for _, u := range c.Consumers {
		out[resource.Consumer] = append(out[resource.Consumer], u.Name)
	}
	for _, pol := range c.Policies {
		out[resource.Policy] = append(out[resource.Policy], pol.Name)
	}
	for _, r := range c.Routes {
		out[resource.Route] = append(out[resource.Route], r.Name)
	}
	for _, a := range c.AuthorizationPolicies {
		out[resource.AuthorizationPolicy] = append(out[resource.AuthorizationPolicy], a.Name)
	}
	return out
}

// reconcileGateway starts the gateway when the app gained one and stops it
// when it lost it; a gateway that stays follows its config from the
// control plane.
func (p *platform) reconcileGateway(ctx context.Context, app *appfile.App) error {
	p.mu.Lock()
	g := p.gateway
	p.mu.Unlock()
	switch {
	case app.Gateway != nil && g == nil:
		return p.startGateway(ctx)
	case app.Gateway == nil && g != nil:
		g.Stop(context.Background())
		p.mu.Lock()
		p.gateway = nil
		p.mu.Unlock()
	}
	return nil
}

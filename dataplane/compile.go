package dataplane

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/metrics"
	"github.com/pylon-mesh/pylon/policy"
	"github.com/pylon-mesh/pylon/proxy"
	"github.com/pylon-mesh/pylon/retry"
	"github.com/pylon-mesh/pylon/router"
)

// compiled is the result of compiling one config: the snapshot to swap in
// and the service states it uses (new ones not yet started).
type compiled struct {
	snap     *proxy.Snapshot
	services map[string]*serviceState
	fresh    []*serviceState
}

// compile turns a validated config into a snapshot. Services whose config is
// unchanged from prev are reused as they are; the rest are built anew,
// keeping the endpoints (and their state) of the service they replace.
func compile(cfg *config.Config, prev map[string]*serviceState, reg *metrics.Registry, logger *slog.Logger, mesh *Mesh, env policy.Env) (*compiled, error) {
	out := &compiled{services: map[string]*serviceState{}}
	policies, err := policy.Compile(cfg, env)
	if err != nil {
		return nil, err
	}
	for _, sc := range cfg.Services {
		old := prev[sc.Name]
		if old != nil && old.fingerprint == fingerprint(sc) {
			out.services[sc.Name] = old
			continue
		}
		st, err := buildService(sc, old, logger, mesh)
		if err != nil {
			out.stopFresh()
			return nil, err
		}
		out.services[sc.Name] = st
		out.fresh = append(out.fresh, st)
	}
	trusted, err := trustedProxies(cfg.TrustedProxies)
	if err != nil {
		out.stopFresh()
		return nil, err
	}
	snap := &proxy.Snapshot{Listeners: map[string]*proxy.ListenerConfig{}, TrustedProxies: trusted}
	for _, lc := range cfg.Listeners {
		l, err := compileListener(cfg, lc, out.services, reg, mesh, policies)
		if err != nil {
			out.stopFresh()
			return nil, err
		}
		snap.Listeners[lc.Name] = l
	}
	out.snap = snap
	return out, nil
}

// stopFresh stops the services built for a compile that failed.
func (c *compiled) stopFresh() {
	for _, st := range c.fresh {
		st.stop()
	}
}

// compileListener builds the routing of one listener.
func compileListener(cfg *config.Config, lc config.Listener, services map[string]*serviceState, reg *metrics.Registry, mesh *Mesh, policies *policy.Set) (*proxy.ListenerConfig, error) {
	lim := lc.Limits
	l := &proxy.ListenerConfig{
		Name: lc.Name,
		Limits: h1.Limits{
			MaxHeaderBytes: int(lim.MaxHeaderBytes),
			MaxURIBytes:    int(lim.MaxURIBytes),
			MaxHeaders:     lim.MaxHeaders,
		},
		MaxBodyBytes:      int64(lim.MaxBodyBytes),
		ReadHeaderTimeout: lim.ReadHeaderTimeout.Duration(),
		BodyReadTimeout:   lim.BodyReadTimeout.Duration(),
		IdleTimeout:       lim.IdleTimeout.Duration(),
		MaxConnections:    int64(lim.MaxConnections),
		Stats:             reg.RouteStats(lc.Name, "", ""),
	}
	if lc.TLS != nil {
		t, err := listenerTLS(lc.TLS)
		if err != nil {
			return nil, fmt.Errorf("listener %q: %w", lc.Name, err)
		}
		l.TLS = t
	}
	if lc.Mesh {
		if mesh == nil || mesh.ListenerTLS == nil {
			return nil, fmt.Errorf("listener %q: a mesh listener needs the workload identity, which only pylon sidecar has", lc.Name)
		}
		l.TLS, l.Authorize, l.Connect = mesh.ListenerTLS, mesh.Authorize, mesh.Connect
		if lc.MeshPermissive {
			l.TLS, l.PlaintextToo, l.OnPlaintext = mesh.PermissiveTLS, true, mesh.OnPlaintext
		}
	}
	var specs []router.Spec
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		if len(rc.Listeners) > 0 && !slices.Contains(rc.Listeners, lc.Name) {
			continue
		}
		r, err := compileRoute(lc.Name, rc, services, reg, policies)
		if err != nil {
			return nil, err
		}
		specs = append(specs, routeSpec(rc.Match))
		l.Routes = append(l.Routes, r)
	}
	t, err := router.Compile(specs)
	if err != nil {
		return nil, routeError(cfg, err)
	}
	l.Table = t
	return l, nil
}

// routeError points a route table error at the route that caused it,
// with its file position, by compiling the routes one at a time.
func routeError(cfg *config.Config, err error) error {
	for i := range cfg.Routes {
		if _, rerr := router.Compile([]router.Spec{routeSpec(cfg.Routes[i].Match)}); rerr != nil {
			msg := strings.TrimPrefix(rerr.Error(), "route 0: ")
			return cfg.FieldError(fmt.Sprintf("routes[%d].match", i), errors.New(msg))
		}
	}
	return err
}

// routeSpec converts a route's match to the router's form.
func routeSpec(m config.Match) router.Spec {
	s := router.Spec{Hosts: m.Hosts, Methods: m.Methods}
	switch p := m.Path; {
	case p.Exact != "":
		s.PathKind, s.Path = router.PathExact, p.Exact
	case p.Regex != "":
		s.PathKind, s.Path = router.PathRegex, p.Regex
	case p.Template != "":
		s.PathKind, s.Path = router.PathTemplate, p.Template
	default:
		s.PathKind, s.Path = router.PathPrefix, orDefault(p.Prefix, "/")
	}
	for _, h := range m.Headers {
		s.Headers = append(s.Headers, router.ValueMatch{Name: strings.ToLower(h.Name), Exact: h.Exact, Regex: h.Regex, Present: h.Present})
	}
	for _, q := range m.Query {
		s.Query = append(s.Query, router.ValueMatch{Name: q.Name, Exact: q.Exact, Regex: q.Regex, Present: q.Present})
	}
	return s
}

// compileRoute builds one route of one listener.
func compileRoute(listener string, rc *config.Route, services map[string]*serviceState, reg *metrics.Registry, policies *policy.Set) (*proxy.Route, error) {
	on, err := retry.ParseOn(rc.Retries.On)
	if err != nil {
		return nil, fmt.Errorf("route %q: %w", rc.Name, err)
	}
	r := &proxy.Route{
		Name:    rc.Name,
		Timeout: rc.Timeout.Duration(),
		Retry: retry.Policy{
			Attempts:      rc.Retries.Attempts,
			On:            on,
			NonIdempotent: rc.Retries.NonIdempotent,
			PerTryTimeout: rc.Retries.PerTryTimeout.Duration(),
			BackoffBase:   rc.Retries.Backoff.Base.Duration(),
			BackoffMax:    rc.Retries.Backoff.Max.Duration(),
		},
		Rewrite: proxy.Rewrite{
			StripPrefix: []byte(rc.Rewrite.StripPrefix),
			Path:        pathTemplate(rc.Rewrite.Path),
			Host:        []byte(rc.Rewrite.Host),
		},
		RequestHeaders:  headerOps(rc.RequestHeaders),
		ResponseHeaders: headerOps(rc.ResponseHeaders),
		Policies:        policies.Chain(rc.Policies),
	}
	backend := func(name string, cum uint32) (proxy.Backend, error) {
		st := services[name]
		if st == nil {
			return proxy.Backend{}, fmt.Errorf("route %q: unknown service %q", rc.Name, name)
		}
		return proxy.Backend{Service: st.svc, Cumulative: cum, Stats: reg.RouteStats(listener, rc.Name, name)}, nil
	}
	if rc.Service != "" {
		b, err := backend(rc.Service, 0)
		if err != nil {
			return nil, err
		}
		r.Backends = []proxy.Backend{b}
		return r, nil
	}
	for _, e := range rc.Split {
		r.TotalWeight += uint32(e.Weight)
		b, err := backend(e.Service, r.TotalWeight)
		if err != nil {
			return nil, err
		}
		r.Backends = append(r.Backends, b)
	}
	return r, nil
}

// pathTemplate splits a rewrite path like /v2/orders/{id} into literal and
// parameter parts.
func pathTemplate(p string) []proxy.PathPart {
	var parts []proxy.PathPart
	for p != "" {
		open := strings.IndexByte(p, '{')
		if open < 0 {
			parts = append(parts, proxy.PathPart{Literal: []byte(p)})
			break
		}
		end := strings.IndexByte(p[open:], '}')
		if end < 0 {
			parts = append(parts, proxy.PathPart{Literal: []byte(p)})
			break
		}
		if open > 0 {
			parts = append(parts, proxy.PathPart{Literal: []byte(p[:open])})
		}
		parts = append(parts, proxy.PathPart{Param: p[open+1 : open+end]})
		p = p[open+end+1:]
	}
	return parts
}

// headerOps compiles header edits with lower-case names, in name order so
// the result does not depend on map iteration.
func headerOps(o config.HeaderOps) proxy.HeaderOps {
	var ops proxy.HeaderOps
	for _, n := range o.Remove {
		ops.Remove = append(ops.Remove, []byte(strings.ToLower(n)))
	}
	fields := func(m map[string]string) []proxy.HeaderField {
		var out []proxy.HeaderField
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, proxy.HeaderField{Name: []byte(strings.ToLower(k)), Value: []byte(m[k])})
		}
		return out
	}
	ops.Set = fields(o.Set)
	ops.Add = fields(o.Add)
	return ops
}

// trustedProxies parses CIDRs and bare addresses.
func trustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %q is neither a CIDR nor an address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// listenerTLS loads a listener's certificates. Go picks the certificate
// whose names match the client's SNI; the first one is the default.
func listenerTLS(t *config.ListenerTLS) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	if t.MinVersion == config.TLS13 {
		cfg.MinVersion = tls.VersionTLS13
	}
	for i, c := range t.Certificates {
		pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("tls.certificates[%d]: %w", i, err)
		}
		cfg.Certificates = append(cfg.Certificates, pair)
	}
	return cfg, nil
}

package dataplane

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/proxy"
	"github.com/pylon-mesh/pylon/tunnel"
)

// target is one configured endpoint: an IP address, or a DNS name that
// stands for every address it resolves to.
type target struct {
	host, port string
	weight     int
	name       bool
}

func parseTargets(eps []config.Endpoint) []target {
	out := make([]target, 0, len(eps))
	for _, e := range eps {
		host, port, _ := net.SplitHostPort(e.Address)
		_, err := netip.ParseAddr(host)
		out = append(out, target{host: host, port: port, weight: e.Weight, name: err != nil})
	}
	return out
}

func (st *serviceState) hasNames() bool {
	return slices.ContainsFunc(st.targets, func(t target) bool { return t.name })
}

// weightedAddr is one resolved endpoint address.
type weightedAddr struct {
	addr   string
	weight int
}

// dnsTimeout bounds one resolution of all of a service's names.
const dnsTimeout = 5 * time.Second

// resolve turns the targets into addresses. A name that fails to resolve
// keeps the addresses it had (static stability); one that never resolved
// stays as the name itself, so each new connection tries DNS again.
func (st *serviceState) resolve(ctx context.Context, lookup func(context.Context, string) ([]netip.Addr, error), logger *slog.Logger) []weightedAddr {
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	st.mu.Lock()
	if st.resolved == nil {
		st.resolved = map[string][]string{}
	}
	st.mu.Unlock()
	var out []weightedAddr
	for _, t := range st.targets {
		if !t.name {
			out = append(out, weightedAddr{net.JoinHostPort(t.host, t.port), t.weight})
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, dnsTimeout)
		ips, err := lookup(lctx, t.host)
		cancel()
		st.mu.Lock()
		addrs := st.resolved[t.host]
		if err == nil && len(ips) > 0 {
			addrs = addrs[:0:0]
			for _, ip := range ips {
				addrs = append(addrs, net.JoinHostPort(ip.Unmap().String(), t.port))
			}
			slices.Sort(addrs)
			addrs = slices.Compact(addrs)
			st.resolved[t.host] = addrs
		} else if logger != nil {
			logger.Warn("endpoint name did not resolve; keeping what it had", "service", st.cfg.Name, "name", t.host, "err", errString(err))
		}
		st.mu.Unlock()
		if len(addrs) == 0 {
			addrs = []string{net.JoinHostPort(t.host, t.port)}
		}
		for _, a := range addrs {
			out = append(out, weightedAddr{a, t.weight})
		}
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return "no addresses"
	}
	return err.Error()
}

// endpointsFor returns endpoints for addrs, reusing known ones so their
// health and statistics carry over. New endpoints of a running service warm
// up like ones returning from ejection.
func (st *serviceState) endpointsFor(addrs []weightedAddr, known map[string]*balancer.Endpoint, running bool, now time.Time) []*balancer.Endpoint {
	eps := make([]*balancer.Endpoint, 0, len(addrs))
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a.addr] {
			continue
		}
		seen[a.addr] = true
		ep := known[a.addr]
		if ep == nil || ep.Weight() != max(a.weight, 1) {
			ep = balancer.NewEndpoint(a.addr, a.weight)
			if running {
				ep.StartWarming(now)
			}
		}
		eps = append(eps, ep)
	}
	return eps
}

// endpointsByAddr indexes the service's current endpoints.
func (st *serviceState) endpointsByAddr() map[string]*balancer.Endpoint {
	m := map[string]*balancer.Endpoint{}
	for _, ep := range st.svc.Set.Endpoints() {
		m[ep.Addr()] = ep
	}
	return m
}

// installPools makes sure every endpoint has a connection pool and installs
// the map, keeping the pools of endpoints still present.
func (st *serviceState) installPools(eps []*balancer.Endpoint) (removed []*proxy.Pool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	next := make(map[*balancer.Endpoint]*proxy.Pool, len(eps))
	for _, ep := range eps {
		p := st.pools[ep]
		if p == nil {
			sc := st.cfg
			pc := proxy.PoolConfig{
				DialTimeout: sc.Pool.ConnectTimeout.Duration(),
				IdleTimeout: sc.Pool.IdleTimeout.Duration(),
				MaxIdle:     sc.Pool.MaxIdlePerEndpoint,
				TLS:         poolTLS(st.tls, st.targets, ep.Addr(), st.resolved),
				Breaker:     st.svc.Breaker,
			}
			if rt := st.meshRT; rt != nil {
				// Upgrade requests to a mesh service: each connection is a
				// tunnel to the endpoint's sidecar, which connects it to
				// its app.
				addr, name := ep.Addr(), sc.Name
				pc.TLS, pc.Dial = nil, func(ctx context.Context) (net.Conn, error) { return tunnel.Dial(ctx, rt, addr, name) }
			}
			p = proxy.NewPool(ep.Addr(), pc)
		}
		next[ep] = p
	}
	for ep, p := range st.pools {
		if next[ep] == nil {
			removed = append(removed, p)
		}
	}
	st.pools = next
	st.svc.SetPools(next)
	return removed
}

// refreshDNS re-resolves the service's names every dns_refresh and swaps in
// the endpoints they now stand for.
func (st *serviceState) refreshDNS(ctx context.Context) {
	every := st.cfg.DNSRefresh.Duration()
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		addrs := st.resolve(ctx, nil, nil)
		now := time.Now()
		eps := st.endpointsFor(addrs, st.endpointsByAddr(), true, now)
		// Pools first: a picked endpoint must always find its pool.
		removed := st.installPools(append(eps, st.svc.Set.Endpoints()...))
		st.svc.Set.SetEndpoints(eps, now)
		stale := st.installPools(eps)
		for _, p := range append(removed, stale...) {
			p.Close()
		}
	}
}

// poolTLS returns the TLS config for an endpoint's pool: when no
// server_name is set and the endpoint came from a DNS name, the certificate
// is verified against that name, not the address it resolved to.
func poolTLS(cfg *tls.Config, targets []target, addr string, resolved map[string][]string) *tls.Config {
	if cfg == nil || cfg.ServerName != "" {
		return cfg
	}
	for host, addrs := range resolved {
		if slices.Contains(addrs, addr) {
			c := cfg.Clone()
			c.ServerName = host
			return c
		}
	}
	host, _, _ := net.SplitHostPort(addr)
	for _, t := range targets {
		if t.name && t.host == host {
			c := cfg.Clone()
			c.ServerName = host
			return c
		}
	}
	return cfg
}

// serviceTLSName sets the verification name of the service-wide transport
// when every name endpoint shares one host name and none is configured.
func serviceTLSName(cfg *tls.Config, targets []target) *tls.Config {
	if cfg == nil || cfg.ServerName != "" {
		return cfg
	}
	name := ""
	for _, t := range targets {
		if !t.name {
			continue
		}
		if name != "" && name != t.host {
			return cfg
		}
		name = t.host
	}
	if name == "" {
		return cfg
	}
	c := cfg.Clone()
	c.ServerName = name
	return c
}

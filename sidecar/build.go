package sidecar

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/snapshot"
)

// Listener and service names in the config a sidecar builds.
const (
	inboundListener = "inbound"
	proxyListener   = "proxy"
	appService      = "app"
	appGRPCService  = "app-grpc"
)

func outboundListener(upstream string) string { return "out-" + upstream }

// buildConfig turns a sidecar snapshot into the data plane's config: the
// inbound mesh listener forwarding to the app, one loopback listener per
// upstream (and the HTTP-proxy listener, routing by host), and the
// upstream services reached over the mesh. An upstream's listener gives
// the data plane only its HTTP connections; its TCP ones are tunnelled
// beside it (see upstreamListener).
func buildConfig(o *Options, s *snapshot.Sidecar, local config.Config, log *slog.Logger) (*config.Config, map[string]string, error) {
	cfg := local
	cfg.Listeners = []config.Listener{{Name: inboundListener, Address: o.Inbound, Mesh: true, MeshPermissive: s.MTLS == config.MTLSPermissive}}
	cfg.Routes, cfg.Services = inboundRoutes(o)
	if o.ProxyAddr != "" {
		cfg.Listeners = append(cfg.Listeners, config.Listener{Name: proxyListener, Address: o.ProxyAddr})
	}
	peers := map[string]string{}
	// The control plane's services come with every default applied: they
	// join the config after SetDefaults, which would take a field written
	// as 0 (like retry_budget.percent: 0) for one left out.
	var upstreams []config.Service
	calls := map[string]*config.MeshCalls{}
	byName := map[string]snapshot.Upstream{}
	for _, up := range s.Upstreams {
		byName[up.Service.Name] = up
	}
	for _, u := range o.Upstreams {
		up, ok := byName[u.Name]
		if !ok {
			return nil, nil, fmt.Errorf("the control plane sent nothing about upstream %q", u.Name)
		}
		svc := up.Service
		svc.Name = u.Name
		if len(up.Peers) > 0 {
			// A mesh service: only its sidecars, over mutual TLS.
			svc.TLS, svc.Health.Active, svc.Mesh, svc.Endpoints = nil, nil, true, nil
			for _, e := range up.Service.Endpoints {
				if id, ok := up.Peers[e.Address]; ok {
					svc.Endpoints = append(svc.Endpoints, e)
					peers[e.Address] = id
				} else {
					log.Warn("an upstream endpoint without a sidecar is left out of a mesh service", "upstream", u.Name, "endpoint", e.Address)
				}
			}
		}
		upstreams = append(upstreams, svc)
		out := outboundListener(u.Name)
		cfg.Listeners = append(cfg.Listeners, config.Listener{Name: out, Address: u.Listen})
		routes := []config.Route{meshRoute(out, u.Name, "")}
		if o.ProxyAddr != "" {
			routes = append(routes, meshRoute(proxyListener, u.Name, u.Name))
		}
		for _, r := range routes {
			calls[r.Name] = svc.Calls
		}
		cfg.Routes = append(cfg.Routes, routes...)
	}
	cfg.SetDefaults()
	cfg.Services = append(cfg.Services, upstreams...)
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		// Unless the service says otherwise, the apps' own deadlines (and
		// gRPC's grpc-timeout) bound their calls; a mesh hop adds none, so
		// streams can live as long as the apps keep them.
		r.Timeout = 0
		switch m := calls[r.Name]; {
		case r.Listeners[0] == inboundListener:
			// Retries are the caller's sidecar's to make, on another
			// instance; the callee's sidecar retrying its one app too
			// would multiply them.
			r.Retries.Attempts = 0
		case m != nil:
			r.Timeout = m.Timeout
			r.Retries = m.Retries
			r.Retries.On = slices.Clone(m.Retries.On)
		}
	}
	if err := cfg.ValidateMode(config.Managed); err != nil {
		return nil, nil, err
	}
	return &cfg, peers, nil
}

// inboundRoutes is the inbound listener's routes to the app and the app's
// services. An app of protocol auto gets gRPC requests (by content type)
// over HTTP/2 and the others over HTTP/1.1; a TCP app gets only the
// tunnels, which do not go through routes.
func inboundRoutes(o *Options) ([]config.Route, []config.Service) {
	all := config.Match{Path: config.PathMatch{Prefix: "/"}}
	routes := []config.Route{{Name: inboundListener, Listeners: []string{inboundListener}, Service: appService, Match: all}}
	proto := o.Protocol
	switch proto {
	case snapshot.ProtocolTCP, snapshot.ProtocolAuto, "":
		proto = config.ProtocolHTTP1
	}
	services := []config.Service{appServiceOf(o, appService, proto)}
	if o.Protocol == snapshot.ProtocolAuto {
		grpc := all
		grpc.Headers = []config.ValueMatch{{Name: "content-type", Regex: `application/grpc([+;].*)?`}}
		routes = append(routes, config.Route{Name: inboundListener + "-grpc", Listeners: []string{inboundListener}, Service: appGRPCService, Match: grpc})
		services = append(services, appServiceOf(o, appGRPCService, config.ProtocolGRPC))
	}
	return routes, services
}

// appServiceOf is the service of the app behind the inbound listener. Its
// one endpoint is never ejected: the sidecar's checks of the app say
// whether the instance takes traffic, and callers eject the instance; an
// ejected app would stay unreachable for the ejection time after it came
// back.
func appServiceOf(o *Options, name, protocol string) config.Service {
	svc := config.Service{Name: name, Protocol: protocol, Endpoints: []config.Endpoint{{Address: o.App}}}
	svc.Health.Outlier.Disabled = true
	return svc
}

// meshRoute sends everything on listener to service; with host set, only
// requests for that host (the HTTP-proxy listener).
func meshRoute(listener, service, host string) config.Route {
	r := config.Route{Name: listener + "-" + service, Listeners: []string{listener}, Service: service,
		Match: config.Match{Path: config.PathMatch{Prefix: "/"}}}
	if host != "" {
		r.Name = "proxy-" + service
		r.Match.Hosts = []string{host}
	}
	return r
}

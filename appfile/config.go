package appfile

import (
	"strconv"
	"strings"

	"github.com/pylon-mesh/pylon/config"
)

// Config returns the resources the control plane stores for the app, in
// the shape it validates them (config.Stored): one service per app
// service with the mesh defaults (config.MeshService) and no endpoints,
// because its instances register, then the gateway's listeners, routes,
// own services, policies and consumers (API keys hashed), then the
// authorization policies. Its admin listener and access log are off, as
// in the control plane's view.
//
// config.Service has no tcp or auto protocol, so those services are stored
// with the default, http1: the protocol the instances register (their
// sidecars' --protocol) wins over the stored one, and instances take
// traffic only once registered and healthy.
//
// The slices of a.Gateway and a.Policies are shared, not copied.
func (a *App) Config() *config.Config {
	c := &config.Config{
		Admin:     config.Admin{Address: config.AdminOff},
		AccessLog: config.AccessLog{Path: "off", Sample: 1},
	}
	for _, s := range a.Services {
		svc := config.MeshService(s.Name)
		svc.Protocol = storedProtocol(s.Protocol)
		svc.Calls = s.Calls
		c.Services = append(c.Services, svc)
	}
	if g := a.Gateway; g != nil {
		c.Listeners, c.Routes, c.Policies, c.Consumers = g.Listeners, g.Routes, g.Policies, g.Consumers
		c.Services = append(c.Services, g.Services...)
	}
	c.AuthorizationPolicies = a.Policies
	if a.src != nil {
		a.src.Bind(c, a.configParts())
	}
	return c
}

func storedProtocol(p string) string {
	switch p {
	case config.ProtocolHTTP1, config.ProtocolH2C, config.ProtocolGRPC:
		return p
	}
	return config.ProtocolHTTP1
}

// configParts maps the paths of Config's result to the app file's.
func (a *App) configParts() map[string]string {
	parts := map[string]string{
		"listeners":              "gateway.listeners",
		"routes":                 "gateway.routes",
		"policies":               "gateway.policies",
		"consumers":              "gateway.consumers",
		"authorization_policies": "authorization_policies",
	}
	for i := range a.Services {
		parts[index("services", i)] = index("services", i)
	}
	if a.Gateway != nil {
		for i := range a.Gateway.Services {
			parts[index("services", len(a.Services)+i)] = index("gateway.services", i)
		}
	}
	return parts
}

// filePath maps a path of Config's result back to the app file's, and
// reports false for an app service's synthesized fields, which check
// validates itself (all but its calls block, which the file holds as
// written).
func (a *App) filePath(p string) (string, bool) {
	for _, sec := range []string{"listeners", "routes", "policies", "consumers"} {
		if p == sec || strings.HasPrefix(p, sec+"[") {
			return "gateway." + p, true
		}
	}
	rest, ok := strings.CutPrefix(p, "services[")
	if !ok {
		return p, true
	}
	end := strings.IndexByte(rest, ']')
	i, err := strconv.Atoi(rest[:max(end, 0)])
	if err != nil {
		return p, false
	}
	if i < len(a.Services) {
		return p, strings.HasPrefix(rest[end+1:], ".calls")
	}
	return index("gateway.services", i-len(a.Services)) + rest[end+1:], true
}

// checkConfig validates Config's result as the control plane would and
// reports its problems at the app file's paths.
func (a *App) checkConfig(v *checker) {
	if g := a.Gateway; g != nil {
		if len(g.Listeners) == 0 {
			v.errorf("gateway.listeners", "at least one listener is required; or leave gateway out")
		}
		if len(g.Routes) == 0 {
			v.errorf("gateway.routes", "at least one route is required; or leave gateway out")
		}
		a.checkRouteProtocols(v)
	}
	err := a.Config().ValidateMode(config.Stored)
	errs, _ := err.(config.Errors)
	for _, e := range errs {
		p, ok := a.filePath(e.Path)
		if !ok || (a.src != nil && a.src.Failed(p)) {
			continue
		}
		e.Path = p
		v.errs = append(v.errs, e)
	}
}

// checkRouteProtocols refuses a route to an app service that speaks tcp:
// the gateway forwards HTTP requests.
func (a *App) checkRouteProtocols(v *checker) {
	tcp := map[string]bool{}
	for _, s := range a.Services {
		tcp[s.Name] = s.Protocol == ProtocolTCP
	}
	refuse := func(p, name string) {
		if tcp[name] {
			v.errorf(p, "service %q speaks tcp; a route needs an HTTP service (protocol http1, h2c, grpc or auto)", name)
		}
	}
	for i, r := range a.Gateway.Routes {
		p := index("gateway.routes", i)
		refuse(p+".service", r.Service)
		for j, s := range r.Split {
			refuse(index(p+".split", j)+".service", s.Service)
		}
	}
}

func index(p string, i int) string { return p + "[" + strconv.Itoa(i) + "]" }

package appfile

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/pylon-mesh/pylon/config"
)

// file is the app file as written; its yaml tags are the file's field names.
type file struct {
	Services              []serviceFile                `yaml:"services"`
	Gateway               *gatewayFile                 `yaml:"gateway"`
	AuthorizationPolicies []config.AuthorizationPolicy `yaml:"authorization_policies"`
	Try                   []string                     `yaml:"try"`
}

type serviceFile struct {
	Name        string            `yaml:"name"`
	Command     []string          `yaml:"command"`
	Replicas    int               `yaml:"replicas"`
	Protocol    string            `yaml:"protocol"`
	Health      healthFile        `yaml:"health"`
	Env         map[string]string `yaml:"env"`
	Dir         string            `yaml:"dir"`
	Upstreams   []string          `yaml:"upstreams"`
	StopTimeout config.Duration   `yaml:"stop_timeout"`
	Optional    bool              `yaml:"optional"`
	Calls       *config.MeshCalls `yaml:"calls"`
}

type healthFile struct {
	HTTP         *httpHealthFile `yaml:"http"`
	GRPC         *grpcHealthFile `yaml:"grpc"`
	TCP          *struct{}       `yaml:"tcp"`
	Interval     config.Duration `yaml:"interval"`
	ReplaceAfter config.Duration `yaml:"replace_after"`
}

type httpHealthFile struct {
	Path string `yaml:"path"`
}

type grpcHealthFile struct {
	Service string `yaml:"service"`
}

type gatewayFile struct {
	Listeners []config.Listener `yaml:"listeners"`
	Routes    []config.Route    `yaml:"routes"`
	Services  []config.Service  `yaml:"services"`
	Policies  []config.Policy   `yaml:"policies"`
	Consumers []config.Consumer `yaml:"consumers"`
}

// Defaults of the app file.
const (
	defaultReplicas     = 1
	defaultInterval     = time.Second
	defaultReplaceAfter = 30 * time.Second
	defaultStopTimeout  = 10 * time.Second
)

// app turns the decoded file into an App, applying defaults to the fields
// src says were left out. It adds to errs what only the file shows: more
// than one health check kind.
func (f *file) app(src *config.Source, errs *config.Errors) (*App, error) {
	dir, err := filepath.Abs(filepath.Dir(src.File()))
	if err != nil {
		return nil, fmt.Errorf("resolve the directory of %s: %w", src.File(), err)
	}
	a := &App{Dir: dir, Policies: f.AuthorizationPolicies, Try: f.Try, src: src}
	for i := range f.Services {
		a.Services = append(a.Services, f.Services[i].service(src, index("services", i), dir, errs))
	}
	if g := f.Gateway; g != nil {
		a.Gateway = &config.Config{Listeners: g.Listeners, Routes: g.Routes, Services: g.Services, Policies: g.Policies, Consumers: g.Consumers}
		src.Bind(a.Gateway, map[string]string{
			"listeners": "gateway.listeners", "routes": "gateway.routes", "services": "gateway.services",
			"policies": "gateway.policies", "consumers": "gateway.consumers",
		})
		a.Gateway.SetDefaults()
		a.Gateway.ResolvePaths()
	}
	if len(a.Policies) > 0 {
		pc := &config.Config{AuthorizationPolicies: a.Policies}
		src.Bind(pc, map[string]string{"authorization_policies": "authorization_policies"})
		pc.SetDefaults()
	}
	return a, nil
}

func (s *serviceFile) service(src *config.Source, p, appDir string, errs *config.Errors) Service {
	out := Service{
		Name:        s.Name,
		Command:     s.Command,
		Replicas:    s.Replicas,
		Protocol:    s.Protocol,
		Env:         s.Env,
		Dir:         s.Dir,
		Upstreams:   s.Upstreams,
		StopTimeout: s.StopTimeout.Duration(),
		Optional:    s.Optional,
		Calls:       s.Calls,
	}
	if s.Calls != nil {
		// The block's defaults, with what the file wrote kept (zeros too).
		c := &config.Config{Services: []config.Service{{Name: s.Name, Calls: s.Calls}}}
		src.Bind(c, map[string]string{"services[0]": p})
		c.SetDefaults()
	}
	if !src.Written(p + ".replicas") {
		out.Replicas = defaultReplicas
	}
	if out.Protocol == "" && !src.Written(p+".protocol") {
		out.Protocol = ProtocolAuto
	}
	if !src.Written(p + ".stop_timeout") {
		out.StopTimeout = defaultStopTimeout
	}
	switch {
	case out.Dir == "":
		out.Dir = appDir
	case !filepath.IsAbs(out.Dir):
		out.Dir = filepath.Join(appDir, out.Dir)
	}
	out.Health = s.Health.health(src, p+".health", out.Protocol)
	if n := s.Health.kinds(); n > 1 && !src.Failed(p+".health") {
		*errs = append(*errs, src.FieldError(p+".health", fmt.Sprintf("only one of http, grpc, tcp may be set, found %d", n)))
	}
	return out
}

func (h *healthFile) health(src *config.Source, p, protocol string) Health {
	out := Health{Interval: h.Interval.Duration(), ReplaceAfter: h.ReplaceAfter.Duration()}
	if !src.Written(p + ".interval") {
		out.Interval = defaultInterval
	}
	if !src.Written(p + ".replace_after") {
		out.ReplaceAfter = defaultReplaceAfter
	}
	switch {
	case h.HTTP != nil:
		out.Kind, out.Path = HealthHTTP, h.HTTP.Path
	case h.GRPC != nil:
		out.Kind, out.GRPCService = HealthGRPC, h.GRPC.Service
	case h.TCP != nil, protocol != config.ProtocolGRPC:
		out.Kind = HealthTCP
	default:
		out.Kind = HealthGRPC
	}
	return out
}

// kinds counts the check kinds written.
func (h *healthFile) kinds() int {
	n := 0
	for _, set := range []bool{h.HTTP != nil, h.GRPC != nil, h.TCP != nil} {
		if set {
			n++
		}
	}
	return n
}

// Package appfile reads the app file of `pylon up`: the services of an app
// (the command each instance runs, how many, how it speaks and is checked,
// what it calls), an optional gateway in front of them (with the policies
// and consumers its routes use), and authorization policies. Parse decodes it strictly with the config package's decoder,
// applies the defaults and validates it, reporting every problem with its
// file:line:column and field path (services[1].upstreams[0]).
//
// The result is a plain value for the lifecycle manager: App.Config is what
// the control plane stores, and App.Diff says what a changed file changes.
// How an instance learns its port and its upstreams' addresses is the
// environment contract in env.go.
package appfile

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/pylon-mesh/pylon/config"
)

// App is a parsed, defaulted and validated app file.
type App struct {
	// Dir is the absolute directory of the app file; relative paths in it
	// are resolved against Dir.
	Dir string
	// Services are the app's services, in file order.
	Services []Service
	// Gateway holds the gateway's listeners, routes, its own services
	// (upstreams outside the app), policies and consumers (API keys
	// hashed), defaulted; nil when the file has no gateway.
	Gateway *config.Config
	// Policies are the authorization policies the control plane applies.
	Policies []config.AuthorizationPolicy
	// Try are commands to show once the app runs, like curl lines.
	Try []string

	src *config.Source // where the fields were written; nil for an App built in Go
}

// Service is one service of the app: Replicas instances of Command, each
// with its own sidecar.
type Service struct {
	// Name identifies the service; unique, [a-z0-9_.-]+.
	Name string
	// Command is the argv of an instance; Command[0] is looked up in PATH.
	Command []string
	// Replicas is the number of instances, 0..64; 0 declares the service
	// without starting it. Default 1.
	Replicas int
	// Protocol is how the instances speak: http1, h2c, grpc, tcp or auto
	// (the sidecar's --protocol). Default auto.
	Protocol string
	// Health is how the sidecar checks an instance.
	Health Health
	// Env is added to every instance's environment.
	Env map[string]string
	// Dir is the instances' absolute working directory. Default App.Dir.
	Dir string
	// Upstreams are services of the app the instances call; each gets an
	// address in the environment variable EnvName(upstream).
	Upstreams []string
	// StopTimeout is how long an instance has to exit after SIGTERM before
	// it gets SIGKILL. Default 10s.
	StopTimeout time.Duration
	// Optional marks a service the app can run without: when Command[0]
	// is not installed, the service is left out (and its callers get no
	// address for it) instead of the app not starting.
	Optional bool
	// Calls is how the callers' sidecars call the service (the control
	// plane's services[].calls); nil for the mesh defaults.
	Calls *config.MeshCalls
}

// Health says how an instance is checked and when a failing one is replaced.
type Health struct {
	// Kind is HealthHTTP, HealthGRPC or HealthTCP. Default HealthGRPC for
	// protocol grpc, HealthTCP otherwise (as the sidecar does).
	Kind string
	// Path is the path HealthHTTP requests; starts with "/".
	Path string
	// GRPCService is the service HealthGRPC asks about; empty asks about
	// the whole server.
	GRPCService string
	// Interval is the time between checks, and each check's timeout.
	// Default 1s.
	Interval time.Duration
	// ReplaceAfter is how long an instance may fail its checks before it
	// is replaced. Default 30s.
	ReplaceAfter time.Duration
}

// Protocols an app service may declare besides config.ProtocolHTTP1,
// config.ProtocolH2C and config.ProtocolGRPC.
const (
	// ProtocolAuto lets callers detect HTTP or TCP on each connection.
	ProtocolAuto = "auto"
	// ProtocolTCP is an app that does not speak HTTP.
	ProtocolTCP = "tcp"
)

// Health check kinds.
const (
	HealthHTTP = "http"
	HealthGRPC = "grpc"
	HealthTCP  = "tcp"
)

// MaxReplicas is the most instances one service may ask for.
const MaxReplicas = 64

// Load reads the app file at path and parses it with Parse.
func Load(path string) (*App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load app file: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data strictly, applies the defaults, resolves directories
// against the directory of filename and validates the result. On failure
// the error is a config.Errors holding every problem, sorted by position.
func Parse(filename string, data []byte) (*App, error) {
	var f file
	src, err := config.DecodeStrict(filename, data, &f)
	if src == nil {
		return nil, err
	}
	var errs config.Errors
	errors.As(err, &errs)
	a, err := f.app(src, &errs)
	if err != nil {
		return nil, err
	}
	errs = append(errs, a.check()...)
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errs
	}
	return a, nil
}

// Validate checks a, an App from Parse or one built in Go with every field
// set (no defaults are applied), and returns a config.Errors holding every
// problem, or nil.
func (a *App) Validate() error {
	if errs := a.check(); len(errs) > 0 {
		sortErrors(errs)
		return errs
	}
	return nil
}

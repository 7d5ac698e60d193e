package lifecycle

import (
	"cmp"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/appfile"
	"github.com/pylon-mesh/pylon/supervise"
)

// instance is one instance of a service: its app process and the sidecar
// in front of it. Its name ("orders-1") is the instance's ID in the
// registry and the prefix of its app's log lines.
type instance struct {
	name string
	svc  *appfile.Service
	// appAddr is where the app listens ($PORT); inbound and admin are the
	// sidecar's; upstreams maps each upstream to the sidecar's loopback
	// address for it.
	appAddr, inbound, admin string
	upstreams               map[string]string

	app, sidecar *supervise.Supervisor
	health       healthTrack
	// starts counts the starts of the app and of the sidecar.
	appStarts, sidecarStarts atomic.Int32
}

// sidecarName is the log prefix of an instance's sidecar.
func sidecarName(instance string) string { return instance + ".sidecar" }

// newInstance picks the addresses of instance n (from 1) of svc.
func newInstance(svc *appfile.Service, n int, ports *portPool) (*instance, error) {
	in := &instance{name: svc.Name + "-" + strconv.Itoa(n), svc: svc, upstreams: map[string]string{}}
	var err error
	for _, p := range []*string{&in.appAddr, &in.inbound, &in.admin} {
		if *p, err = ports.next(); err != nil {
			return nil, err
		}
	}
	for _, u := range svc.Upstreams {
		if in.upstreams[u], err = ports.next(); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// env is the app's environment: this process's, the service's env, then
// the contract of appfile's env.go (PORT, PYLON_SERVICE, PYLON_INSTANCE
// and an address per upstream), which the service's env cannot override.
func (in *instance) env() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	maps.Copy(env, in.svc.Env)
	_, port, _ := net.SplitHostPort(in.appAddr)
	env[appfile.EnvPort] = port
	env[appfile.EnvService] = in.svc.Name
	env[appfile.EnvInstance] = in.name
	for u, addr := range in.upstreams {
		env[appfile.EnvName(u)] = addr
	}
	return env
}

// appSpec is how the instance's app runs: the service's command with
// ${NAME} in its arguments replaced from the instance's environment (so
// `redis-server --port ${PORT}` works without a shell).
func (in *instance) appSpec() supervise.Spec {
	env := in.env()
	args := make([]string, len(in.svc.Command)-1)
	for i, a := range in.svc.Command[1:] {
		args[i] = expand(a, env)
	}
	return supervise.Spec{Name: in.name, Path: in.svc.Command[0], Args: args, Env: environ(env), Dir: in.svc.Dir,
		StopTimeout: in.svc.StopTimeout}
}

// sidecarDrain bounds how long a sidecar drains on stop.
const sidecarDrain = 5 * time.Second

// sidecarSpec is how the instance's sidecar runs.
func (in *instance) sidecarSpec(pylon, control, token, logLevel string) supervise.Spec {
	h := in.svc.Health
	args := []string{"sidecar", "--control", control, "--join-token", token, "--service", in.svc.Name,
		"--instance-id", in.name, "--app", in.appAddr, "--protocol", in.svc.Protocol, "--inbound", in.inbound,
		"--admin", in.admin, "--proxy", "off", "--log-level", logLevel, "--drain-timeout", sidecarDrain.String(),
		"--health-interval", h.Interval.String()}
	switch h.Kind {
	case appfile.HealthHTTP:
		args = append(args, "--health-http", h.Path)
	case appfile.HealthGRPC:
		args = append(args, "--health-grpc", cmp.Or(h.GRPCService, "-"))
	}
	for _, u := range in.svc.Upstreams {
		args = append(args, "--upstream", u+"="+in.upstreams[u])
	}
	return supervise.Spec{Name: sidecarName(in.name), Path: pylon, Args: args, StopTimeout: sidecarDrain + 5*time.Second}
}

var braced = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces each ${NAME} set in env; anything else is kept as is.
func expand(s string, env map[string]string) string {
	return braced.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

func environ(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

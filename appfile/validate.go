package appfile

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pylon-mesh/pylon/config"
)

// checker collects the problems of an App, placing them in the file when
// the App was parsed and skipping fields that failed to decode.
type checker struct {
	src  *config.Source
	errs config.Errors
}

func (v *checker) errorf(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if v.src == nil {
		v.errs = append(v.errs, &config.FieldError{Path: path, Msg: msg})
		return
	}
	if !v.src.Failed(path) {
		v.errs = append(v.errs, v.src.FieldError(path, msg))
	}
}

var (
	serviceNameRE = regexp.MustCompile(`^[a-z0-9_.-]+$`)
	envNameRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// check returns every problem of a, unsorted.
func (a *App) check() config.Errors {
	v := &checker{src: a.src}
	if len(a.Services) == 0 {
		v.errorf("services", "at least one service is required")
	}
	names := map[string]bool{}
	for i := range a.Services {
		p := index("services", i)
		s := &a.Services[i]
		switch {
		case s.Name == "":
			v.errorf(p+".name", "required: a service name matching %s", serviceNameRE)
		case !serviceNameRE.MatchString(s.Name):
			v.errorf(p+".name", "%q is not a valid service name; use %s", s.Name, serviceNameRE)
		case names[s.Name]:
			v.errorf(p+".name", "duplicate service name %q", s.Name)
		}
		names[s.Name] = true
	}
	for i := range a.Services {
		checkService(v, index("services", i), &a.Services[i], names)
	}
	a.checkCycles(v)
	a.checkConfig(v)
	return v.errs
}

func checkService(v *checker, p string, s *Service, names map[string]bool) {
	if len(s.Command) == 0 || s.Command[0] == "" {
		v.errorf(p+".command", "required: the program and its arguments, like [\"go\", \"run\", \"./cmd/app\"]")
	}
	if s.Replicas < 0 || s.Replicas > MaxReplicas {
		v.errorf(p+".replicas", "must be between 0 and %d, not %d", MaxReplicas, s.Replicas)
	}
	valid := []string{config.ProtocolHTTP1, config.ProtocolH2C, config.ProtocolGRPC, ProtocolTCP, ProtocolAuto}
	if !slices.Contains(valid, s.Protocol) {
		v.errorf(p+".protocol", "%q is not valid; use one of: %s", s.Protocol, strings.Join(valid, ", "))
	}
	checkHealth(v, p+".health", &s.Health)
	checkEnv(v, p+".env", s.Env, s.Upstreams)
	if s.Dir == "" {
		v.errorf(p+".dir", "required: the instances' working directory")
	}
	checkUpstreams(v, p+".upstreams", s, names)
	if s.StopTimeout <= 0 {
		v.errorf(p+".stop_timeout", "must be a positive duration, like 10s")
	}
}

func checkHealth(v *checker, p string, h *Health) {
	switch h.Kind {
	case HealthHTTP:
		if !strings.HasPrefix(h.Path, "/") {
			v.errorf(p+".http.path", "required: a path starting with \"/\", like /healthz")
		}
	case HealthGRPC, HealthTCP:
	default:
		v.errorf(p, "%q is not a health check kind; use one of: http, grpc, tcp", h.Kind)
	}
	if h.Interval <= 0 {
		v.errorf(p+".interval", "must be a positive duration, like 1s")
	}
	switch {
	case h.ReplaceAfter <= 0:
		v.errorf(p+".replace_after", "must be a positive duration, like 30s")
	case h.ReplaceAfter < h.Interval:
		v.errorf(p+".replace_after", "must be at least interval (%s)", h.Interval)
	}
}

func checkEnv(v *checker, p string, env map[string]string, upstreams []string) {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case !envNameRE.MatchString(k):
			v.errorf(p+"."+k, "%q is not an environment variable name; use %s", k, envNameRE)
		case reserved(k, upstreams):
			v.errorf(p+"."+k, "%s is set by pylon up for every instance; choose another name", k)
		case strings.IndexByte(env[k], 0) >= 0:
			v.errorf(p+"."+k, "value must not contain a NUL byte")
		}
	}
}

func checkUpstreams(v *checker, p string, s *Service, names map[string]bool) {
	seen := map[string]string{} // env name -> upstream
	for j, u := range s.Upstreams {
		up := index(p, j)
		switch prev, dup := seen[EnvName(u)]; {
		case u == s.Name:
			v.errorf(up, "a service cannot call itself through the mesh; remove %q", u)
		case !names[u]:
			v.errorf(up, "unknown service %q; services of this file: %s", u, strings.Join(sortedNames(names), ", "))
		case dup && prev == u:
			v.errorf(up, "duplicate upstream %q", u)
		case dup:
			v.errorf(up, "%q and %q both give %s; rename one service", prev, u, EnvName(u))
		}
		seen[EnvName(u)] = u
	}
}

func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func sortErrors(errs config.Errors) {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		return errs[i].Column < errs[j].Column
	})
}

// checkCycles reports each cycle of upstreams once, at the upstream that
// closes it: an app's calls must form layers, so that its services can
// start (and be understood) from the bottom up, and so that a failure
// cannot call itself in a loop.
func (a *App) checkCycles(v *checker) {
	byName := map[string]int{}
	for i, s := range a.Services {
		byName[s.Name] = i
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(a.Services))
	var path []string
	var visit func(i int)
	visit = func(i int) {
		state[i] = visiting
		path = append(path, a.Services[i].Name)
		for j, u := range a.Services[i].Upstreams {
			k, ok := byName[u]
			if !ok || k == i {
				continue // unknown upstreams and self-calls are checkUpstreams'
			}
			switch state[k] {
			case visiting:
				from := slices.Index(path, u)
				cycle := append(slices.Clone(path[from:]), u)
				v.errorf(index(index("services", i)+".upstreams", j), "%s is a cycle: upstreams must not call back", strings.Join(cycle, " -> "))
			case unseen:
				visit(k)
			}
		}
		path = path[:len(path)-1]
		state[i] = done
	}
	for i := range a.Services {
		if state[i] == unseen {
			visit(i)
		}
	}
}

// ErrorAt is a problem of the field at path, placed in the file when a
// was parsed from one: for what only running the app finds out (a command
// not installed, an address taken).
func (a *App) ErrorAt(path, msg string) *config.FieldError {
	if a.src == nil {
		return &config.FieldError{Path: path, Msg: msg}
	}
	return a.src.FieldError(path, msg)
}

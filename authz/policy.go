package authz

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/meshtls"
)

// policy is one compiled AuthorizationPolicy.
type policy struct {
	name   string
	reason string   // for the Decision
	from   []source // any may match; empty matches every caller
	to     []target // any may match; empty matches every request
}

// source is a compiled PolicySource; every non-empty list must hold.
type source struct {
	ids        []string // whole SPIFFE IDs
	namespaces []string
	services   []string
}

// target is a compiled PolicyTarget; every non-empty list must hold.
type target struct {
	methods []string
	paths   []pathCond  // any may match
	headers []valueCond // all must match
}

// caller is what the source conditions look at, derived once per Decide.
type caller struct {
	id       string // "" for a plaintext caller
	ns, svc  string // set when workload
	workload bool   // the ID's path is /ns/<ns>/svc/<svc>
}

func compilePolicy(p *config.AuthorizationPolicy) (policy, error) {
	verb := "allowed"
	if p.Action == config.PolicyDeny {
		verb = "denied"
	}
	c := policy{name: p.Name, reason: fmt.Sprintf("%s by authorization policy %q", verb, p.Name)}
	for i, s := range p.From {
		src, err := compileSource(&s)
		if err != nil {
			return policy{}, fmt.Errorf("from[%d]: %w", i, err)
		}
		c.from = append(c.from, src)
	}
	for i := range p.To {
		t, err := compileTarget(&p.To[i])
		if err != nil {
			return policy{}, fmt.Errorf("to[%d]: %w", i, err)
		}
		c.to = append(c.to, t)
	}
	return c, nil
}

func compileSource(s *config.PolicySource) (source, error) {
	if len(s.Identities)+len(s.Namespaces)+len(s.Services) == 0 {
		return source{}, errors.New("at least one of identities, namespaces, services is required")
	}
	out := source{namespaces: slices.Clone(s.Namespaces), services: slices.Clone(s.Services)}
	for _, raw := range s.Identities {
		id, err := spiffeid.FromString(raw)
		if err != nil {
			return source{}, fmt.Errorf("identity %q: %w", raw, err)
		}
		out.ids = append(out.ids, id.String())
	}
	return out, nil
}

func compileTarget(t *config.PolicyTarget) (target, error) {
	if len(t.Methods)+len(t.Paths)+len(t.Headers) == 0 {
		return target{}, errors.New("at least one of methods, paths, headers is required")
	}
	out := target{methods: make([]string, len(t.Methods))}
	for i, m := range t.Methods {
		out.methods[i] = strings.ToUpper(m)
	}
	for i := range t.Paths {
		pc, err := compilePath(&t.Paths[i])
		if err != nil {
			return target{}, fmt.Errorf("paths[%d]: %w", i, err)
		}
		out.paths = append(out.paths, pc)
	}
	for i := range t.Headers {
		vc, err := compileValue(&t.Headers[i])
		if err != nil {
			return target{}, fmt.Errorf("headers[%d]: %w", i, err)
		}
		out.headers = append(out.headers, vc)
	}
	return out, nil
}

// callerOf derives the caller's namespace and service from id.
func callerOf(id spiffeid.ID) caller {
	if id.IsZero() {
		return caller{}
	}
	c := caller{id: id.String()}
	c.ns, c.svc, c.workload = meshtls.Workload(id)
	return c
}

// matches reports whether p applies to r from c.
func (p *policy) matches(r *Request, c *caller) bool {
	return p.fromMatches(c) && p.toMatches(r)
}

func (p *policy) fromMatches(c *caller) bool {
	if len(p.from) == 0 {
		return true
	}
	if c.id == "" {
		return false
	}
	for i := range p.from {
		if p.from[i].matches(c) {
			return true
		}
	}
	return false
}

func (p *policy) toMatches(r *Request) bool {
	if len(p.to) == 0 {
		return true
	}
	if r.L4 {
		return false
	}
	for i := range p.to {
		if p.to[i].matches(r) {
			return true
		}
	}
	return false
}

func (s *source) matches(c *caller) bool {
	switch {
	case len(s.ids) > 0 && !slices.Contains(s.ids, c.id):
		return false
	case len(s.namespaces) > 0 && (!c.workload || !slices.Contains(s.namespaces, c.ns)):
		return false
	case len(s.services) > 0 && (!c.workload || !slices.Contains(s.services, c.svc)):
		return false
	}
	return true
}

func (t *target) matches(r *Request) bool {
	if len(t.methods) > 0 && !slices.Contains(t.methods, r.Method) {
		return false
	}
	if len(t.paths) > 0 && !anyPath(t.paths, r.Path) {
		return false
	}
	for i := range t.headers {
		if !t.headers[i].matches(r.Header) {
			return false
		}
	}
	return true
}

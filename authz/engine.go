package authz

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/config"
)

// Request is what Decide looks at. The caller fills it per request or
// connection; Decide keeps nothing of it.
type Request struct {
	// Source is the caller's verified SPIFFE ID; zero for a plaintext
	// (non-mesh) caller in permissive mode.
	Source spiffeid.ID
	// L4 is set for a TCP connection rather than an HTTP request; the
	// fields below are then ignored.
	L4 bool
	// Method is the HTTP method.
	Method string
	// Path is the request path without the query, as received (still
	// percent-encoded), as routes match it.
	Path string
	// Header returns the values of the header with the given lower-case
	// name, or none. It may be nil: the request then has no headers.
	Header func(name string) []string
}

// Decision is the outcome of Decide.
type Decision struct {
	// Allowed says whether the request may proceed.
	Allowed bool
	// Policy names the policy that decided: the deny policy that matched,
	// or the allow policy that did. It is "" when no policy decided: the
	// default allow of an unselected service, or the default deny of a
	// selected one.
	Policy string
	// Reason says why, for a log line; it is built at Compile.
	Reason string
}

// Reasons of the default decisions.
const (
	ReasonNoPolicy = "no authorization policy selects the service"
	ReasonNoAllow  = "no allow policy matches"
)

// Engine holds the compiled policies of one service. It is immutable.
type Engine struct {
	deny  []policy
	allow []policy
}

// Compile returns an Engine for the service in namespace (empty means
// config.DefaultNamespace), keeping the policies that select it, in order.
// It compiles identities, regexes and templates once, and refuses a
// malformed policy (an identity, regex, template or action config
// validation refuses, or an empty from or to entry), naming it.
func Compile(service, namespace string, policies []config.AuthorizationPolicy) (*Engine, error) {
	namespace = orDefault(namespace)
	e := &Engine{}
	for i := range policies {
		p := &policies[i]
		if p.Service != service || orDefault(p.Namespace) != namespace {
			continue
		}
		c, err := compilePolicy(p)
		if err != nil {
			return nil, fmt.Errorf("compile authorization policy %q: %w", p.Name, err)
		}
		switch p.Action {
		case config.PolicyAllow:
			e.allow = append(e.allow, c)
		case config.PolicyDeny:
			e.deny = append(e.deny, c)
		default:
			return nil, fmt.Errorf("compile authorization policy %q: action %q is not allow or deny", p.Name, p.Action)
		}
	}
	return e, nil
}

func orDefault(ns string) string {
	if ns == "" {
		return config.DefaultNamespace
	}
	return ns
}

// Selected reports whether any policy selects the service, so that
// requests are denied unless an allow policy matches.
func (e *Engine) Selected() bool { return len(e.allow)+len(e.deny) > 0 }

// Decide applies the policies to r. It is safe for concurrent use and does
// not allocate (a regex may, inside the regexp package, on first use).
func (e *Engine) Decide(r Request) Decision {
	if !e.Selected() {
		return Decision{Allowed: true, Reason: ReasonNoPolicy}
	}
	src := callerOf(r.Source)
	for i := range e.deny {
		if p := &e.deny[i]; p.matches(&r, &src) {
			return Decision{Policy: p.name, Reason: p.reason}
		}
	}
	for i := range e.allow {
		if p := &e.allow[i]; p.matches(&r, &src) {
			return Decision{Allowed: true, Policy: p.name, Reason: p.reason}
		}
	}
	return Decision{Reason: ReasonNoAllow}
}

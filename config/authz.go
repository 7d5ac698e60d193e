package config

import "strings"

// AuthorizationPolicy allows or denies inbound mesh traffic to a service by
// who sends it and, for HTTP, by what it asks for. A sidecar enforces the
// policies that select its service; a gateway ignores them.
//
// For a service no policy selects, everything is allowed. Once a policy
// selects it, a request is allowed only if some allow policy matches and no
// deny policy does (deny wins). A policy matches when its From matches (or
// is empty) and its To matches (or is empty); a TCP connection never
// matches a To entry.
type AuthorizationPolicy struct {
	// Name identifies the policy; required, unique, [a-z0-9_-]+.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Service is the service whose inbound traffic the policy governs;
	// required. It need not be one of Services: mesh services may exist
	// only as registered instances.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Namespace is the service's namespace. Default DefaultNamespace.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	// Action is PolicyAllow or PolicyDeny; required.
	Action string `yaml:"action,omitempty" json:"action,omitempty"`
	// From lists the sources the policy applies to; a request matches when
	// any entry does. Empty means every source, plaintext callers included.
	From []PolicySource `yaml:"from,omitempty" json:"from,omitempty"`
	// To lists the HTTP requests the policy applies to; a request matches
	// when any entry does. Empty means every request and connection.
	To []PolicyTarget `yaml:"to,omitempty" json:"to,omitempty"`
}

// PolicySource matches the caller of a request by its SPIFFE ID. Every
// field given must match; at least one is required.
type PolicySource struct {
	// Identities are whole SPIFFE IDs, spiffe://<trust-domain>/<path>.
	Identities []string `yaml:"identities,omitempty" json:"identities,omitempty"`
	// Namespaces match the <ns> of an ID whose path is /ns/<ns>/svc/<svc>.
	Namespaces []string `yaml:"namespaces,omitempty" json:"namespaces,omitempty"`
	// Services match the <svc> of an ID whose path is /ns/<ns>/svc/<svc>.
	Services []string `yaml:"services,omitempty" json:"services,omitempty"`
}

// PolicyTarget matches an HTTP request. Every field given must match; at
// least one is required.
type PolicyTarget struct {
	// Methods are upper-case method tokens; any may match.
	Methods []string `yaml:"methods,omitempty" json:"methods,omitempty"`
	// Paths match the request path like a route's match.path; any may match.
	Paths []PathMatch `yaml:"paths,omitempty" json:"paths,omitempty"`
	// Headers must all match; a header sent more than once matches when
	// any of its values does.
	Headers []ValueMatch `yaml:"headers,omitempty" json:"headers,omitempty"`
}

// The values of AuthorizationPolicy.Action.
const (
	PolicyAllow = "allow"
	PolicyDeny  = "deny"
)

// DefaultNamespace is the namespace of a service or policy that names none.
const DefaultNamespace = "default"

// setDefaults fills the namespace and upper-cases methods; p is the
// policy's path.
func (a *AuthorizationPolicy) setDefaults(c *Config, p string) {
	def(c, &a.Namespace, p+".namespace", DefaultNamespace)
	for i := range a.To {
		for j, m := range a.To[i].Methods {
			a.To[i].Methods[j] = strings.ToUpper(m)
		}
	}
}

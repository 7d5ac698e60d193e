package config

import (
	"strconv"
	"strings"
)

func (v *validator) authorizationPolicies() {
	names := map[string]bool{}
	for i := range v.c.AuthorizationPolicies {
		a := &v.c.AuthorizationPolicies[i]
		p := index("authorization_policies", i)
		v.name(p+".name", "policy", a.Name, nameRE, names)
		v.svcName(p+".service", "service", a.Service)
		v.svcName(p+".namespace", "namespace", a.Namespace)
		if a.Action == "" {
			v.errorf(p+".action", "required: %s or %s", PolicyAllow, PolicyDeny)
		} else {
			v.enum(p+".action", a.Action, PolicyAllow, PolicyDeny)
		}
		v.notEmpty(p+".from", a.From != nil && len(a.From) == 0, "leave from out to match every source")
		for j := range a.From {
			v.policySource(index(p+".from", j), &a.From[j])
		}
		v.notEmpty(p+".to", a.To != nil && len(a.To) == 0, "leave to out to match every request")
		for j := range a.To {
			v.policyTarget(index(p+".to", j), &a.To[j])
		}
	}
}

// svcName checks a required service or namespace name.
func (v *validator) svcName(p, what, name string) {
	switch {
	case name == "":
		v.errorf(p, "required: a %s name matching %s", what, serviceNameRE)
	case !serviceNameRE.MatchString(name):
		v.errorf(p, "%q is not a valid %s name; use %s", name, what, serviceNameRE)
	}
}

// notEmpty reports a list written as [] at p: stored as JSON it would
// vanish and so change meaning, from "none" to "any".
func (v *validator) notEmpty(p string, empty bool, hint string) {
	if empty {
		v.errorf(p, "must not be empty; %s", hint)
	}
}

func (v *validator) policySource(p string, s *PolicySource) {
	if len(s.Identities)+len(s.Namespaces)+len(s.Services) == 0 && !v.childFailed(p) {
		v.errorf(p, "at least one of identities, namespaces, services is required")
	}
	v.notEmpty(p+".identities", s.Identities != nil && len(s.Identities) == 0, "leave it out")
	v.notEmpty(p+".namespaces", s.Namespaces != nil && len(s.Namespaces) == 0, "leave it out")
	v.notEmpty(p+".services", s.Services != nil && len(s.Services) == 0, "leave it out")
	for i, id := range s.Identities {
		if problem := checkSPIFFEID(id); problem != "" {
			v.errorf(index(p+".identities", i), "%q is not a SPIFFE ID: %s", id, problem)
		}
	}
	for i, ns := range s.Namespaces {
		v.svcName(index(p+".namespaces", i), "namespace", ns)
	}
	for i, svc := range s.Services {
		v.svcName(index(p+".services", i), "service", svc)
	}
}

func (v *validator) policyTarget(p string, t *PolicyTarget) {
	if len(t.Methods)+len(t.Paths)+len(t.Headers) == 0 && !v.childFailed(p) {
		v.errorf(p, "at least one of methods, paths, headers is required")
	}
	v.notEmpty(p+".methods", t.Methods != nil && len(t.Methods) == 0, "leave it out")
	v.notEmpty(p+".paths", t.Paths != nil && len(t.Paths) == 0, "leave it out")
	v.notEmpty(p+".headers", t.Headers != nil && len(t.Headers) == 0, "leave it out")
	for i, m := range t.Methods {
		if !tokenRE.MatchString(m) {
			v.errorf(index(p+".methods", i), "%q is not a method token like GET", m)
		}
	}
	for i := range t.Paths {
		v.path(index(p+".paths", i), &t.Paths[i])
	}
	for i := range t.Headers {
		v.valueMatch(index(p+".headers", i), &t.Headers[i], true)
	}
}

// checkSPIFFEID returns what is wrong with id as a workload's SPIFFE ID
// (spiffe://<trust-domain>/<path>, by the SPIFFE-ID standard), or "".
func checkSPIFFEID(id string) string {
	rest, ok := strings.CutPrefix(id, "spiffe://")
	if !ok {
		return "must start with spiffe://"
	}
	td, path, slash := strings.Cut(rest, "/")
	switch {
	case td == "":
		return "the trust domain is missing"
	case strings.IndexFunc(td, func(r rune) bool { return !tdChar(r) }) >= 0:
		return "the trust domain may hold only lower-case letters, digits, '.', '-' and '_'"
	case !slash:
		return "the path is missing; a workload's is /ns/<namespace>/svc/<service>"
	}
	for i, seg := range strings.Split(path, "/") {
		switch {
		case seg == "":
			return "path segment " + strconv.Itoa(i+1) + " is empty"
		case seg == "." || seg == "..":
			return "path segments must not be . or .."
		case strings.IndexFunc(seg, func(r rune) bool { return !tdChar(r) && !('A' <= r && r <= 'Z') }) >= 0:
			return "path segment " + strconv.Quote(seg) + " may hold only letters, digits, '.', '-' and '_'"
		}
	}
	return ""
}

// tdChar reports whether r may appear in a SPIFFE trust domain name.
func tdChar(r rune) bool {
	return 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '.' || r == '-' || r == '_'
}

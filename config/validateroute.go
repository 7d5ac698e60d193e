package config

import (
	"regexp"
	"strconv"
	"strings"
)

func (v *validator) routes() {
	names := map[string]bool{}
	for i := range v.c.Routes {
		r := &v.c.Routes[i]
		p := index("routes", i)
		v.name(p+".name", "route", r.Name, nameRE, names)
		for j, l := range r.Listeners {
			if v.refs && !v.listen[l] {
				v.errorf(index(p+".listeners", j), "unknown listener %q; %s", l, setNames(v.listen))
			}
		}
		params := v.match(p+".match", &r.Match)
		v.target(p, r)
		v.timeout(p+".timeout", r.Timeout)
		v.retries(p+".retries", &r.Retries)
		v.rewrite(p+".rewrite", &r.Rewrite, params)
		v.headerOps(p+".request_headers", &r.RequestHeaders)
		v.headerOps(p+".response_headers", &r.ResponseHeaders)
		v.routePolicies(p, r)
	}
}

// target checks service or split and the services they name.
func (v *validator) target(p string, r *Route) {
	v.oneOf(p, []string{"service", "split"}, r.Service != "", r.Split != nil)
	if r.Service != "" {
		v.serviceRef(p+".service", r.Service)
	}
	if r.Split == nil {
		return
	}
	if len(r.Split) < 2 {
		v.errorf(p+".split", "needs at least 2 entries, found %d; use service for one", len(r.Split))
	}
	for j, s := range r.Split {
		sp := index(p+".split", j)
		if s.Service == "" {
			v.errorf(sp+".service", "required: a service name")
		} else {
			v.serviceRef(sp+".service", s.Service)
		}
		v.intRange(sp+".weight", s.Weight, 1, 1000)
	}
}

func (v *validator) serviceRef(p, name string) {
	if v.refs && !v.svcs[name] {
		v.errorf(p, "unknown service %q; %s", name, setNames(v.svcs))
	}
}

// match checks m and returns the parameters of its path template.
func (v *validator) match(p string, m *Match) map[string]bool {
	for i, h := range m.Hosts {
		if !validHostPattern(h) {
			v.errorf(index(p+".hosts", i), "%q is not a host name or *.wildcard (no ports)", h)
		}
	}
	for i, meth := range m.Methods {
		if !tokenRE.MatchString(meth) {
			v.errorf(index(p+".methods", i), "%q is not a method token like GET", meth)
		}
	}
	for i := range m.Headers {
		v.valueMatch(index(p+".headers", i), &m.Headers[i], true)
	}
	for i := range m.Query {
		v.valueMatch(index(p+".query", i), &m.Query[i], false)
	}
	return v.path(p+".path", &m.Path)
}

func validHostPattern(h string) bool {
	return hostnameRE.MatchString(strings.TrimPrefix(h, "*.")) && !strings.HasSuffix(h, ".")
}

func (v *validator) valueMatch(p string, m *ValueMatch, header bool) {
	switch {
	case m.Name == "":
		v.errorf(p+".name", "required")
	case header && !tokenRE.MatchString(m.Name):
		v.errorf(p+".name", "%q is not a header name token", m.Name)
	}
	v.oneOf(p, []string{"exact", "regex", "present: true"}, m.Exact != "", m.Regex != "", m.Present)
	v.regex(p+".regex", m.Regex)
}

func (v *validator) regex(p, re string) {
	if re == "" {
		return
	}
	if _, err := regexp.Compile(re); err != nil {
		v.errorf(p, "invalid Go regular expression: %v", err)
	}
}

func (v *validator) path(p string, m *PathMatch) map[string]bool {
	v.oneOf(p, []string{"exact", "prefix", "regex", "template"}, m.Exact != "", m.Prefix != "", m.Regex != "", m.Template != "")
	for _, f := range []struct{ name, val string }{{"exact", m.Exact}, {"prefix", m.Prefix}, {"template", m.Template}} {
		if f.val != "" && f.val[0] != '/' {
			v.errorf(p+"."+f.name, "must start with \"/\"")
		}
	}
	v.regex(p+".regex", m.Regex)
	if m.Template == "" {
		return nil
	}
	params, err := templateParams(m.Template)
	if err != "" {
		v.errorf(p+".template", "%s", err)
	}
	return params
}

var paramRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// templateParams returns the {name} segments of a path template, or a
// description of what is wrong with it.
func templateParams(t string) (map[string]bool, string) {
	params := map[string]bool{}
	for _, seg := range strings.Split(t, "/") {
		if !strings.ContainsAny(seg, "{}") {
			continue
		}
		name, ok := strings.CutPrefix(seg, "{")
		name, ok2 := strings.CutSuffix(name, "}")
		switch {
		case !ok || !ok2 || !paramRE.MatchString(name):
			return params, "segment " + strconv.Quote(seg) + " must be literal or a whole {name} (letters, digits, _)"
		case params[name]:
			return params, "parameter {" + name + "} is used twice"
		}
		params[name] = true
	}
	return params, ""
}

func (v *validator) retries(p string, r *Retries) {
	v.intRange(p+".attempts", r.Attempts, 0, 10)
	v.timeout(p+".per_try_timeout", r.PerTryTimeout)
	for i, on := range r.On {
		if !validRetryOn(on) {
			v.errorf(index(p+".on", i), "%q is not retryable; use connect_failure, reset, refused_stream or a 5xx status", on)
		}
	}
	v.positive(p+".backoff.base", int64(r.Backoff.Base), "duration")
	if r.Backoff.Max < r.Backoff.Base {
		v.errorf(p+".backoff.max", "must be at least backoff.base (%s)", r.Backoff.Base)
	}
}

// timeout reports at path a timeout below zero; zero is none.
func (v *validator) timeout(path string, d Duration) {
	if d < 0 {
		v.errorf(path, "must not be negative; 0s means no timeout")
	}
}

func validRetryOn(s string) bool {
	switch s {
	case "connect_failure", "reset", "refused_stream":
		return true
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 500 && n <= 599 && len(s) == 3
}

var rewriteParamRE = regexp.MustCompile(`\{([^{}]*)\}`)

func (v *validator) rewrite(p string, r *Rewrite, params map[string]bool) {
	if r.StripPrefix != "" && r.Path != "" {
		v.errorf(p, "strip_prefix and path are mutually exclusive")
	}
	if r.StripPrefix != "" && r.StripPrefix[0] != '/' {
		v.errorf(p+".strip_prefix", "must start with \"/\"")
	}
	if r.Path != "" && r.Path[0] != '/' {
		v.errorf(p+".path", "must start with \"/\"")
	}
	for _, m := range rewriteParamRE.FindAllStringSubmatch(r.Path, -1) {
		if !params[m[1]] {
			v.errorf(p+".path", "parameter {%s} is not defined by match.path.template", m[1])
		}
	}
	if r.Host != "" && checkHostPort(r.Host) != nil && !hostnameRE.MatchString(r.Host) {
		v.errorf(p+".host", "%q is not a host name or host:port", r.Host)
	}
}

func (v *validator) headerOps(p string, h *HeaderOps) {
	for _, op := range []struct {
		name string
		m    map[string]string
	}{{"add", h.Add}, {"set", h.Set}} {
		for _, k := range sortedKeys(op.m) {
			kp := p + "." + op.name + "." + k
			if !tokenRE.MatchString(k) {
				v.errorf(kp, "%q is not a header name token", k)
			}
			if strings.ContainsAny(op.m[k], "\r\n\x00") {
				v.errorf(kp, "header value must not contain CR, LF or NUL")
			}
		}
	}
	for i, k := range h.Remove {
		if !tokenRE.MatchString(k) {
			v.errorf(index(p+".remove", i), "%q is not a header name token", k)
		}
	}
}

package config

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Validate checks c and returns an Errors holding every problem, or nil.
// Positions are reported when c came from Parse. Validate reads the TLS
// files named in c to check they exist and load.
func (c *Config) Validate() error {
	if errs := newValidator(c, nil, Standalone).run(); len(errs) > 0 {
		errs.sort()
		return errs
	}
	return nil
}

// validator collects semantic errors, skipping paths whose value already
// failed to decode so one mistake is reported once.
type validator struct {
	c      *Config
	mode   Mode
	refs   bool // check references between items (false for a lone item)
	skip   map[string]bool
	errs   Errors
	listen map[string]bool // listener names
	svcs   map[string]bool // service names
	// consumerNames and policyNames are the names of consumers and policies.
	consumerNames map[string]bool
	policyNames   map[string]bool
}

func newValidator(c *Config, skip map[string]bool, mode Mode) *validator {
	return &validator{c: c, mode: mode, refs: true, skip: skip, listen: map[string]bool{}, svcs: map[string]bool{}}
}

func (v *validator) run() Errors {
	v.top()
	v.listeners()
	v.services()
	v.consumers()
	v.policies()
	v.routes()
	v.authorizationPolicies()
	return v.errs
}

func (v *validator) errorf(path, format string, args ...any) {
	if v.skip[""] {
		return // the document itself did not decode
	}
	for p := path; ; {
		if v.skip[p] {
			return
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	e := &FieldError{File: v.c.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if p, ok := v.c.at(path); ok {
		e.Line, e.Column = p.line, p.col
	}
	v.errs = append(v.errs, e)
}

func (v *validator) top() {
	c := v.c
	if a := c.Admin.Address; a != AdminOff {
		if err := checkHostPort(a); err != nil {
			v.errorf("admin.address", "%v, or \"off\"", err)
		}
	}
	if c.AccessLog.Path == "" {
		v.errorf("access_log.path", "required: stdout, stderr, off or a file path")
	}
	if s := c.AccessLog.Sample; !(s >= 0 && s <= 1) {
		v.errorf("access_log.sample", "must be between 0 and 1, not %v", s)
	}
	for i, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				v.errorf(index("trusted_proxies", i), "must be a CIDR like 10.0.0.0/8 or an IP, not %q", p)
			}
		}
	}
	if v.mode != Standalone {
		return
	}
	if len(c.Listeners) == 0 {
		v.errorf("listeners", "at least one listener is required")
	}
	if len(c.Routes) == 0 {
		v.errorf("routes", "at least one route is required")
	}
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

var (
	nameRE        = regexp.MustCompile(`^[a-z0-9_-]+$`)
	serviceNameRE = regexp.MustCompile(`^[a-z0-9_.-]+$`)
	tokenRE       = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	hostnameRE    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`)
)

// name checks a required, unique, well-formed name and records it in seen.
func (v *validator) name(path, kind, name string, re *regexp.Regexp, seen map[string]bool) {
	switch {
	case name == "":
		v.errorf(path, "required: a %s name matching %s", kind, re)
	case !re.MatchString(name):
		v.errorf(path, "%q is not a valid %s name; use %s", name, kind, re)
	case seen[name]:
		v.errorf(path, "duplicate %s name %q", kind, name)
	}
	if name != "" {
		seen[name] = true
	}
}

// checkHostPort checks a host:port where host is an IP or a DNS name and
// port is 1..65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port (like 127.0.0.1:8080 or example.com:443)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: port must be 1..65535", addr)
	}
	if _, err := netip.ParseAddr(host); err != nil && !hostnameRE.MatchString(host) {
		return fmt.Errorf("%q: host must be an IP address or a DNS name", addr)
	}
	return nil
}

// oneOf reports at path unless exactly one of the named values is set.
func (v *validator) oneOf(path string, names []string, set ...bool) {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	if n != 1 && !v.childFailed(path) {
		v.errorf(path, "exactly one of %s is required, found %d", strings.Join(names, ", "), n)
	}
}

// childFailed reports whether a field directly under path failed to decode;
// that field (often a misspelled one) already explains a missing choice.
func (v *validator) childFailed(path string) bool {
	for p := range v.skip {
		if rest, ok := strings.CutPrefix(p, path+"."); ok && !strings.ContainsAny(rest, ".[") {
			return true
		}
	}
	return false
}

// enum reports at path unless val is one of valid.
func (v *validator) enum(path, val string, valid ...string) {
	for _, s := range valid {
		if val == s {
			return
		}
	}
	v.errorf(path, "%q is not valid; use one of: %s", val, strings.Join(valid, ", "))
}

// intRange reports at path unless lo <= n <= hi.
func (v *validator) intRange(path string, n, lo, hi int) {
	if n < lo || n > hi {
		v.errorf(path, "must be between %d and %d, not %d", lo, hi, n)
	}
}

// positive reports at path unless n > 0.
func (v *validator) positive(path string, n int64, what string) {
	if n <= 0 {
		v.errorf(path, "must be a positive %s", what)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func setNames(m map[string]bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return "none are defined"
	}
	return "defined: " + strings.Join(keys, ", ")
}

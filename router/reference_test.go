package router

import (
	"cmp"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// This file holds a naive reference matcher: it checks every route in turn
// and keeps the one with the best precedence key. Table.Match must agree
// with it on every input.

// refKey is a route's precedence for one request; smaller wins.
type refKey []int

// refMatch returns the route the reference selects, its parameters, and
// whether one matched. With anyMethod, method conditions are ignored.
func refMatch(specs []Spec, in *Input, anyMethod bool) (int, []string, bool) {
	best, bestKey := -1, refKey(nil)
	for i := range specs {
		k, ok := refRoute(&specs[i], i, in, anyMethod)
		if ok && (best < 0 || slices.Compare(k, bestKey) < 0) {
			best, bestKey = i, k
		}
	}
	if best < 0 {
		return -1, nil, false
	}
	return best, refParams(&specs[best], string(in.Path)), true
}

// refRoute returns s's precedence key when s matches in.
func refRoute(s *Spec, i int, in *Input, anyMethod bool) (refKey, bool) {
	hostRank, hostLen, ok := refHost(s.Hosts, string(in.Host))
	path := string(in.Path)
	if !ok || !strings.HasPrefix(path, "/") || !refPath(s, path) {
		return nil, false
	}
	if !anyMethod && len(s.Methods) > 0 && !slices.Contains(s.Methods, string(in.Method)) {
		return nil, false
	}
	for _, h := range s.Headers {
		if !refHeader(h, in.Headers) {
			return nil, false
		}
	}
	for _, q := range s.Query {
		if !refQuery(q, string(in.Query)) {
			return nil, false
		}
	}
	lits, segs, plen := 0, 0, 0
	switch s.PathKind {
	case PathTemplate:
		parts := strings.Split(s.Path[1:], "/")
		segs = len(parts)
		for _, p := range parts {
			if !strings.HasPrefix(p, "{") {
				lits++
			}
		}
	case PathPrefix:
		plen = len(cmp.Or(s.Path, "/"))
	}
	conds := len(s.Headers) + len(s.Query)
	if len(s.Methods) > 0 {
		conds++
	}
	kind := map[PathKind]int{PathExact: 0, PathTemplate: 1, PathPrefix: 2, PathRegex: 3}[s.PathKind]
	return refKey{hostRank, -hostLen, kind, -lits, -segs, -plen, -conds, i}, true
}

// refHost returns the best host rank of hosts for the request host h: 0 for
// an exact name, 1 for a wildcard (with the suffix length), 2 for no hosts.
func refHost(hosts []string, h string) (rank, sufLen int, ok bool) {
	if len(hosts) == 0 {
		return 2, 0, true
	}
	if strings.HasPrefix(h, "[") {
		if j := strings.Index(h, "]"); j > 0 {
			h = h[1:j]
		}
	} else if strings.Count(h, ":") == 1 {
		h, _, _ = strings.Cut(h, ":")
	}
	if len(h) > 1 {
		h = strings.TrimSuffix(h, ".")
	}
	h = strings.ToLower(h)
	rank, sufLen = 3, 0
	for _, c := range hosts {
		c = strings.TrimSuffix(strings.ToLower(c), ".")
		c = strings.TrimSuffix(strings.TrimPrefix(c, "["), "]")
		if sfx, wild := strings.CutPrefix(c, "*"); wild {
			if strings.HasSuffix(h, sfx) && len(h) > len(sfx) && (rank > 1 || rank == 1 && len(sfx) > sufLen) {
				rank, sufLen = 1, len(sfx)
			}
		} else if c == h {
			rank, sufLen = 0, 0
		}
	}
	return rank, sufLen, rank < 3
}

// refPath reports whether s's path condition holds for path.
func refPath(s *Spec, path string) bool {
	switch s.PathKind {
	case PathExact:
		return path == s.Path
	case PathPrefix:
		p := cmp.Or(s.Path, "/")
		if strings.HasSuffix(p, "/") {
			return strings.HasPrefix(path, p)
		}
		return path == p || strings.HasPrefix(path, p+"/")
	case PathRegex:
		return refRegexp(s.Path).MatchString(path)
	}
	tp, pp := strings.Split(s.Path, "/"), strings.Split(path, "/")
	if len(tp) != len(pp) {
		return false
	}
	for i := range tp {
		if strings.HasPrefix(tp[i], "{") {
			if pp[i] == "" {
				return false
			}
		} else if tp[i] != pp[i] {
			return false
		}
	}
	return true
}

// refParams returns the name/value pairs a template captures from path.
func refParams(s *Spec, path string) []string {
	if s.PathKind != PathTemplate {
		return nil
	}
	var out []string
	pp := strings.Split(path, "/")
	for i, t := range strings.Split(s.Path, "/") {
		if strings.HasPrefix(t, "{") {
			out = append(out, strings.Trim(t, "{}"), pp[i])
		}
	}
	return out
}

// refValue applies a value condition to v.
func refValue(vm ValueMatch, v string) bool {
	switch {
	case vm.Present:
		return true
	case vm.Regex != "":
		return refRegexp(vm.Regex).MatchString(v)
	}
	return v == vm.Exact
}

// refHeader applies a header condition.
func refHeader(vm ValueMatch, h Headers) bool {
	if h == nil {
		return false
	}
	v, ok := h.Header(strings.ToLower(vm.Name))
	return ok && refValue(vm, string(v))
}

// refQuery applies a query condition: some well-formed pair must match.
func refQuery(vm ValueMatch, q string) bool {
	if q == "" {
		return false
	}
	for _, pair := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 == nil && err2 == nil && k == vm.Name && refValue(vm, v) {
			return true
		}
	}
	return false
}

// paramList returns p as name/value pairs.
func paramList(p *Params) []string {
	var out []string
	for i := 0; i < p.Len(); i++ {
		out = append(out, p.Name(i), string(p.Value(i)))
	}
	return out
}

// refRegexps caches the reference's anchored regexes; tests using the
// reference do not run in parallel.
var refRegexps = map[string]*regexp.Regexp{}

// refRegexp returns pattern anchored at both ends, compiled.
func refRegexp(pattern string) *regexp.Regexp {
	re := refRegexps[pattern]
	if re == nil {
		if len(refRegexps) > 1000 {
			clear(refRegexps)
		}
		re = regexp.MustCompile("^(?:" + pattern + ")$")
		refRegexps[pattern] = re
	}
	return re
}

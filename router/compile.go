package router

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// compiled is a route with the facts Compile needs to place it.
type compiled struct {
	r     *route
	kind  PathKind
	path  string
	hosts []hostKey
}

// Compile builds a Table from specs. Route i is specs[i]; an error names the
// route that could not be compiled.
func Compile(specs []Spec) (*Table, error) {
	cs := make([]compiled, len(specs))
	for i := range specs {
		c, err := compileSpec(i, &specs[i])
		if err != nil {
			return nil, fmt.Errorf("route %d: %w", i, err)
		}
		cs[i] = c
	}
	slices.SortStableFunc(cs, byPrecedence)
	t := &Table{exact: map[string]*bucket{}, wildcard: map[string]*bucket{}}
	for i := range cs {
		c := &cs[i]
		c.r.rank = i
		for _, b := range t.buckets(c.hosts) {
			b.add(c)
		}
	}
	return t, nil
}

// byPrecedence orders routes by path kind and path specificity, then by
// condition count and index. Host specificity is handled by the buckets.
func byPrecedence(a, b compiled) int {
	return cmp.Or(
		cmp.Compare(kindOrder(a.kind), kindOrder(b.kind)),
		cmp.Compare(literals(b.r.tmpl), literals(a.r.tmpl)),
		cmp.Compare(len(b.r.tmpl), len(a.r.tmpl)),
		cmp.Compare(b.r.conds, a.r.conds),
		cmp.Compare(a.r.index, b.r.index),
	)
}

// kindOrder ranks path kinds: exact, template, prefix, regex.
func kindOrder(k PathKind) int {
	return [...]int{PathExact: 0, PathTemplate: 1, PathPrefix: 2, PathRegex: 3}[k]
}

// compileSpec validates and compiles one spec.
func compileSpec(i int, s *Spec) (compiled, error) {
	r := &route{index: i, conds: s.conditions(), methods: s.Methods}
	c := compiled{r: r, kind: s.PathKind, path: s.Path}
	for _, h := range s.Hosts {
		k, err := parseHost(h)
		if err != nil {
			return c, err
		}
		if !slices.Contains(c.hosts, k) {
			c.hosts = append(c.hosts, k)
		}
	}
	if err := compilePath(&c); err != nil {
		return c, err
	}
	for _, m := range s.Methods {
		if m == "" {
			return c, fmt.Errorf("empty method")
		}
	}
	var err error
	if r.headers, err = compileValues("header", s.Headers, true); err != nil {
		return c, err
	}
	if r.query, err = compileValues("query parameter", s.Query, false); err != nil {
		return c, err
	}
	return c, nil
}

// compilePath validates c's path for its kind and compiles what it needs.
func compilePath(c *compiled) error {
	var err error
	switch c.kind {
	case PathPrefix:
		if c.path == "" {
			c.path = "/"
		}
		err = checkSlash("prefix", c.path)
	case PathExact:
		err = checkSlash("exact path", c.path)
	case PathTemplate:
		c.r.tmpl, err = parseTemplate(c.path)
	case PathRegex:
		if c.r.re, err = anchor(c.path); err != nil {
			err = fmt.Errorf("bad path regex %q: %w", c.path, err)
		}
	default:
		err = fmt.Errorf("unknown path kind %d", c.kind)
	}
	return err
}

// checkSlash requires an origin-form path.
func checkSlash(what, p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%s %q: must start with '/'", what, p)
	}
	return nil
}

// compileValues validates and compiles header or query conditions. Header
// names are lower-cased.
func compileValues(what string, vms []ValueMatch, lower bool) ([]valueCond, error) {
	var out []valueCond
	for _, vm := range vms {
		set := 0
		for _, b := range []bool{vm.Exact != "", vm.Regex != "", vm.Present} {
			if b {
				set++
			}
		}
		if vm.Name == "" || set != 1 {
			return nil, fmt.Errorf("%s %q: need a name and exactly one of exact, regex, present", what, vm.Name)
		}
		c := valueCond{name: vm.Name, exact: vm.Exact, present: vm.Present}
		if lower {
			c.name = strings.ToLower(c.name)
		}
		if vm.Regex != "" {
			re, err := anchor(vm.Regex)
			if err != nil {
				return nil, fmt.Errorf("%s %q: bad regex %q: %w", what, vm.Name, vm.Regex, err)
			}
			c.re = re
		}
		out = append(out, c)
	}
	return out, nil
}

// buckets returns, creating them if needed, the buckets for hosts.
func (t *Table) buckets(hosts []hostKey) []*bucket {
	if len(hosts) == 0 {
		if t.any == nil {
			t.any = &bucket{}
		}
		return []*bucket{t.any}
	}
	out := make([]*bucket, 0, len(hosts))
	for _, h := range hosts {
		m := t.exact
		if h.wildcard {
			m = t.wildcard
		}
		b := m[h.name]
		if b == nil {
			b = &bucket{}
			m[h.name] = b
		}
		out = append(out, b)
	}
	return out
}

// add places c's route in b. Routes arrive in precedence order.
func (b *bucket) add(c *compiled) {
	r := c.r
	switch c.kind {
	case PathExact:
		if b.exact == nil {
			b.exact = map[string][]*route{}
		}
		b.exact[c.path] = append(b.exact[c.path], r)
	case PathTemplate:
		if b.tmpl == nil {
			b.tmpl = newTnode()
		}
		b.tmpl.insert(r)
	case PathPrefix:
		if b.prefix == nil {
			b.prefix = map[string][]*route{}
		}
		b.prefix[c.path] = append(b.prefix[c.path], r)
		if !slices.Contains(b.prefixLens, len(c.path)) {
			b.prefixLens = append(b.prefixLens, len(c.path))
			slices.SortFunc(b.prefixLens, func(x, y int) int { return y - x })
		}
	case PathRegex:
		b.regex = append(b.regex, r)
	}
}

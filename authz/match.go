package authz

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/pylon-mesh/pylon/config"
)

// pathKind says how a pathCond compares a path.
type pathKind uint8

const (
	pathExact pathKind = iota
	pathPrefix
	pathRegex
	pathTemplate
)

// pathCond is a compiled config.PathMatch, with the router's semantics:
// only origin-form paths (starting with '/') match; a prefix is
// segment-aware; a regex must match the whole path; a template's {name}
// matches one non-empty segment.
type pathCond struct {
	kind  pathKind
	value string         // exact path or prefix
	re    *regexp.Regexp // anchored, for regex
	segs  []string       // for template: literal segments, "" where param
	param []bool         // for template: whether segs[i] is a parameter
}

func compilePath(m *config.PathMatch) (pathCond, error) {
	set := 0
	for _, s := range []string{m.Exact, m.Prefix, m.Regex, m.Template} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return pathCond{}, fmt.Errorf("exactly one of exact, prefix, regex, template is required, found %d", set)
	}
	switch {
	case m.Exact != "":
		return pathCond{kind: pathExact, value: m.Exact}, slash(m.Exact)
	case m.Prefix != "":
		return pathCond{kind: pathPrefix, value: m.Prefix}, slash(m.Prefix)
	case m.Regex != "":
		re, err := anchor(m.Regex)
		return pathCond{kind: pathRegex, re: re}, err
	}
	return compileTemplate(m.Template)
}

func slash(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q must start with \"/\"", p)
	}
	return nil
}

func compileTemplate(t string) (pathCond, error) {
	if err := slash(t); err != nil {
		return pathCond{}, err
	}
	c := pathCond{kind: pathTemplate}
	for seg := range strings.SplitSeq(t[1:], "/") {
		if !strings.ContainsAny(seg, "{}") {
			c.segs, c.param = append(c.segs, seg), append(c.param, false)
			continue
		}
		name, ok := strings.CutPrefix(seg, "{")
		name, ok2 := strings.CutSuffix(name, "}")
		if !ok || !ok2 || name == "" || strings.ContainsAny(name, "{}") {
			return pathCond{}, fmt.Errorf("template %q: segment %q must be literal or a whole {name}", t, seg)
		}
		c.segs, c.param = append(c.segs, ""), append(c.param, true)
	}
	return c, nil
}

// anchor compiles an RE2 pattern that must match a whole value; the
// pattern is compiled alone first so that one like "a)|(b" cannot escape
// the anchoring group.
func anchor(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, fmt.Errorf("regex %q: %w", pattern, err)
	}
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

func anyPath(cs []pathCond, path string) bool {
	if path == "" || path[0] != '/' {
		return false
	}
	for i := range cs {
		if cs[i].matches(path) {
			return true
		}
	}
	return false
}

// matches reports whether the origin-form path meets c.
func (c *pathCond) matches(path string) bool {
	switch c.kind {
	case pathExact:
		return path == c.value
	case pathPrefix:
		k := len(c.value)
		return strings.HasPrefix(path, c.value) && (c.value[k-1] == '/' || k == len(path) || path[k] == '/')
	case pathRegex:
		return c.re.MatchString(path)
	}
	return c.matchTemplate(path)
}

func (c *pathCond) matchTemplate(path string) bool {
	rest := path[1:]
	for i, lit := range c.segs {
		seg, next, more := strings.Cut(rest, "/")
		if c.param[i] && seg == "" || !c.param[i] && seg != lit {
			return false
		}
		if i == len(c.segs)-1 {
			return !more
		}
		if !more {
			return false
		}
		rest = next
	}
	return false
}

// valueCond is a compiled header condition.
type valueCond struct {
	name    string // lower-case
	exact   string
	re      *regexp.Regexp // anchored; nil unless a regex condition
	present bool
}

func compileValue(m *config.ValueMatch) (valueCond, error) {
	set := 0
	for _, b := range []bool{m.Exact != "", m.Regex != "", m.Present} {
		if b {
			set++
		}
	}
	if m.Name == "" || set != 1 {
		return valueCond{}, errors.New("a header condition needs a name and exactly one of exact, regex, present")
	}
	c := valueCond{name: strings.ToLower(m.Name), exact: m.Exact, present: m.Present}
	if m.Regex != "" {
		re, err := anchor(m.Regex)
		if err != nil {
			return valueCond{}, fmt.Errorf("header %q: %w", m.Name, err)
		}
		c.re = re
	}
	return c, nil
}

// matches reports whether some value of c's header meets c.
func (c *valueCond) matches(header func(string) []string) bool {
	if header == nil {
		return false
	}
	for _, v := range header(c.name) {
		switch {
		case c.present:
			return true
		case c.re != nil:
			if c.re.MatchString(v) {
				return true
			}
		case v == c.exact:
			return true
		}
	}
	return false
}

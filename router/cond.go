package router

import "regexp"

// Headers gives Match read access to a request's headers.
type Headers interface {
	// Header returns the value of the header with the given lower-case
	// name, and whether it is present. When a request repeats a header, the
	// implementation decides which value (or which joined value) to return.
	Header(name string) ([]byte, bool)
}

// valueCond is a compiled ValueMatch.
type valueCond struct {
	name    string
	exact   string
	re      *regexp.Regexp // nil unless a regex condition
	present bool
}

// test applies c to one value.
func (c *valueCond) test(v []byte) bool {
	switch {
	case c.present:
		return true
	case c.re != nil:
		return c.re.Match(v)
	}
	return string(v) == c.exact
}

// route is one compiled Spec.
type route struct {
	index   int
	conds   int // non-path conditions, for precedence
	rank    int // position among template routes; only for templates
	methods []string
	headers []valueCond
	query   []valueCond
	tmpl    []segment      // only for templates
	re      *regexp.Regexp // only for regex paths
}

// accepts reports whether in meets r's method, header and query conditions.
// With anyMethod, the method condition is skipped.
func (r *route) accepts(in *Input, anyMethod bool) bool {
	if !anyMethod && !r.methodOK(in.Method) {
		return false
	}
	for i := range r.headers {
		if !headerOK(in.Headers, &r.headers[i]) {
			return false
		}
	}
	for i := range r.query {
		if !queryOK(in.Query, &r.query[i]) {
			return false
		}
	}
	return true
}

// methodOK reports whether m is one of r's methods, or r accepts any.
func (r *route) methodOK(m []byte) bool {
	if len(r.methods) == 0 {
		return true
	}
	for _, want := range r.methods {
		if string(m) == want {
			return true
		}
	}
	return false
}

// headerOK applies c to the header it names. A nil Headers has no headers.
func headerOK(h Headers, c *valueCond) bool {
	if h == nil {
		return false
	}
	v, ok := h.Header(c.name)
	return ok && c.test(v)
}

// queryOK reports whether some name=value pair of the raw query has c's name
// and a value that c accepts. Pairs that are not validly percent-encoded are
// ignored.
func queryOK(q []byte, c *valueCond) bool {
	for len(q) > 0 {
		var pair []byte
		pair, q, _ = cutByte(q, '&')
		k, v, _ := cutByte(pair, '=')
		if !unescapedEqual(k, c.name) || !validEscapes(v) {
			continue
		}
		if queryValueOK(v, c) {
			return true
		}
	}
	return false
}

// queryValueOK applies c to a raw, validly escaped query value.
func queryValueOK(v []byte, c *valueCond) bool {
	switch {
	case c.present:
		return true
	case c.re != nil:
		return c.re.Match(unescape(v))
	}
	return unescapedEqual(v, c.exact)
}

package router

import "regexp"

// Input is the part of a request that routing looks at. The byte slices are
// read, never kept or changed.
type Input struct {
	// Host is the Host header or :authority as received: it may carry a
	// port and upper case.
	Host []byte
	// Path is the raw path without the query, as received (still
	// percent-encoded). Only origin-form paths, starting with '/', match.
	Path []byte
	// Query is the raw query, without the '?'.
	Query []byte
	// Method is the request method.
	Method []byte
	// Headers gives access to the request headers. It may be nil when no
	// route has header conditions; header conditions then never hold.
	Headers Headers
}

// Table is a compiled set of routes. It is immutable after Compile and safe
// for concurrent use.
//
// When several routes match a request, Match picks by, in order: host
// specificity (an exact name, then the longest matching wildcard, then routes
// without hosts); path kind (exact, then template, then prefix, then regex),
// with templates ordered by more literal segments and then more segments,
// and prefixes by length; more method, header and query conditions; and
// finally the lower route index.
type Table struct {
	exact    map[string]*bucket // by lower-case host name
	wildcard map[string]*bucket // by lower-case suffix, ".example.com"
	any      *bucket
}

// bucket holds the routes of one host key, grouped by path kind.
type bucket struct {
	exact      map[string][]*route // by path, in precedence order
	tmpl       *tnode
	prefix     map[string][]*route // by prefix, in precedence order
	prefixLens []int               // distinct prefix lengths, longest first
	regex      []*route            // in precedence order
}

// Match returns the index of the route that in selects, and fills p (when
// not nil) with the template parameters of that route. When no route
// matches, it returns false and leaves p empty. Match does not allocate
// unless it evaluates a regex or a query condition.
func (t *Table) Match(in *Input, p *Params) (route int, ok bool) {
	if p != nil {
		p.Reset()
	}
	r := t.find(in, false)
	if r == nil {
		return -1, false
	}
	if p != nil && r.tmpl != nil {
		capture(r.tmpl, in.Path, p)
	}
	return r.index, true
}

// MethodMismatch reports whether no route matches in, but some route would
// if it accepted in's method. A server answers such a request with 405
// rather than 404.
func (t *Table) MethodMismatch(in *Input) bool {
	return t.find(in, false) == nil && t.find(in, true) != nil
}

// find returns the route selected for in, or nil.
func (t *Table) find(in *Input, anyMethod bool) *route {
	if len(in.Path) == 0 || in.Path[0] != '/' {
		return nil
	}
	var buf [maxHost]byte
	host := lowerASCII(buf[:], hostName(in.Host))
	if b := t.exact[string(host)]; b != nil {
		if r := b.find(in, anyMethod); r != nil {
			return r
		}
	}
	if r := t.findWildcard(host, in, anyMethod); r != nil {
		return r
	}
	if t.any != nil {
		return t.any.find(in, anyMethod)
	}
	return nil
}

// findWildcard tries the wildcard buckets whose suffix ends host, longest
// suffix first. The label before the suffix must not be empty.
func (t *Table) findWildcard(host []byte, in *Input, anyMethod bool) *route {
	if len(t.wildcard) == 0 {
		return nil
	}
	for i := 1; i < len(host); i++ {
		if host[i] != '.' {
			continue
		}
		if b := t.wildcard[string(host[i:])]; b != nil {
			if r := b.find(in, anyMethod); r != nil {
				return r
			}
		}
	}
	return nil
}

// find returns the route of b that in selects, or nil.
func (b *bucket) find(in *Input, anyMethod bool) *route {
	path := in.Path
	if r := first(b.exact[string(path)], in, anyMethod); r != nil {
		return r
	}
	if b.tmpl != nil {
		s := tsearch{in: in, anyMethod: anyMethod}
		b.tmpl.search(path[1:], &s)
		if s.best != nil {
			return s.best
		}
	}
	for _, k := range b.prefixLens {
		if k > len(path) || !segmentEnd(path, k) {
			continue
		}
		if r := first(b.prefix[string(path[:k])], in, anyMethod); r != nil {
			return r
		}
	}
	for _, r := range b.regex {
		if r.re.Match(path) && r.accepts(in, anyMethod) {
			return r
		}
	}
	return nil
}

// segmentEnd reports whether a prefix of length k of path ends on a segment
// boundary: the prefix ends with '/', or the path ends or continues with
// '/' after it.
func segmentEnd(path []byte, k int) bool {
	return path[k-1] == '/' || k == len(path) || path[k] == '/'
}

// first returns the first route of rs that accepts in.
func first(rs []*route, in *Input, anyMethod bool) *route {
	for _, r := range rs {
		if r.accepts(in, anyMethod) {
			return r
		}
	}
	return nil
}

// anchor compiles an RE2 pattern that must match a whole value. The pattern
// is first compiled alone, so that one like "a)|(b" cannot escape the
// anchoring group.
func anchor(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

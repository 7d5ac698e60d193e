package router

import (
	"math/rand"
	"strings"
)

// mapHeaders is a Headers backed by a map of lower-case names.
type mapHeaders map[string]string

// Header implements Headers.
func (m mapHeaders) Header(name string) ([]byte, bool) {
	v, ok := m[name]
	return []byte(v), ok
}

// pick returns a random element of xs.
func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.Intn(len(xs))] }

var (
	genSegs    = []string{"a", "b", "c", "ab", "x%2Fy", ""}
	genHosts   = []string{"a.example.com", "*.example.com", "*.b.example.com", "example.com", "*.com", "A.Example.com", "[::1]", "localhost", "example.com."}
	genRegexes = []string{"/a.*", "/[ab]/.*", "/c", ".*b", "/a/[^/]+", "/.*/"}
)

// some returns 0 half of the time, else 1 or 2: most routes have few
// conditions, so that they compete on path precedence.
func some(r *rand.Rand) int { return max(0, r.Intn(4)-1) }

// genPath returns "/" followed by up to n random segments.
func genPath(r *rand.Rand, n int) string {
	parts := make([]string, r.Intn(n+1))
	for i := range parts {
		parts[i] = pick(r, genSegs...)
	}
	return "/" + strings.Join(parts, "/")
}

// genSpecs returns n random specs over a small vocabulary, so that routes
// overlap often.
func genSpecs(r *rand.Rand, n int) []Spec {
	specs := make([]Spec, n)
	for i := range specs {
		s := &specs[i]
		for range some(r) {
			s.Hosts = append(s.Hosts, pick(r, genHosts...))
		}
		s.PathKind = PathKind(r.Intn(4))
		switch s.PathKind {
		case PathPrefix:
			s.Path = pick(r, genPath(r, 3), "")
		case PathExact:
			s.Path = genPath(r, 3)
		case PathRegex:
			s.Path = pick(r, genRegexes...)
		case PathTemplate:
			s.Path = genTemplate(r)
		}
		for range some(r) {
			s.Methods = append(s.Methods, pick(r, "GET", "POST", "get"))
		}
		for range some(r) {
			s.Headers = append(s.Headers, genValue(r, pick(r, "X-A", "x-b"), "1", "2", "[12]"))
		}
		for range some(r) {
			s.Query = append(s.Query, genValue(r, pick(r, "q", "r", "a b"), "1", "x y", "[0-9]+"))
		}
	}
	return specs
}

// genTemplate returns a random template of one to three segments.
func genTemplate(r *rand.Rand) string {
	var b strings.Builder
	for i := range 1 + r.Intn(3) {
		b.WriteString("/")
		if r.Intn(2) == 0 {
			b.WriteString("{p" + string(rune('0'+i)) + "}")
		} else {
			b.WriteString(pick(r, "a", "b", "c"))
		}
	}
	return b.String()
}

// genValue returns a random value condition on name.
func genValue(r *rand.Rand, name, ex1, ex2, re string) ValueMatch {
	switch r.Intn(4) {
	case 0:
		return ValueMatch{Name: name, Present: true}
	case 1:
		return ValueMatch{Name: name, Regex: re}
	}
	return ValueMatch{Name: name, Exact: pick(r, ex1, ex2)}
}

// genInput returns a random request over the same vocabulary.
func genInput(r *rand.Rand) *Input {
	in := &Input{
		Host:   []byte(pick(r, "a.example.com", "A.EXAMPLE.COM:8080", "x.b.example.com", "example.com", "example.com.", "[::1]:80", "localhost:1", "other.org", "", "b.example.com", "x.y.COM")),
		Path:   []byte(pick(r, genPath(r, 4), genPath(r, 2)+"/", "*", "", "http://h/a")),
		Method: []byte(pick(r, "GET", "POST", "get", "DELETE")),
	}
	var q []string
	for range r.Intn(4) {
		q = append(q, pick(r, "q=1", "q=2", "r=x+y", "r=x%20y", "a+b=1", "q", "q=%zz", "q=12", "r=", "a%20b=x y"))
	}
	in.Query = []byte(strings.Join(q, "&"))
	if r.Intn(5) > 0 {
		h := mapHeaders{}
		for range r.Intn(3) {
			h[pick(r, "x-a", "x-b")] = pick(r, "1", "2", "3", "")
		}
		in.Headers = h
	}
	return in
}

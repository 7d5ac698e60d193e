package router

// PathKind says how a Spec's Path is compared with a request path.
type PathKind uint8

// The path kinds, in no particular order; precedence is documented on Table.
const (
	// PathPrefix matches the path and everything below it, segment-aware.
	// It is the zero value; an empty Path means "/".
	PathPrefix PathKind = iota
	// PathExact matches the path exactly, byte for byte.
	PathExact
	// PathRegex matches when the RE2 pattern matches the whole path.
	PathRegex
	// PathTemplate matches segments literally, with {name} standing for one
	// non-empty segment, which is captured into Params.
	PathTemplate
)

// String returns the config spelling of k.
func (k PathKind) String() string {
	switch k {
	case PathPrefix:
		return "prefix"
	case PathExact:
		return "exact"
	case PathRegex:
		return "regex"
	case PathTemplate:
		return "template"
	}
	return "unknown"
}

// ValueMatch is a condition on a header or a query parameter. Exactly one of
// Exact, Regex and Present must be set.
type ValueMatch struct {
	// Name is the header name (case-insensitive) or the query parameter name
	// (compared exactly, after percent-decoding).
	Name string
	// Exact, when not empty, requires the value to equal it.
	Exact string
	// Regex, when not empty, requires the whole value to match this RE2
	// pattern.
	Regex string
	// Present, when true, requires only that the name be present.
	Present bool
}

// Spec describes one route's match conditions. Its index in the slice given
// to Compile is the route number that Match returns.
type Spec struct {
	// Hosts are host names ("api.example.com") or wildcards
	// ("*.example.com"), compared case-insensitively. Empty means any host.
	Hosts []string
	// PathKind says how Path is compared. The zero value is PathPrefix.
	PathKind PathKind
	// Path is the prefix, exact path, template or RE2 pattern. A regex is
	// matched against the whole path. An empty prefix means "/".
	Path string
	// Methods are the accepted methods, compared case-sensitively. Empty
	// means any method.
	Methods []string
	// Headers must all match. Empty means no header condition.
	Headers []ValueMatch
	// Query must all match. Empty means no query condition.
	Query []ValueMatch
}

// conditions counts the non-path conditions of s for precedence: the method
// list counts as one, each header and query condition as one.
func (s *Spec) conditions() int {
	n := len(s.Headers) + len(s.Query)
	if len(s.Methods) > 0 {
		n++
	}
	return n
}

package config

// Route maps matching requests to a service (or a weighted split of
// services), with timeouts, retries and rewrites.
type Route struct {
	// Name identifies the route; required, unique, [a-z0-9_-]+.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Listeners names the listeners the route is served on. Empty means all.
	Listeners []string `yaml:"listeners,omitempty" json:"listeners,omitempty"`
	// Match selects requests. An absent match matches every request.
	Match Match `yaml:"match" json:"match"`
	// Service is the target service. Exactly one of Service and Split is set.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Split spreads requests over services by weight (canary). At least two entries.
	Split []SplitEntry `yaml:"split,omitempty" json:"split,omitempty"`
	// Timeout bounds the whole request including retries. Default 15s; an
	// explicit 0s means no timeout.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Retries says when and how often a failed try is retried.
	Retries Retries `yaml:"retries" json:"retries"`
	// Rewrite changes the path and Host sent upstream. Zero means no rewrite.
	Rewrite Rewrite `yaml:"rewrite,omitempty" json:"rewrite,omitempty"`
	// RequestHeaders edits the headers sent upstream.
	RequestHeaders HeaderOps `yaml:"request_headers,omitempty" json:"request_headers,omitempty"`
	// ResponseHeaders edits the headers sent to the client.
	ResponseHeaders HeaderOps `yaml:"response_headers,omitempty" json:"response_headers,omitempty"`
	// Policies name the policies the route's requests must pass, in order
	// (authentication, consumer allow lists, rate limits).
	Policies []string `yaml:"policies,omitempty" json:"policies,omitempty"`
}

// Match is the conjunction of conditions a request must meet.
type Match struct {
	// Hosts are exact host names or "*." wildcard prefixes, lowercased, no
	// ports. Empty matches any host.
	Hosts []string `yaml:"hosts,omitempty" json:"hosts,omitempty"`
	// Path matches the request path. Absent means prefix "/".
	Path PathMatch `yaml:"path" json:"path"`
	// Methods are upper-case method tokens. Empty matches any method.
	Methods []string `yaml:"methods,omitempty" json:"methods,omitempty"`
	// Headers must all match.
	Headers []ValueMatch `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Query parameters must all match.
	Query []ValueMatch `yaml:"query,omitempty" json:"query,omitempty"`
}

// PathMatch holds exactly one way of matching the path.
type PathMatch struct {
	// Exact matches the whole path; it starts with "/".
	Exact string `yaml:"exact,omitempty" json:"exact,omitempty"`
	// Prefix matches a leading run of path segments; it starts with "/".
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// Regex is a Go RE2 expression that must match the whole path.
	Regex string `yaml:"regex,omitempty" json:"regex,omitempty"`
	// Template is a path like /users/{id}/items/{item}; each {name} matches
	// one segment and names are unique.
	Template string `yaml:"template,omitempty" json:"template,omitempty"`
}

// ValueMatch matches one header or query parameter by name with exactly one
// of Exact, Regex or Present.
type ValueMatch struct {
	// Name is the header or parameter name; required.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Exact requires this exact value.
	Exact string `yaml:"exact,omitempty" json:"exact,omitempty"`
	// Regex requires a value matching this Go RE2 expression.
	Regex string `yaml:"regex,omitempty" json:"regex,omitempty"`
	// Present requires the name to be present with any value.
	Present bool `yaml:"present,omitempty" json:"present,omitempty"`
}

// SplitEntry is one weighted target of a split route.
type SplitEntry struct {
	// Service is the target service; required, must exist.
	Service string `yaml:"service,omitempty" json:"service,omitempty"`
	// Weight is the relative share, 1..1000.
	Weight int `yaml:"weight" json:"weight"`
}

// Retries configures retrying failed tries of a request.
type Retries struct {
	// Attempts is the number of retries after the first try, 0..10.
	// Default 2; an explicit 0 disables retries.
	Attempts int `yaml:"attempts" json:"attempts"`
	// PerTryTimeout bounds each try. Default 0s: only the route timeout applies.
	PerTryTimeout Duration `yaml:"per_try_timeout" json:"per_try_timeout"`
	// On lists the retryable conditions: connect_failure, reset,
	// refused_stream, or a 5xx status code. Default DefaultRetryOn.
	On []string `yaml:"on" json:"on"`
	// NonIdempotent allows retrying POST, PATCH and other non-idempotent
	// methods. Default false.
	NonIdempotent bool `yaml:"non_idempotent" json:"non_idempotent"`
	// Backoff spaces retries out.
	Backoff Backoff `yaml:"backoff" json:"backoff"`
}

// DefaultRetryOn is the default for Retries.On.
var DefaultRetryOn = []string{"connect_failure", "reset", "refused_stream", "502", "503", "504"}

// Backoff is exponential backoff with full jitter between retries.
type Backoff struct {
	// Base is the first backoff ceiling. Default 25ms.
	Base Duration `yaml:"base" json:"base"`
	// Max caps the backoff ceiling; at least Base. Default 250ms.
	Max Duration `yaml:"max" json:"max"`
}

// Rewrite changes the request before it is forwarded. StripPrefix and Path
// are mutually exclusive.
type Rewrite struct {
	// StripPrefix removes this leading path prefix, segment-aware; an empty
	// result becomes "/".
	StripPrefix string `yaml:"strip_prefix,omitempty" json:"strip_prefix,omitempty"`
	// Path replaces the whole path; it may use {name} parameters of the
	// route's match.path.template.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Host sets the upstream Host header. Empty keeps the client's Host.
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
}

// HeaderOps edits a header set: Remove first, then Set, then Add.
type HeaderOps struct {
	// Add appends values, keeping existing ones.
	Add map[string]string `yaml:"add,omitempty" json:"add,omitempty"`
	// Set replaces any existing values.
	Set map[string]string `yaml:"set,omitempty" json:"set,omitempty"`
	// Remove deletes these headers.
	Remove []string `yaml:"remove,omitempty" json:"remove,omitempty"`
}

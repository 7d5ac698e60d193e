// Package config is Pylon's user-facing configuration model: the YAML file a
// gateway reads, a strict decoder that reports every problem with its file,
// line, column and field path, the defaults, and the validation the data plane
// relies on before it compiles a snapshot.
//
// Parse decodes into a yaml.Node and walks it against the structs, so unknown
// fields, wrong types and duplicate keys are all errors that name the field
// path (routes[0].match.path.prefix). The positions are kept inside the
// Config so semantic checks (a route naming a missing service) can point at
// the offending line too.
//
// A Config is a plain value: it is not safe for concurrent mutation, and the
// data plane treats a validated Config as immutable.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Config is a whole Pylon gateway configuration.
type Config struct {
	// Admin is the local admin listener (/ready /live /metrics /config /services).
	Admin Admin `yaml:"admin" json:"admin"`
	// AccessLog says where and how much to log per request.
	AccessLog AccessLog `yaml:"access_log" json:"access_log"`
	// TrustedProxies are CIDRs or bare IPs whose X-Forwarded-For/Proto/Host
	// and Forwarded headers are trusted. Empty (the default) trusts none.
	TrustedProxies []string `yaml:"trusted_proxies,omitempty" json:"trusted_proxies,omitempty"`
	// Listeners are the sockets the gateway accepts on. At least one is required.
	Listeners []Listener `yaml:"listeners" json:"listeners"`
	// Routes map requests to services; the most specific match wins (docs/routing.md). At least one is required.
	Routes []Route `yaml:"routes" json:"routes"`
	// Services are the upstreams routes forward to.
	Services []Service `yaml:"services" json:"services"`
	// AuthorizationPolicies say which callers may reach which mesh
	// services; sidecars enforce them, gateways ignore them.
	AuthorizationPolicies []AuthorizationPolicy `yaml:"authorization_policies,omitempty" json:"authorization_policies,omitempty"`
	// Policies are checks routes apply to their requests: authentication,
	// consumer allow lists, rate limits (docs/policies.md).
	Policies []Policy `yaml:"policies,omitempty" json:"policies,omitempty"`
	// Consumers are the known callers policies authenticate and limit.
	Consumers []Consumer `yaml:"consumers,omitempty" json:"consumers,omitempty"`

	file string         // file name given to Parse, for error messages
	dir  string         // directory of file, for relative paths
	pos  map[string]pos // field path -> position of its key or list item
}

// Admin configures the admin listener.
type Admin struct {
	// Address is host:port of the admin listener, or "off" to disable it.
	// Empty means the default, 127.0.0.1:9901. A non-loopback address is
	// allowed but must be written explicitly.
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
}

// AdminOff is the Admin.Address value that disables the admin listener.
const AdminOff = "off"

// AccessLog configures request logging.
type AccessLog struct {
	// Path is "stdout" (the default), "stderr", "off", or a file path.
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
	// Sample is the share (0..1) of successful (status < 400) requests that
	// are logged. Refused and failed requests are always logged. Default 1.
	Sample float64 `yaml:"sample" json:"sample"`
}

// pos is a 1-based line and column in the source file.
type pos struct{ line, col int }

// Load reads the file at path and parses it with Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data strictly, applies defaults, resolves relative TLS file
// paths against the directory of filename, and validates the result. On
// failure the error is an Errors holding every problem found.
func Parse(filename string, data []byte) (*Config, error) {
	return parse(filename, data, Standalone)
}

func parse(filename string, data []byte, mode Mode) (*Config, error) {
	c := &Config{file: filename, pos: map[string]pos{}}
	if filename != "" {
		c.dir = filepath.Dir(filename)
	}
	d := &decoder{file: filename, pos: c.pos}
	d.document(data, c)
	c.SetDefaults()
	c.resolvePaths()
	errs := append(d.errs, newValidator(c, d.failed, mode).run()...)
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return c, nil
}

// Dir is the directory of the config file, against which relative paths
// in it are resolved. It is empty for a Config built in Go.
func (c *Config) Dir() string { return c.dir }

// FieldError returns an error about the field at path (like
// "listeners[0].address") that names the file and the field's line, for
// problems found after validation, such as an address that cannot be bound.
func (c *Config) FieldError(path string, err error) *FieldError {
	fe := &FieldError{File: c.file, Path: path, Msg: err.Error()}
	if p, ok := c.at(path); ok {
		fe.Line, fe.Column = p.line, p.col
	}
	return fe
}

// has reports whether the field at path was written in the source file.
func (c *Config) has(path string) bool {
	_, ok := c.pos[path]
	return ok
}

// at returns the position of path, or of its nearest written ancestor when
// the field itself is absent (a missing required field).
func (c *Config) at(path string) (pos, bool) {
	for path != "" {
		if p, ok := c.pos[path]; ok {
			return p, true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return pos{}, false
}

func (c *Config) resolvePaths() {
	abs := func(p *string) {
		if *p != "" && c.dir != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(c.dir, *p)
		}
	}
	for i := range c.Listeners {
		if t := c.Listeners[i].TLS; t != nil {
			for j := range t.Certificates {
				abs(&t.Certificates[j].Cert)
				abs(&t.Certificates[j].Key)
			}
		}
	}
	for i := range c.Services {
		if t := c.Services[i].TLS; t != nil {
			abs(&t.CA)
			abs(&t.Cert)
			abs(&t.Key)
		}
	}
	for i := range c.Policies {
		if a := c.Policies[i].Authentication; a != nil && a.JWT != nil {
			abs(&a.JWT.JWKSFile)
		}
	}
}

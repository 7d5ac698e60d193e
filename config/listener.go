package config

// Listener is one socket the gateway accepts HTTP on.
type Listener struct {
	// Name identifies the listener; required, unique, [a-z0-9_-]+.
	Name string `yaml:"name,omitempty" json:"name,omitempty"`
	// Address is host:port to listen on; required and unique across listeners.
	Address string `yaml:"address,omitempty" json:"address,omitempty"`
	// TLS, when present, makes this an HTTPS listener (ALPN h2, http/1.1).
	// Nil means plain HTTP.
	TLS *ListenerTLS `yaml:"tls,omitempty" json:"tls,omitempty"`
	// Limits bound what one client may send; every limit has a default.
	Limits Limits `yaml:"limits" json:"limits"`
	// Mesh makes the listener take mutual TLS with the workload's own
	// identity (a sidecar's inbound listener). Set only by pylon sidecar,
	// never from a file.
	Mesh bool `yaml:"-" json:"-"`
	// MeshPermissive, with Mesh, also takes callers without a mesh
	// certificate, TLS or plaintext (the service's mtls: permissive).
	MeshPermissive bool `yaml:"-" json:"-"`
}

// ListenerTLS is the server side TLS of a listener.
type ListenerTLS struct {
	// Certificates are chosen by SNI from each certificate's names; the
	// first is the default. At least one is required.
	Certificates []Certificate `yaml:"certificates,omitempty" json:"certificates,omitempty"`
	// MinVersion is the lowest TLS version accepted: "1.2" (default) or "1.3".
	MinVersion string `yaml:"min_version,omitempty" json:"min_version,omitempty"`
}

// TLS versions accepted in MinVersion.
const (
	TLS12 = "1.2"
	TLS13 = "1.3"
)

// Certificate is a PEM certificate chain and its private key, both paths
// relative to the config file's directory. Both are required; they must
// load as a pair.
type Certificate struct {
	// Cert is the path of the PEM certificate chain.
	Cert string `yaml:"cert,omitempty" json:"cert,omitempty"`
	// Key is the path of the PEM private key. The path is shown by the admin
	// API; the key itself is never read into the Config.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
}

// MaxHeaderBytesLimit is the largest max_header_bytes accepted: each
// connection keeps a buffer this large while it reads a head.
const MaxHeaderBytesLimit = 1 * MiB

// Limits bound the size and pace of requests on a listener. Each must be
// positive; a zero in Go means the default, a 0 in the file is an error.
type Limits struct {
	// MaxHeaderBytes bounds request line plus headers (over: 431). Default
	// 32KiB, at most MaxHeaderBytesLimit.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes" json:"max_header_bytes"`
	// MaxURIBytes bounds the request-target (over: 414). Default 8KiB.
	MaxURIBytes ByteSize `yaml:"max_uri_bytes" json:"max_uri_bytes"`
	// MaxHeaders bounds the number of header fields (over: 431). Default 100.
	MaxHeaders int `yaml:"max_headers" json:"max_headers"`
	// MaxBodyBytes bounds a request body (over: 413). Default 64MiB.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes" json:"max_body_bytes"`
	// ReadHeaderTimeout bounds reading the request line and headers. Default 10s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout" json:"read_header_timeout"`
	// BodyReadTimeout is the longest wait between two reads of a request
	// body. Default 30s.
	BodyReadTimeout Duration `yaml:"body_read_timeout" json:"body_read_timeout"`
	// IdleTimeout closes keep-alive connections idle this long. Default 60s.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
	// MaxConnections bounds concurrent connections. Default 10000.
	MaxConnections int `yaml:"max_connections" json:"max_connections"`
}

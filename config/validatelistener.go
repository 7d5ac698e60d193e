package config

import (
	"crypto/tls"
	"fmt"
)

func (v *validator) listeners() {
	addrs := map[string]bool{}
	for i := range v.c.Listeners {
		l := &v.c.Listeners[i]
		p := index("listeners", i)
		v.name(p+".name", "listener", l.Name, nameRE, v.listen)
		switch err := checkHostPort(l.Address); {
		case l.Address == "":
			v.errorf(p+".address", "required: host:port to listen on, like 127.0.0.1:8080")
		case err != nil:
			v.errorf(p+".address", "%v", err)
		case addrs[l.Address]:
			v.errorf(p+".address", "duplicate listener address %q", l.Address)
		}
		addrs[l.Address] = true
		if l.TLS != nil {
			v.listenerTLS(p+".tls", l.TLS)
		}
		if l.TLS != nil && l.Mesh {
			v.errorf(p+".tls", "a mesh listener takes the workload's own certificate; it has no tls settings")
		}
		v.limits(p+".limits.", &l.Limits)
	}
}

func (v *validator) listenerTLS(p string, t *ListenerTLS) {
	if len(t.Certificates) == 0 {
		v.errorf(p+".certificates", "at least one certificate {cert, key} is required")
	}
	for i, c := range t.Certificates {
		v.keyPair(index(p+".certificates", i), c.Cert, c.Key, true)
	}
	v.enum(p+".min_version", t.MinVersion, TLS12, TLS13)
}

// keyPair checks that cert and key are both set (or, when optional is
// false, both empty) and load as a pair.
func (v *validator) keyPair(p, cert, key string, required bool) {
	switch {
	case cert == "" && key == "" && !required:
		return
	case cert == "":
		v.errorf(p+".cert", "required: path of a PEM certificate (with key)")
	case key == "":
		v.errorf(p+".key", "required: path of a PEM private key (with cert)")
	case v.mode == Stored:
		return // the files live on the data planes' hosts
	default:
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			v.errorf(p+".cert", "%v", fmt.Errorf("load certificate %s and key %s: %w", cert, key, err))
		}
	}
}

func (v *validator) limits(p string, l *Limits) {
	v.positive(p+"max_header_bytes", int64(l.MaxHeaderBytes), "size")
	if l.MaxHeaderBytes > MaxHeaderBytesLimit {
		v.errorf(p+"max_header_bytes", "%d is more than the %s a request head may be; use at most 1MiB", l.MaxHeaderBytes, "1MiB")
	}
	v.positive(p+"max_uri_bytes", int64(l.MaxURIBytes), "size")
	if l.MaxURIBytes > l.MaxHeaderBytes && l.MaxHeaderBytes > 0 {
		v.errorf(p+"max_uri_bytes", "%d is more than max_header_bytes (%d), which the request line counts against; use at most max_header_bytes", l.MaxURIBytes, l.MaxHeaderBytes)
	}
	v.positive(p+"max_headers", int64(l.MaxHeaders), "count")
	v.positive(p+"max_body_bytes", int64(l.MaxBodyBytes), "size")
	v.positive(p+"read_header_timeout", int64(l.ReadHeaderTimeout), "duration")
	v.positive(p+"body_read_timeout", int64(l.BodyReadTimeout), "duration")
	v.positive(p+"idle_timeout", int64(l.IdleTimeout), "duration")
	v.positive(p+"max_connections", int64(l.MaxConnections), "count")
}

package router

import (
	"bytes"
	"fmt"
	"strings"
)

// maxHost is the longest host name lower-cased on the stack; longer hosts
// (longer than DNS allows) are lower-cased on the heap.
const maxHost = 256

// hostName strips the port, the IPv6 brackets and one trailing dot from a
// Host header value: "Example.COM:80" -> "Example.COM", "[::1]:80" -> "::1".
func hostName(h []byte) []byte {
	switch {
	case len(h) > 0 && h[0] == '[':
		if i := bytes.IndexByte(h, ']'); i > 0 {
			h = h[1:i]
		}
	case bytes.Count(h, []byte{':'}) == 1:
		h = h[:bytes.IndexByte(h, ':')]
	}
	if n := len(h); n > 1 && h[n-1] == '.' {
		h = h[:n-1]
	}
	return h
}

// lowerASCII writes the ASCII lower-case form of b into buf, or into a new
// slice when buf is too small.
func lowerASCII(buf []byte, b []byte) []byte {
	if len(b) > len(buf) {
		buf = make([]byte, len(b))
	}
	buf = buf[:len(b)]
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf
}

// hostKey is a configured host in the form Compile indexes it.
type hostKey struct {
	name     string // lower case; for a wildcard, the suffix with its dot
	wildcard bool
}

// parseHost validates and normalises a configured host: lower case, no
// brackets, no trailing dot; "*.example.com" becomes the suffix
// ".example.com".
func parseHost(h string) (hostKey, error) {
	if h == "" {
		return hostKey{}, fmt.Errorf("empty host")
	}
	if strings.Contains(h[min(1, len(h)):], "*") {
		return hostKey{}, fmt.Errorf("host %q: '*' is allowed only as the first label", h)
	}
	name := strings.ToLower(h)
	wild := strings.HasPrefix(name, "*")
	if wild {
		if !strings.HasPrefix(name, "*.") || len(name) < 3 {
			return hostKey{}, fmt.Errorf("host %q: a wildcard must look like *.example.com", h)
		}
		name = name[1:]
	}
	name = strings.TrimSuffix(name, ".")
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		name = name[1 : len(name)-1]
	}
	if name == "" || name == "." || strings.ContainsAny(name, "/ \t") {
		return hostKey{}, fmt.Errorf("host %q: not a host name", h)
	}
	return hostKey{name: name, wildcard: wild}, nil
}

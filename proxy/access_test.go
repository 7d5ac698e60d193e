package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
)

func TestVerifiedPeer(t *testing.T) {
	leaf, root, other := &x509.Certificate{Raw: []byte("leaf")}, &x509.Certificate{Raw: []byte("root")}, &x509.Certificate{Raw: []byte("other")}
	callback := &tls.Config{VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error { return nil }}
	connCallback := &tls.Config{VerifyConnection: func(tls.ConnectionState) error { return nil }}
	tests := []struct {
		name string
		st   *tls.ConnectionState
		cfg  *tls.Config
		want []*x509.Certificate
	}{
		{"plaintext", nil, nil, nil},
		{"verified by Go", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf, root}, {leaf, other}}}, &tls.Config{}, []*x509.Certificate{leaf, root}},
		{"verified by VerifyPeerCertificate", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, other}}, callback, []*x509.Certificate{leaf, other}},
		{"verified by VerifyConnection", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}, connCallback, []*x509.Certificate{leaf}},
		{"callback, no certificate", &tls.ConnectionState{}, callback, nil},
		{"presented, not verified", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}, &tls.Config{ClientAuth: tls.RequireAnyClientCert}, nil},
		{"no config", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := verifiedPeer(tc.st, tc.cfg)
			if diff := cmp.Diff(names(tc.want), names(got)); diff != "" {
				t.Errorf("verifiedPeer (-want +got):\n%s", diff)
			}
		})
	}
}

// names lists the test certificates by their Raw bytes.
func names(cs []*x509.Certificate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Raw))
	}
	return out
}

// readHead parses a raw HTTP/1.1 request head.
func readHead(t testing.TB, raw string) *h1.Request {
	t.Helper()
	var req h1.Request
	if err := h1.NewReader(strings.NewReader(raw), 4096).ReadRequest(&req, h1.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	return &req
}

func TestAccessHeader(t *testing.T) {
	req := readHead(t, "GET / HTTP/1.1\r\nHost: a\r\nX-Role: admin\r\nx-role: ops\r\nX-Empty:\r\n\r\n")
	hdr := http.Header{"X-Role": {"admin", "ops"}, "X-Empty": {""}}
	type result struct {
		First  string
		Found  bool
		Values []string
	}
	tests := []struct {
		name string
		want result
	}{
		{"x-role", result{"admin", true, []string{"admin", "ops"}}},
		{"x-empty", result{"", true, []string{""}}},
		{"x-absent", result{"", false, nil}},
	}
	for _, a := range []*Access{{req: req}, {header: hdr}} {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var got result
				got.First, got.Found = a.Header(tc.name)
				got.Values = a.Values(tc.name)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("HTTP/2 %v: Header and Values(%q) (-want +got):\n%s", a.req == nil, tc.name, diff)
				}
			})
		}
	}
}

func TestMethodString(t *testing.T) {
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PURGE"} {
		b := []byte(m)
		if got := methodString(b); got != m {
			t.Errorf("methodString(%q): got %q, want %q", m, got, m)
		}
	}
	b := []byte("DELETE")
	if n := testing.AllocsPerRun(100, func() { methodString(b) }); n != 0 {
		t.Errorf("methodString(DELETE): got %v allocs, want 0", n)
	}
}

// TestAuthorizeHTTP1NoAllocs checks that the HTTP/1.1 path builds the
// Access of a keep-alive connection's requests without allocating.
func TestAuthorizeHTTP1NoAllocs(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	c := &conn{nc: c1}
	c.req = *readHead(t, "POST /orders/1?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/grpc\r\nX-Role: admin\r\n\r\n")
	var got seen
	lc := &ListenerConfig{Authorize: func(a *Access) *flow.Error {
		got = seen{Method: a.Method, Path: a.Path, GRPC: a.GRPC}
		return nil
	}}
	if fe := c.authorize(lc); fe != nil {
		t.Fatalf("authorize: got %v, want nil", fe)
	}
	if diff := cmp.Diff(seen{Method: "POST", Path: "/orders/1", GRPC: true}, got); diff != "" {
		t.Errorf("Authorize saw (-want +got):\n%s", diff)
	}
	if n := testing.AllocsPerRun(100, func() { c.authorize(lc) }); n != 0 {
		t.Errorf("authorize: got %v allocs per request, want 0", n)
	}
}

func TestAuthorizeFaultyHookRefuses(t *testing.T) {
	e := newHookEnv(t, func(lc *ListenerConfig, rec *recorder) {
		lc.Authorize = func(*Access) *flow.Error { return &flow.Error{Code: flow.CodeForbidden, Msg: "no status"} }
	})
	resp, err := e.httpClient(t, false, false).Get("http://" + e.plainAddr + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, logs := waitLogs(t, e.rec)
	if resp.StatusCode != 500 || len(logs) != 1 || logs[0].Code != "internal_error" {
		t.Errorf("got status %d and records %+v, want 500 internal_error", resp.StatusCode, logs)
	}
	if got := e.up.take(); len(got) != 0 {
		t.Errorf("upstream saw %q, want nothing", got)
	}
}

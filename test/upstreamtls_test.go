package test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/internal/echo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// testCA is a certificate authority made up for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	path string // PEM file of the CA certificate
}

// newCA creates a CA and writes its certificate into dir.
func newCA(t *testing.T, dir string) *testCA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pylon test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating the CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing the CA certificate: %v", err)
	}
	ca := &testCA{cert: cert, key: key, pool: x509.NewCertPool(), path: filepath.Join(dir, "ca.pem")}
	ca.pool.AddCert(cert)
	writePEM(t, ca.path, "CERTIFICATE", der)
	return ca
}

// issue signs a leaf certificate with common name cn for dnsNames and
// usage, writes it and its key into dir as cn.pem and cn-key.pem, and
// returns the pair loaded and the two paths.
func (ca *testCA) issue(t *testing.T, dir, cn string, dnsNames []string, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dnsNames,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("issuing a certificate for %s: %v", cn, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshaling the key of %s: %v", cn, err)
	}
	certPath, keyPath := filepath.Join(dir, cn+".pem"), filepath.Join(dir, cn+"-key.pem")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "EC PRIVATE KEY", kder)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatalf("loading the pair of %s: %v", cn, err)
	}
	return pair, certPath, keyPath
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	return key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}

// tlsEcho is the echo handler that reports how the upstream was reached:
// X-Upstream-TLS (the SNI, or "none" without TLS), X-Upstream-Proto and
// X-Client-CN (the verified client certificate's common name).
func tlsEcho(instance string) http.Handler {
	h := echo.Handler(instance)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sni, cn := "none", ""
		if r.TLS != nil {
			sni = "sni=" + r.TLS.ServerName
			if len(r.TLS.PeerCertificates) > 0 {
				cn = r.TLS.PeerCertificates[0].Subject.CommonName
			}
		}
		w.Header().Set("X-Upstream-TLS", sni)
		w.Header().Set("X-Upstream-Proto", r.Proto)
		w.Header().Set("X-Client-CN", cn)
		h.ServeHTTP(w, r)
	})
}

// startTLSHandler serves h over TLS with cfg (ALPN h2 and http/1.1 when h2
// is set, http/1.1 only otherwise) and returns the address.
func startTLSHandler(t *testing.T, h http.Handler, cfg *tls.Config, h2 bool) string {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are expected
	s.TLS = cfg.Clone()
	s.TLS.NextProtos = []string{"http/1.1"}
	if h2 {
		s.EnableHTTP2 = true
		s.TLS.NextProtos = []string{"h2", "http/1.1"}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// tlsPeers records the TLS state of the gRPC calls a server received.
type tlsPeers struct {
	mu   sync.Mutex
	seen []string // "sni=NAME cn=CN", or "plaintext"
}

func (p *tlsPeers) intercept(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	desc := "plaintext"
	if pr, ok := peer.FromContext(ctx); ok {
		if info, ok := pr.AuthInfo.(credentials.TLSInfo); ok {
			cn := ""
			if len(info.State.PeerCertificates) > 0 {
				cn = info.State.PeerCertificates[0].Subject.CommonName
			}
			desc = "sni=" + info.State.ServerName + " cn=" + cn
		}
	}
	p.mu.Lock()
	p.seen = append(p.seen, desc)
	p.mu.Unlock()
	return next(ctx, req)
}

func (p *tlsPeers) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// startGRPCTLSServer serves testService and health over TLS with cfg.
func startGRPCTLSServer(t *testing.T, cfg *tls.Config) (*tlsPeers, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	peers := &tlsPeers{}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(cfg)), grpc.UnaryInterceptor(peers.intercept),
		grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg))
	testpb.RegisterTestServiceServer(srv, &testService{canceled: make(chan string, 16)})
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return peers, ln.Addr().String()
}

const upstreamTLSConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
  - name: grpc
    address: {{listen "grpc"}}
  - name: grpcwrong
    address: {{listen "grpcwrong"}}
routes:
  - name: h1
    listeners: [web]
    match: { path: { prefix: /h1 } }
    service: h1
  - name: h2
    listeners: [web]
    match: { path: { prefix: /h2 } }
    service: h2
  - name: h1-wrong-name
    listeners: [web]
    match: { path: { prefix: /wrong/h1 } }
    service: h1-wrong-name
  - name: h2-wrong-name
    listeners: [web]
    match: { path: { prefix: /wrong/h2 } }
    service: h2-wrong-name
  - name: mtls
    listeners: [web]
    match: { path: { prefix: /mtls } }
    service: mtls
  - name: mtls-no-cert
    listeners: [web]
    match: { path: { prefix: /nocert } }
    service: mtls-no-cert
  - name: skip-verify
    listeners: [web]
    match: { path: { prefix: /skip } }
    service: skip-verify
  - name: system-roots
    listeners: [web]
    match: { path: { prefix: /roots } }
    service: system-roots
  - name: grpc
    listeners: [grpc]
    service: grpc
  - name: grpc-wrong-name
    listeners: [grpcwrong]
    service: grpc-wrong-name
services:
  - name: h1
    protocol: http1
    endpoints: [{{.H1}}]
    tls: { ca: {{.CA}}, server_name: orders.test }
  - name: h2
    protocol: h2
    endpoints: [{{.H2}}]
    tls: { ca: {{.CA}}, server_name: orders.test }
  - name: h1-wrong-name
    protocol: http1
    endpoints: [{{.H1}}]
    tls: { ca: {{.CA}}, server_name: billing.test }
    health: { outlier: { disabled: true } }
  - name: h2-wrong-name
    protocol: h2
    endpoints: [{{.H2}}]
    tls: { ca: {{.CA}}, server_name: billing.test }
    health: { outlier: { disabled: true } }
  - name: mtls
    protocol: http1
    endpoints: [{{.MTLS}}]
    tls: { ca: {{.CA}}, server_name: orders.test, cert: {{.ClientCert}}, key: {{.ClientKey}} }
  - name: mtls-no-cert
    protocol: http1
    endpoints: [{{.MTLS}}]
    tls: { ca: {{.CA}}, server_name: orders.test }
    health: { outlier: { disabled: true } }
  - name: skip-verify
    protocol: http1
    endpoints: [{{.H1}}]
    tls: { insecure_skip_verify: true }
  - name: system-roots
    protocol: h2
    endpoints: [{{.H2}}]
    tls: { server_name: orders.test }
    health: { outlier: { disabled: true } }
  - name: grpc
    protocol: grpc
    endpoints: [{{.GRPC}}]
    tls: { ca: {{.CA}}, server_name: orders.test, cert: {{.ClientCert}}, key: {{.ClientKey}} }
  - name: grpc-wrong-name
    protocol: grpc
    endpoints: [{{.GRPC}}]
    tls: { ca: {{.CA}}, server_name: billing.test }
    health: { outlier: { disabled: true } }
`

func TestUpstreamTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir)
	server, _, _ := ca.issue(t, dir, "orders.test", []string{"orders.test"}, x509.ExtKeyUsageServerAuth)
	_, clientCert, clientKey := ca.issue(t, dir, "pylon-client", nil, x509.ExtKeyUsageClientAuth)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{server}}
	mutualTLS := &tls.Config{Certificates: []tls.Certificate{server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.pool}
	peers, grpcAddr := startGRPCTLSServer(t, mutualTLS)
	g := startGateway(t, upstreamTLSConfig, map[string]string{
		"CA":         ca.path,
		"ClientCert": clientCert,
		"ClientKey":  clientKey,
		"H1":         startTLSHandler(t, tlsEcho("h1"), serverTLS, false),
		"H2":         startTLSHandler(t, tlsEcho("h2"), serverTLS, true),
		"MTLS":       startTLSHandler(t, tlsEcho("mtls"), mutualTLS, false),
		"GRPC":       grpcAddr,
	})
	c := newClient(t)

	t.Run("http", func(t *testing.T) {
		tests := []struct {
			path                     string
			instance, sni, proto, cn string
		}{
			{path: "/h1/a", instance: "h1", sni: "sni=orders.test", proto: "HTTP/1.1"},
			{path: "/h2/a", instance: "h2", sni: "sni=orders.test", proto: "HTTP/2.0"},
			{path: "/mtls/a", instance: "mtls", sni: "sni=orders.test", proto: "HTTP/1.1", cn: "pylon-client"},
			// No server_name: the endpoint host is an IP, which is not sent
			// as SNI.
			{path: "/skip/a", instance: "h1", sni: "sni=", proto: "HTTP/1.1"},
		}
		for _, tt := range tests {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req, err := http.NewRequestWithContext(t.Context(), method, g.url("web")+tt.path, strings.NewReader("hello over tls"))
				if err != nil {
					t.Fatalf("building %s %s: %v", method, tt.path, err)
				}
				resp, body := do(t, c, req)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("%s %s: got status %d, want 200; body %s", method, tt.path, resp.StatusCode, body)
					continue
				}
				rep := decodeEcho(t, body)
				got := []string{rep.Instance, rep.Body, resp.Header.Get("X-Upstream-TLS"), resp.Header.Get("X-Upstream-Proto"), resp.Header.Get("X-Client-CN")}
				want := []string{tt.instance, "hello over tls", tt.sni, tt.proto, tt.cn}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s %s [instance, body seen upstream, upstream TLS, upstream proto, client CN] (-want +got):\n%s", method, tt.path, diff)
				}
			}
		}
	})

	t.Run("a certificate that does not verify is a connect failure", func(t *testing.T) {
		for _, path := range []string{"/wrong/h1/a", "/wrong/h2/a", "/roots/a"} {
			resp, body := get(t, c, g.url("web")+path)
			got := []any{resp.StatusCode, errorCode(t, body)}
			if diff := cmp.Diff([]any{http.StatusBadGateway, "upstream_connect_failed"}, got); diff != "" {
				t.Errorf("GET %s [status, code] (-want +got):\n%s", path, diff)
			}
		}
	})

	t.Run("no client certificate for an upstream that requires one", func(t *testing.T) {
		resp, body := get(t, c, g.url("web")+"/nocert/a")
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("GET /nocert/a: got status %d, want 502; body %s", resp.StatusCode, body)
		}
		// TLS 1.3 servers refuse a missing client certificate after the
		// handshake, with an alert: still a failure to connect.
		if code := errorCode(t, body); code != "upstream_connect_failed" {
			t.Errorf("GET /nocert/a: got code %q, want upstream_connect_failed", code)
		}
	})

	t.Run("grpc", func(t *testing.T) {
		client := testpb.NewTestServiceClient(dialGRPC(t, g.addr("grpc")))
		for range 3 {
			resp, err := client.UnaryCall(testContext(t, 10*time.Second), &testpb.SimpleRequest{ResponseSize: 4})
			if err != nil {
				t.Fatalf("UnaryCall over upstream TLS: %v", err)
			}
			if got := string(resp.GetPayload().GetBody()); got != "rrrr" {
				t.Errorf("UnaryCall body: got %q, want %q", got, "rrrr")
			}
		}
		want := []string{"sni=orders.test cn=pylon-client", "sni=orders.test cn=pylon-client", "sni=orders.test cn=pylon-client"}
		if diff := cmp.Diff(want, peers.list()); diff != "" {
			t.Errorf("TLS state seen by the gRPC server (-want +got):\n%s", diff)
		}

		params := []*testpb.ResponseParameters{{Size: 3}, {Size: 70000}, {Size: 1}}
		stream, err := client.StreamingOutputCall(testContext(t, 10*time.Second), &testpb.StreamingOutputCallRequest{ResponseParameters: params})
		if err != nil {
			t.Fatalf("StreamingOutputCall over upstream TLS: %v", err)
		}
		var sizes []int
		for {
			m, err := stream.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Recv: %v", err)
			}
			sizes = append(sizes, len(m.GetPayload().GetBody()))
		}
		if diff := cmp.Diff([]int{3, 70000, 1}, sizes); diff != "" {
			t.Errorf("streamed message sizes over upstream TLS (-want +got):\n%s", diff)
		}
	})

	t.Run("grpc with a wrong server_name is UNAVAILABLE", func(t *testing.T) {
		client := testpb.NewTestServiceClient(dialGRPC(t, g.addr("grpcwrong")))
		_, err := client.UnaryCall(testContext(t, 10*time.Second), &testpb.SimpleRequest{ResponseSize: 4})
		if got := status.Code(err); got != codes.Unavailable {
			t.Errorf("UnaryCall: got %v (%v), want %v", got, err, codes.Unavailable)
		}
	})
}

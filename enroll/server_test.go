package enroll

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/internal/grpcjson"
)

// rawSign calls Sign on addr as a client presenting cert (if not nil),
// without checking the server: the server side is under test.
func rawSign(t *testing.T, addr string, cert *tls.Certificate, req *SignRequest) (*SignResponse, error) {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp := new(SignResponse)
	err = conn.Invoke(t.Context(), signMethod, req, resp, grpcjson.CallOption)
	return resp, err
}

func csrFor(t *testing.T, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(nil, tmpl, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestServerSign(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	cart := spiffeid.RequireFromString("spiffe://example.org/ns/shop/svc/cart")
	web := spiffeid.RequireFromString("spiffe://example.org/ns/shop/svc/web")
	valid := e.ca.cert(t, web.Path(), now.Add(-time.Minute), now.Add(time.Hour), false)
	expired := e.ca.cert(t, web.Path(), now.Add(-2*time.Hour), now.Add(-time.Hour), false)
	foreign := newTestCA(t, "example.org", e.clock.Now).cert(t, web.Path(), now.Add(-time.Minute), now.Add(time.Hour), false)
	plain := csrFor(t, &x509.CertificateRequest{})
	asCart := csrFor(t, &x509.CertificateRequest{URIs: []*url.URL{cart.URL()}})
	asWeb := csrFor(t, &x509.CertificateRequest{URIs: []*url.URL{web.URL()}})
	withDNS := csrFor(t, &x509.CertificateRequest{DNSNames: []string{"cart.example.org"}})
	badSig := append([]byte(nil), plain...)
	badSig[len(badSig)-1] ^= 0xff

	tests := []struct {
		name     string
		cert     *tls.Certificate
		req      SignRequest
		wantCode codes.Code
		wantID   spiffeid.ID
	}{
		{name: "join", req: SignRequest{CSR: plain, Token: goodSecret}, wantID: cart},
		{name: "join naming its own ID", req: SignRequest{CSR: asCart, Token: goodSecret}, wantID: cart},
		{name: "join with a bad token", req: SignRequest{CSR: plain, Token: badSecret}, wantCode: codes.Unauthenticated},
		{name: "no token and no certificate", req: SignRequest{CSR: plain}, wantCode: codes.Unauthenticated},
		{name: "join asking for another ID", req: SignRequest{CSR: asWeb, Token: goodSecret}, wantCode: codes.PermissionDenied},
		{name: "join asking for a DNS name", req: SignRequest{CSR: withDNS, Token: goodSecret}, wantCode: codes.PermissionDenied},
		{name: "malformed csr", req: SignRequest{CSR: []byte("not a csr"), Token: goodSecret}, wantCode: codes.InvalidArgument},
		{name: "csr with a bad signature", req: SignRequest{CSR: badSig, Token: goodSecret}, wantCode: codes.InvalidArgument},
		{name: "empty csr", req: SignRequest{Token: goodSecret}, wantCode: codes.InvalidArgument},
		{name: "renewal", cert: valid, req: SignRequest{CSR: asWeb}, wantID: web},
		{name: "renewal wins over a token", cert: valid, req: SignRequest{CSR: plain, Token: goodSecret}, wantID: web},
		{name: "renewal asking for another ID", cert: valid, req: SignRequest{CSR: asCart}, wantCode: codes.PermissionDenied},
		{name: "renewal with an expired certificate", cert: expired, req: SignRequest{CSR: plain}, wantCode: codes.Unauthenticated},
		{name: "renewal with a foreign certificate", cert: foreign, req: SignRequest{CSR: plain}, wantCode: codes.Unauthenticated},
		{name: "expired certificate and a token", cert: expired, req: SignRequest{CSR: plain, Token: goodSecret}, wantID: cart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := rawSign(t, e.addr, tc.cert, &tc.req)
			if got := status.Code(err); got != tc.wantCode {
				t.Fatalf("code %v, want %v (%v)", got, tc.wantCode, err)
			}
			if err != nil {
				return
			}
			chain, err := parseCerts(resp.Chain, "issued")
			if err != nil {
				t.Fatal(err)
			}
			id, err := e.ca.Verify(chain)
			if err != nil {
				t.Fatalf("issued chain does not verify: %v", err)
			}
			if id != tc.wantID {
				t.Errorf("issued ID %v, want %v", id, tc.wantID)
			}
			if diff := cmp.Diff([][]byte{e.ca.root.Raw}, resp.Roots); diff != "" {
				t.Errorf("roots (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPeerID(t *testing.T) {
	c := newClock()
	ca := newTestCA(t, "example.org", c.Now)
	now := c.Now()
	web := spiffeid.RequireFromString("spiffe://example.org/ns/shop/svc/web")
	good := ca.cert(t, web.Path(), now.Add(-time.Minute), now.Add(time.Hour), false)
	expired := ca.cert(t, web.Path(), now.Add(-2*time.Hour), now.Add(-time.Hour), false)
	tlsPeer := func(certs ...*x509.Certificate) context.Context {
		return peer.NewContext(context.Background(), &peer.Peer{
			AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{PeerCertificates: certs}},
		})
	}
	tests := []struct {
		name    string
		ctx     context.Context
		want    spiffeid.ID
		wantErr bool
	}{
		{name: "verified", ctx: tlsPeer(good.Leaf, ca.inter), want: web},
		{name: "no intermediate", ctx: tlsPeer(good.Leaf), wantErr: true},
		{name: "expired", ctx: tlsPeer(expired.Leaf, ca.inter), wantErr: true},
		{name: "no certificate", ctx: tlsPeer(), wantErr: true},
		{name: "no peer", ctx: context.Background(), wantErr: true},
		{name: "not TLS", ctx: peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{}}), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PeerID(tc.ctx, ca)
			if (err != nil) != tc.wantErr {
				t.Fatalf("PeerID error %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("PeerID = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestServerTLS(t *testing.T) {
	ca := newTestCA(t, "example.org", time.Now)
	certs := []*tls.Certificate{ca.servingCert(t, "/control"), ca.servingCert(t, "/control")}
	n := 0
	cfg := ServerTLS(func() (*tls.Certificate, error) {
		c := certs[n%len(certs)]
		n++
		return c, nil
	})
	if diff := cmp.Diff([]string{"h2"}, cfg.NextProtos); diff != "" {
		t.Errorf("NextProtos (-want +got):\n%s", diff)
	}
	if cfg.ClientAuth != tls.RequestClientCert {
		t.Errorf("ClientAuth = %v, want RequestClientCert", cfg.ClientAuth)
	}
	// Each handshake asks for the certificate again, so it can rotate.
	for i, want := range certs {
		got, err := cfg.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("handshake %d served certificate %p, want %p", i, got, want)
		}
	}
}

// recorder keeps the records logged through it.
type recorder struct {
	mu      sync.Mutex
	records []map[string]string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	m := map[string]string{"msg": rec.Message, "level": rec.Level.String()}
	rec.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, m)
	return nil
}

// TestServerLogs checks the issuance and refusal records, and that the
// service runs behind interceptors.
func TestServerLogs(t *testing.T) {
	c := newClock()
	ca := newTestCA(t, "example.org", c.Now)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cert := ca.servingCert(t, "/control")
	var methods []string // what a unary interceptor sees, in handler goroutines
	var mu sync.Mutex
	icpt := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		mu.Lock()
		methods = append(methods, info.FullMethod)
		mu.Unlock()
		return h(ctx, req)
	}
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(ServerTLS(func() (*tls.Certificate, error) { return cert, nil }))),
		grpc.UnaryInterceptor(icpt))
	rec := new(recorder)
	NewServer(ca, new(fakeTokens), ServerOptions{Logger: slog.New(rec)}).Register(g)
	go g.Serve(lis)
	defer g.Stop()

	csr := csrFor(t, &x509.CertificateRequest{})
	resp, err := rawSign(t, lis.Addr().String(), nil, &SignRequest{CSR: csr, Token: goodSecret})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	leaf, err := x509.ParseCertificate(resp.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rawSign(t, lis.Addr().String(), nil, &SignRequest{CSR: csr, Token: badSecret}); err == nil {
		t.Fatal("Sign with a bad token succeeded")
	}
	g.Stop()

	mu.Lock()
	if diff := cmp.Diff([]string{"/pylon.control.v1.Identity/Sign", "/pylon.control.v1.Identity/Sign"}, methods); diff != "" {
		t.Errorf("methods the interceptor saw (-want +got):\n%s", diff)
	}
	mu.Unlock()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var got []map[string]string
	for _, r := range rec.records {
		got = append(got, map[string]string{"msg": r["msg"], "level": r["level"], "id": r["id"], "serial": r["serial"],
			"not_after": r["not_after"], "via": r["via"], "code": r["code"]})
	}
	want := []map[string]string{
		{"msg": "issued certificate", "level": "INFO", "id": "spiffe://example.org/ns/shop/svc/cart",
			"serial": leaf.SerialNumber.Text(16), "not_after": leaf.NotAfter.String(), "via": "join", "code": ""},
		{"msg": "refused certificate request", "level": "WARN", "id": "", "serial": "", "not_after": "", "via": "",
			"code": "Unauthenticated"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log records (-want +got):\n%s", diff)
	}
}

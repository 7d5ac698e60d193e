package enroll

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/pylon-mesh/pylon/internal/grpcjson"
)

// attemptTimeout bounds one Sign call, so a replica that hangs does not
// stall the retry loop.
const attemptTimeout = 15 * time.Second

// newKeyAndCSR makes a fresh P-256 key and a CSR for it. A non-zero id is
// put in the CSR's URI SAN.
func newKeyAndCSR(id spiffeid.ID) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	var tmpl x509.CertificateRequest
	if !id.IsZero() {
		tmpl.URIs = []*url.URL{id.URL()}
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create csr: %w", err)
	}
	return key, csr, nil
}

// peerCheck records the outcome of the server verification on a
// connection's handshakes: why it refused the server, because gRPC reports
// a failed handshake only as Unavailable, and the trust domain of a
// verified one.
type peerCheck struct {
	mu  sync.Mutex
	err error
	td  spiffeid.TrustDomain
}

// wrap returns a tls.Config.VerifyConnection that runs verify and records
// its outcome.
func (c *peerCheck) wrap(verify func(tls.ConnectionState) (spiffeid.TrustDomain, error)) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		td, err := verify(cs)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.err = err
		} else {
			c.td = td
		}
		return err
	}
}

// result returns the last verification failure, if any.
func (c *peerCheck) result() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// trustDomain returns the trust domain of the last verified server.
func (c *peerCheck) trustDomain() spiffeid.TrustDomain {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.td
}

// callSign sends req to addr over a new connection made with cfg, which
// check watches, and returns the response.
func callSign(ctx context.Context, addr string, cfg *tls.Config, check *peerCheck, req *SignRequest) (*SignResponse, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	resp := new(SignResponse)
	if err := conn.Invoke(ctx, signMethod, req, resp, grpcjson.CallOption); err != nil {
		if verr := check.result(); verr != nil {
			return nil, fmt.Errorf("authenticate control plane %s: %w", addr, verr)
		}
		return nil, fmt.Errorf("sign at %s: %w", addr, err)
	}
	return resp, nil
}

// install checks a Sign response for key and makes it current: the chain
// must verify against the returned roots and be for key, and accept must
// approve its ID.
func (a *Agent) install(resp *SignResponse, key *ecdsa.PrivateKey, accept func(spiffeid.ID) error) (*svid, error) {
	chain, err := parseCerts(resp.Chain, "issued")
	if err != nil {
		return nil, err
	}
	roots, err := parseCerts(resp.Roots, "root")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	id, err := verifySVID(chain, pool, a.now())
	if err != nil {
		return nil, fmt.Errorf("issued certificate: %w", err)
	}
	if !key.PublicKey.Equal(chain[0].PublicKey) {
		return nil, errors.New("issued certificate is not for the key the csr was made with")
	}
	if err := accept(id); err != nil {
		return nil, err
	}
	s := &svid{id: id, cert: &tls.Certificate{Certificate: resp.Chain, PrivateKey: key, Leaf: chain[0]}, received: a.now()}
	a.SetRoots(roots)
	a.cur.Store(s)
	return s, nil
}

// mtlsConfig authenticates to the control plane with the current
// certificate and verifies it against the current roots; check records
// the outcome.
//
// InsecureSkipVerify only turns off crypto/tls's own verification, which
// checks DNS names against a fixed pool; VerifyConnection replaces it and
// runs during the handshake, before any request is sent, and a failure
// aborts the handshake. It verifies the chain against the trust bundle
// read at handshake time (so SetRoots applies to new connections) and
// requires the control plane's SPIFFE ID.
func (a *Agent) mtlsConfig(check *peerCheck) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		VerifyConnection:   check.wrap(a.verifyControl),
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return a.Certificate()
		},
	}
}

// verifyControl checks that the server is a control plane of our trust
// domain, by the current trust bundle.
func (a *Agent) verifyControl(cs tls.ConnectionState) (spiffeid.TrustDomain, error) {
	b, s := a.roots.Load(), a.cur.Load()
	if b == nil || s == nil {
		return spiffeid.TrustDomain{}, errNotEnrolled
	}
	id, err := verifySVID(cs.PeerCertificates, b.pool, a.now())
	if err != nil {
		return spiffeid.TrustDomain{}, fmt.Errorf("control plane certificate: %w", err)
	}
	td := s.id.TrustDomain()
	if id.TrustDomain() != td || id.Path() != controlPath {
		return spiffeid.TrustDomain{}, fmt.Errorf("control plane certificate is for %s, want %s%s", id, td.IDString(), controlPath)
	}
	return td, nil
}

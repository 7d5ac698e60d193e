package enroll

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// Signer is the certificate authority the Server issues from. Its methods
// are called from gRPC handler goroutines concurrently and must not block
// for long.
type Signer interface {
	// Sign checks the DER CSR's signature and issues a certificate for id,
	// returning the leaf then its intermediates as DER. When the CSR asks
	// for another identity the error wraps the CA's identity-mismatch
	// error. The Server has already refused such CSRs by then, so any
	// error from Sign is reported to the client as Internal.
	Sign(csrDER []byte, id spiffeid.ID) ([][]byte, error)
	// Roots returns every trusted root, current first.
	Roots() []*x509.Certificate
	// TrustDomain returns the domain workload IDs are issued in.
	TrustDomain() spiffeid.TrustDomain
	// Verify verifies a peer's chain (leaf first) against the trusted
	// roots at the current time and returns the leaf's SPIFFE ID. Expired
	// and foreign chains fail.
	Verify(chain []*x509.Certificate) (spiffeid.ID, error)
}

// Tokens redeems join tokens. RedeemJoin is called concurrently from gRPC
// handler goroutines; it consumes one use of the token and returns the
// namespace and service the token enrolls. Any error other than the
// context's refuses the request as Unauthenticated.
type Tokens interface {
	RedeemJoin(ctx context.Context, token string) (namespace, service string, err error)
}

// ServerOptions configures a Server.
type ServerOptions struct {
	// Logger receives a record per issued or refused certificate; nil
	// means slog.Default().
	Logger *slog.Logger
}

// Server implements the pylon.control.v1.Identity service. It is safe for
// concurrent use.
type Server struct {
	signer Signer
	tokens Tokens
	log    *slog.Logger
}

// NewServer returns a Server that issues certificates from s to workloads
// authenticated by their current certificate or by a join token from t.
func NewServer(s Signer, t Tokens, opts ServerOptions) *Server {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{signer: s, tokens: t, log: log}
}

// Register adds the service to g. g must serve TLS (see ServerTLS) for
// renewals to authenticate.
func (s *Server) Register(g *grpc.Server) {
	g.RegisterService(&serviceDesc, s)
}

// sign serves Sign and logs its outcome once.
func (s *Server) sign(ctx context.Context, req *SignRequest) (*SignResponse, error) {
	resp, err := s.issue(ctx, req)
	if err != nil {
		s.log.WarnContext(ctx, "refused certificate request",
			"peer", peerAddr(ctx), "code", status.Code(err).String(), "err", err)
	}
	return resp, err
}

func (s *Server) issue(ctx context.Context, req *SignRequest) (*SignResponse, error) {
	csr, err := parseCSR(req.CSR)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	id, via, err := s.authenticate(ctx, req.Token)
	if err != nil {
		return nil, err
	}
	if err := checkCSRIdentity(csr, id); err != nil {
		return nil, status.Errorf(codes.PermissionDenied, "%s may only ask for its own identity: %v", id, err)
	}
	chain, err := s.signer.Sign(req.CSR, id)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "sign certificate for %s: %v", id, err)
	}
	if len(chain) == 0 {
		return nil, status.Errorf(codes.Internal, "sign certificate for %s: the CA returned no certificate", id)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, status.Errorf(codes.Internal, "parse issued certificate for %s: %v", id, err)
	}
	s.log.InfoContext(ctx, "issued certificate", "id", id.String(), "serial", leaf.SerialNumber.Text(16),
		"not_after", leaf.NotAfter, "via", via, "peer", peerAddr(ctx))
	return &SignResponse{Chain: chain, Roots: rawCerts(s.signer.Roots())}, nil
}

// authenticate returns the identity a request may be issued and how it
// was established: "renewal" by a verified client certificate, "join" by a
// join token. Its errors are gRPC statuses.
func (s *Server) authenticate(ctx context.Context, token string) (spiffeid.ID, string, error) {
	id, certErr := PeerID(ctx, s.signer)
	if certErr == nil {
		return id, "renewal", nil
	}
	if token == "" {
		return spiffeid.ID{}, "", status.Errorf(codes.Unauthenticated, "no join token and no valid client certificate: %v", certErr)
	}
	ns, svc, err := s.tokens.RedeemJoin(ctx, token)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return spiffeid.ID{}, "", status.FromContextError(ctxErr).Err()
	}
	if err != nil {
		return spiffeid.ID{}, "", status.Errorf(codes.Unauthenticated, "join token refused: %v", err)
	}
	id, err = spiffeid.FromSegments(s.signer.TrustDomain(), "ns", ns, "svc", svc)
	if err != nil {
		return spiffeid.ID{}, "", status.Errorf(codes.Internal, "join token names namespace %q service %q: %v", ns, svc, err)
	}
	return id, "join", nil
}

// maxCSR bounds the CSR a client may send; a P-256 or RSA-4096 CSR is far
// smaller.
const maxCSR = 16 << 10

// parseCSR parses a DER CSR and checks its self-signature.
func parseCSR(der []byte) (*x509.CertificateRequest, error) {
	if len(der) == 0 {
		return nil, errors.New("empty csr")
	}
	if len(der) > maxCSR {
		return nil, fmt.Errorf("csr is %d bytes, more than %d", len(der), maxCSR)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("parse csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("check csr signature: %w", err)
	}
	return csr, nil
}

// checkCSRIdentity refuses a CSR that names anything but id: its URI SANs
// must be empty or exactly [id], and it may carry no other SANs.
func checkCSRIdentity(csr *x509.CertificateRequest, id spiffeid.ID) error {
	if n := len(csr.DNSNames) + len(csr.IPAddresses) + len(csr.EmailAddresses); n > 0 {
		return fmt.Errorf("csr asks for %d DNS, IP or email names", n)
	}
	switch {
	case len(csr.URIs) > 1:
		return fmt.Errorf("csr asks for %d URIs", len(csr.URIs))
	case len(csr.URIs) == 1 && csr.URIs[0].String() != id.String():
		return fmt.Errorf("csr asks for %q", csr.URIs[0].String())
	}
	return nil
}

func rawCerts(certs []*x509.Certificate) [][]byte {
	out := make([][]byte, len(certs))
	for i, c := range certs {
		out[i] = c.Raw
	}
	return out
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return ""
}

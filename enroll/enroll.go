package enroll

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Enroll obtains the workload's first certificate with the join token. It
// tries the control plane addresses in turn, with backoff, until one
// signs or ctx ends. A refused token or CSR (Unauthenticated,
// PermissionDenied, InvalidArgument) and a control plane that does not
// match the token's pin end it at once: retrying cannot help.
func (a *Agent) Enroll(ctx context.Context) error {
	var last error // of the last attempt that ctx did not cut short
	for n := 0; ; n++ {
		addr := a.nextAddr()
		err := a.enrollOnce(ctx, addr)
		if err == nil {
			return nil
		}
		if final(err) {
			return fmt.Errorf("enroll: %w", err)
		}
		if ctx.Err() == nil {
			last = err
			a.log.WarnContext(ctx, "enroll failed, will retry", "addr", addr, "err", err)
			if sleep(ctx, a.retry.after(n)) == nil {
				continue
			}
		}
		if last == nil {
			return fmt.Errorf("enroll: %w", ctx.Err())
		}
		return fmt.Errorf("enroll: %w (last attempt: %w)", ctx.Err(), last)
	}
}

// final reports whether an enrollment error is not worth retrying.
func final(err error) bool {
	if errors.Is(err, errPinMismatch) {
		return true
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument:
		return true
	}
	return false
}

// enrollOnce asks addr for a certificate with the join token.
func (a *Agent) enrollOnce(ctx context.Context, addr string) error {
	key, csr, err := newKeyAndCSR(spiffeid.ID{})
	if err != nil {
		return err
	}
	check := new(peerCheck)
	resp, err := callSign(ctx, addr, a.pinnedConfig(check), check, &SignRequest{CSR: csr, Token: a.join.secret})
	if err != nil {
		return err
	}
	td := check.trustDomain()
	s, err := a.install(resp, key, func(id spiffeid.ID) error {
		if !id.MemberOf(td) {
			return fmt.Errorf("issued certificate is for %s, outside the control plane's trust domain %s", id, td)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("enroll at %s: %w", addr, err)
	}
	a.log.InfoContext(ctx, "enrolled", "id", s.id.String(), "not_after", s.cert.Leaf.NotAfter,
		"addr", addr, "join_token", a.join.String())
	return nil
}

// pinnedConfig authenticates a control plane by the join token's pin, for
// first contact when the workload has no trust bundle. The connection
// carries no client certificate, and check records the trust domain of
// the verified control plane.
//
// InsecureSkipVerify only turns off crypto/tls's own verification, which
// needs a root pool and a DNS name we do not have; VerifyConnection
// replaces it and runs during the handshake, before gRPC sends the
// request, so the join token never reaches a server that fails it: the
// chain must end in the pinned root and verify up to it, and the leaf
// must be spiffe://<td>/control.
func (a *Agent) pinnedConfig(check *peerCheck) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true,
		VerifyConnection: check.wrap(func(cs tls.ConnectionState) (spiffeid.TrustDomain, error) {
			return verifyPinned(cs.PeerCertificates, a.join.pin, a.now())
		}),
	}
}

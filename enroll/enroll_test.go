package enroll

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestEnroll(t *testing.T) {
	e := newEnv(t)
	a := e.agent(t, goodSecret)
	var logs bytes.Buffer
	a.log = slog.New(slog.NewTextHandler(&logs, nil))
	if err := a.Enroll(t.Context()); err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if _, secret, _ := strings.Cut(goodSecret, "."); strings.Contains(logs.String(), secret) {
		t.Errorf("the agent logged the join token's secret:\n%s", logs.String())
	}

	want := spiffeid.RequireFromString("spiffe://example.org/ns/shop/svc/cart")
	if got := a.ID(); got != want {
		t.Errorf("ID() = %v, want %v", got, want)
	}
	cert, err := a.Certificate()
	if err != nil {
		t.Fatalf("Certificate: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(e.ca.root)
	inter := x509.NewCertPool()
	inter.AddCert(e.ca.inter)
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		t.Errorf("issued leaf does not chain to the root: %v", err)
	}
	if diff := cmp.Diff([][]byte{cert.Leaf.Raw, e.ca.inter.Raw}, cert.Certificate); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]byte{e.ca.root.Raw}, rawCerts(a.Roots())); diff != "" {
		t.Errorf("Roots() (-want +got):\n%s", diff)
	}
	if got, want := a.NotAfter(), cert.Leaf.NotAfter; !got.Equal(want) {
		t.Errorf("NotAfter() = %v, want %v", got, want)
	}
	if diff := cmp.Diff([]string{goodSecret}, e.tokens.reset()); diff != "" {
		t.Errorf("tokens the server saw (-want +got):\n%s", diff)
	}
}

func TestEnrollRefused(t *testing.T) {
	e := newEnv(t)
	other := newTestCA(t, "example.org", e.clock.Now)
	notControl := startServer(t, e.ca, e.tokens, e.ca.servingCert(t, "/ns/shop/svc/cart"))
	tests := []struct {
		name      string
		addr      string
		token     string
		wantCode  codes.Code
		wantPin   bool
		wantErr   string
		wantCalls int
	}{
		{name: "wrong pin", addr: e.addr, token: goodSecret + "." + other.pin(), wantPin: true},
		{name: "bad token", addr: e.addr, token: badSecret + "." + e.ca.pin(), wantCode: codes.Unauthenticated, wantCalls: 1},
		{name: "server is not the control plane", addr: notControl, token: goodSecret + "." + e.ca.pin(),
			wantErr: "want path /control"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.tokens.reset()
			a, err := NewAgent(AgentOptions{Addrs: []string{tc.addr}, JoinToken: tc.token, Logger: testLogger(t), Now: e.clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			a.retry = backoff{min: time.Millisecond, max: 10 * time.Millisecond}
			// A refusal must end Enroll at once; the timeout only ends the
			// retries of the last case.
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			err = a.Enroll(ctx)
			if err == nil {
				t.Fatal("Enroll succeeded, want an error")
			}
			if tc.wantCode != codes.OK || tc.wantPin {
				if ctx.Err() != nil {
					t.Errorf("Enroll retried until the deadline: %v", err)
				}
			}
			if got := status.Code(err); tc.wantCode != codes.OK && got != tc.wantCode {
				t.Errorf("code %v, want %v (%v)", got, tc.wantCode, err)
			}
			if got := errors.Is(err, errPinMismatch); got != tc.wantPin {
				t.Errorf("pin mismatch %v, want %v (%v)", got, tc.wantPin, err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tc.wantErr)
			}
			if got := e.tokens.calls(); got != tc.wantCalls {
				t.Errorf("server saw %d tokens, want %d", got, tc.wantCalls)
			}
			if _, err := a.Certificate(); err == nil {
				t.Error("Certificate() after a failed Enroll: got no error")
			}
		})
	}
}

// BenchmarkEnroll measures a first contact over loopback: key, CSR, pinned
// TLS handshake, token redemption and signing.
func BenchmarkEnroll(b *testing.B) {
	e := newEnv(b)
	a := e.agent(b, goodSecret)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Enroll(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func TestEnrollFailsOver(t *testing.T) {
	e := newEnv(t)
	a := e.agent(t, goodSecret)
	a.addrs = []string{deadAddr(t), e.addr}
	if err := a.Enroll(t.Context()); err != nil {
		t.Fatalf("Enroll with the first replica down: %v", err)
	}
	if got := e.tokens.calls(); got != 1 {
		t.Errorf("server saw %d tokens, want 1", got)
	}
}

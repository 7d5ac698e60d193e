package enroll

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func TestDial(t *testing.T) {
	e := newEnv(t)
	foreign := newTestCA(t, "example.org", e.clock.Now)
	tests := []struct {
		name    string
		addr    string
		wantErr string
	}{
		{name: "control plane", addr: e.addr},
		{name: "not the control plane", addr: startServer(t, e.ca, e.tokens, e.ca.servingCert(t, "/ns/shop/svc/web")),
			wantErr: "want spiffe://example.org/control"},
		{name: "another CA", addr: startServer(t, foreign, e.tokens, foreign.servingCert(t, "/control")),
			wantErr: "certificate signed by unknown authority"},
		{name: "nothing listening", addr: deadAddr(t), wantErr: "connection failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := e.enrolled(t)
			a.addrs = []string{tc.addr}
			conn, err := a.Dial(t.Context())
			if tc.wantErr != "" {
				if err == nil {
					conn.Close()
					t.Fatalf("Dial succeeded, want error containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Dial error %q, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer conn.Close()
			// The server identifies the caller by the agent's certificate:
			// a renewal over the conn is issued for the agent's ID.
			_, csr, err := newKeyAndCSR(spiffeid.ID{})
			if err != nil {
				t.Fatal(err)
			}
			resp := new(SignResponse)
			if err := conn.Invoke(t.Context(), signMethod, &SignRequest{CSR: csr}, resp); err != nil {
				t.Fatalf("Sign over the dialled conn: %v", err)
			}
			leaf, err := x509.ParseCertificate(resp.Chain[0])
			if err != nil {
				t.Fatal(err)
			}
			if got := leaf.URIs[0].String(); got != a.ID().String() {
				t.Errorf("server saw the caller as %s, want %s", got, a.ID())
			}
		})
	}
}

func TestDialRoundRobin(t *testing.T) {
	e := newEnv(t)
	second := startServer(t, e.ca, e.tokens, e.ca.servingCert(t, "/control"))
	a := e.enrolled(t)
	a.addrs = []string{e.addr, second}
	a.next.Store(0)
	var got []string
	for range 3 {
		conn, err := a.Dial(t.Context())
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		got = append(got, conn.Target())
		conn.Close()
	}
	if diff := cmp.Diff([]string{e.addr, second, e.addr}, got); diff != "" {
		t.Errorf("dialled addresses (-want +got):\n%s", diff)
	}
}

func TestDialNotEnrolled(t *testing.T) {
	e := newEnv(t)
	a := e.agent(t, goodSecret)
	if conn, err := a.Dial(t.Context()); err == nil {
		conn.Close()
		t.Fatal("Dial before Enroll succeeded, want an error")
	}
}

package ca

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func TestVerify(t *testing.T) {
	clock := newFakeClock()
	a := openCA(t, newStore(t), Options{KeyFile: keyFile(t), Now: clock.Now})
	foreign := openCA(t, newStore(t), Options{KeyFile: keyFile(t), Now: clock.Now})
	otherTD := openCA(t, newStore(t), Options{KeyFile: keyFile(t), Now: clock.Now, TrustDomain: "other.example"})
	good := issue(t, a, web)
	tests := []struct {
		name    string
		chain   []*x509.Certificate
		advance time.Duration
		wantErr string
	}{
		{"valid", good, 0, ""},
		{"valid just before expiry", good, 12*time.Hour - time.Second, ""},
		{"expired", good, 12*time.Hour + time.Second, "expired"},
		{"from a foreign ca", issue(t, foreign, web), 0, "unknown authority"},
		{"from another trust domain", issue(t, otherTD, spiffeid.RequireFromString("spiffe://other.example/ns/a/svc/b")), 0, `not in trust domain "pylon.local"`},
		{"without its intermediate", good[:1], 0, "unknown authority"},
		{"a ca certificate", a.Roots()[:1], 0, "leaf is a CA"},
		{"empty", nil, 0, "empty certificate chain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			defer clock.Advance(-tc.advance)
			got := verifyErr(a, tc.chain)
			if tc.wantErr == "" || got == "" {
				if diff := cmp.Diff(tc.wantErr, got); diff != "" {
					t.Fatalf("Verify error (-want +got):\n%s", diff)
				}
				return
			}
			if !strings.Contains(got, tc.wantErr) {
				t.Errorf("Verify: got error %q, want one containing %q", got, tc.wantErr)
			}
		})
	}
}

func TestVerifyPin(t *testing.T) {
	a := openCA(t, newStore(t), Options{KeyFile: keyFile(t)})
	b := openCA(t, newStore(t), Options{KeyFile: keyFile(t)})
	root := a.Roots()[0]
	tests := []struct {
		name string
		root *x509.Certificate
		pin  string
		want bool
	}{
		{"own pin", root, a.Pin(), true},
		{"another ca's pin", root, b.Pin(), false},
		{"truncated pin", root, a.Pin()[:10], false},
		{"empty pin", root, "", false},
		{"no root", nil, a.Pin(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, VerifyPin(tc.root, tc.pin)); diff != "" {
				t.Errorf("VerifyPin (-want +got):\n%s", diff)
			}
		})
	}
	if diff := cmp.Diff(43, len(a.Pin())); diff != "" {
		t.Errorf("pin length (-want +got):\n%s", diff)
	}
}

package enroll

import (
	"strings"
	"testing"
)

func TestNewAgent(t *testing.T) {
	token := "0123abcd.c2VjcmV0." + testPin
	tests := []struct {
		name    string
		opts    AgentOptions
		wantErr string
	}{
		{name: "valid", opts: AgentOptions{Addrs: []string{"127.0.0.1:1"}, JoinToken: token}},
		{name: "token with a newline", opts: AgentOptions{Addrs: []string{"127.0.0.1:1"}, JoinToken: token + "\n"}},
		{name: "no addresses", opts: AgentOptions{JoinToken: token}, wantErr: "at least one control plane address"},
		{name: "empty address", opts: AgentOptions{Addrs: []string{""}, JoinToken: token}, wantErr: "no empty one"},
		{name: "no token", opts: AgentOptions{Addrs: []string{"127.0.0.1:1"}}, wantErr: `"<id>.<secret>.<pin>"`},
		{name: "token without pin", opts: AgentOptions{Addrs: []string{"127.0.0.1:1"}, JoinToken: "0123abcd.c2VjcmV0"},
			wantErr: `"<id>.<secret>.<pin>"`},
		{name: "fraction 1", opts: AgentOptions{Addrs: []string{"127.0.0.1:1"}, JoinToken: token, RenewFraction: 1},
			wantErr: "renew fraction 1"},
		{name: "negative fraction", opts: AgentOptions{Addrs: []string{"127.0.0.1:1"}, JoinToken: token, RenewFraction: -0.5},
			wantErr: "renew fraction -0.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := NewAgent(tc.opts)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewAgent: %v", err)
				}
				if a.fraction != 0.5 {
					t.Errorf("default renew fraction %v, want 0.5", a.fraction)
				}
				if !a.ID().IsZero() || !a.NotAfter().IsZero() || a.Roots() != nil {
					t.Errorf("new agent has ID %v, NotAfter %v, roots %v, want none", a.ID(), a.NotAfter(), a.Roots())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewAgent error %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestCertificateAllocs(t *testing.T) {
	e := newEnv(t)
	a := e.enrolled(t)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := a.Certificate(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Certificate allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkCertificate(b *testing.B) {
	a := newEnv(b).enrolled(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Certificate(); err != nil {
			b.Fatal(err)
		}
	}
}

package enroll

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

func TestRenewKeepsCertificateAvailable(t *testing.T) {
	e := newEnv(t)
	a := e.enrolled(t)
	old, _ := a.Certificate()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var gap error
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if c, err := a.Certificate(); err != nil || c.Leaf == nil {
				gap = errors.Join(err, errors.New("certificate unavailable during renewal"))
				return
			}
		}
	})
	err := a.renew(t.Context())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("renew: %v", err)
	}
	if gap != nil {
		t.Error(gap)
	}
	cur, _ := a.Certificate()
	if cur.Leaf.SerialNumber.Cmp(old.Leaf.SerialNumber) == 0 {
		t.Error("renew kept the old certificate")
	}
	if cur.PrivateKey == old.PrivateKey {
		t.Error("renew kept the old key")
	}
	if got, want := a.ID(), spiffeid.RequireFromString("spiffe://example.org/ns/shop/svc/cart"); got != want {
		t.Errorf("ID() after renewal = %v, want %v", got, want)
	}
	if got := e.tokens.calls(); got != 1 {
		t.Errorf("server saw %d tokens, want 1 (renewal sends none)", got)
	}
}

func TestRenewExpiredRejoins(t *testing.T) {
	e := newEnv(t)
	a := e.enrolled(t)
	old, _ := a.Certificate()
	e.clock.Add(e.ca.leafTTL + time.Minute)

	if err := a.renew(t.Context()); err != nil {
		t.Fatalf("renew: %v", err)
	}
	cur, _ := a.Certificate()
	if cur.Leaf.SerialNumber.Cmp(old.Leaf.SerialNumber) == 0 {
		t.Error("renew kept the expired certificate")
	}
	if got := e.tokens.calls(); got != 2 {
		t.Errorf("server saw %d tokens, want 2 (the join token again after expiry)", got)
	}
}

func TestRun(t *testing.T) {
	ca := newTestCA(t, "example.org", time.Now)
	ca.leafTTL = 3 * time.Second // about 4s with the backdating: renewed every 2s
	tokens := new(fakeTokens)
	addr := startServer(t, ca, tokens, ca.servingCert(t, "/control"))
	renewed := make(chan struct{}, 1)
	log := signalHandler{Handler: testLogger(t).Handler(), msg: "renewed certificate", ch: renewed}
	a, err := NewAgent(AgentOptions{Addrs: []string{addr}, JoinToken: goodSecret + "." + ca.pin(), Logger: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	for range 2 {
		prev := a.cur.Load() // nil until Run enrolled
		select {
		case <-renewed:
		case err := <-done:
			t.Fatalf("Run returned early: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no renewal within 10s")
		}
		if prev == nil {
			continue
		}
		// Due at half the lifetime, less at most 10% jitter.
		leaf := prev.cert.Leaf
		due := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) * 45 / 100)
		if now := time.Now(); now.Before(due) {
			t.Errorf("renewed at %v, before the certificate was due at %v", now, due)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v, want nil", err)
	}
	if got := tokens.calls(); got != 1 {
		t.Errorf("server saw %d tokens, want 1", got)
	}
}

func TestRenewDelay(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(10 * time.Hour)
	tests := []struct {
		name     string
		now      time.Time
		fraction float64
		jitter   float64
		want     time.Duration
	}{
		{name: "half", now: start, fraction: 0.5, want: 5 * time.Hour},
		{name: "half, later", now: start.Add(time.Hour), fraction: 0.5, want: 4 * time.Hour},
		{name: "jitter up", now: start, fraction: 0.5, jitter: 0.1, want: 5*time.Hour + 30*time.Minute},
		{name: "jitter down", now: start, fraction: 0.5, jitter: -0.1, want: 4*time.Hour + 30*time.Minute},
		{name: "overdue", now: start.Add(6 * time.Hour), fraction: 0.5, want: 0},
		{name: "expired", now: end.Add(time.Hour), fraction: 0.8, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := renewDelay(start, end, tc.now, tc.fraction, tc.jitter); got != tc.want {
				t.Errorf("renewDelay = %v, want %v", got, tc.want)
			}
		})
	}
}

// BenchmarkRenew measures one renewal over mutual TLS on loopback.
func BenchmarkRenew(b *testing.B) {
	a := newEnv(b).enrolled(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := a.renew(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestRenewFailsOver(t *testing.T) {
	e := newEnv(t)
	a := e.enrolled(t)
	old, _ := a.Certificate()
	a.addrs = []string{deadAddr(t), e.addr}
	a.next.Store(0)
	if err := a.renew(t.Context()); err != nil {
		t.Fatalf("renew with the first replica down: %v", err)
	}
	if cur, _ := a.Certificate(); cur == old {
		t.Error("renew kept the old certificate")
	}
}

func TestSetRoots(t *testing.T) {
	e := newEnv(t)
	a := e.enrolled(t)
	rotated := newTestCA(t, "example.org", e.clock.Now)
	tests := []struct {
		name     string
		roots    []*x509.Certificate
		want     []*x509.Certificate
		wantDial bool
	}{
		{name: "empty bundle is ignored", roots: nil, want: []*x509.Certificate{e.ca.root}, wantDial: true},
		{name: "both roots during a rotation", roots: []*x509.Certificate{rotated.root, e.ca.root},
			want: []*x509.Certificate{rotated.root, e.ca.root}, wantDial: true},
		{name: "old root dropped", roots: []*x509.Certificate{rotated.root},
			want: []*x509.Certificate{rotated.root}, wantDial: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.SetRoots(tc.roots)
			if diff := cmp.Diff(rawCerts(tc.want), rawCerts(a.Roots())); diff != "" {
				t.Errorf("Roots() (-want +got):\n%s", diff)
			}
			conn, err := a.Dial(t.Context())
			if err == nil {
				conn.Close()
			}
			if got := err == nil; got != tc.wantDial {
				t.Errorf("Dial to the old CA's control plane succeeded %v, want %v (%v)", got, tc.wantDial, err)
			}
		})
	}
}

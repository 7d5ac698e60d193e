package jointoken

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCheck(t *testing.T) {
	clock := newFakeClock()
	st := newStore(t)
	m := New(st, clock.Now)
	other := New(st, clock.Now) // another replica
	revokedHere, _ := create(t, m, Token{Kind: Admin})
	revokedThere, _ := create(t, m, Token{Kind: Admin})
	expiring, _ := create(t, m, Token{Kind: Admin, Expires: clock.Now().Add(3 * time.Second)})
	join, _ := create(t, m, Token{Kind: Join, Service: "web", Namespace: "default", MaxUses: 1})
	idOf := func(secret string) string { return secret[:idLen] }
	tests := []struct {
		name    string
		before  func()
		secret  string
		kind    Kind
		wantErr string
	}{
		{"admin", nil, revokedHere, Admin, ""},
		{"admin, cached", nil, revokedHere, Admin, ""},
		{"admin as join, cached", nil, revokedHere, Join, ErrInvalid.Error()},
		{"revoked through this manager: at once", func() { m.Revoke(ctx, idOf(revokedHere)) }, revokedHere, Admin, ErrInvalid.Error()},
		{"before revoke elsewhere", nil, revokedThere, Admin, ""},
		{"revoked elsewhere: cached", func() { other.Revoke(ctx, idOf(revokedThere)) }, revokedThere, Admin, ""},
		{"revoked elsewhere: after CacheTTL", func() { clock.Advance(CacheTTL) }, revokedThere, Admin, ErrInvalid.Error()},
		{"before expiry", nil, expiring, Admin, ""},
		{"expired, cached", func() { clock.Advance(2 * time.Second) }, expiring, Admin, ErrExpired.Error()},
		{"join token", nil, join, Join, ""},
		{"join token does not consume", nil, join, Join, ""},
		{"malformed", nil, "nope", Admin, ErrInvalid.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			_, err := m.Check(ctx, tc.secret, tc.kind)
			if diff := cmp.Diff(tc.wantErr, errIs(err)); diff != "" {
				t.Errorf("Check error (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := m.Redeem(ctx, join, Join); err != nil {
		t.Errorf("Redeem after Checks: got %v, want the one use left", err)
	}
}

func TestCheckReadsStoreOncePerTTL(t *testing.T) {
	clock := newFakeClock()
	st := newStore(t)
	m := New(st, clock.Now)
	secret, _ := create(t, m, Token{Kind: Admin})
	for range 100 {
		if _, err := m.Check(ctx, secret, Admin); err != nil {
			t.Fatalf("Check: %v", err)
		}
	}
	clock.Advance(CacheTTL)
	if _, err := m.Check(ctx, secret, Admin); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if diff := cmp.Diff(int64(2), st.gets.Load()); diff != "" {
		t.Errorf("store reads for 101 checks over two cache periods (-want +got):\n%s", diff)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newCache()
	now := newFakeClock().Now()
	for i := range maxCached + 10 {
		c.put([hashLength]byte{byte(i), byte(i >> 8)}, Token{}, now, c.generation())
	}
	if got := len(c.entries); got > maxCached {
		t.Errorf("cache entries: got %d, want at most %d", got, maxCached)
	}
}

func BenchmarkCheckCached(b *testing.B) {
	m := New(newStore(b), nil)
	secret, _, err := m.Create(ctx, Token{Kind: Admin})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Check(ctx, secret, Admin); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedeem(b *testing.B) {
	m := New(newStore(b), nil)
	secret, _, err := m.Create(ctx, Token{Kind: Join, Service: "web", Namespace: "default"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Redeem(ctx, secret, Join); err != nil {
			b.Fatal(err)
		}
	}
}

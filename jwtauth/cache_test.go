package jwtauth

import (
	"context"
	"crypto/sha256"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func newCachingFileVerifier(t *testing.T, clock *fakeClock, leeway time.Duration) *Verifier {
	t.Helper()
	v, err := newVerifier(Config{Issuer: testIssuer, JWKSFile: writeFile(t, standardSet(t, false)), Leeway: leeway}, clock.Now)
	if err != nil {
		t.Fatalf("new verifier: %v", err)
	}
	return v
}

func TestRememberedTokenSkipsTheSignatureCheck(t *testing.T) {
	k := keysOnce()
	v := newCachingFileVerifier(t, newClock(), 0)
	tok := sign(t, jose.ES256, k.ec, "ec", claims())
	check(t, "first", outcome{ID: "alice"}, verify(t, v, tok))
	// A signature check parses and verifies: over a hundred allocations.
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 5 {
		t.Errorf("allocations of a remembered token: got %v, want at most 5", allocs)
	}
}

func TestRememberedTokenStillExpires(t *testing.T) {
	k := keysOnce()
	clock := newClock()
	v := newCachingFileVerifier(t, clock, 30*time.Second)
	tok := sign(t, jose.ES256, k.ec, "ec", with(map[string]any{"exp": epoch.Add(10 * time.Second).Unix()}))
	check(t, "fresh", outcome{ID: "alice"}, verify(t, v, tok))
	clock.Advance(39 * time.Second)
	check(t, "within the leeway", outcome{ID: "alice"}, verify(t, v, tok))
	clock.Advance(2 * time.Second)
	check(t, "past exp and leeway", outcome{Reason: Expired}, verify(t, v, tok))
}

func TestOtherBytesAreCheckedAgain(t *testing.T) {
	k := keysOnce()
	v := newCachingFileVerifier(t, newClock(), 0)
	tok := sign(t, jose.ES256, k.ec, "ec", claims())
	check(t, "valid", outcome{ID: "alice"}, verify(t, v, tok))
	// Change the signature's first character: all six of its bits count
	// (the last character's low bits are padding, which decoding ignores,
	// so changing it does not always change the signature).
	i := strings.LastIndexByte(tok, '.') + 1
	flipped := byte('A')
	if tok[i] == 'A' {
		flipped = 'B'
	}
	check(t, "signature changed", outcome{Reason: BadSignature}, verify(t, v, tok[:i]+string(flipped)+tok[i+1:]))
}

func TestNewKeySetForgetsTokens(t *testing.T) {
	k := keysOnce()
	clock := newClock()
	srv := newJWKSServer(t, jwksJSON(t, jwk("a", "", k.rsa)))
	v := newURLVerifier(t, srv.URL, clock)
	tok := sign(t, jose.RS256, k.rsa, "a", claims())
	check(t, "remembered", outcome{ID: "alice"}, verify(t, v, tok))

	// The identity provider drops key a; once the set is fetched again the
	// token signed with it no longer passes, remembered or not.
	srv.set(200, jwksJSON(t, jwk("b", "", k.rsa2)))
	clock.Advance(2 * time.Minute)
	verify(t, v, tok) // starts the refresh of the stale set
	waitFetch(v.remote)
	check(t, "after the refresh", outcome{Reason: UnknownKey}, verify(t, v, tok))
}

func TestCacheStaysBounded(t *testing.T) {
	var c tokenCache
	now := epoch
	for i := range cacheSize + cacheSize/2 {
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		c.put(&sum, verified{identity: "x", expires: now.Add(time.Hour), until: now.Add(time.Minute)}, now)
	}
	if n := len(c.m); n > cacheSize {
		t.Errorf("entries: got %d, want at most %d", n, cacheSize)
	}
	sum := sha256.Sum256([]byte("last"))
	c.put(&sum, verified{identity: "last", expires: now.Add(time.Hour), until: now.Add(time.Minute)}, now)
	if id, ok := c.get(&sum, nil, now); !ok || id != "last" {
		t.Errorf("get of the newest entry: got %q, %v, want last, true", id, ok)
	}
	if _, ok := c.get(&sum, nil, now.Add(time.Minute)); ok {
		t.Errorf("get after the entry's minute: got a hit, want none")
	}
}

package jwtauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// jwksServer serves a JWKS document that tests can swap, and counts requests.
type jwksServer struct {
	*httptest.Server

	mu     sync.Mutex
	body   []byte
	status int
	hits   int
	gate   chan struct{} // when not nil, requests wait for it to close
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	s := &jwksServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits++
	body, status, gate := s.body, s.status, s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	w.WriteHeader(status)
	w.Write(body)
}

func (s *jwksServer) set(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body = status, body
}

func (s *jwksServer) block() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate = make(chan struct{})
	return s.gate
}

func (s *jwksServer) hitCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

// newURLVerifier builds a verifier of srv's keys and waits for its first fetch,
// so tests start from a known state.
func newURLVerifier(t *testing.T, url string, clock *fakeClock) *Verifier {
	t.Helper()
	v, err := newVerifier(Config{Issuer: testIssuer, JWKSURL: url, Refresh: time.Minute}, clock.Now)
	if err != nil {
		t.Fatalf("new verifier: %v", err)
	}
	waitFetch(v.remote)
	return v
}

// waitFetch waits for the running fetch, if any, to end.
func waitFetch(r *remote) {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	if done != nil {
		<-done
	}
}

func verify(t *testing.T, v *Verifier, token string) outcome {
	t.Helper()
	id, err := v.Verify(context.Background(), token)
	return result(t, id, err)
}

func check(t *testing.T, step string, want, got any) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: got %v, want %v (-want +got):\n%s", step, got, want, diff)
	}
}

func TestRemoteFirstRequest(t *testing.T) {
	k := keysOnce()
	srv := newJWKSServer(t, standardSet(t, false))
	v, err := newVerifier(Config{Issuer: testIssuer, JWKSURL: srv.URL}, newClock().Now)
	if err != nil {
		t.Fatalf("new verifier: %v", err)
	}
	// No wait for the fetch New started: the first request joins it.
	check(t, "first request", outcome{ID: "alice"}, verify(t, v, sign(t, jose.RS256, k.rsa, "rsa", claims())))
	check(t, "server hits", 1, srv.hitCount())
}

func TestRemoteKeyRotation(t *testing.T) {
	k := keysOnce()
	clock := newClock()
	srv := newJWKSServer(t, jwksJSON(t, jwk("a", "", k.rsa)))
	v := newURLVerifier(t, srv.URL, clock)
	tokA := sign(t, jose.RS256, k.rsa, "a", claims())
	tokB := sign(t, jose.RS256, k.rsa2, "b", claims())

	check(t, "old key", outcome{ID: "alice"}, verify(t, v, tokA))
	srv.set(http.StatusOK, jwksJSON(t, jwk("b", "", k.rsa2)))
	check(t, "new key after refetch", outcome{ID: "alice"}, verify(t, v, tokB))
	check(t, "hits after rotation", 2, srv.hitCount())
	check(t, "retired key, refetch too recent", outcome{Reason: UnknownKey}, verify(t, v, tokA))
	check(t, "hits without refetch", 2, srv.hitCount())
	clock.Advance(unknownKidInterval)
	check(t, "retired key after refetch", outcome{Reason: UnknownKey}, verify(t, v, tokA))
	check(t, "hits after second refetch", 3, srv.hitCount())
}

func TestRemoteUnknownKidRefetchIsLimited(t *testing.T) {
	k := keysOnce()
	clock := newClock()
	srv := newJWKSServer(t, standardSet(t, false))
	v := newURLVerifier(t, srv.URL, clock)
	junk := func(kid string) string { return sign(t, jose.RS256, k.rsa, kid, claims()) }
	steps := []struct {
		advance time.Duration
		kid     string
		hits    int
	}{
		{0, "junk1", 2}, // the first unknown kid refetches
		{0, "junk2", 2},
		{5 * time.Second, "junk3", 2},
		{4 * time.Second, "junk4", 2},
		{time.Second, "junk5", 3}, // 10 s after the first refetch
		{time.Second, "junk6", 3},
		{10 * time.Second, "junk7", 4},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		check(t, s.kid, outcome{Reason: UnknownKey}, verify(t, v, junk(s.kid)))
		check(t, s.kid+" hits", s.hits, srv.hitCount())
	}
	check(t, "known kid still works", outcome{ID: "alice"}, verify(t, v, sign(t, jose.RS256, k.rsa, "rsa", claims())))
	check(t, "known kid hits", 4, srv.hitCount())
}

func TestRemoteStaleSetRefreshesInBackground(t *testing.T) {
	k := keysOnce()
	clock := newClock()
	srv := newJWKSServer(t, jwksJSON(t, jwk("a", "", k.rsa)))
	v := newURLVerifier(t, srv.URL, clock)
	tokA := sign(t, jose.RS256, k.rsa, "a", claims())

	clock.Advance(59 * time.Second)
	check(t, "fresh set", outcome{ID: "alice"}, verify(t, v, tokA))
	check(t, "fresh set hits", 1, srv.hitCount())

	// The refresh hangs on the server; requests must not wait for it.
	gate := srv.block()
	srv.set(http.StatusOK, jwksJSON(t, jwk("a", "", k.rsa), jwk("b", "", k.rsa2)))
	clock.Advance(time.Second)
	check(t, "stale set, refresh hanging", outcome{ID: "alice"}, verify(t, v, tokA))
	check(t, "stale set, second request", outcome{ID: "alice"}, verify(t, v, tokA))
	close(gate)
	waitFetch(v.remote)
	check(t, "refreshes", 2, srv.hitCount())
	check(t, "key from the refresh", outcome{ID: "alice"}, verify(t, v, sign(t, jose.RS256, k.rsa2, "b", claims())))
	check(t, "no refetch for a refreshed kid", 2, srv.hitCount())
}

func TestRemoteServerDownLaterKeepsOldKeys(t *testing.T) {
	k := keysOnce()
	clock := newClock()
	srv := newJWKSServer(t, standardSet(t, false))
	v := newURLVerifier(t, srv.URL, clock)
	tok := sign(t, jose.ES256, k.ec, "ec", claims())

	srv.set(http.StatusInternalServerError, []byte("down"))
	for i := range 3 {
		clock.Advance(2 * time.Minute)
		check(t, "cached keys", outcome{ID: "alice"}, verify(t, v, tok))
		waitFetch(v.remote)
		check(t, "failed refresh", 2+i, srv.hitCount())
		check(t, "after failed refresh", outcome{ID: "alice"}, verify(t, v, tok))
	}
	// A failed refresh is retried after retryInterval, not on every request.
	check(t, "hits without retry", 4, srv.hitCount())
	clock.Advance(retryInterval)
	verify(t, v, tok)
	waitFetch(v.remote)
	check(t, "hits after retry", 5, srv.hitCount())
}

func TestRemoteServerDownFromTheStart(t *testing.T) {
	k := keysOnce()
	tok := sign(t, jose.RS256, k.rsa, "rsa", claims())
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name  string
		url   func(t *testing.T) string
		cause string
	}{
		{"connection refused", func(*testing.T) string { return closed.URL }, "fetch jwks"},
		{"status 500", func(t *testing.T) string {
			srv := newJWKSServer(t, []byte("oops"))
			srv.set(http.StatusInternalServerError, []byte("oops"))
			return srv.URL
		}, "status 500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			v := newURLVerifier(t, tc.url(t), clock)
			_, err := v.Verify(context.Background(), tok)
			var e *Error
			if !errors.As(err, &e) || e.Reason != KeysUnavailable || e.Err == nil || !strings.Contains(e.Err.Error(), tc.cause) {
				t.Fatalf("got %v, want %s caused by %q", err, KeysUnavailable, tc.cause)
			}
		})
	}
}

func TestRemoteRecoversAfterFirstFetchFails(t *testing.T) {
	k := keysOnce()
	clock := newClock()
	srv := newJWKSServer(t, nil)
	srv.set(http.StatusServiceUnavailable, nil)
	v := newURLVerifier(t, srv.URL, clock)
	tok := sign(t, jose.RS256, k.rsa, "rsa", claims())

	check(t, "down", outcome{Reason: KeysUnavailable}, verify(t, v, tok))
	check(t, "no retry within retryInterval", 1, srv.hitCount())
	srv.set(http.StatusOK, standardSet(t, false))
	clock.Advance(retryInterval)
	check(t, "up again", outcome{ID: "alice"}, verify(t, v, tok))
	check(t, "hits", 2, srv.hitCount())
}

func TestRemoteFirstFetchWaitIsBoundedByContext(t *testing.T) {
	k := keysOnce()
	srv := newJWKSServer(t, standardSet(t, false))
	gate := srv.block()
	defer close(gate)
	v, err := newVerifier(Config{Issuer: testIssuer, JWKSURL: srv.URL}, newClock().Now)
	if err != nil {
		t.Fatalf("new verifier: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = v.Verify(ctx, sign(t, jose.RS256, k.rsa, "rsa", claims()))
	var e *Error
	if !errors.As(err, &e) || e.Reason != KeysUnavailable || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want %s caused by context.Canceled", err, KeysUnavailable)
	}
}

func TestFetchRejectsBadResponses(t *testing.T) {
	big := append([]byte(`{"keys":[],"pad":"`), make([]byte, maxJWKSSize)...)
	tests := []struct {
		name   string
		status int
		body   []byte
		want   string
	}{
		{"not found", http.StatusNotFound, standardSet(t, false), "status 404"},
		{"no content", http.StatusNoContent, nil, "status 204"},
		{"html", http.StatusOK, []byte("<html>login</html>"), "decode jwks"},
		{"json without keys", http.StatusOK, []byte(`{"issuer":"x"}`), "no usable signing key"},
		{"oversized", http.StatusOK, big, "larger than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newJWKSServer(t, nil)
			srv.set(tc.status, tc.body)
			r := newRemote(Config{JWKSURL: srv.URL}, newClock().Now)
			_, err := r.load()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("got %v, want an error naming the url and containing %q", err, tc.want)
			}
		})
	}
}

func TestRemoteConcurrentVerifyDuringRefresh(t *testing.T) {
	k := keysOnce()
	clock := newClock()
	srv := newJWKSServer(t, standardSet(t, false))
	v := newURLVerifier(t, srv.URL, clock)
	// The clock moves a minute per step for at most 500 steps: the tokens
	// stay valid and the set (Refresh: 1m) goes stale at every step.
	long := with(map[string]any{"exp": epoch.Add(1000 * time.Hour).Unix()})
	tokens := []string{sign(t, jose.RS256, k.rsa, "rsa", long), sign(t, jose.ES256, k.ec, "ec", long)}
	stop := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Go(func() {
		for range 500 {
			select {
			case <-stop:
				return
			default:
				clock.Advance(time.Minute)
				waitFetch(v.remote)
			}
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if _, err := v.Verify(context.Background(), tokens[(g+i)%2]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	ticker.Wait()
	waitFetch(v.remote)
	close(errs)
	for err := range errs {
		t.Errorf("got %v, want no error", err)
	}
	if srv.hitCount() < 2 {
		t.Errorf("got %d fetches, want refreshes during the run", srv.hitCount())
	}
}

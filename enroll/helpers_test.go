package enroll

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

const (
	goodSecret = "0123abcd.c2VjcmV0LXNlY3JldC1zZWNyZXQ"
	badSecret  = "0123abcd.d3Jvbmctd3Jvbmctd3Jvbmc"
)

// fakeTokens accepts goodSecret, as often as asked, for ns "shop" service
// "cart", and records every token it sees.
type fakeTokens struct {
	mu   sync.Mutex
	seen []string
}

func (f *fakeTokens) RedeemJoin(_ context.Context, token string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, token)
	if token != goodSecret {
		return "", "", errors.New("invalid token")
	}
	return "shop", "cart", nil
}

// calls returns how many tokens the server has seen.
func (f *fakeTokens) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

// reset returns the tokens the server has seen and forgets them.
func (f *fakeTokens) reset() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := f.seen
	f.seen = nil
	return seen
}

// env is a control plane on loopback with a test CA and fake tokens.
type env struct {
	clock  *clock
	ca     *testCA
	tokens *fakeTokens
	addr   string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := newClock()
	e := &env{clock: c, ca: newTestCA(t, "example.org", c.Now), tokens: new(fakeTokens)}
	e.addr = startServer(t, e.ca, e.tokens, e.ca.servingCert(t, "/control"))
	return e
}

func startServer(t testing.TB, s Signer, tokens Tokens, cert *tls.Certificate) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	creds := credentials.NewTLS(ServerTLS(func() (*tls.Certificate, error) { return cert, nil }))
	g := grpc.NewServer(grpc.Creds(creds), ServerKeepalive())
	NewServer(s, tokens, ServerOptions{Logger: testLogger(t)}).Register(g)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	return lis.Addr().String()
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// agent returns an agent for e with the given join secret and e's pin.
func (e *env) agent(t testing.TB, secret string) *Agent {
	t.Helper()
	a, err := NewAgent(AgentOptions{
		Addrs: []string{e.addr}, JoinToken: secret + "." + e.ca.pin(),
		Logger: testLogger(t), Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.retry = backoff{min: time.Millisecond, max: 10 * time.Millisecond}
	return a
}

func (e *env) enrolled(t testing.TB) *Agent {
	t.Helper()
	a := e.agent(t, goodSecret)
	if err := a.Enroll(t.Context()); err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	return a
}

// signalHandler signals on ch each time a record with message msg is
// handled.
type signalHandler struct {
	slog.Handler
	msg string
	ch  chan struct{}
}

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == h.msg {
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
	return h.Handler.Handle(ctx, r)
}

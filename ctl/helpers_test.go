package ctl

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/jointoken"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/store/bolt"
)

// testServer is an admin API over a real bbolt store.
type testServer struct {
	URL      string
	Token    string
	Tokens   *jointoken.Manager
	Registry *registry.Registry
	// Now is the clock ctl runs with; nil means time.Now.
	Now func() time.Time
}

// node is what the fake control plane reports as connected.
type node struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Identity string `json:"identity"`
	Acked    string `json:"acked"`
	Nacked   string `json:"nacked"`
}

func newServer(t *testing.T) *testServer {
	t.Helper()
	return newServerWith(t, nil)
}

// newServerWith is newServer whose API serves app under /v1/app.
func newServerWith(t *testing.T, app adminapi.App) *testServer {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := jointoken.New(st, time.Now)
	secret, _, err := tokens.Create(context.Background(), jointoken.Token{Kind: jointoken.Admin, Description: "test"})
	if err != nil {
		t.Fatalf("create admin token: %v", err)
	}
	reg := registry.New(st)
	h := adminapi.Handler(adminapi.Options{
		Store: st, Tokens: tokens, CA: newFakeCA(t), Registry: reg,
		Nodes: func(context.Context) (any, error) {
			return []node{{ID: "gw-1", Kind: "gateway", Identity: "spiffe://pylon.local/ns/default/svc/edge", Acked: "7"}}, nil
		},
		Status: func() any { return map[string]string{"role": "test"} },
		App:    app,
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testServer{URL: srv.URL, Token: secret, Tokens: tokens, Registry: reg}
}

// fakeCA is a CA whose roots are self-signed certificates made in the test;
// Rotate puts a new one first.
type fakeCA struct {
	t     *testing.T
	mu    sync.Mutex
	roots []*x509.Certificate
}

func newFakeCA(t *testing.T) *fakeCA {
	ca := &fakeCA{t: t}
	ca.roots = []*x509.Certificate{ca.newRoot(1)}
	return ca
}

func (c *fakeCA) newRoot(serial int64) *x509.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		c.t.Fatalf("generate key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "root " + big.NewInt(serial).String()},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		c.t.Fatalf("create root: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		c.t.Fatalf("parse root: %v", err)
	}
	return cert
}

func (c *fakeCA) Roots() []*x509.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*x509.Certificate(nil), c.roots...)
}

func (c *fakeCA) Pin() string { return "test-pin" }

func (c *fakeCA) Rotate(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roots = append([]*x509.Certificate{c.newRoot(int64(len(c.roots) + 1))}, c.roots...)
	return nil
}

// result is what a run of pylon ctl did.
type result struct {
	Code   int
	Stdout string
	Stderr string
}

// run runs pylon ctl with args and the environment vars.
func run(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	return runAt(t, nil, vars, stdin, args...)
}

// runAt is run with the clock now.
func runAt(t *testing.T, now func() time.Time, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut strings.Builder
	code := Run(context.Background(), args, Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return vars[k] }, Now: now,
	})
	return result{Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

// ctl runs pylon ctl against s with the server and token in the
// environment and no stdin.
func (s *testServer) ctl(t *testing.T, args ...string) result {
	t.Helper()
	return runAt(t, s.Now, s.env(), "", args...)
}

func (s *testServer) env() map[string]string {
	return map[string]string{"PYLON_SERVER": s.URL, "PYLON_TOKEN": s.Token}
}

// must fails the test unless r succeeded.
func must(t *testing.T, r result) result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("got exit %d, want 0; stderr:\n%s", r.Code, r.Stderr)
	}
	return r
}

const exampleConfig = "../examples/gateway/pylon.yaml"

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

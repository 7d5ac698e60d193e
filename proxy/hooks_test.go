package proxy

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
	_ "github.com/pylon-mesh/pylon/balancer/all"
	"github.com/pylon-mesh/pylon/breaker"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/h1"
	"github.com/pylon-mesh/pylon/health/outlier"
	"github.com/pylon-mesh/pylon/internal/testpki"
	"github.com/pylon-mesh/pylon/retry"
	"github.com/pylon-mesh/pylon/router"
)

// seen is what a hook or the observer saw of one request, copied out.
type seen struct {
	Peer   string // the leaf's first URI SAN, "" without a peer
	Method string
	Path   string
	Role   string // the x-role header
	GRPC   bool
}

// logged is what the observer saw of one request.
type logged struct {
	Listener string
	Status   int
	Code     string
	Method   string
	Path     string
	BytesIn  int64
	BytesOut int64
}

// recorder is an Observer and an Authorize hook that deny requests whose
// path starts with /deny.
type recorder struct {
	mu     sync.Mutex
	access []seen
	logs   []logged
}

func (r *recorder) authorize(a *Access) *flow.Error {
	s := seen{Method: a.Method, Path: a.Path, GRPC: a.GRPC}
	if len(a.Peer) > 0 && len(a.Peer[0].URIs) > 0 {
		s.Peer = a.Peer[0].URIs[0].String()
	}
	s.Role, _ = a.Header("x-role")
	r.mu.Lock()
	r.access = append(r.access, s)
	r.mu.Unlock()
	if len(a.Path) >= 5 && a.Path[:5] == "/deny" || a.Method == http.MethodConnect && s.Role == "deny" {
		return errDenied
	}
	return nil
}

func (r *recorder) Observe(rec *Record) {
	l := logged{Listener: rec.Listener, Status: rec.Status, Method: string(rec.Method), Path: string(rec.Path),
		BytesIn: rec.BytesIn, BytesOut: rec.BytesOut}
	if rec.Err != nil {
		l.Code = string(rec.Err.Code)
	}
	r.mu.Lock()
	r.logs = append(r.logs, l)
	r.mu.Unlock()
}

func (r *recorder) take() ([]seen, []logged) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, l := r.access, r.logs
	r.access, r.logs = nil, nil
	return a, l
}

var errDenied = flow.New(403, flow.CodeForbidden, "the caller may not make this request")

// waitLogs waits for the record of a request, which the server reports
// once its handler has returned, a moment after the client saw the end.
func waitLogs(t testing.TB, rec *recorder) ([]seen, []logged) {
	t.Helper()
	var access []seen
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, logs := rec.take()
		access = append(access, a...)
		if len(logs) > 0 || time.Now().After(deadline) {
			return access, logs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// upstream is an HTTP/1.1 backend that counts the requests reaching it.
type upstream struct {
	mu    sync.Mutex
	paths []string
	srv   *httptest.Server
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.paths = append(u.paths, r.URL.Path)
		u.mu.Unlock()
		w.Write([]byte("upstream"))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) take() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	p := u.paths
	u.paths = nil
	return p
}

// testService is an http1 service with one endpoint at addr.
func testService(t testing.TB, addr string) *Service {
	b, ok := balancer.Lookup("round_robin")
	if !ok {
		t.Fatal("round_robin balancer not registered")
	}
	ep := balancer.NewEndpoint(addr, 1)
	set := balancer.NewSet(b, []*balancer.Endpoint{ep}, 0, 0)
	svc := &Service{
		Name:    "up",
		Set:     set,
		Breaker: breaker.New(breaker.Limits{}),
		Budget:  retry.NewBudget(20, 10),
		Outlier: outlier.NewDetector(outlier.Config{}, set, nil),
	}
	pool := NewPool(addr, PoolConfig{DialTimeout: time.Second, IdleTimeout: time.Minute, MaxIdle: 4})
	svc.SetPools(map[*balancer.Endpoint]*Pool{ep: pool})
	t.Cleanup(pool.Close)
	return svc
}

// testListener is a listener config routing everything to svc.
func testListener(t testing.TB, name string, svc *Service) *ListenerConfig {
	table, err := router.Compile([]router.Spec{{PathKind: router.PathPrefix, Path: "/"}})
	if err != nil {
		t.Fatal(err)
	}
	return &ListenerConfig{
		Name:              name,
		Table:             table,
		Routes:            []*Route{{Name: "all", Backends: []Backend{{Service: svc}}}},
		Limits:            h1.DefaultLimits,
		MaxBodyBytes:      1 << 20,
		ReadHeaderTimeout: 5 * time.Second,
		BodyReadTimeout:   5 * time.Second,
		IdleTimeout:       time.Minute,
	}
}

// hookEnv is a pylon server with an mTLS listener "tls" and a plaintext
// listener "plain", both forwarding to one upstream.
type hookEnv struct {
	ca        *testpki.CA
	up        *upstream
	rec       *recorder
	tlsAddr   string
	plainAddr string
	// client is the client certificate, with SPIFFE ID clientID.
	client tls.Certificate
}

const clientID = "spiffe://pylon.test/ns/default/svc/orders"

// newHookEnv starts the server; edit adjusts each listener config.
func newHookEnv(t testing.TB, edit func(lc *ListenerConfig, rec *recorder)) *hookEnv {
	e := &hookEnv{ca: testpki.NewCA(t), up: newUpstream(t), rec: &recorder{}}
	e.client = e.ca.Issue(t, clientID)
	svc := testService(t, e.up.srv.Listener.Addr().String())
	tlsLC := testListener(t, "tls", svc)
	tlsLC.TLS = &tls.Config{
		Certificates: []tls.Certificate{e.ca.Issue(t, "")},
		ClientCAs:    e.ca.Pool,
		ClientAuth:   tls.VerifyClientCertIfGiven,
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}
	plainLC := testListener(t, "plain", svc)
	snap := &Snapshot{Listeners: map[string]*ListenerConfig{"tls": tlsLC, "plain": plainLC}, Observer: e.rec}
	for _, lc := range snap.Listeners {
		edit(lc, e.rec)
	}
	srv := NewServer(slog.New(slog.DiscardHandler))
	srv.Store(snap)
	e.tlsAddr = serveOn(t, srv, "tls")
	e.plainAddr = serveOn(t, srv, "plain")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return e
}

// serveOn serves the named listener on a loopback port.
func serveOn(t testing.TB, srv *Server, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln, name)
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// clientTLS is the client side of the mTLS listener; withCert presents
// the client certificate.
func (e *hookEnv) clientTLS(withCert bool) *tls.Config {
	c := &tls.Config{RootCAs: e.ca.Pool, ServerName: "127.0.0.1"}
	if withCert {
		c.Certificates = []tls.Certificate{e.client}
	}
	return c
}

// httpClient speaks HTTP/1.1 or HTTP/2, over mTLS or in cleartext.
func (e *hookEnv) httpClient(t testing.TB, h2, secure bool) *http.Client {
	var p http.Protocols
	switch {
	case h2 && secure:
		p.SetHTTP2(true)
	case h2:
		p.SetUnencryptedHTTP2(true)
	default:
		p.SetHTTP1(true)
	}
	tr := &http.Transport{Protocols: &p, TLSClientConfig: e.clientTLS(true), DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

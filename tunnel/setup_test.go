package tunnel

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/h2server"
	"github.com/pylon-mesh/pylon/internal/testpki"
)

// testTimeout bounds every wait in the tests.
const testTimeout = 10 * time.Second

// Identities of the test peers.
const (
	clientID = "spiffe://test.local/ns/default/svc/client"
	serverID = "spiffe://test.local/ns/default/svc/server"
)

// TestMain fails the package if goroutines outlive its tests.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if err := waitGoroutines(before); err != nil {
			os.Stderr.WriteString(err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// waitGoroutines waits until at most n goroutines run.
func waitGoroutines(n int) error {
	end := time.Now().Add(testTimeout)
	for runtime.NumGoroutine() > n {
		if time.Now().After(end) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return errors.New("leaked goroutines: got " + strconv.Itoa(runtime.NumGoroutine()) + ", want at most " + strconv.Itoa(n) + "\n" + string(buf))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// pki is a test CA with a server and a client certificate.
type pki struct {
	pool   *x509.CertPool
	server tls.Certificate
	client tls.Certificate
}

var (
	testPKIOnce sync.Once
	testPKI     *pki
)

func getPKI(t testing.TB) *pki {
	t.Helper()
	testPKIOnce.Do(func() { testPKI = newPKI(t) })
	return testPKI
}

func newPKI(t testing.TB) *pki {
	t.Helper()
	ca := testpki.NewCA(t)
	return &pki{pool: ca.Pool, server: ca.Issue(t, serverID), client: ca.Issue(t, clientID)}
}

// startSidecar serves Handler(o) over mTLS HTTP/2 on loopback, as a
// sidecar's inbound listener does (pylon's HTTP/2 server), and returns its
// address.
func startSidecar(t testing.TB, o HandlerOptions, opts ...func(*h2server.Config)) string {
	t.Helper()
	return startServer(t, Handler(o), opts...)
}

// startServer serves h over mTLS HTTP/2 on loopback with pylon's HTTP/2
// server and returns its address.
func startServer(t testing.TB, h http.Handler, opts ...func(*h2server.Config)) string {
	t.Helper()
	p := getPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := h2server.Config{Handler: h}
	for _, opt := range opts {
		opt(&cfg)
	}
	srv := h2server.New(cfg)
	tlsLn := tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientCAs:    p.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS13,
	})
	var conns sync.WaitGroup
	go func() {
		for {
			c, err := tlsLn.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				tc := c.(*tls.Conn)
				ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
				err := tc.HandshakeContext(ctx)
				cancel()
				if err != nil {
					tc.Close()
					return
				}
				srv.ServeConn(tc)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
		conns.Wait()
	})
	return ln.Addr().String()
}

// clientTransport is the calling sidecar's pooled mTLS HTTP/2 transport; it
// counts the connections it dials.
func clientTransport(t testing.TB, dials *atomic.Int64) *http.Transport {
	t.Helper()
	p := getPKI(t)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{p.client},
		RootCAs:      p.pool,
		NextProtos:   []string{"h2"},
		MinVersion:   tls.VersionTLS13,
	}
	var protos http.Protocols
	protos.SetHTTP2(true)
	tr := &http.Transport{
		Protocols:       &protos,
		TLSClientConfig: cfg,
		MaxConnsPerHost: 1,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials != nil {
				dials.Add(1)
			}
			d := &tls.Dialer{Config: cfg}
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// dialTCP is the handler's Dial for tests.
func dialTCP(ctx context.Context, target string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", target)
}

// serveTCP runs a loopback TCP server calling handle for each connection
// (which it closes afterwards) and returns its address.
func serveTCP(t testing.TB, handle func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// echo copies what it reads back, then half-closes.
func echo(c net.Conn) {
	io.Copy(c, c)
	c.(*net.TCPConn).CloseWrite()
}

// lineEcho answers each line with "echo: " and the line.
func lineEcho(c net.Conn) {
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if _, err := io.WriteString(c, "echo: "+sc.Text()+"\n"); err != nil {
			return
		}
	}
}

// mustDial opens a tunnel to target through the sidecar at endpoint.
func mustDial(t testing.TB, rt http.RoundTripper, endpoint, target string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, rt, endpoint, target)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	return c
}

// allowClient authorizes only the test client's identity, read the way a
// sidecar reads it.
func allowClient(r *http.Request) (int, error) {
	cs := r.TLS
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return 0, errors.New("no peer certificate")
	}
	if got := cs.PeerCertificates[0].URIs[0].String(); got != clientID {
		return 0, errors.New(got + " may not connect")
	}
	return 0, nil
}

// denyAll refuses every tunnel, naming the caller.
func denyAll(r *http.Request) (int, error) {
	cs := r.TLS
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return 0, errors.New("no peer certificate")
	}
	return 0, errors.New(cs.PeerCertificates[0].URIs[0].String() + " may not connect to " + strings.TrimSpace(r.Host))
}

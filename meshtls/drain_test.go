package meshtls

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/internal/testpki"
)

// shortLived is issue with a certificate of lifetime life that expires
// at the start of the second left from now (certificates count whole
// seconds), drained a tenth of life before.
func shortLived(t testing.TB, ca *testpki.CA, id string, life, left time.Duration) *identity {
	t.Helper()
	notAfter := time.Now().Truncate(time.Second).Add(left)
	cert := ca.IssueFor(t, id, notAfter.Add(-life), notAfter)
	return &identity{id: spiffeid.RequireFromString(id), cert: &cert, roots: []*x509.Certificate{ca.Cert}}
}

// connLog is what a server saw of its connections: their remote addresses
// as they opened and as they closed.
type connLog struct {
	opened, closed chan string
}

// serveH2 serves h behind ServerConfig with server's certificate, logging
// connections, and returns its address.
func serveH2(t *testing.T, server *identity, h http.Handler) (string, *connLog) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &connLog{opened: make(chan string, 16), closed: make(chan string, 16)}
	srv := &http.Server{
		Handler:  h,
		ErrorLog: log.New(io.Discard, "", 0),
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				cl.opened <- c.RemoteAddr().String()
			case http.StateClosed, http.StateHijacked:
				cl.closed <- c.RemoteAddr().String()
			}
		},
	}
	go srv.Serve(tls.NewListener(ln, ServerConfig(server, false, &Stats{}, slog.New(slog.DiscardHandler))))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), cl
}

// next is the next value on ch, failing the test if none comes in 10 s.
func next(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatalf("got no %s", what)
		return ""
	}
}

// remote answers with the caller's address as the server sees it, which
// names the connection a request came on.
func remote(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RemoteAddr) }

// echo streams back each line of the request body as it arrives, like a
// tunnel or a bidirectional gRPC stream.
func echo(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		fmt.Fprintln(w, sc.Text())
		w.(http.Flusher).Flush()
	}
}

func get(t *testing.T, rt http.RoundTripper, url string) string {
	t.Helper()
	resp, err := (&http.Client{Transport: rt}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stream is a full-duplex request in flight.
type stream struct {
	w    *io.PipeWriter
	r    *bufio.Reader
	body io.Closer
}

func openStream(t *testing.T, rt http.RoundTripper, url string) *stream {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, url, pr)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	return &stream{w: pw, r: bufio.NewReader(resp.Body), body: resp.Body}
}

// say sends line on s and returns what comes back.
func (s *stream) say(line string) (string, error) {
	if _, err := io.WriteString(s.w, line+"\n"); err != nil {
		return "", err
	}
	got, err := s.r.ReadString('\n')
	return got, err
}

func (s *stream) close() {
	s.w.Close()
	io.Copy(io.Discard, s.r)
	s.body.Close()
}

// drainedAfter waits until the drain point of a connection to a peer with
// cert, then until the pool has unlisted its connections to addr.
func drainedAfter(t *testing.T, p *Pool, addr string, cert *x509.Certificate) {
	t.Helper()
	time.Sleep(time.Until(drainAt(cert)))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		_, listed := p.hosts[addr]
		p.mu.Unlock()
		if !listed {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the connection was not drained")
		}
	}
}

func TestDrainBeforeExpiry(t *testing.T) {
	ca := testpki.NewCA(t)
	// Drained 1 to 2 s from now, expiring 2 s later.
	catalog := shortLived(t, ca, "spiffe://pylon.local/ns/default/svc/catalog", 20*time.Second, 4*time.Second)
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	mux := http.NewServeMux()
	mux.HandleFunc("/remote", remote)
	mux.HandleFunc("/echo", echo)
	addr, conns := serveH2(t, catalog, mux)
	p := Transport(orders, func(string) (spiffeid.ID, bool) { return catalog.id, true }, &Stats{})
	t.Cleanup(p.CloseIdleConnections)

	first := get(t, p, "https://"+addr+"/remote")
	s := openStream(t, p, "https://"+addr+"/echo")
	if got, err := s.say("before"); err != nil || got != "before\n" {
		t.Fatalf("stream before the drain: got %q, %v, want %q", got, err, "before\n")
	}
	drainedAfter(t, p, addr, catalog.cert.Leaf)

	// New requests go out on a new connection.
	second := get(t, p, "https://"+addr+"/remote")
	if second == first {
		t.Errorf("a request after the drain point went out on the drained connection %s", first)
	}
	if diff := cmp.Diff(second, get(t, p, "https://"+addr+"/remote")); diff != "" {
		t.Errorf("requests after the drain used different connections (-first +second):\n%s", diff)
	}
	// The stream in flight carries on, and its connection closes when it
	// ends.
	if got, err := s.say("after"); err != nil || got != "after\n" {
		t.Errorf("stream after the drain: got %q, %v, want %q", got, err, "after\n")
	}
	s.close()
	opened := []string{next(t, conns.opened, "connection"), next(t, conns.opened, "connection")}
	if diff := cmp.Diff([]string{first, second}, opened); diff != "" {
		t.Errorf("connections opened (-want +got):\n%s", diff)
	}
	if got := next(t, conns.closed, "closed connection"); got != first {
		t.Errorf("closed %s, want the drained %s", got, first)
	}
	if time.Now().After(catalog.cert.Leaf.NotAfter) {
		t.Error("the drained connection was closed at the expiry, not once its stream ended")
	}
}

func TestCloseAtExpiry(t *testing.T) {
	ca := testpki.NewCA(t)
	catalog := shortLived(t, ca, "spiffe://pylon.local/ns/default/svc/catalog", 10*time.Second, 2*time.Second)
	notAfter := catalog.cert.Leaf.NotAfter
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	addr, conns := serveH2(t, catalog, http.HandlerFunc(echo))
	p := Transport(orders, func(string) (spiffeid.ID, bool) { return catalog.id, true }, &Stats{})

	s := openStream(t, p, "https://"+addr+"/")
	defer s.close()
	opened := next(t, conns.opened, "connection")
	if got, err := s.say("open"); err != nil || got != "open\n" {
		t.Fatalf("got %q, %v, want %q", got, err, "open\n")
	}
	// The stream outlives the drain point; it is cut at the expiry.
	_, err := s.r.ReadString('\n')
	if err == nil {
		t.Fatal("got an answer nobody asked for")
	}
	if time.Now().Before(notAfter) {
		t.Errorf("the stream was cut at %v, before the peer's certificate expired at %v: %v", time.Now(), notAfter, err)
	}
	if got := next(t, conns.closed, "closed connection"); got != opened {
		t.Errorf("closed %s, want %s", got, opened)
	}
}

func TestRedialVerifiesAgain(t *testing.T) {
	ca := testpki.NewCA(t)
	catalog := shortLived(t, ca, "spiffe://pylon.local/ns/default/svc/catalog", 10*time.Second, 3*time.Second)
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	addr, _ := serveH2(t, catalog, http.HandlerFunc(remote))
	var mu sync.Mutex
	want := catalog.id
	stats := &Stats{}
	p := Transport(orders, func(string) (spiffeid.ID, bool) { mu.Lock(); defer mu.Unlock(); return want, true }, stats)
	t.Cleanup(p.CloseIdleConnections)

	get(t, p, "https://"+addr+"/")
	mu.Lock()
	want = orders.id // the address now belongs to another service
	mu.Unlock()
	drainedAfter(t, p, addr, catalog.cert.Leaf)
	_, err := (&http.Client{Transport: p}).Get("https://" + addr + "/")
	if err == nil {
		t.Fatal("a request after the drain reached a destination with the wrong identity")
	}
	if got := stats.OutboundFailures.Load(); got != 1 {
		t.Errorf("outbound failures: got %d, want 1", got)
	}
}

func TestDrainAt(t *testing.T) {
	expiry := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		life time.Duration
		want time.Time
	}{
		{"default 12 h", 12 * time.Hour, expiry.Add(-72 * time.Minute)},
		{"a day", 24 * time.Hour, expiry.Add(-144 * time.Minute)},
		{"5 s", 5 * time.Second, expiry.Add(-500 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := drainAt(&x509.Certificate{NotBefore: expiry.Add(-tc.life), NotAfter: expiry})
			if !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCloseIdleConnections(t *testing.T) {
	ca := testpki.NewCA(t)
	catalog := issue(t, ca, "spiffe://pylon.local/ns/default/svc/catalog")
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	addr, conns := serveH2(t, catalog, http.HandlerFunc(remote))
	p := Transport(orders, func(string) (spiffeid.ID, bool) { return catalog.id, true }, &Stats{})
	first := get(t, p, "https://"+addr+"/")
	p.CloseIdleConnections()
	if got := next(t, conns.closed, "closed connection"); got != first {
		t.Errorf("closed %s, want the idle %s", got, first)
	}
	if second := get(t, p, "https://"+addr+"/"); second == first {
		t.Errorf("a request after CloseIdleConnections went out on the closed connection %s", first)
	}
	p.CloseIdleConnections()
}

func TestGotConnTrace(t *testing.T) {
	ca := testpki.NewCA(t)
	catalog := issue(t, ca, "spiffe://pylon.local/ns/default/svc/catalog")
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	addr, _ := serveH2(t, catalog, http.HandlerFunc(remote))
	p := Transport(orders, func(string) (spiffeid.ID, bool) { return catalog.id, true }, &Stats{})
	t.Cleanup(p.CloseIdleConnections)
	type seen struct {
		Remote, Local string
		Reused        bool
	}
	var got []seen
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		got = append(got, seen{i.Conn.RemoteAddr().String(), i.Conn.LocalAddr().String(), i.Reused})
	}}
	var local string
	for range 2 {
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodGet, "https://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		local = string(b)
	}
	want := []seen{{addr, local, false}, {addr, local, true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GotConn (-want +got):\n%s", diff)
	}
}

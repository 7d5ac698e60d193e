package meshtls

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/internal/testpki"
)

// identity is a workload identity issued by ca.
type identity struct {
	id    spiffeid.ID
	cert  *tls.Certificate
	roots []*x509.Certificate
}

func (i *identity) Certificate() (*tls.Certificate, error) { return i.cert, nil }
func (i *identity) Roots() []*x509.Certificate             { return i.roots }
func (i *identity) ID() spiffeid.ID                        { return i.id }

func issue(t testing.TB, ca *testpki.CA, id string) *identity {
	t.Helper()
	cert := ca.Issue(t, id)
	return &identity{id: spiffeid.RequireFromString(id), cert: &cert, roots: []*x509.Certificate{ca.Cert}}
}

// inbound serves an HTTP/2 echo of the caller's SPIFFE ID behind
// ServerConfig, and returns its address.
func inbound(t testing.TB, server *identity, permissive bool, stats *Stats) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, ok := PeerID(r.TLS.PeerCertificates)
			if !ok {
				io.WriteString(w, "plaintext-peer")
				return
			}
			io.WriteString(w, id.String()+" "+r.Proto)
		}),
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go srv.Serve(tls.NewListener(ln, ServerConfig(server, permissive, stats, slog.New(slog.DiscardHandler))))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestMeshRoundTrip(t *testing.T) {
	ca := testpki.NewCA(t)
	catalog := issue(t, ca, "spiffe://pylon.local/ns/default/svc/catalog")
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	addr := inbound(t, catalog, false, &Stats{})
	var dials atomic.Int32
	peers := func(a string) (spiffeid.ID, bool) {
		dials.Add(1)
		return catalog.id, a == addr
	}
	rt := Transport(orders, peers, &Stats{})
	c := &http.Client{Transport: rt}
	for range 20 {
		resp, err := c.Get("https://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := string(b), "spiffe://pylon.local/ns/default/svc/orders HTTP/2.0"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("20 requests dialed %d connections, want 1 reused", n)
	}
}

func TestMeshRefusals(t *testing.T) {
	ca, foreign := testpki.NewCA(t), testpki.NewCA(t)
	catalog := issue(t, ca, "spiffe://pylon.local/ns/default/svc/catalog")
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	stranger := issue(t, foreign, "spiffe://pylon.local/ns/default/svc/orders")
	addr := inbound(t, catalog, false, &Stats{})
	get := func(client *identity, peers Peers) error {
		resp, err := (&http.Client{Transport: Transport(client, peers, &Stats{})}).Get("https://" + addr + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	want := func(id spiffeid.ID) Peers { return func(string) (spiffeid.ID, bool) { return id, true } }
	if err := get(orders, want(orders.id)); err == nil || !strings.Contains(err.Error(), "presented spiffe://pylon.local/ns/default/svc/catalog") {
		t.Errorf("a destination with another identity: got %v", err)
	}
	if err := get(orders, func(string) (spiffeid.ID, bool) { return spiffeid.ID{}, false }); err == nil {
		t.Error("an address with no known identity was dialed")
	}
	if err := get(stranger, want(catalog.id)); err == nil {
		t.Error("a caller from another CA got through")
	}
	// A plain TLS client without a certificate is refused in strict mode
	// and let through in permissive mode.
	plain := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := plain.Get("https://" + addr + "/"); err == nil {
		resp.Body.Close()
		t.Error("strict mode let a caller without a certificate in")
	}
	stats := &Stats{}
	perm := inbound(t, catalog, true, stats)
	resp, err := plain.Get("https://" + perm + "/")
	if err != nil {
		t.Fatalf("permissive mode refused a caller without a certificate: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "plaintext-peer" {
		t.Errorf("got %q", b)
	}
	strangerTLS := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*stranger.cert}}}}
	if resp, err := strangerTLS.Get("https://" + perm + "/"); err == nil {
		resp.Body.Close()
		t.Error("permissive mode let a certificate from another CA in")
	}
	if stats.InboundFailures.Load() == 0 {
		t.Error("refused handshakes were not counted")
	}
}

func TestBurstSharesOneConnection(t *testing.T) {
	ca := testpki.NewCA(t)
	catalog := issue(t, ca, "spiffe://pylon.local/ns/default/svc/catalog")
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	addr := inbound(t, catalog, false, &Stats{})
	var dials atomic.Int32
	rt := Transport(orders, func(string) (spiffeid.ID, bool) { dials.Add(1); return catalog.id, true }, &Stats{})
	c := &http.Client{Transport: rt}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := c.Get("https://" + addr + "/"); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			} else {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := dials.Load(); n != 1 {
		t.Errorf("a burst of 50 requests dialed %d connections, want 1", n)
	}
}

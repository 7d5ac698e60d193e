package meshtls

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"golang.org/x/net/http2"

	"github.com/pylon-mesh/pylon/internal/testpki"
)

// refuseFirst listens on loopback: it turns the first request of the
// first connection away with a GOAWAY, as a sidecar shutting down does to
// a request that crossed it, and passes later connections through to
// backend. It returns its address and the count of requests refused.
func refuseFirst(t *testing.T, server *identity, backend string) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	refused := &atomic.Int32{}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		goAway(tls.Server(c, ServerConfig(server, false, &Stats{}, slog.New(slog.DiscardHandler))), refused)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go pipe(c, backend)
		}
	}()
	return ln.Addr().String(), refused
}

// goAway speaks just enough HTTP/2 on c to refuse its first stream.
func goAway(c *tls.Conn, refused *atomic.Int32) {
	defer c.Close()
	if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	if fr.WriteSettings() != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			refused.Add(1)
			fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}
	}
}

// pipe connects c to addr.
func pipe(c net.Conn, addr string) {
	defer c.Close()
	b, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer b.Close()
	go io.Copy(b, c)
	io.Copy(c, b)
}

// onceReader is a body that cannot be read again.
type onceReader struct{ io.Reader }

func TestRetryRefusedRequests(t *testing.T) {
	ca := testpki.NewCA(t)
	catalog := issue(t, ca, "spiffe://pylon.local/ns/default/svc/catalog")
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	backend, _ := serveH2(t, catalog, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "served")
	}))
	peers := func(string) (spiffeid.ID, bool) { return catalog.id, true }
	for _, tc := range []struct {
		name    string
		body    io.Reader
		wantErr string // empty: the request is sent again and served
	}{
		{"no body", nil, ""},
		{"body that can be read again", strings.NewReader("order"), ""},
		{"body that cannot", onceReader{strings.NewReader("order")}, "GOAWAY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, refused := refuseFirst(t, catalog, backend)
			p := Transport(orders, peers, &Stats{})
			t.Cleanup(p.CloseIdleConnections)
			req, err := http.NewRequest(http.MethodPost, "https://"+addr+"/", tc.body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := p.RoundTrip(req)
			if got := refused.Load(); got != 1 {
				t.Errorf("refused %d requests, want 1", got)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if b, _ := io.ReadAll(resp.Body); string(b) != "served" {
				t.Errorf("got %q, want %q", b, "served")
			}
		})
	}
}

// TestUnsentAfterClose checks unsent against the error of a request on a
// connection that closed before it was sent (GOAWAY's is checked by
// TestRetryRefusedRequests).
func TestUnsentAfterClose(t *testing.T) {
	ca := testpki.NewCA(t)
	catalog := issue(t, ca, "spiffe://pylon.local/ns/default/svc/catalog")
	orders := issue(t, ca, "spiffe://pylon.local/ns/default/svc/orders")
	addr, _ := serveH2(t, catalog, http.HandlerFunc(remote))
	p := Transport(orders, func(string) (spiffeid.ID, bool) { return catalog.id, true }, &Stats{})
	get(t, p, "https://"+addr+"/")
	c, err := p.get(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	c.cc.Close()
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.cc.RoundTrip(req)
	if err == nil || !unsent(err) {
		t.Errorf("unsent(%v): got false, want true", err)
	}
	if unsent(io.ErrUnexpectedEOF) {
		t.Errorf("unsent(%v): got true, want false", io.ErrUnexpectedEOF)
	}
}

package proxy

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// headerRecorder is a RoundTripper that keeps the header of each request
// and answers 200 with no body.
type headerRecorder struct {
	mu  sync.Mutex
	got []http.Header
}

func (r *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.got = append(r.got, req.Header.Clone())
	r.mu.Unlock()
	return &http.Response{StatusCode: 200, ProtoMajor: 2, Header: http.Header{}, Body: http.NoBody}, nil
}

// TestHTTP1ToRoundTripperHeader checks the header an HTTP/1.1 request
// carries to a service spoken to over HTTP/2: fields in order with their
// repeats, names in canonical form, hop-by-hop fields and the client's
// forwarding fields (from an untrusted peer) replaced by pylon's.
func TestHTTP1ToRoundTripperHeader(t *testing.T) {
	rec := &headerRecorder{}
	svc := testService(t, "127.0.0.1:1")
	svc.Protocol, svc.RT = H2C, rec
	lc := testListener(t, "plain", svc)
	srv := NewServer(slog.New(slog.DiscardHandler))
	srv.Store(&Snapshot{Listeners: map[string]*ListenerConfig{"plain": lc}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	c, err := net.Dial("tcp", serveOn(t, srv, "plain"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := "GET /x HTTP/1.1\r\nHost: shop.example\r\nuser-agent: test/1\r\nX-Multi: a\r\nAccept: */*\r\nX-Multi: b\r\n" +
		"Connection: keep-alive, X-Hop\r\nX-Hop: dropped\r\nX-Forwarded-For: 10.9.9.9\r\nX-Forwarded-Proto: https\r\n" +
		"X-Request-Id: req-1\r\nx-custom-name: v\r\n\r\n"
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200 ") {
		t.Fatalf("response %q, %v; want 200", buf[:n], err)
	}
	if len(rec.got) != 1 {
		t.Fatalf("the RoundTripper got %d requests, want 1", len(rec.got))
	}
	want := http.Header{
		"User-Agent":        {"test/1"},
		"X-Multi":           {"a", "b"},
		"Accept":            {"*/*"},
		"X-Custom-Name":     {"v"},
		"X-Forwarded-For":   {"127.0.0.1"},
		"X-Forwarded-Proto": {"http"},
		"X-Forwarded-Host":  {"shop.example"},
		"X-Request-Id":      {"req-1"},
	}
	if diff := cmp.Diff(want, rec.got[0]); diff != "" {
		t.Errorf("upstream request header (-want +got):\n%s", diff)
	}
}

package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// echoTunnel is a tiny Connect handler: it names the target, then echoes
// what the client sends, flushing each piece at once.
type echoTunnel struct{ calls atomic.Int64 }

func (h *echoTunnel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	// http.ResponseController reaches the stream through pylon's writer.
	rc := http.NewResponseController(w)
	if err := errors.Join(rc.EnableFullDuplex(), rc.SetReadDeadline(time.Now().Add(10*time.Second))); err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "target="+r.Host+"\n")
	rc.Flush()
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
			rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// dialTunnel sends an HTTP/2 CONNECT for target and returns the response
// and the writer of the request body.
func dialTunnel(t *testing.T, e *hookEnv, secure bool, role string) (*http.Response, *io.PipeWriter) {
	t.Helper()
	client := e.httpClient(t, true, secure)
	u := &url.URL{Scheme: "http", Host: e.plainAddr}
	if secure {
		u = &url.URL{Scheme: "https", Host: e.tlsAddr}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req := (&http.Request{Method: "CONNECT", URL: u, Host: "db.internal:5432", Header: http.Header{"X-Role": {role}}, Body: pr}).WithContext(ctx)
	resp, err := client.Transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("CONNECT: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, pw
}

func TestConnectTunnels(t *testing.T) {
	tunnel := &echoTunnel{}
	e := newHookEnv(t, func(lc *ListenerConfig, rec *recorder) {
		lc.Authorize = rec.authorize
		lc.Connect = tunnel
	})
	for _, tc := range []struct {
		name     string
		secure   bool
		listener string
		peer     string
	}{
		{"http2 mtls", true, "tls", clientID},
		{"h2c", false, "plain", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, pw := dialTunnel(t, e, tc.secure, "ok")
			if resp.StatusCode != 200 || !validRequestID([]byte(resp.Header.Get("X-Request-Id"))) {
				t.Fatalf("got status %d, X-Request-Id %q; want 200 and a request ID", resp.StatusCode, resp.Header.Get("X-Request-Id"))
			}
			br := bufio.NewReader(resp.Body)
			var got []string
			readLine := func() {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("read from tunnel: %v", err)
				}
				got = append(got, line)
			}
			// Each line is echoed before the next is sent, so the stream is
			// full duplex: the response flows while the request is open.
			readLine()
			for _, msg := range []string{"ping\n", "pong\n"} {
				if _, err := io.WriteString(pw, msg); err != nil {
					t.Fatalf("write to tunnel: %v", err)
				}
				readLine()
			}
			pw.Close()
			if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
				t.Errorf("after half-close: got %q, %v; want EOF", rest, err)
			}
			want := []string{"target=db.internal:5432\n", "ping\n", "pong\n"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("tunnel (-want +got):\n%s", diff)
			}
			access, logs := waitLogs(t, e.rec)
			if diff := cmp.Diff([]seen{{Peer: tc.peer, Method: "CONNECT", Role: "ok"}}, access); diff != "" {
				t.Errorf("Authorize saw (-want +got):\n%s", diff)
			}
			wantLog := logged{Listener: tc.listener, Status: 200, Method: "CONNECT", BytesIn: 10, BytesOut: int64(len(want[0])) + 10}
			if diff := cmp.Diff([]logged{wantLog}, logs); diff != "" {
				t.Errorf("observed records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectRefused(t *testing.T) {
	tests := []struct {
		name    string
		connect bool
		role    string
		status  int
		code    string
		access  []seen
	}{
		{"denied", true, "deny", 403, "forbidden", []seen{{Peer: clientID, Method: "CONNECT", Role: "deny"}}},
		{"no handler", false, "ok", 405, "method_not_allowed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tunnel := &echoTunnel{}
			e := newHookEnv(t, func(lc *ListenerConfig, rec *recorder) {
				lc.Authorize = rec.authorize
				if tc.connect {
					lc.Connect = tunnel
				}
			})
			resp, _ := dialTunnel(t, e, true, tc.role)
			var eb errorBody
			if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil {
				t.Fatalf("decode error body: %v", err)
			}
			if diff := cmp.Diff([]any{tc.status, tc.code}, []any{resp.StatusCode, eb.Error.Code}); diff != "" {
				t.Errorf("status and code (-want +got):\n%s", diff)
			}
			access, logs := waitLogs(t, e.rec)
			if diff := cmp.Diff(tc.access, access); diff != "" {
				t.Errorf("Authorize saw (-want +got):\n%s", diff)
			}
			if len(logs) != 1 || logs[0].Code != tc.code {
				t.Errorf("observed records: got %+v, want one with code %s", logs, tc.code)
			}
			if n := tunnel.calls.Load(); n != 0 {
				t.Errorf("Connect handler: got %d calls, want 0", n)
			}
		})
	}
}

func TestConnectHTTP1Refused(t *testing.T) {
	tunnel := &echoTunnel{}
	e := newHookEnv(t, func(lc *ListenerConfig, rec *recorder) {
		lc.Authorize = rec.authorize
		lc.Connect = tunnel
	})
	c, err := net.Dial("tcp", e.plainAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 405 || !strings.Contains(string(body), `"method_not_allowed"`) {
		t.Errorf("got %d %s, want 405 method_not_allowed", resp.StatusCode, body)
	}
	if access, _ := e.rec.take(); len(access) != 0 || tunnel.calls.Load() != 0 {
		t.Errorf("got Authorize calls %+v and %d Connect calls, want none", access, tunnel.calls.Load())
	}
}

package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// errorBody is pylon's JSON error body.
type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// authorizeAll installs the recorder's hook on every listener.
func authorizeAll(lc *ListenerConfig, rec *recorder) { lc.Authorize = rec.authorize }

func TestAuthorize(t *testing.T) {
	e := newHookEnv(t, authorizeAll)
	clients := []struct {
		name     string
		h2       bool
		secure   bool
		listener string
		peer     string
	}{
		{"http1 mtls", false, true, "tls", clientID},
		{"http2 mtls", true, true, "tls", clientID},
		{"http1 plaintext", false, false, "plain", ""},
		{"h2c plaintext", true, false, "plain", ""},
	}
	tests := []struct {
		name     string
		path     string // requested, with a query
		status   int
		code     string // the error code, "" when allowed
		upstream []string
	}{
		{"allowed", "/orders/1?x=1", 200, "", []string{"/orders/1"}},
		{"denied", "/deny/orders?x=1", 403, "forbidden", nil},
	}
	for _, cl := range clients {
		client := e.httpClient(t, cl.h2, cl.secure)
		addr, scheme := e.plainAddr, "http://"
		if cl.secure {
			addr, scheme = e.tlsAddr, "https://"
		}
		for _, tc := range tests {
			t.Run(cl.name+"/"+tc.name, func(t *testing.T) {
				req, err := http.NewRequest("GET", scheme+addr+tc.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("X-Role", "admin")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.status {
					t.Fatalf("got status %d (%s), want %d", resp.StatusCode, body, tc.status)
				}
				if tc.code != "" {
					var eb errorBody
					if err := json.Unmarshal(body, &eb); err != nil {
						t.Fatalf("error body %q: %v", body, err)
					}
					if diff := cmp.Diff([]string{tc.code, resp.Header.Get("X-Request-Id")}, []string{eb.Error.Code, eb.Error.RequestID}); diff != "" || eb.Error.RequestID == "" {
						t.Errorf("error body %s: code and request id (-want +got):\n%s", body, diff)
					}
				}
				path := tc.path[:len(tc.path)-len("?x=1")]
				access, logs := waitLogs(t, e.rec)
				wantAccess := []seen{{Peer: cl.peer, Method: "GET", Path: path, Role: "admin"}}
				if diff := cmp.Diff(wantAccess, access); diff != "" {
					t.Errorf("Authorize saw (-want +got):\n%s", diff)
				}
				for i := range logs {
					logs[i].BytesIn, logs[i].BytesOut = 0, 0
				}
				wantLogs := []logged{{Listener: cl.listener, Status: tc.status, Code: tc.code, Method: "GET", Path: path}}
				if diff := cmp.Diff(wantLogs, logs); diff != "" {
					t.Errorf("observed records (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.upstream, e.up.take()); diff != "" {
					t.Errorf("upstream saw (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestAuthorizePeerVerifiedByCallback covers listeners that verify peers
// themselves, as the mesh's do: Go verifies nothing, the callback does, and
// the hook still sees the caller's certificate.
func TestAuthorizePeerVerifiedByCallback(t *testing.T) {
	e := newHookEnv(t, func(lc *ListenerConfig, rec *recorder) {
		lc.Authorize = rec.authorize
		if lc.TLS == nil {
			return
		}
		pool := lc.TLS.ClientCAs
		lc.TLS.ClientAuth, lc.TLS.ClientCAs = tls.RequireAnyClientCert, nil
		lc.TLS.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			leaf, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			_, err = leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			return err
		}
	})
	for _, h2 := range []bool{false, true} {
		resp, err := e.httpClient(t, h2, true).Get("https://" + e.tlsAddr + "/orders")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		access, _ := waitLogs(t, e.rec)
		want := []seen{{Peer: clientID, Method: "GET", Path: "/orders"}}
		if diff := cmp.Diff(want, access); diff != "" || resp.StatusCode != 200 {
			t.Errorf("HTTP/2 %v: got status %d, want 200; Authorize saw (-want +got):\n%s", h2, resp.StatusCode, diff)
		}
	}
}

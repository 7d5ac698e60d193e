package test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/internal/echo"
)

// writeCert writes a self-signed certificate for name and its key into dir
// and returns the two paths and the certificate.
func writeCert(t *testing.T, dir, name string) (certPath, keyPath string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating a certificate: %v", err)
	}
	cert, _ = x509.ParseCertificate(der)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshaling the key: %v", err)
	}
	certPath = filepath.Join(dir, name+".pem")
	keyPath = filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatalf("writing the certificate: %v", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatalf("writing the key: %v", err)
	}
	return certPath, keyPath, cert
}

// protoEcho is the echo handler that also reports the protocol the upstream
// was reached with in X-Upstream-Proto.
func protoEcho(instance string) http.Handler {
	h := echo.Handler(instance)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream-Proto", r.Proto)
		h.ServeHTTP(w, r)
	})
}

func startH2CHandler(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetHTTP1(true)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

const http2Config = `
listeners:
  - name: web
    address: {{listen "web"}}
  - name: secure
    address: {{listen "secure"}}
    tls:
      certificates:
        - { cert: {{.CertA}}, key: {{.KeyA}} }
        - { cert: {{.CertB}}, key: {{.KeyB}} }
routes:
  - name: h1
    match:
      path: { prefix: /h1 }
    service: h1
  - name: h2c
    match:
      path: { prefix: /h2c }
    service: h2c
services:
  - name: h1
    endpoints: [{{.H1}}]
  - name: h2c
    protocol: h2c
    endpoints: [{{.H2C}}]
`

func TestHTTP2(t *testing.T) {
	dir := t.TempDir()
	certA, keyA, a := writeCert(t, dir, "a.test")
	certB, keyB, b := writeCert(t, dir, "b.test")
	g := startGateway(t, http2Config, map[string]string{
		"CertA": certA, "KeyA": keyA, "CertB": certB, "KeyB": keyB,
		"H1": startHandler(t, protoEcho("h1")), "H2C": startH2CHandler(t, protoEcho("h2c")),
	})
	roots := x509.NewCertPool()
	roots.AddCert(a)
	roots.AddCert(b)

	h2cTransport := &http.Transport{Protocols: new(http.Protocols)}
	h2cTransport.Protocols.SetUnencryptedHTTP2(true) // prior knowledge, no upgrade
	t.Cleanup(h2cTransport.CloseIdleConnections)
	h2cClient := &http.Client{Timeout: 10 * time.Second, Transport: h2cTransport}
	tlsClient := func(serverName string, h2 bool) *http.Client {
		tr := &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: serverName},
			ForceAttemptHTTP2: h2,
		}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}

	clients := []struct {
		name      string
		client    *http.Client
		base      string
		wantProto string
		wantXFP   string
	}{
		{"h2c prior knowledge", h2cClient, g.url("web"), "HTTP/2.0", "http"},
		{"TLS h2", tlsClient("a.test", true), "https://" + g.addr("secure"), "HTTP/2.0", "https"},
		{"TLS http/1.1", tlsClient("a.test", false), "https://" + g.addr("secure"), "HTTP/1.1", "https"},
	}
	upstreams := []struct {
		path      string
		instance  string
		wantProto string
	}{
		{"/h1/x", "h1", "HTTP/1.1"},
		{"/h2c/x", "h2c", "HTTP/2.0"},
	}
	for _, c := range clients {
		for _, u := range upstreams {
			t.Run(c.name+" to "+u.instance, func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, c.base+u.path, strings.NewReader("hello"))
				resp, body := do(t, c.client, req)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("got status %d, want 200; body %s", resp.StatusCode, body)
				}
				rep := decodeEcho(t, body)
				got := []string{resp.Proto, rep.Instance, resp.Header.Get("X-Upstream-Proto"), rep.Body,
					strings.Join(rep.Headers["X-Forwarded-Proto"], ",")}
				want := []string{c.wantProto, u.instance, u.wantProto, "hello", c.wantXFP}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("[client proto, instance, upstream proto, body, X-Forwarded-Proto] (-want +got):\n%s", diff)
				}
			})
		}
	}

	for _, sni := range []string{"a.test", "b.test"} {
		t.Run("certificate for SNI "+sni, func(t *testing.T) {
			resp, _ := get(t, tlsClient(sni, true), "https://"+g.addr("secure")+"/h1/sni")
			if got := resp.TLS.PeerCertificates[0].DNSNames; !cmp.Equal(got, []string{sni}) {
				t.Errorf("got certificate for %v, want %s", got, sni)
			}
			if resp.TLS.NegotiatedProtocol != "h2" {
				t.Errorf("got ALPN %q, want h2", resp.TLS.NegotiatedProtocol)
			}
		})
	}
}

func TestHTTP2ConcurrentStreamsAndLargeBodies(t *testing.T) {
	g := startGateway(t, `
listeners:
  - name: web
    address: {{listen "web"}}
routes:
  - name: h1
    match:
      path: { prefix: /h1 }
    service: h1
  - name: h2c
    match:
      path: { prefix: /h2c }
    service: h2c
services:
  - name: h1
    endpoints: [{{.H1}}]
  - name: h2c
    protocol: h2c
    endpoints: [{{.H2C}}]
`, map[string]string{"H1": startHandler(t, sizeEcho()), "H2C": startH2CHandler(t, sizeEcho())})
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	for _, up := range []string{"/h1", "/h2c"} {
		t.Run(up, func(t *testing.T) {
			const streams = 32
			errs := make(chan string, streams)
			var wg sync.WaitGroup
			for i := range streams {
				wg.Add(1)
				go func() {
					defer wg.Done()
					size := 1 + i*(256<<10) // up to about 8 MB
					resp, body, err := tryPost(c, g.url("web")+up, bytes.Repeat([]byte{'x'}, size))
					switch {
					case err != nil:
						errs <- fmt.Sprintf("stream %d: %v", i, err)
					case resp.StatusCode != http.StatusOK || string(body) != strconv.Itoa(size):
						errs <- fmt.Sprintf("stream %d: got %d %q, want 200 %d", i, resp.StatusCode, body, size)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
		})
	}
}

// sizeEcho answers with the number of body bytes it read.
func sizeEcho() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
}

func tryPost(c *http.Client, url string, body []byte) (*http.Response, []byte, error) {
	resp, err := c.Post(url, "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

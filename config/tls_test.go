package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeCert writes a self-signed certificate and its key as PEM files
// cert.pem and key.pem under dir/certs.
func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pylon test"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(certs, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cert.pem", "CERTIFICATE", der)
	write("key.pem", "PRIVATE KEY", keyDER)
}

func TestTLSFilesResolvedAgainstConfigDir(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	in := snippet{
		listener: "{name: web, address: 127.0.0.1:8443, tls: {certificates: [{cert: certs/cert.pem, key: certs/key.pem}], min_version: \"1.3\"}}",
		service:  "{name: orders, endpoints: [127.0.0.1:9001], protocol: h2, tls: {ca: certs/cert.pem, cert: certs/cert.pem, key: certs/key.pem, server_name: orders.internal}}",
	}
	path := filepath.Join(dir, "pylon.yaml")
	if err := os.WriteFile(path, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load: got error %v, want nil", err)
	}
	cert, key := filepath.Join(dir, "certs/cert.pem"), filepath.Join(dir, "certs/key.pem")
	got := []any{c.Dir(), *c.Listeners[0].TLS, *c.Services[0].TLS}
	want := []any{dir,
		ListenerTLS{Certificates: []Certificate{{Cert: cert, Key: key}}, MinVersion: "1.3"},
		UpstreamTLS{CA: cert, Cert: cert, Key: key, ServerName: "orders.internal"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TLS (-want +got):\n%s", diff)
	}
}

func TestTLSFilesMustLoad(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	in := snippet{
		listener: "{name: web, address: 127.0.0.1:8443, tls: {certificates: [{cert: certs/key.pem, key: certs/cert.pem}]}}",
		service:  "{name: orders, endpoints: [127.0.0.1:9001], tls: {ca: certs/key.pem}}",
	}
	_, err := Parse(filepath.Join(dir, "f.yaml"), []byte(in.String()))
	f := filepath.Join(dir, "f.yaml")
	want := []string{
		f + ":2:64: listeners[0].tls.certificates[0].cert: load certificate " + filepath.Join(dir, "certs/key.pem") +
			" and key " + filepath.Join(dir, "certs/cert.pem") + ": tls: failed to find certificate PEM data in certificate input, but did find a private key; PEM inputs may have been switched",
		f + ":6:55: services[0].tls.ca: read CA bundle " + filepath.Join(dir, "certs/key.pem") + ": no PEM certificates found",
	}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("Parse errors (-want +got):\n%s", diff)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load: got %v, want an fs.ErrNotExist error", err)
	}
}

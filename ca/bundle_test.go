package ca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBundlePEM(t *testing.T) {
	a := openCA(t, newStore(t), Options{KeyFile: keyFile(t)})
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	rest := a.BundlePEM()
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		got = append(got, b.Bytes)
	}
	var want [][]byte
	for _, r := range a.Roots() {
		want = append(want, r.Raw)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bundle (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(2, len(got)); diff != "" {
		t.Errorf("roots in the bundle (-want +got):\n%s", diff)
	}
}

// pinnedClientConfig trusts a server whose chain ends in the root with pin,
// as a workload holding only a join token does.
func pinnedClientConfig(pin, serverName string) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			certs := make([]*x509.Certificate, len(raw))
			for i, der := range raw {
				c, err := x509.ParseCertificate(der)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			root := certs[len(certs)-1]
			if !VerifyPin(root, pin) {
				return errors.New("root does not match the pin")
			}
			roots, inters := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(root)
			for _, c := range certs[1 : len(certs)-1] {
				inters.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, DNSName: serverName})
			return err
		},
	}
}

func TestServingCertificate(t *testing.T) {
	a := openCA(t, newStore(t), Options{KeyFile: keyFile(t)})
	b := openCA(t, newStore(t), Options{KeyFile: keyFile(t)})
	id := web
	cert, err := a.ServingCertificate(id, []string{"control.example"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("ServingCertificate: %v", err)
	}
	if diff := cmp.Diff(3, len(cert.Certificate)); diff != "" {
		t.Fatalf("chain length (-want +got):\n%s", diff)
	}
	tests := []struct {
		name, pin, serverName string
		wantErr               bool
	}{
		{"pinned root, right name", a.Pin(), "control.example", false},
		{"pinned root, ip", a.Pin(), "127.0.0.1", false},
		{"pinned root, wrong name", a.Pin(), "evil.example", true},
		{"another ca's pin", b.Pin(), "control.example", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := handshake(t, cert, pinnedClientConfig(tc.pin, tc.serverName))
			if diff := cmp.Diff(tc.wantErr, err != nil); diff != "" {
				t.Errorf("handshake error %v (-want +got):\n%s", err, diff)
			}
		})
	}
}

// handshake runs a TLS handshake over an in-memory pipe between a server
// with cert and a client with cfg, and returns the client's error.
func handshake(t *testing.T, cert tls.Certificate, cfg *tls.Config) error {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	server := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{cert}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer s.Close()
		server.Handshake() // its error mirrors the client's
	}()
	err := tls.Client(c, cfg).Handshake()
	c.Close()
	<-done
	return err
}

package control

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/ca"
	"github.com/pylon-mesh/pylon/internal/grpcjson"
	"github.com/pylon-mesh/pylon/internal/testpki"
	"github.com/pylon-mesh/pylon/push"
	"github.com/pylon-mesh/pylon/store/bolt"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startReplica runs a control plane in this process on data until the test
// ends.
func startReplica(t *testing.T, data string) Options {
	t.Helper()
	o := Options{DataDir: data, ControlAddr: freeAddr(t), AdminAddr: freeAddr(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("control plane: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", o.ControlAddr); err == nil {
			c.Close()
			return o
		}
		select {
		case err := <-done:
			t.Fatalf("control plane ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("control plane not listening within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openStream opens the config push stream presenting cert and returns the
// first receive's error.
func openStream(t *testing.T, addr string, cert *tls.Certificate) error {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}} // the server's side is under test
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	desc := &grpc.StreamDesc{StreamName: "Stream", ServerStreams: true, ClientStreams: true}
	cs, err := conn.NewStream(ctx, desc, "/"+push.ServiceName+"/Stream", grpcjson.CallOption)
	if err != nil {
		return err
	}
	// A stream the server already ended fails SendMsg with io.EOF; its
	// status comes from RecvMsg either way.
	if err := cs.SendMsg(&push.Request{Hello: &push.Hello{NodeID: "n", Kind: "gateway"}}); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	var s push.Snapshot
	return cs.RecvMsg(&s)
}

// TestStreamNeedsAValidCertificate: no certificate, one from another CA and
// an expired one from the control plane's own CA cannot open a stream.
func TestStreamNeedsAValidCertificate(t *testing.T) {
	data := t.TempDir()
	id := spiffeid.RequireFromString("spiffe://pylon.local/ns/default/svc/edge")

	// An expired certificate from the real CA: issue it with the CA's
	// clock set two days back, before the control plane starts.
	st, err := bolt.Open(filepath.Join(data, "pylon.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-48 * time.Hour)
	old, err := ca.Open(context.Background(), st, ca.Options{KeyFile: filepath.Join(data, "ca.key"), Now: func() time.Time { return past }})
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	chain, err := old.Sign(csr, id)
	if err != nil {
		t.Fatal(err)
	}
	expired := tls.Certificate{Certificate: chain, PrivateKey: key}
	st.Close()

	o := startReplica(t, data)
	foreign := testpki.NewCA(t).Issue(t, id.String())
	for name, cert := range map[string]*tls.Certificate{"none": nil, "foreign CA": &foreign, "expired": &expired} {
		err := openStream(t, o.ControlAddr, cert)
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: got %v, want Unauthenticated", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(data, AdminTokenFile)); err != nil {
		t.Errorf("admin token file: %v", err)
	}
	var perm os.FileMode
	if fi, err := os.Stat(filepath.Join(data, AdminTokenFile)); err == nil {
		perm = fi.Mode().Perm()
	}
	if perm != 0o600 {
		t.Errorf("admin.token mode %v, want 0600", perm)
	}
}

func TestAdminAddressMustBeLoopbackWithoutTLS(t *testing.T) {
	err := Run(context.Background(), Options{DataDir: t.TempDir(), AdminAddr: "0.0.0.0:0"})
	if err == nil || !strings.Contains(err.Error(), "--admin-tls-cert") {
		t.Errorf("got %v, want a refusal naming --admin-tls-cert", err)
	}
}

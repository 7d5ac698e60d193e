package push

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/pylon-mesh/pylon/internal/testpki"
)

// peerSPIFFEID is an Options.Authenticate: the URI name of the verified
// client certificate.
func peerSPIFFEID(ctx context.Context) (string, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return "", errors.New("no peer")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0][0].URIs) != 1 {
		return "", errors.New("no verified client certificate with one URI name")
	}
	return info.State.VerifiedChains[0][0].URIs[0].String(), nil
}

func TestMutualTLS(t *testing.T) {
	ca := testpki.NewCA(t)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(newGen(1), Options{Authenticate: peerSPIFFEID})
	g := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{ca.Issue(t, "spiffe://test/control")},
		ClientCAs:    ca.Pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	})))
	srv.Register(g)
	go g.Serve(lis)
	t.Cleanup(func() { srv.Close(); g.Stop() })

	const id = "spiffe://test/ns/default/gateway/gw-1"
	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{ca.Issue(t, id)},
		RootCAs:      ca.Pool,
		MinVersion:   tls.VersionTLS13,
	})
	dial := func(context.Context) (*grpc.ClientConn, error) {
		return grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(creds))
	}
	a := newApplied()
	runClient(t, dial, hello("gw-1"), a.apply, ClientOptions{})
	waitFor(t, "ack of v1", func() bool { n, _ := nodeStatus(srv, "gw-1"); return n.Acked == "v1" })
	if n, _ := nodeStatus(srv, "gw-1"); n.Identity != id {
		t.Errorf("got identity %q, want %q", n.Identity, id)
	}
}

package proxy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/flow"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

func TestAuthorizeDeniesGRPC(t *testing.T) {
	e := newHookEnv(t, func(lc *ListenerConfig, rec *recorder) {
		lc.Authorize = func(a *Access) *flow.Error {
			rec.authorize(a)
			return errDenied
		}
	})
	conn, err := grpc.NewClient(e.tlsAddr, grpc.WithTransportCredentials(credentials.NewTLS(e.clientTLS(true))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	st := status.Convert(err)
	if st.Code() != codes.PermissionDenied || !strings.HasPrefix(st.Message(), "forbidden: ") {
		t.Fatalf("got status %v %q, want PermissionDenied \"forbidden: ...\"", st.Code(), st.Message())
	}
	access, logs := waitLogs(t, e.rec)
	const path = "/grpc.health.v1.Health/Check"
	if diff := cmp.Diff([]seen{{Peer: clientID, Method: "POST", Path: path, GRPC: true}}, access); diff != "" {
		t.Errorf("Authorize saw (-want +got):\n%s", diff)
	}
	for i := range logs {
		logs[i].BytesIn, logs[i].BytesOut = 0, 0
	}
	if diff := cmp.Diff([]logged{{Listener: "tls", Status: 403, Code: "forbidden", Method: "POST", Path: path}}, logs); diff != "" {
		t.Errorf("observed records (-want +got):\n%s", diff)
	}
	if got := e.up.take(); len(got) != 0 {
		t.Errorf("upstream saw %q, want nothing", got)
	}
}

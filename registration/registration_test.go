package registration

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/store/bolt"
)

// serve runs the registry service on loopback. The caller's identity is
// fixed here: in the control plane it is the verified SPIFFE ID of the mTLS
// peer (enroll.PeerID, tested there); this package decides what that
// identity may do.
func serve(t *testing.T, caller spiffeid.ID) (*registry.Registry, func(context.Context) (*grpc.ClientConn, error)) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := registry.New(st)
	g := grpc.NewServer()
	NewServer(reg, func(context.Context) (spiffeid.ID, error) { return caller, nil }, nil).Register(g)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(ln)
	t.Cleanup(g.Stop)
	dial := func(context.Context) (*grpc.ClientConn, error) {
		return grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	return reg, dial
}

var orders = spiffeid.RequireFromString("spiffe://pylon.local/ns/shop/svc/orders")

func TestKeeperLifecycle(t *testing.T) {
	reg, dial := serve(t, orders)
	var health atomic.Value
	health.Store(registry.Unknown)
	changed := make(chan struct{}, 1)
	k := &Keeper{Dial: dial, Health: func() string { return health.Load().(string) }, Changed: changed,
		Instance: registry.Instance{ID: "orders-1", Service: "orders", Address: "127.0.0.1:15006", TTL: config.Duration(3 * time.Second)},
		Logger:   slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()

	get := func() (registry.Instance, error) { return reg.Get(context.Background(), "orders", "orders-1") }
	waitFor(t, "the instance to register in the caller's namespace", func() bool {
		in, err := get()
		return err == nil && in.Namespace == "shop" && in.Health == registry.Unknown
	})
	health.Store(registry.Healthy)
	changed <- struct{}{}
	waitFor(t, "the health change to arrive before the next heartbeat is due", func() bool {
		in, err := get()
		return err == nil && in.Health == registry.Healthy
	})
	// The control plane loses the instance (its lease lapsed while the
	// sidecar could not reach it): the next heartbeat registers it again.
	if err := reg.Deregister(context.Background(), "orders", "orders-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the keeper to register again", func() bool { _, err := get(); return err == nil })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := get(); err == nil {
		t.Error("a stopped keeper left its instance registered")
	}
}

func TestOnlyOwnService(t *testing.T) {
	_, dial := serve(t, orders)
	conn, err := dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	tests := map[string]error{}
	_, tests["another service"] = call(ctx, conn, "Register", &RegisterRequest{Instance: registry.Instance{ID: "x", Service: "catalog", Address: "127.0.0.1:1"}})
	_, tests["another namespace"] = call(ctx, conn, "Register", &RegisterRequest{Instance: registry.Instance{ID: "x", Service: "orders", Namespace: "default", Address: "127.0.0.1:1"}})
	_, tests["heartbeat of another service"] = call(ctx, conn, "Heartbeat", &HeartbeatRequest{Service: "catalog", ID: "x"})
	_, tests["deregister of another service"] = call(ctx, conn, "Deregister", &DeregisterRequest{Service: "catalog", ID: "x"})
	for name, err := range tests {
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("%s: got %v, want PermissionDenied", name, err)
		}
	}
	if _, err := call(ctx, conn, "Register", &RegisterRequest{Instance: registry.Instance{ID: "x", Service: "orders", Address: "nowhere"}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("bad address: got %v, want InvalidArgument", err)
	}
	if _, err := call(ctx, conn, "Heartbeat", &HeartbeatRequest{Service: "orders", ID: "missing"}); status.Code(err) != codes.NotFound {
		t.Errorf("heartbeat of a missing instance: got %v, want NotFound", err)
	}
}

func TestNotAWorkload(t *testing.T) {
	_, dial := serve(t, spiffeid.RequireFromString("spiffe://pylon.local/control"))
	conn, err := dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = call(context.Background(), conn, "Register", &RegisterRequest{Instance: registry.Instance{ID: "x", Service: "orders", Address: "127.0.0.1:1"}})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("got %v, want PermissionDenied", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

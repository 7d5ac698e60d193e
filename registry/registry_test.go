package registry

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store/bolt"
)

func newRegistry(t *testing.T) *Registry {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "pylon.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return New(s)
}

func TestRegisterHeartbeatDeregister(t *testing.T) {
	ctx := context.Background()
	r := newRegistry(t)
	in, err := r.Register(ctx, Instance{ID: "orders-1", Service: "orders", Address: "127.0.0.1:9001", TTL: config.Duration(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if in.Namespace != "default" || in.Health != Unknown || in.Lease == 0 {
		t.Errorf("got %+v, want defaults namespace=default health=unknown and a lease", in)
	}
	if in, err = r.Heartbeat(ctx, "orders", "orders-1", Healthy); err != nil || in.Health != Healthy {
		t.Fatalf("heartbeat: got %+v, %v", in, err)
	}
	list, err := r.List(ctx, "orders")
	if err != nil || len(list) != 1 || list[0].Health != Healthy {
		t.Fatalf("list: got %+v, %v", list, err)
	}
	if err := r.Deregister(ctx, "orders", "orders-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, "orders", "orders-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after deregister: got %v, want ErrNotFound", err)
	}
	if _, err := r.Heartbeat(ctx, "orders", "orders-1", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("heartbeat after deregister: got %v, want ErrNotFound", err)
	}
}

func TestLapsedLeaseRemovesInstance(t *testing.T) {
	ctx := context.Background()
	r := newRegistry(t)
	if _, err := r.Register(ctx, Instance{ID: "a", Service: "s", Address: "127.0.0.1:1", TTL: config.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := r.Get(ctx, "s", "a"); errors.Is(err, ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("an instance without heartbeats was still registered 10s after its 1s lease")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReregisterReplaces(t *testing.T) {
	ctx := context.Background()
	r := newRegistry(t)
	first, err := r.Register(ctx, Instance{ID: "a", Service: "s", Address: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Register(ctx, Instance{ID: "a", Service: "s", Address: "127.0.0.1:2"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(ctx, "s", "a")
	if err != nil || got.Address != "127.0.0.1:2" || got.Lease != second.Lease || first.Lease == second.Lease {
		t.Errorf("got %+v, %v; want the second registration on its own lease", got, err)
	}
}

func TestCheck(t *testing.T) {
	for _, in := range []Instance{
		{ID: "a", Service: "S", Address: "127.0.0.1:1"},
		{ID: "", Service: "s", Address: "127.0.0.1:1"},
		{ID: "a", Service: "s", Address: "127.0.0.1"},
		{ID: "a", Service: "s", Address: "127.0.0.1:0"},
		{ID: "a", Service: "s", Address: "127.0.0.1:1", Health: "fine"},
		{ID: "a", Service: "s", Address: "127.0.0.1:1", TTL: config.Duration(time.Hour)},
	} {
		if err := in.Check(); err == nil {
			t.Errorf("%+v: accepted", in)
		}
	}
}

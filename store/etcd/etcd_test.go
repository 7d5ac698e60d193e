package etcd

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/etcdtest"
	"github.com/pylon-mesh/pylon/store"
	"github.com/pylon-mesh/pylon/store/storetest"
)

// open opens a store on the cluster under its own prefix, closed when the
// test ends.
func open(t *testing.T, endpoints []string, prefix string) *Store {
	t.Helper()
	s, err := Open(t.Context(), endpoints, Options{Prefix: prefix, SessionTTL: 2 * time.Second})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	n := 0
	storetest.Run(t, func(t *testing.T) store.Store {
		n++
		return open(t, c.Endpoints(), fmt.Sprintf("/test/%d/", n))
	})
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if s, err := Open(ctx, []string{"http://127.0.0.1:1"}, Options{DialTimeout: 200 * time.Millisecond}); err == nil {
		s.Close()
		t.Fatalf("open with no etcd: got a store, want an error")
	}
}

package dataplane

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/pylon-mesh/pylon/config"
)

// closeCounter stands in for the mesh's transport (which needs a workload
// identity and sidecars to dial): it counts CloseIdleConnections calls.
type closeCounter struct {
	http.RoundTripper
	closes atomic.Int32
}

func (c *closeCounter) CloseIdleConnections() { c.closes.Add(1) }

// TestReloadKeepsMeshConnections: the mesh transport is every mesh
// service's; a reload that rebuilds one mesh service (an instance came or
// went) must not close the transport's idle connections, which requests
// of the new config may have just taken: that cut requests off mid-flight
// during rolling restarts.
func TestReloadKeepsMeshConnections(t *testing.T) {
	tr := &closeCounter{}
	rt := New(Options{Logger: slog.New(slog.DiscardHandler), WatchInterval: -1, Mesh: &Mesh{Transport: tr}})
	ctx, cancel := context.WithCancel(context.Background())
	rt.ctx = ctx
	t.Cleanup(func() { cancel(); rt.shutdown() })
	for _, ep := range []string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"} {
		cfg := &config.Config{
			Admin:     config.Admin{Address: config.AdminOff},
			AccessLog: config.AccessLog{Path: "off"},
			Listeners: []config.Listener{{Name: "web", Address: "127.0.0.1:0"}},
			Routes:    []config.Route{{Name: "r", Service: "orders"}},
			Services:  []config.Service{{Name: "orders", Endpoints: []config.Endpoint{{Address: ep}}, Mesh: true}},
		}
		cfg.SetDefaults()
		if err := rt.apply(cfg); err != nil {
			t.Fatalf("apply with endpoint %s: %v", ep, err)
		}
	}
	rt.retiring.Wait() // the replaced services are stopped
	if n := tr.closes.Load(); n != 0 {
		t.Errorf("CloseIdleConnections on the shared mesh transport: got %d calls over two reloads, want 0", n)
	}
}

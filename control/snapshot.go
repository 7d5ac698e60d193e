package control

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/meshtls"
	"github.com/pylon-mesh/pylon/push"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/snapshot"
	"github.com/pylon-mesh/pylon/store"
)

// gatewayConfig builds what a gateway serves from the stored resources and
// instances: every listener, route, policy and consumer (routes' policies
// are enforced by the gateway; consumers' keys are stored hashed), and the
// services the routes reach,
// each with its static endpoints followed by its healthy registered
// instances; peers maps each instance's address to the SPIFFE ID its
// sidecar presents, so the gateway reaches it over the mesh.
func gatewayConfig(st *resource.State, instances []registry.Instance, td string) (cfg *config.Config, peers map[string]string, err error) {
	cfg, err = st.Config()
	if err != nil {
		return nil, nil, err
	}
	cfg.AuthorizationPolicies = nil // the sidecars' business, not a gateway's
	peers = map[string]string{}
	used := map[string]bool{}
	for _, r := range cfg.Routes {
		used[r.Service] = true
		for _, s := range r.Split {
			used[s.Service] = true
		}
	}
	byService := map[string][]config.Endpoint{}
	for _, in := range instances {
		if in.Health == registry.Healthy {
			byService[in.Service] = append(byService[in.Service], config.Endpoint{Address: in.Address, Weight: 1})
			if in.Mesh {
				peers[in.Address] = meshtls.WorkloadID(td, in.Namespace, in.Service)
			}
		}
	}
	services := cfg.Services[:0]
	for _, s := range cfg.Services {
		if !used[s.Name] {
			continue
		}
		s.Endpoints = append(s.Endpoints[:len(s.Endpoints):len(s.Endpoints)], byService[s.Name]...)
		services = append(services, s)
	}
	cfg.Services = services
	return cfg, peers, nil
}

// view is everything snapshots are built from, read at one moment.
type view struct {
	cfg       *config.Config // the stored resources assembled
	instances []registry.Instance
	roots     []*x509.Certificate
	td        string // trust domain of workload identities
	gateway   push.Snapshot
}

// snapshotter holds the current view and the gateway snapshot built from
// it. The control plane rebuilds it once per burst of store changes; every
// gateway stream then reads the same bytes, however many are connected,
// and sidecar snapshots are built from the view once per distinct
// (identity, upstreams) and cached until the next rebuild.
type snapshotter struct {
	st    store.Store
	roots func() []*x509.Certificate
	td    func() spiffeid.TrustDomain

	build    sync.Mutex // one rebuild at a time, so an older one never lands last
	mu       sync.Mutex
	cur      *view
	sidecars map[string]push.Snapshot // by sidecarKey, for cur
}

// current returns the current view, building it if there is none yet.
func (s *snapshotter) current(ctx context.Context) (*view, error) {
	s.mu.Lock()
	v := s.cur
	s.mu.Unlock()
	if v != nil {
		return v, nil
	}
	return s.rebuild(ctx)
}

// rebuild reads the store and makes a new view.
func (s *snapshotter) rebuild(ctx context.Context) (*view, error) {
	s.build.Lock()
	defer s.build.Unlock()
	st, err := resource.Load(ctx, s.st)
	if err != nil {
		return nil, err
	}
	kvs, _, err := s.st.List(ctx, registry.Prefix)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	v := &view{roots: s.roots(), td: s.td().Name(), instances: make([]registry.Instance, 0, len(kvs))}
	for _, kv := range kvs {
		in, err := registry.Decode(kv.Value)
		if err != nil {
			return nil, err
		}
		v.instances = append(v.instances, in)
	}
	if v.cfg, err = st.Config(); err != nil {
		return nil, err
	}
	gw, peers, err := gatewayConfig(st, v.instances, v.td)
	if err != nil {
		return nil, err
	}
	payload, err := snapshot.Encode(gw, peers, v.roots)
	if err != nil {
		return nil, err
	}
	v.gateway = push.Snapshot{Version: versionOf(payload), Payload: payload}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur, s.sidecars = v, map[string]push.Snapshot{}
	return v, nil
}

func versionOf(payload []byte) string {
	sum := sha256.Sum256(payload)
	return hex.EncodeToString(sum[:12])
}

package control

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/snapshot"
	"github.com/pylon-mesh/pylon/store"
)

// gatewayConfig builds what a gateway serves from the stored resources and
// instances: every listener and route, and the services the routes reach,
// each with its static endpoints followed by its healthy registered
// instances.
func gatewayConfig(st *resource.State, instances []registry.Instance) (*config.Config, error) {
	cfg, err := st.Config()
	if err != nil {
		return nil, err
	}
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
	return cfg, nil
}

// snapshotter holds the current gateway snapshot. The control plane
// rebuilds it once per burst of store changes; every stream then reads the
// same bytes, however many gateways are connected.
type snapshotter struct {
	st    store.Store
	roots func() []*x509.Certificate

	build   sync.Mutex // one rebuild at a time, so an older one never lands last
	mu      sync.Mutex
	version string
	payload json.RawMessage
}

// current returns the gateway snapshot, building it if there is none yet.
func (s *snapshotter) current(ctx context.Context) (string, json.RawMessage, error) {
	s.mu.Lock()
	v, p := s.version, s.payload
	s.mu.Unlock()
	if p != nil {
		return v, p, nil
	}
	return s.rebuild(ctx)
}

// rebuild reads the store and makes a new snapshot; an unchanged content
// keeps its version.
func (s *snapshotter) rebuild(ctx context.Context) (string, json.RawMessage, error) {
	s.build.Lock()
	defer s.build.Unlock()
	st, err := resource.Load(ctx, s.st)
	if err != nil {
		return "", nil, err
	}
	kvs, _, err := s.st.List(ctx, registry.Prefix)
	if err != nil {
		return "", nil, fmt.Errorf("list instances: %w", err)
	}
	instances := make([]registry.Instance, 0, len(kvs))
	for _, kv := range kvs {
		in, err := registry.Decode(kv.Value)
		if err != nil {
			return "", nil, err
		}
		instances = append(instances, in)
	}
	cfg, err := gatewayConfig(st, instances)
	if err != nil {
		return "", nil, err
	}
	payload, err := snapshot.Encode(cfg, s.roots())
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(payload)
	version := hex.EncodeToString(sum[:12])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version, s.payload = version, payload
	return version, payload, nil
}

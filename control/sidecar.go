package control

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/meshtls"
	"github.com/pylon-mesh/pylon/push"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/snapshot"
)

// sidecar returns the snapshot of a sidecar with identity id that asked
// for the services wants, from the current view.
func (s *snapshotter) sidecar(ctx context.Context, id spiffeid.ID, wants []string) (push.Snapshot, error) {
	ns, svc, ok := meshtls.Workload(id)
	if !ok {
		return push.Snapshot{}, fmt.Errorf("%s is not a workload identity (/ns/<namespace>/svc/<service>)", id)
	}
	wants = slices.Compact(slices.Sorted(slices.Values(wants)))
	key := id.String() + "\x00" + strings.Join(wants, ",")
	v, err := s.current(ctx)
	if err != nil {
		return push.Snapshot{}, err
	}
	s.mu.Lock()
	snap, ok := s.sidecars[key] // the cache always belongs to the newest view
	s.mu.Unlock()
	if ok {
		return snap, nil
	}
	payload, err := snapshot.EncodeSidecar(sidecarOf(v, ns, svc, wants), v.roots)
	if err != nil {
		return push.Snapshot{}, err
	}
	snap = push.Snapshot{Version: versionOf(payload), Payload: payload}
	s.mu.Lock()
	if s.cur == v {
		s.sidecars[key] = snap
	}
	s.mu.Unlock()
	return snap, nil
}

// sidecarOf builds what a sidecar of ns/svc needs: its service's mTLS mode
// and, for each wanted service, its settings (the stored service, or the
// mesh defaults), its static endpoints and its healthy instances with the
// identity each must present.
func sidecarOf(v *view, ns, svc string, wants []string) snapshot.Sidecar {
	out := snapshot.Sidecar{Service: svc, Namespace: ns, MTLS: config.MTLSStrict, Upstreams: []snapshot.Upstream{},
		Policies: []config.AuthorizationPolicy{}}
	if own, ok := serviceNamed(v.cfg, svc); ok {
		out.MTLS = own.MTLS
		if own.Calls != nil {
			out.TCPIdleTimeout = own.Calls.TCPIdleTimeout
		}
	}
	for _, p := range v.cfg.AuthorizationPolicies {
		if p.Service == svc && p.Namespace == ns {
			out.Policies = append(out.Policies, p)
		}
	}
	for _, name := range wants {
		up := snapshot.Upstream{Peers: map[string]string{}}
		stored, ok := serviceNamed(v.cfg, name)
		if ok {
			up.Service, up.Protocol = stored, stored.Protocol
		} else {
			// Nothing known yet: the callers detect what the app speaks
			// until an instance says.
			up.Service, up.Protocol = config.MeshService(name), snapshot.ProtocolAuto
		}
		up.Service.Endpoints = slices.Clone(up.Service.Endpoints)
		var declared, auto bool
		for _, in := range v.instances {
			if in.Service != name {
				continue
			}
			// The protocol is known from any instance, healthy or not,
			// so a caller sets up the right kind of listener before the
			// first one is ready. A declared protocol wins over auto.
			switch {
			case in.Protocol == "" || declared:
			case in.Protocol == snapshot.ProtocolAuto:
				auto = true
			default:
				up.Protocol, declared = in.Protocol, true
			}
			if in.Health != registry.Healthy {
				continue
			}
			up.Service.Endpoints = append(up.Service.Endpoints, config.Endpoint{Address: in.Address, Weight: 1})
			if in.Mesh {
				up.Peers[in.Address] = meshtls.WorkloadID(v.td, in.Namespace, in.Service)
			}
		}
		if auto && !declared {
			up.Protocol = snapshot.ProtocolAuto
		}
		out.Upstreams = append(out.Upstreams, up)
	}
	return out
}

func serviceNamed(cfg *config.Config, name string) (config.Service, bool) {
	for _, s := range cfg.Services {
		if s.Name == name {
			return s, true
		}
	}
	return config.Service{}, false
}

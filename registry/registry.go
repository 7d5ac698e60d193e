// Package registry keeps the service instances that registered with the
// control plane: each is a record in the store attached to a lease, kept
// alive by heartbeats; an instance whose lease lapses disappears, and a
// graceful stop deregisters it at once. Data planes see registered
// instances as endpoints of their service, next to static ones.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store"
)

// Prefix is where instances live in the store: Prefix + service + "/" + id.
const Prefix = "instances/"

// Health states an instance reports.
const (
	Unknown   = "unknown"
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
)

// Instance is one registered instance of a service.
type Instance struct {
	ID        string `json:"id"`
	Service   string `json:"service"`
	Namespace string `json:"namespace"`
	// Address is host:port where the instance (or its sidecar) takes traffic.
	Address  string            `json:"address"`
	Ports    map[string]int    `json:"ports,omitempty"`
	Protocol string            `json:"protocol,omitempty"`
	Version  string            `json:"version,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	// Health is what the instance's sidecar last reported.
	Health string `json:"health"`
	// Mesh says the address is the instance's sidecar, reached over the
	// mesh's mutual TLS (set for instances its sidecar registered).
	Mesh bool `json:"mesh,omitempty"`
	// TTL is how long the instance stays registered without a heartbeat.
	TTL        config.Duration `json:"ttl"`
	Lease      store.LeaseID   `json:"lease"`
	Registered time.Time       `json:"registered"`
}

// Registry reads and writes instances in a store.
type Registry struct {
	st  store.Store
	now func() time.Time
}

// New returns a registry over st.
func New(st store.Store) *Registry { return &Registry{st: st, now: time.Now} }

// TTL limits.
const (
	DefaultTTL = 10 * time.Second
	MinTTL     = time.Second
	MaxTTL     = 5 * time.Minute
)

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

// ErrNotFound: no such instance, or its lease lapsed.
var ErrNotFound = errors.New("instance not found")

// Check reports what is wrong with an instance record, naming the field.
func (in *Instance) Check() error {
	switch {
	case !idRE.MatchString(in.Service):
		return fmt.Errorf("service: %q is not a service name ([a-z0-9_.-]+)", in.Service)
	case !idRE.MatchString(in.ID):
		return fmt.Errorf("id: %q is not an instance id ([a-z0-9_.-]+, at most 63)", in.ID)
	case in.Namespace != "" && !idRE.MatchString(in.Namespace):
		return fmt.Errorf("namespace: %q is not a namespace name", in.Namespace)
	}
	host, port, err := net.SplitHostPort(in.Address)
	if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
		return fmt.Errorf("address: %q is not host:port", in.Address)
	}
	switch in.Health {
	case "", Unknown, Healthy, Unhealthy:
	default:
		return fmt.Errorf("health: %q is not one of unknown, healthy, unhealthy", in.Health)
	}
	if ttl := time.Duration(in.TTL); ttl != 0 && (ttl < MinTTL || ttl > MaxTTL) {
		return fmt.Errorf("ttl: %s is outside %s..%s", ttl, MinTTL, MaxTTL)
	}
	return nil
}

// Register records in under a new lease of in.TTL (default 10s) and
// returns it as stored. Registering an ID again replaces the old record
// and ends its lease.
func (r *Registry) Register(ctx context.Context, in Instance) (Instance, error) {
	if err := in.Check(); err != nil {
		return Instance{}, err
	}
	if in.TTL == 0 {
		in.TTL = config.Duration(DefaultTTL)
	}
	if in.Namespace == "" {
		in.Namespace = "default"
	}
	if in.Health == "" {
		in.Health = Unknown
	}
	old, oldErr := r.Get(ctx, in.Service, in.ID)
	lease, err := r.st.Grant(ctx, time.Duration(in.TTL))
	if err != nil {
		return Instance{}, fmt.Errorf("register %s/%s: %w", in.Service, in.ID, err)
	}
	in.Lease, in.Registered = lease, r.now().UTC()
	if err := r.put(ctx, in); err != nil {
		r.st.Revoke(ctx, lease)
		return Instance{}, err
	}
	if oldErr == nil && old.Lease != lease {
		r.st.Revoke(ctx, old.Lease) // the record now hangs on the new lease
	}
	return in, nil
}

func (r *Registry) put(ctx context.Context, in Instance) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode instance: %w", err)
	}
	_, err = r.st.Txn(ctx, store.Op{Key: key(in.Service, in.ID), Value: b, IfRevision: store.Any, Lease: in.Lease})
	if errors.Is(err, store.ErrLeaseNotFound) {
		return fmt.Errorf("%w: %s/%s: its lease lapsed; register again", ErrNotFound, in.Service, in.ID)
	}
	if err != nil {
		return fmt.Errorf("store instance %s/%s: %w", in.Service, in.ID, err)
	}
	return nil
}

func key(service, id string) string { return Prefix + service + "/" + id }

// Heartbeat keeps the instance registered for another TTL and, when
// health is not empty, records the health its sidecar reports.
func (r *Registry) Heartbeat(ctx context.Context, service, id, health string) (Instance, error) {
	in, err := r.Get(ctx, service, id)
	if err != nil {
		return Instance{}, err
	}
	if err := r.st.KeepAlive(ctx, in.Lease); errors.Is(err, store.ErrLeaseNotFound) {
		return Instance{}, fmt.Errorf("%w: %s/%s: its lease lapsed; register again", ErrNotFound, service, id)
	} else if err != nil {
		return Instance{}, fmt.Errorf("heartbeat %s/%s: %w", service, id, err)
	}
	if health != "" && health != in.Health {
		in.Health = health
		if err := in.Check(); err != nil {
			return Instance{}, err
		}
		if err := r.put(ctx, in); err != nil {
			return Instance{}, err
		}
	}
	return in, nil
}

// Deregister removes the instance now (a graceful stop).
func (r *Registry) Deregister(ctx context.Context, service, id string) error {
	in, err := r.Get(ctx, service, id)
	if err != nil {
		return err
	}
	if err := r.st.Revoke(ctx, in.Lease); err != nil && !errors.Is(err, store.ErrLeaseNotFound) {
		return fmt.Errorf("deregister %s/%s: %w", service, id, err)
	}
	return nil
}

// Get returns one instance.
func (r *Registry) Get(ctx context.Context, service, id string) (Instance, error) {
	kv, err := r.st.Get(ctx, key(service, id))
	if errors.Is(err, store.ErrNotFound) {
		return Instance{}, fmt.Errorf("%w: %s/%s", ErrNotFound, service, id)
	}
	if err != nil {
		return Instance{}, fmt.Errorf("read instance %s/%s: %w", service, id, err)
	}
	return Decode(kv.Value)
}

// List returns the instances of service, or of every service when service
// is empty, sorted by service and id.
func (r *Registry) List(ctx context.Context, service string) ([]Instance, error) {
	prefix := Prefix
	if service != "" {
		prefix += service + "/"
	}
	kvs, _, err := r.st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	out := make([]Instance, 0, len(kvs))
	for _, kv := range kvs {
		in, err := Decode(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("list instances: %s: %w", strings.TrimPrefix(kv.Key, Prefix), err)
		}
		out = append(out, in)
	}
	return out, nil
}

// Decode reads a stored instance record.
func Decode(b []byte) (Instance, error) {
	var in Instance
	if err := json.Unmarshal(b, &in); err != nil {
		return Instance{}, fmt.Errorf("decode instance: %w", err)
	}
	return in, nil
}

// View is how one caller's sidecar sees one endpoint of a service it
// calls: its health checks and outlier detection, as they stand.
type View struct {
	Service  string  `json:"service"`
	Endpoint string  `json:"endpoint"`
	Healthy  bool    `json:"healthy"`
	Ejected  bool    `json:"ejected"`
	Weight   float64 `json:"weight"`
}

// CallerView is the views one caller instance reported.
type CallerView struct {
	// Caller is "<service>/<instance id>".
	Caller string `json:"caller"`
	Views  []View `json:"views"`
}

// ViewsPrefix is where callers' views live: ViewsPrefix + service + "/" + id.
const ViewsPrefix = "views/"

// SetViews records how the instance caller sees its upstreams' endpoints,
// attached to its lease so the record leaves with it.
func (r *Registry) SetViews(ctx context.Context, caller Instance, views []View) error {
	b, err := json.Marshal(CallerView{Caller: caller.Service + "/" + caller.ID, Views: views})
	if err != nil {
		return fmt.Errorf("encode views: %w", err)
	}
	_, err = r.st.Txn(ctx, store.Op{Key: ViewsPrefix + caller.Service + "/" + caller.ID, Value: b, IfRevision: store.Any, Lease: caller.Lease})
	if errors.Is(err, store.ErrLeaseNotFound) {
		return fmt.Errorf("%w: %s/%s: its lease lapsed; register again", ErrNotFound, caller.Service, caller.ID)
	}
	return err
}

// ViewsOf returns, per caller, how it sees the endpoints of service.
func (r *Registry) ViewsOf(ctx context.Context, service string) ([]CallerView, error) {
	kvs, _, err := r.st.List(ctx, ViewsPrefix)
	if err != nil {
		return nil, fmt.Errorf("list views: %w", err)
	}
	var out []CallerView
	for _, kv := range kvs {
		var cv CallerView
		if err := json.Unmarshal(kv.Value, &cv); err != nil {
			return nil, fmt.Errorf("decode views %s: %w", kv.Key, err)
		}
		var mine []View
		for _, v := range cv.Views {
			if v.Service == service {
				mine = append(mine, v)
			}
		}
		if len(mine) > 0 {
			out = append(out, CallerView{Caller: cv.Caller, Views: mine})
		}
	}
	return out, nil
}

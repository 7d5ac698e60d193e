package resource

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/store"
)

// Item is one stored resource.
type Item struct {
	Kind Kind
	Name string
	// Version is the store revision of the item's last write.
	Version int64
	// Order is the item's place among its kind: routes that are equally
	// specific are tried in this order. It is set when the item is created.
	Order int64
	// Spec is the item as config JSON, with defaults applied.
	Spec json.RawMessage
}

// stored is an item's value in the store.
type stored struct {
	Order int64           `json:"order"`
	Spec  json.RawMessage `json:"spec"`
}

// State is every config resource at one store revision.
type State struct {
	// Revision is the store revision the state was read at.
	Revision int64
	items    map[string]*Item // by Kind.Plural + "/" + Name
}

// Load reads every config resource from st.
func Load(ctx context.Context, st store.Store) (*State, error) {
	kvs, rev, err := st.List(ctx, Prefix)
	if err != nil {
		return nil, fmt.Errorf("load config resources: %w", err)
	}
	s := &State{Revision: rev, items: make(map[string]*Item, len(kvs))}
	for _, kv := range kvs {
		it, err := FromKV(kv)
		if err != nil {
			return nil, err
		}
		s.items[it.Kind.Plural+"/"+it.Name] = it
	}
	return s, nil
}

// FromKV decodes a stored resource (a key under Prefix and its value).
func FromKV(kv store.KV) (*Item, error) {
	plural, name, ok := strings.Cut(strings.TrimPrefix(kv.Key, Prefix), "/")
	k, known := KindOf(plural)
	if !ok || !known {
		return nil, fmt.Errorf("load config resources: unexpected key %q", kv.Key)
	}
	var v stored
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return nil, fmt.Errorf("load config resource %s: %w", kv.Key, err)
	}
	return &Item{Kind: k, Name: name, Version: kv.ModRevision, Order: v.Order, Spec: v.Spec}, nil
}

// Get returns the named item.
func (s *State) Get(k Kind, name string) (*Item, bool) {
	it, ok := s.items[k.Plural+"/"+name]
	return it, ok
}

// List returns the items of kind k in their order.
func (s *State) List(k Kind) []*Item {
	var out []*Item
	for _, it := range s.items {
		if it.Kind == k {
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b *Item) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), strings.Compare(a.Name, b.Name))
	})
	return out
}

// maxOrder is the highest order of any item of kind k.
func (s *State) maxOrder(k Kind) int64 {
	var m int64
	for _, it := range s.items {
		if it.Kind == k && it.Order > m {
			m = it.Order
		}
	}
	return m
}

// Config assembles the stored items into one config (each kind in order).
// The per-gateway settings are not resources: they are left off (no admin
// listener, no access log) for each gateway to fill in with its own.
func (s *State) Config() (*config.Config, error) {
	c := &config.Config{Admin: config.Admin{Address: config.AdminOff}, AccessLog: config.AccessLog{Path: "off", Sample: 1}}
	for _, err := range []error{
		decodeAll(s, Listener, &c.Listeners),
		decodeAll(s, Service, &c.Services),
		decodeAll(s, Consumer, &c.Consumers),
		decodeAll(s, Policy, &c.Policies),
		decodeAll(s, Route, &c.Routes),
		decodeAll(s, AuthorizationPolicy, &c.AuthorizationPolicies),
	} {
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// decodeAll appends the specs of the items of kind k, in order, to dst.
func decodeAll[T any](s *State, k Kind, dst *[]T) error {
	for _, it := range s.List(k) {
		var v T
		if err := json.Unmarshal(it.Spec, &v); err != nil {
			return fmt.Errorf("decode %s %s: %w", k.Name, it.Name, err)
		}
		*dst = append(*dst, v)
	}
	return nil
}

// clone returns a copy of s whose item map can be changed.
func (s *State) clone() *State {
	n := &State{Revision: s.Revision, items: make(map[string]*Item, len(s.items))}
	for k, v := range s.items {
		n.items[k] = v
	}
	return n
}

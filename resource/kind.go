// Package resource is the control plane's config model: the listeners,
// routes, services and authorization policies of a Pylon config, each
// stored under its own key with
// its own version, validated together by the same code that checks a
// gateway's file, and written with optimistic concurrency.
//
// A resource's version is the store revision of its last write. A write
// names the version it expects (or none, or "must not exist"); a stale one
// fails with ErrConflict and changes nothing. Every write is checked against
// everything else stored, so a route naming a missing service or a delete
// that would leave a route dangling is refused with the field paths at fault.
package resource

import "github.com/pylon-mesh/pylon/config"

// Kind is one kind of resource.
type Kind struct {
	// Name is the singular name used in output ("service").
	Name string
	// Plural names the collection in the API and in keys ("services"); it
	// is also the config section the kind comes from.
	Plural string
}

// The kinds of resource, in the order they are shown and applied.
var (
	Listener = Kind{Name: "listener", Plural: config.SectionListeners}
	Route    = Kind{Name: "route", Plural: config.SectionRoutes}
	Service  = Kind{Name: "service", Plural: config.SectionServices}
	// AuthorizationPolicy is a mesh authorization policy, which only
	// sidecars enforce.
	AuthorizationPolicy = Kind{Name: "authorization_policy", Plural: config.SectionAuthorizationPolicies}
)

// Kinds lists every kind.
var Kinds = []Kind{Listener, Route, Service, AuthorizationPolicy}

// KindOf finds a kind by its singular or plural name.
func KindOf(name string) (Kind, bool) {
	for _, k := range Kinds {
		if name == k.Name || name == k.Plural {
			return k, true
		}
	}
	return Kind{}, false
}

// Prefix is where config resources live in the store.
const Prefix = "config/"

// Key is the store key of the named resource.
func (k Kind) Key(name string) string { return Prefix + k.Plural + "/" + name }

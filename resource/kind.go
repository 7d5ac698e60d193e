// Package resource is the control plane's config model: the listeners,
// consumers, gateway policies, routes, services and authorization policies
// of a Pylon config, each stored under its own key with its own version,
// validated together by the same code that checks a gateway's file, and
// written with optimistic concurrency.
//
// A resource's version is the store revision of its last write. A write
// names the version it expects (or none, or "must not exist"); a stale one
// fails with ErrConflict and changes nothing. Every write is checked against
// everything else stored, so a route naming a missing service or policy, a
// policy naming a missing consumer, or a delete that would leave either
// dangling is refused with the field paths at fault.
//
// Consumers' API keys are stored only as "sha256:<hex>": decoding hashes a
// plain key, and a write holding one is refused.
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

// The kinds of resource.
var (
	Listener = Kind{Name: "listener", Plural: config.SectionListeners}
	// Consumer is a known caller of a gateway's APIs, with its hashed API
	// keys; policies authenticate and limit consumers.
	Consumer = Kind{Name: "consumer", Plural: config.SectionConsumers}
	// Policy is a gateway policy (authentication, consumer allow list, rate
	// limit) that routes list by name.
	Policy  = Kind{Name: "policy", Plural: config.SectionPolicies}
	Route   = Kind{Name: "route", Plural: config.SectionRoutes}
	Service = Kind{Name: "service", Plural: config.SectionServices}
	// AuthorizationPolicy is a mesh authorization policy, which only
	// sidecars enforce.
	AuthorizationPolicy = Kind{Name: "authorization_policy", Plural: config.SectionAuthorizationPolicies}
)

// Kinds lists every kind, each after the kinds it refers to: routes name
// listeners, services and policies; policies name consumers. A document's
// resources are decoded and reported in this order. A write is one
// transaction checked as a whole, so its order does not matter; a client
// writing one resource at a time creates in this order and deletes in
// reverse.
var Kinds = []Kind{Listener, Service, Consumer, Policy, Route, AuthorizationPolicy}

// KindOf finds a kind by its singular or plural name.
func KindOf(name string) (Kind, bool) {
	for _, k := range Kinds {
		if name == k.Name || name == k.Plural {
			return k, true
		}
	}
	return Kind{}, false
}

// Plurals lists the plural names of Kinds, in order.
func Plurals() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = k.Plural
	}
	return out
}

// Prefix is where config resources live in the store.
const Prefix = "config/"

// Key is the store key of the named resource.
func (k Kind) Key(name string) string { return Prefix + k.Plural + "/" + name }

// Package balancer chooses an upstream endpoint for each request.
//
// The slow path (config compile, health and ejection changes, slow-start
// ticks) builds an immutable Picker over the endpoints that may take traffic;
// the request path calls Picker.Pick through one atomic load in Set.Pick.
// Pickers are registered by name (round_robin, least_request, ...) from the
// subpackages' init functions; import balancer/all to get every standard one.
package balancer

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// ErrNoEndpoint is returned by Pick when no endpoint can take the request.
var ErrNoEndpoint = errors.New("no endpoint available")

// Picker chooses one endpoint per request. A Picker is immutable after Build
// and is called concurrently from many request goroutines; Pick must not
// block and should not allocate. hash is the request's affinity key (0 when
// the service hashes on nothing); only hashing pickers look at it.
type Picker interface {
	Pick(hash uint64) (*Endpoint, error)
}

// Weighted is one endpoint handed to Builder.Build with the weight the picker
// must use for it right now (the configured weight scaled by slow start).
type Weighted struct {
	Endpoint *Endpoint
	Weight   float64
}

// Builder makes Pickers of one kind. Build is called on the slow path with
// the endpoints that may take traffic (never empty).
type Builder interface {
	// Name is the registered snake_case name used in config (round_robin).
	Name() string
	// Build returns a picker over eps. It may keep eps.
	Build(eps []Weighted) Picker
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Builder{}
)

// Register makes a builder available by its name. It panics on a duplicate
// name: that is a programming error found at init.
func Register(b Builder) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[b.Name()]; dup {
		panic(fmt.Sprintf("balancer: %q registered twice", b.Name()))
	}
	registry[b.Name()] = b
}

// Lookup returns the builder registered under name.
func Lookup(name string) (Builder, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	b, ok := registry[name]
	return b, ok
}

// Names lists the registered builders, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

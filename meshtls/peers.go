package meshtls

import (
	"fmt"
	"maps"
	"sync/atomic"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// PeerSet is the SPIFFE ID expected at each mesh address a data plane may
// dial, replaced as snapshots arrive. Its Lookup is the Peers of a
// Transport. The zero value is an empty set, ready to use.
type PeerSet struct {
	m atomic.Pointer[map[string]spiffeid.ID]
}

// Lookup returns the identity expected at addr.
func (p *PeerSet) Lookup(addr string) (spiffeid.ID, bool) {
	m := p.m.Load()
	if m == nil {
		return spiffeid.ID{}, false
	}
	id, ok := (*m)[addr]
	return id, ok
}

// Replace makes peers (address to SPIFFE ID) the set, around apply: while
// apply runs both the old and the new addresses are known, since the
// config being applied may route to new ones at once while requests on the
// old config still go to old ones. If apply fails the old set stays.
func (p *PeerSet) Replace(peers map[string]string, apply func() error) error {
	next := make(map[string]spiffeid.ID, len(peers))
	for addr, s := range peers {
		id, err := spiffeid.FromString(s)
		if err != nil {
			return fmt.Errorf("mesh endpoint %s: %w", addr, err)
		}
		next[addr] = id
	}
	old := p.m.Load()
	both := maps.Clone(next)
	if old != nil {
		both = maps.Clone(*old)
		maps.Copy(both, next)
	}
	p.m.Store(&both)
	if err := apply(); err != nil {
		p.m.Store(old)
		return err
	}
	p.m.Store(&next)
	return nil
}

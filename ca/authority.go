package ca

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pylon-mesh/pylon/store"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Authority is the certificate authority of one control plane replica. It is
// safe for concurrent use; Sign, Verify and the accessors read an immutable
// snapshot through one atomic load.
type Authority struct {
	st   store.Store
	opts Options
	td   spiffeid.TrustDomain
	aead cipher.AEAD

	rotateMu sync.Mutex // serialises this replica's rotations
	cur      atomic.Pointer[snapshot]
	changed  chan struct{} // a new state was installed (capacity 1)
}

// openAttempts bounds how often Open re-reads a state that keeps changing
// under it.
const openAttempts = 5

// Open loads the CA from the store, or creates it if the store has none.
// Replicas that start at once on an empty store end with the same CA.
func Open(ctx context.Context, st store.Store, opts Options) (*Authority, error) {
	opts, td, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open ca: %w", err)
	}
	key, err := loadOrCreateKey(opts.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("open ca: %w", err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("open ca: %w", err)
	}
	a := &Authority{st: st, opts: opts, td: td, aead: aead, changed: make(chan struct{}, 1)}
	for range openAttempts {
		err := a.reload(ctx)
		if !errors.Is(err, store.ErrNotFound) {
			if err == nil {
				err = a.checkGiven()
			}
			if err != nil {
				return nil, fmt.Errorf("open ca: %w", err)
			}
			return a, nil
		}
		err = a.create(ctx)
		if !errors.Is(err, store.ErrConflict) {
			if err != nil {
				return nil, fmt.Errorf("open ca: %w", err)
			}
			return a, nil
		}
		// Another replica created the CA first: read theirs.
	}
	return nil, fmt.Errorf("open ca: %q keeps changing", stateKey)
}

// create mints a CA, or takes the given one, and writes it if the store
// still has none.
func (a *Authority) create(ctx context.Context) error {
	var p authorityPair
	if g := a.opts.Given; g != nil {
		if err := g.check(a.td, a.opts.Now()); err != nil {
			return err
		}
		p = authorityPair{root: g.Root, inter: g.Intermediate, interKey: g.Key}
	} else {
		var err error
		if p, err = mint(a.td, a.opts); err != nil {
			return err
		}
	}
	gens := []generation{p.generation()}
	val, err := encodeState(a.aead, a.td, gens)
	if err != nil {
		return err
	}
	rev, err := a.st.Txn(ctx, store.Op{Key: stateKey, Value: val, IfRevision: store.Absent})
	if err != nil {
		return fmt.Errorf("create ca: %w", err)
	}
	a.install(newSnapshot(rev, gens, a.opts.Now()))
	return nil
}

// reload reads the stored state and installs it.
func (a *Authority) reload(ctx context.Context) error {
	kv, err := a.st.Get(ctx, stateKey)
	if err != nil {
		return fmt.Errorf("read %s: %w", stateKey, err)
	}
	return a.load(kv)
}

// load decodes one stored version of the state and installs it.
func (a *Authority) load(kv store.KV) error {
	gens, err := decodeState(a.aead, a.td, kv.Value)
	if err != nil {
		return fmt.Errorf("load %s at revision %d: %w", stateKey, kv.ModRevision, err)
	}
	a.install(newSnapshot(kv.ModRevision, gens, a.opts.Now()))
	return nil
}

// install makes s current unless a newer revision already is.
func (a *Authority) install(s *snapshot) {
	for {
		old := a.cur.Load()
		if old != nil && old.rev > s.rev {
			return
		}
		if a.cur.CompareAndSwap(old, s) {
			select {
			case a.changed <- struct{}{}:
			default:
			}
			return
		}
	}
}

// view returns the current snapshot, first applying the activations and
// retirements that came due.
func (a *Authority) view() *snapshot {
	s := a.cur.Load()
	now := a.opts.Now()
	if !s.stale(now) {
		return s
	}
	fresh := newSnapshot(s.rev, s.gens, now)
	a.cur.CompareAndSwap(s, fresh)
	return fresh
}

// checkGiven refuses a given CA that is not the one the store holds: the
// given root is used only at first start, and switching is a rotation.
func (a *Authority) checkGiven() error {
	g := a.opts.Given
	if g == nil {
		return nil
	}
	for _, r := range a.Roots() {
		if r.Equal(g.Root) {
			return nil
		}
	}
	return fmt.Errorf("the store already holds a CA (root pin %s) and the given root is not one of its roots; a given CA is used only at first start", a.Pin())
}

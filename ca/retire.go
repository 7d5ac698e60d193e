package ca

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pylon-mesh/pylon/store"
)

// retireRetry is how soon a failed removal of retired roots is tried again.
const retireRetry = time.Second

// retireLoop removes each root from the stored state when it retires, until
// ctx ends. Nothing depends on it for correctness (every replica leaves
// retired roots out by the clock), but the write tells whatever watches
// the store, such as the control plane that pushes the trust bundle, that
// the bundle changed. Every replica tries; the first write wins and the
// others conflict harmlessly.
func (a *Authority) retireLoop(ctx context.Context) {
	for {
		wait := retireRetry
		if a.removeRetired(ctx) == nil {
			wait = a.untilRetirement()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// untilRetirement is how long until the next root retires, or an hour if
// none is due (a change of state wakes the loop before then).
func (a *Authority) untilRetirement() time.Duration {
	next := time.Time{}
	for _, g := range a.view().gens {
		next = earliestSet(next, g.retire)
	}
	if next.IsZero() {
		return time.Hour
	}
	return max(next.Sub(a.opts.Now()), 0)
}

// removeRetired rewrites the stored state without its retired roots, if
// it has any.
func (a *Authority) removeRetired(ctx context.Context) error {
	kv, err := a.st.Get(ctx, stateKey)
	if err != nil {
		return fmt.Errorf("remove retired roots: read %s: %w", stateKey, err)
	}
	gens, err := decodeState(a.aead, a.td, kv.Value)
	if err != nil {
		return fmt.Errorf("remove retired roots: %w", err)
	}
	now := a.opts.Now()
	kept := gens[:0:0]
	for _, g := range gens {
		if !g.retiredAt(now) {
			kept = append(kept, g)
		}
	}
	if len(kept) == len(gens) {
		return nil
	}
	val, err := encodeState(a.aead, a.td, kept)
	if err != nil {
		return fmt.Errorf("remove retired roots: %w", err)
	}
	_, err = a.st.Txn(ctx, store.Op{Key: stateKey, Value: val, IfRevision: kv.ModRevision})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("remove retired roots: write %s: %w", stateKey, err)
	}
	return nil
}

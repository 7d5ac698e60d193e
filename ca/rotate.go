package ca

import (
	"context"
	"errors"
	"fmt"

	"github.com/pylon-mesh/pylon/store"
)

// Rotate adds a new root and intermediate, trusted at once and issuing
// from now+Propagation (the activation). Until the activation Sign keeps
// using the intermediate it uses now. The roots trusted so far stay
// trusted: those not yet replaced until the activation+Overlap, the others
// until their own retire times; the retired ones are dropped. The package
// doc describes the whole procedure. If another replica changes the state
// meanwhile, Rotate reads its version and rotates that.
func (a *Authority) Rotate(ctx context.Context) error {
	a.rotateMu.Lock()
	defer a.rotateMu.Unlock()
	for {
		err := a.rotate(ctx, a.view())
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if err := a.reload(ctx); err != nil {
			return fmt.Errorf("rotate ca: %w", err)
		}
	}
}

// rotate writes s rotated, if the stored state is still s's revision.
func (a *Authority) rotate(ctx context.Context, s *snapshot) error {
	p, err := mint(a.td, a.opts)
	if err != nil {
		return fmt.Errorf("rotate ca: %w", err)
	}
	now := a.opts.Now()
	next := p.generation()
	next.activate = now.Add(a.opts.Propagation)
	gens := []generation{next}
	for _, g := range s.gens {
		if g.retire.IsZero() {
			g.retire = next.activate.Add(a.opts.Overlap)
		}
		gens = append(gens, g)
	}
	val, err := encodeState(a.aead, a.td, gens)
	if err != nil {
		return fmt.Errorf("rotate ca: %w", err)
	}
	rev, err := a.st.Txn(ctx, store.Op{Key: stateKey, Value: val, IfRevision: s.rev})
	if err != nil {
		return fmt.Errorf("rotate ca: write %s: %w", stateKey, err)
	}
	a.install(newSnapshot(rev, gens, now))
	return nil
}

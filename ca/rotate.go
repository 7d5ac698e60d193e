package ca

import (
	"context"
	"errors"
	"fmt"

	"github.com/pylon-mesh/pylon/store"
)

// Rotate makes a new root and intermediate current for issuance. The roots
// trusted so far stay trusted: the one that was current until now+Overlap,
// the older ones until their own retire times; the retired ones are
// dropped. The package doc describes the whole procedure. If another
// replica changes the state meanwhile, Rotate reads its version and rotates
// that.
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
	roots := []trustedRoot{{cert: p.root}, {cert: s.root(), retire: now.Add(a.opts.Overlap)}}
	roots = append(roots, s.roots[1:]...)
	val, err := encodeState(a.aead, a.td, roots, p.inter, p.interKey)
	if err != nil {
		return fmt.Errorf("rotate ca: %w", err)
	}
	rev, err := a.st.Txn(ctx, store.Op{Key: stateKey, Value: val, IfRevision: s.rev})
	if err != nil {
		return fmt.Errorf("rotate ca: write %s: %w", stateKey, err)
	}
	a.install(newSnapshot(rev, roots, p.inter, p.interKey, now))
	return nil
}

package ca

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pylon-mesh/pylon/store"
)

// Run keeps the Authority in step with the stored state: when another
// replica rotates the CA, Run loads the new state. It also removes each
// root from the stored state once it retired, so that watchers of the
// store see the trust bundle change. It returns nil when ctx ends, and an
// error when the store fails or holds a state this replica cannot load
// (another trust domain, a key sealed under another key file); the
// Authority keeps its last good state either way. A deleted state is
// ignored: the Authority keeps the CA it has.
func (a *Authority) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { a.retireLoop(ctx) })
	defer wg.Wait()
	defer cancel()
	for {
		err := a.watch(ctx, a.cur.Load().rev)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, store.ErrCompacted) {
			return err
		}
		// The watch fell behind the store's history: read afresh.
		if err := a.reload(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("run ca: %w", err)
		}
	}
}

// watch loads every new version of the state after revision rev, until the
// watch ends.
func (a *Authority) watch(ctx context.Context, rev int64) error {
	for resp := range a.st.Watch(ctx, stateKey, rev) {
		if resp.Err != nil {
			return fmt.Errorf("run ca: watch %s: %w", stateKey, resp.Err)
		}
		for _, ev := range resp.Events {
			if ev.Type != store.Put || ev.KV.Key != stateKey {
				continue
			}
			if err := a.load(ev.KV); err != nil {
				return fmt.Errorf("run ca: %w", err)
			}
		}
	}
	return fmt.Errorf("run ca: watch %s ended", stateKey)
}

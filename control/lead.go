package control

import (
	"context"
	"time"
)

// housekeepingEvery is how often the leader cleans up.
const housekeepingEvery = 30 * time.Second

// lead campaigns for leadership and, while leading, does the work only one
// replica may do: removing tokens that expired or were used up. It
// campaigns again whenever leadership is lost.
func (r *replica) lead(ctx context.Context) {
	for ctx.Err() == nil {
		l, err := r.st.Campaign(ctx, "housekeeping", r.opts.ControlAddr)
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("leader election", "err", err.Error())
				sleep(ctx, time.Second)
			}
			continue
		}
		r.leader.set(true)
		r.log.Info("leading housekeeping")
		r.housekeep(ctx, l.Done())
		r.leader.set(false)
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		l.Resign(rctx)
		cancel()
		if ctx.Err() == nil {
			r.log.Warn("leadership lost; campaigning again")
		}
	}
}

// housekeep runs until ctx ends or leadership is lost.
func (r *replica) housekeep(ctx context.Context, lost <-chan struct{}) {
	t := time.NewTicker(housekeepingEvery)
	defer t.Stop()
	for {
		r.pruneTokens(ctx)
		select {
		case <-ctx.Done():
			return
		case <-lost:
			return
		case <-t.C:
		}
	}
}

// pruneTokens deletes tokens that can never be used again.
func (r *replica) pruneTokens(ctx context.Context) {
	ts, err := r.tokens.List(ctx)
	if err != nil {
		r.log.Warn("list tokens", "err", err.Error())
		return
	}
	now := time.Now()
	for _, t := range ts {
		expired := !t.Expires.IsZero() && now.After(t.Expires)
		usedUp := t.MaxUses > 0 && t.Uses >= t.MaxUses
		if expired || usedUp {
			if err := r.tokens.Revoke(ctx, t.ID); err == nil {
				r.log.Info("removed a token that can no longer be used", "id", t.ID, "expired", expired, "used_up", usedUp)
			}
		}
	}
}

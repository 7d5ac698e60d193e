package etcd

import (
	"context"
	"slices"
	"strings"

	"github.com/pylon-mesh/pylon/store"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Watch streams changes under the prefix after afterRev. Watching from now
// (afterRev 0 or less) reads the current revision first, so every write made after
// Watch returns is seen. etcd's compaction ends the watch with
// store.ErrCompacted. When ctx ends, the last response carries ctx's error
// if the channel has room for it.
func (s *Store) Watch(ctx context.Context, prefix string, afterRev int64) <-chan store.WatchResponse {
	out := make(chan store.WatchResponse, 1)
	if s.closed.Load() {
		out <- store.WatchResponse{Err: store.ErrClosed}
		close(out)
		return out
	}
	if afterRev <= 0 {
		rev, err := s.revision(ctx)
		if err != nil {
			out <- store.WatchResponse{Err: err}
			close(out)
			return out
		}
		afterRev = rev
	}
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	wch := s.cli.Watch(wctx, s.prefix+prefix, clientv3.WithPrefix(), clientv3.WithRev(afterRev+1))
	w := &watch{s: s, ctx: ctx, out: out}
	go func() {
		defer close(out)
		defer stop()
		defer cancel()
		w.run(wch)
	}()
	return out
}

// watch turns one etcd watch into store.WatchResponses.
type watch struct {
	s   *Store
	ctx context.Context // the caller's
	out chan store.WatchResponse
}

// run relays etcd's responses, one store response per revision, until
// the etcd watch ends.
func (w *watch) run(wch clientv3.WatchChan) {
	for wr := range wch {
		if err := wr.Err(); err != nil {
			w.end(w.s.fail("watch", err))
			return
		}
		for _, r := range w.split(wr.Events) {
			if !w.send(r) {
				return
			}
		}
	}
	w.end(nil)
}

// split groups events by revision, each group in key order.
func (w *watch) split(evs []*clientv3.Event) []store.WatchResponse {
	var rs []store.WatchResponse
	for _, ev := range evs {
		rev := ev.Kv.ModRevision
		if len(rs) == 0 || rs[len(rs)-1].Revision != rev {
			rs = append(rs, store.WatchResponse{Revision: rev})
		}
		last := &rs[len(rs)-1]
		last.Events = append(last.Events, w.event(ev))
	}
	for _, r := range rs {
		slices.SortFunc(r.Events, func(a, b store.Event) int { return strings.Compare(a.KV.Key, b.KV.Key) })
	}
	return rs
}

// event converts one etcd event.
func (w *watch) event(ev *clientv3.Event) store.Event {
	if ev.Type == mvccpb.DELETE {
		return store.Event{Type: store.Delete, KV: store.KV{
			Key:         strings.TrimPrefix(string(ev.Kv.Key), w.s.prefix),
			ModRevision: ev.Kv.ModRevision,
		}}
	}
	return store.Event{Type: store.Put, KV: w.s.kv(ev.Kv)}
}

// send delivers r unless the caller's ctx ends first.
func (w *watch) send(r store.WatchResponse) bool {
	select {
	case w.out <- r:
		return true
	case <-w.ctx.Done():
		w.end(nil)
		return false
	}
}

// end sends the watch's last response: err, or else why etcd's watch
// ended (the store closed or the caller's ctx ended).
func (w *watch) end(err error) {
	switch {
	case err == nil && w.ctx.Err() != nil:
		select {
		case w.out <- store.WatchResponse{Err: w.ctx.Err()}:
		default:
		}
		return
	case err == nil:
		err = store.ErrClosed
	}
	select {
	case w.out <- store.WatchResponse{Err: err}:
	case <-w.ctx.Done():
	}
}

package bolt

import (
	"context"
	"strings"
	"sync"

	"github.com/pylon-mesh/pylon/store"
)

// Watch streams changes to keys with the prefix after afterRev (0 or less:
// from now). A watcher more than Options.History transactions behind its reader
// is ended with store.ErrCompacted. When ctx ends, the last response carries
// ctx's error if the channel has room for it.
func (s *Store) Watch(ctx context.Context, prefix string, afterRev int64) <-chan store.WatchResponse {
	w := &watcher{
		prefix: prefix,
		out:    make(chan store.WatchResponse, 1),
		wake:   make(chan struct{}, 1),
	}
	s.mu.Lock()
	w.limit = s.hist.max
	switch {
	case s.closed:
		w.end(store.ErrClosed)
	case afterRev <= 0 || afterRev >= s.rev:
		w.after = max(afterRev, s.rev)
		s.watchers[w] = struct{}{}
	default:
		w.after = afterRev
		backlog, err := s.hist.since(afterRev)
		for _, r := range backlog {
			w.push(r)
		}
		if err != nil {
			w.end(err)
		}
		s.watchers[w] = struct{}{}
	}
	s.mu.Unlock()
	go w.run(ctx, func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	})
	return w.out
}

// publishLocked records a transaction and queues it for the watchers.
func (s *Store) publishLocked(r store.WatchResponse) {
	s.hist.add(r)
	for w := range s.watchers {
		w.push(r)
	}
}

// watcher is one watch: the writer queues transactions, run delivers them.
type watcher struct {
	prefix string
	after  int64 // deliver only revisions after this
	limit  int   // queued responses before the watch is ended
	out    chan store.WatchResponse
	wake   chan struct{}

	mu    sync.Mutex // guards the fields below
	queue []store.WatchResponse
	err   error // set once: the watch ends after the queue
}

// push queues the part of a transaction under the watcher's prefix. It
// never blocks.
func (w *watcher) push(r store.WatchResponse) {
	if r.Revision <= w.after {
		return
	}
	var evs []store.Event
	for _, ev := range r.Events {
		if strings.HasPrefix(ev.KV.Key, w.prefix) {
			evs = append(evs, ev)
		}
	}
	if len(evs) == 0 {
		return
	}
	w.mu.Lock()
	if w.err == nil {
		w.queue = append(w.queue, store.WatchResponse{Revision: r.Revision, Events: evs})
		if len(w.queue) > w.limit {
			w.queue, w.err = nil, store.ErrCompacted
		}
	}
	w.mu.Unlock()
	w.signal()
}

// end makes err the watch's last response; the first error wins.
func (w *watcher) end(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.signal()
}

func (w *watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run delivers the queue to out until the watch ends, then closes out.
func (w *watcher) run(ctx context.Context, unregister func()) {
	defer close(w.out)
	defer unregister()
	for {
		w.mu.Lock()
		batch, err := w.queue, w.err
		w.queue = nil
		w.mu.Unlock()
		for _, r := range batch {
			select {
			case w.out <- r:
			case <-ctx.Done():
				w.cancelled(ctx)
				return
			}
		}
		if err != nil && len(batch) == 0 {
			select {
			case w.out <- store.WatchResponse{Err: err}:
			case <-ctx.Done():
			}
			return
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			w.cancelled(ctx)
			return
		}
	}
}

// cancelled reports ctx's error if the reader has room for it: a reader
// that cancelled may no longer be reading.
func (w *watcher) cancelled(ctx context.Context) {
	select {
	case w.out <- store.WatchResponse{Err: ctx.Err()}:
	default:
	}
}

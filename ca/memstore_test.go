package ca

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/store"
)

// memStore is a small in-memory store.Store for tests: Get, List, Txn and
// Watch follow the contract; leases and elections are not supported.
type memStore struct {
	mu       sync.Mutex
	rev      int64
	kvs      map[string]store.KV
	history  []store.WatchResponse
	watchers map[*memWatcher]struct{}
}

type memWatcher struct {
	prefix string
	ch     chan store.WatchResponse
}

func newMemStore() *memStore {
	return &memStore{kvs: map[string]store.KV{}, watchers: map[*memWatcher]struct{}{}}
}

func (m *memStore) Get(_ context.Context, key string) (store.KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kv, ok := m.kvs[key]
	if !ok {
		return store.KV{}, store.ErrNotFound
	}
	return kv, nil
}

func (m *memStore) List(_ context.Context, prefix string) ([]store.KV, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.KV
	for k, kv := range m.kvs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, kv)
		}
	}
	slices.SortFunc(out, func(a, b store.KV) int { return strings.Compare(a.Key, b.Key) })
	return out, m.rev, nil
}

func (m *memStore) Txn(ctx context.Context, ops ...store.Op) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, op := range ops {
		kv, ok := m.kvs[op.Key]
		switch {
		case op.IfRevision == store.Any:
		case op.IfRevision == store.Absent && ok, op.IfRevision > 0 && (!ok || kv.ModRevision != op.IfRevision):
			return 0, store.ErrConflict
		}
	}
	if len(ops) == 0 {
		return m.rev, nil
	}
	m.rev++
	resp := store.WatchResponse{Revision: m.rev}
	for _, op := range ops {
		resp.Events = append(resp.Events, m.applyLocked(op))
	}
	slices.SortFunc(resp.Events, func(a, b store.Event) int { return strings.Compare(a.KV.Key, b.KV.Key) })
	m.history = append(m.history, resp)
	for w := range m.watchers {
		w.sendLocked(resp)
	}
	return m.rev, nil
}

func (m *memStore) applyLocked(op store.Op) store.Event {
	if op.Delete {
		delete(m.kvs, op.Key)
		return store.Event{Type: store.Delete, KV: store.KV{Key: op.Key, ModRevision: m.rev}}
	}
	kv := store.KV{Key: op.Key, Value: slices.Clone(op.Value), ModRevision: m.rev, CreateRevision: m.rev}
	if old, ok := m.kvs[op.Key]; ok {
		kv.CreateRevision = old.CreateRevision
	}
	m.kvs[op.Key] = kv
	return store.Event{Type: store.Put, KV: kv}
}

// sendLocked queues the events of resp that match the watcher's prefix.
// The channel is large enough for the tests; a full one would block them.
func (w *memWatcher) sendLocked(resp store.WatchResponse) {
	var evs []store.Event
	for _, ev := range resp.Events {
		if strings.HasPrefix(ev.KV.Key, w.prefix) {
			evs = append(evs, ev)
		}
	}
	if len(evs) > 0 {
		w.ch <- store.WatchResponse{Revision: resp.Revision, Events: evs}
	}
}

func (m *memStore) Watch(ctx context.Context, prefix string, afterRev int64) <-chan store.WatchResponse {
	w := &memWatcher{prefix: prefix, ch: make(chan store.WatchResponse, 1024)}
	m.mu.Lock()
	for _, resp := range m.history {
		if afterRev > 0 && resp.Revision > afterRev {
			w.sendLocked(resp)
		}
	}
	m.watchers[w] = struct{}{}
	m.mu.Unlock()
	out := make(chan store.WatchResponse)
	go func() {
		defer close(out)
		defer func() {
			m.mu.Lock()
			delete(m.watchers, w)
			m.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case resp := <-w.ch:
				select {
				case out <- resp:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

var errUnsupported = errors.New("memstore: not supported")

func (m *memStore) Grant(context.Context, time.Duration) (store.LeaseID, error) {
	return 0, errUnsupported
}
func (m *memStore) KeepAlive(context.Context, store.LeaseID) error { return errUnsupported }
func (m *memStore) Revoke(context.Context, store.LeaseID) error    { return errUnsupported }
func (m *memStore) Campaign(context.Context, string, string) (store.Leadership, error) {
	return nil, errUnsupported
}
func (m *memStore) Close() error { return nil }

func opPut(key, value string) store.Op {
	return store.Op{Key: key, Value: []byte(value), IfRevision: store.Any}
}

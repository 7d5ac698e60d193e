package jointoken

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/store"
)

// memStore is a small in-memory store.Store for tests: Get, List and Txn
// follow the contract; watches, leases and elections are not supported.
type memStore struct {
	mu   sync.Mutex
	rev  int64
	kvs  map[string]store.KV
	gets atomic.Int64 // how many Gets were made
}

func newMemStore() *memStore {
	return &memStore{kvs: map[string]store.KV{}}
}

func (m *memStore) Get(_ context.Context, key string) (store.KV, error) {
	m.gets.Add(1)
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
	for _, op := range ops {
		if op.Delete {
			delete(m.kvs, op.Key)
			continue
		}
		kv := store.KV{Key: op.Key, Value: slices.Clone(op.Value), ModRevision: m.rev, CreateRevision: m.rev}
		if old, ok := m.kvs[op.Key]; ok {
			kv.CreateRevision = old.CreateRevision
		}
		m.kvs[op.Key] = kv
	}
	return m.rev, nil
}

var errUnsupported = errors.New("memstore: not supported")

func (m *memStore) Watch(context.Context, string, int64) <-chan store.WatchResponse {
	ch := make(chan store.WatchResponse, 1)
	ch <- store.WatchResponse{Err: errUnsupported}
	close(ch)
	return ch
}

func (m *memStore) Grant(context.Context, time.Duration) (store.LeaseID, error) {
	return 0, errUnsupported
}
func (m *memStore) KeepAlive(context.Context, store.LeaseID) error { return errUnsupported }
func (m *memStore) Revoke(context.Context, store.LeaseID) error    { return errUnsupported }
func (m *memStore) Campaign(context.Context, string, string) (store.Leadership, error) {
	return nil, errUnsupported
}
func (m *memStore) Close() error { return nil }

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

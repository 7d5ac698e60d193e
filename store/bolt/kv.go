package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pylon-mesh/pylon/store"
	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Get returns the key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	var kv store.KV
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(kvBucket).Get([]byte(key))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		kv, err = decode(key, v)
		return err
	})
	if err != nil {
		return store.KV{}, fmt.Errorf("get %q: %w", key, err)
	}
	return kv, nil
}

// List returns the keys with the prefix, in key order, and the revision.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	var (
		kvs []store.KV
		rev int64
	)
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		rev = btoi(tx.Bucket(metaBucket).Get(revKey))
		p := []byte(prefix)
		c := tx.Bucket(kvBucket).Cursor()
		for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			kv, err := decode(string(k), v)
			if err != nil {
				return err
			}
			kvs = append(kvs, kv)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list %q: %w", prefix, err)
	}
	return kvs, rev, nil
}

// view runs a read transaction, reporting a closed store as ErrClosed.
func (s *Store) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return store.ErrClosed
	}
	return err
}

// change is one applied op: the key's record before, and the event.
type change struct {
	before store.KV
	ev     store.Event
}

// Txn applies ops atomically at one new revision. A transaction that
// changes nothing (only deletes of missing keys) keeps the revision.
func (s *Store) Txn(ctx context.Context, ops ...store.Op) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkDuplicates(ops); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("txn: %w", store.ErrClosed)
	}
	for _, op := range ops {
		if !op.Delete && op.Lease != 0 && s.liveLeaseLocked(op.Lease) == nil {
			return 0, fmt.Errorf("txn: put %q with lease %d: %w", op.Key, op.Lease, store.ErrLeaseNotFound)
		}
	}
	var changes []change
	rev := s.rev + 1
	err := s.db.Update(func(tx *bbolt.Tx) error {
		var err error
		changes, err = apply(tx, rev, ops)
		if err != nil || len(changes) == 0 {
			return err
		}
		return tx.Bucket(metaBucket).Put(revKey, itob(rev))
	})
	if err != nil {
		return 0, fmt.Errorf("txn: %w", err)
	}
	if len(changes) == 0 {
		return s.rev, nil
	}
	s.commitLocked(rev, changes)
	return rev, nil
}

// checkDuplicates refuses a transaction that names a key twice, as etcd
// does: the outcome would depend on the order of ops.
func checkDuplicates(ops []store.Op) error {
	seen := make(map[string]struct{}, len(ops))
	for _, op := range ops {
		if _, dup := seen[op.Key]; dup {
			return fmt.Errorf("txn: key %q appears twice", op.Key)
		}
		seen[op.Key] = struct{}{}
	}
	return nil
}

// apply checks every condition and then writes every op at rev.
func apply(tx *bbolt.Tx, rev int64, ops []store.Op) ([]change, error) {
	b := tx.Bucket(kvBucket)
	befores := make([]store.KV, len(ops))
	for i, op := range ops {
		var exists bool
		if v := b.Get([]byte(op.Key)); v != nil {
			kv, err := decode(op.Key, v)
			if err != nil {
				return nil, err
			}
			befores[i], exists = kv, true
		}
		if !holds(op.IfRevision, befores[i], exists) {
			return nil, fmt.Errorf("condition on %q: %w", op.Key, store.ErrConflict)
		}
	}
	var changes []change
	for i, op := range ops {
		c, ok, err := applyOp(b, rev, op, befores[i])
		if err != nil {
			return nil, err
		}
		if ok {
			changes = append(changes, c)
		}
	}
	return changes, nil
}

// holds reports whether a condition holds for the key's current state.
func holds(cond int64, kv store.KV, exists bool) bool {
	switch cond {
	case store.Any:
		return true
	case store.Absent:
		return !exists
	default:
		return exists && kv.ModRevision == cond
	}
}

// applyOp writes one op; ok is false when it changed nothing.
func applyOp(b *bbolt.Bucket, rev int64, op store.Op, before store.KV) (c change, ok bool, err error) {
	k := []byte(op.Key)
	if op.Delete {
		if before.ModRevision == 0 {
			return change{}, false, nil
		}
		ev := store.Event{Type: store.Delete, KV: store.KV{Key: op.Key, ModRevision: rev}}
		return change{before: before, ev: ev}, true, b.Delete(k)
	}
	kv := store.KV{Key: op.Key, Value: bytesOrNil(op.Value), ModRevision: rev, CreateRevision: before.CreateRevision, Lease: op.Lease}
	if kv.CreateRevision == 0 {
		kv.CreateRevision = rev
	}
	return change{before: before, ev: store.Event{Type: store.Put, KV: kv}}, true, b.Put(k, encode(kv))
}

// commitLocked publishes a written transaction: the revision, the keys'
// leases, the history and the watchers.
func (s *Store) commitLocked(rev int64, changes []change) {
	s.rev = rev
	evs := make([]store.Event, len(changes))
	for i, c := range changes {
		if l := s.leases[c.before.Lease]; l != nil {
			delete(l.keys, c.before.Key)
		}
		if l := s.leases[c.ev.KV.Lease]; l != nil && c.ev.Type == store.Put {
			l.keys[c.ev.KV.Key] = struct{}{}
		}
		evs[i] = c.ev
	}
	slices.SortFunc(evs, func(a, b store.Event) int { return strings.Compare(a.KV.Key, b.KV.Key) })
	s.publishLocked(store.WatchResponse{Revision: rev, Events: evs})
}

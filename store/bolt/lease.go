package bolt

import (
	"context"
	"fmt"
	"time"

	"github.com/pylon-mesh/pylon/store"
	"go.etcd.io/bbolt"
)

// lease is a granted lease: its ttl, when it expires, and its keys.
type lease struct {
	ttl    time.Duration
	expiry time.Time
	keys   map[string]struct{}
}

// Grant creates a lease of ttl rounded up to whole seconds (at least one).
func (s *Store) Grant(ctx context.Context, ttl time.Duration) (store.LeaseID, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ttl = max(time.Second, (ttl + time.Second - 1).Truncate(time.Second))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("grant lease: %w", store.ErrClosed)
	}
	id := s.nextLease + 1
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(metaBucket).Put(leaseKey, itob(id)); err != nil {
			return err
		}
		return tx.Bucket(leaseBucket).Put(itob(id), itob(int64(ttl)))
	})
	if err != nil {
		return 0, fmt.Errorf("grant lease: %w", err)
	}
	s.nextLease = id
	s.leases[store.LeaseID(id)] = &lease{ttl: ttl, expiry: time.Now().Add(ttl), keys: map[string]struct{}{}}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return store.LeaseID(id), nil
}

// KeepAlive restarts the lease's ttl, or returns store.ErrLeaseNotFound.
func (s *Store) KeepAlive(ctx context.Context, id store.LeaseID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("keep lease %d alive: %w", id, store.ErrClosed)
	}
	l := s.liveLeaseLocked(id)
	if l == nil {
		return fmt.Errorf("keep lease %d alive: %w", id, store.ErrLeaseNotFound)
	}
	l.expiry = time.Now().Add(l.ttl)
	return nil
}

// Revoke ends the lease, deleting its keys at one revision.
func (s *Store) Revoke(ctx context.Context, id store.LeaseID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("revoke lease %d: %w", id, store.ErrClosed)
	}
	if s.liveLeaseLocked(id) == nil {
		return fmt.Errorf("revoke lease %d: %w", id, store.ErrLeaseNotFound)
	}
	if err := s.revokeLocked(id); err != nil {
		return fmt.Errorf("revoke lease %d: %w", id, err)
	}
	return nil
}

// liveLeaseLocked returns the lease, or nil if it does not exist or has
// expired (then revoking it now rather than waiting for the expiry loop).
func (s *Store) liveLeaseLocked(id store.LeaseID) *lease {
	l := s.leases[id]
	if l == nil || time.Now().Before(l.expiry) {
		return l
	}
	if err := s.revokeLocked(id); err != nil {
		// Keep it for the expiry loop to retry; it is dead either way.
		l.expiry = time.Now()
	}
	return nil
}

// revokeLocked deletes the lease and its keys in one transaction.
func (s *Store) revokeLocked(id store.LeaseID) error {
	l := s.leases[id]
	var changes []change
	rev := s.rev + 1
	err := s.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(leaseBucket).Delete(itob(int64(id))); err != nil {
			return err
		}
		ops := make([]store.Op, 0, len(l.keys))
		for k := range l.keys {
			ops = append(ops, store.Op{Key: k, Delete: true, IfRevision: store.Any})
		}
		var err error
		if changes, err = apply(tx, rev, ops); err != nil || len(changes) == 0 {
			return err
		}
		return tx.Bucket(metaBucket).Put(revKey, itob(rev))
	})
	if err != nil {
		return err
	}
	delete(s.leases, id)
	if len(changes) > 0 {
		s.commitLocked(rev, changes)
	}
	return nil
}

// expireLoop revokes leases as they expire, until the store closes.
func (s *Store) expireLoop() {
	defer s.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		t.Reset(s.expire(time.Now()))
		select {
		case <-t.C:
		case <-s.wake:
		case <-s.done:
			return
		}
	}
}

// expire revokes the leases expired at now and returns how long until the
// next one expires. A lease that fails to revoke is retried a second later.
func (s *Store) expire(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := time.Hour
	for id, l := range s.leases {
		if now.Before(l.expiry) {
			next = min(next, l.expiry.Sub(now))
			continue
		}
		if err := s.revokeLocked(id); err != nil {
			next = min(next, time.Second)
		}
	}
	return next
}

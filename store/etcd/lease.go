package etcd

import (
	"context"
	"fmt"
	"time"

	"github.com/pylon-mesh/pylon/store"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Grant creates a lease of ttl rounded up to whole seconds (at least one;
// etcd may raise it to its own minimum).
func (s *Store) Grant(ctx context.Context, ttl time.Duration) (store.LeaseID, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("grant lease: %w", store.ErrClosed)
	}
	secs := max(1, int64((ttl+time.Second-1)/time.Second))
	resp, err := s.cli.Grant(ctx, secs)
	if err != nil {
		return 0, s.fail("grant lease", err)
	}
	return store.LeaseID(resp.ID), nil
}

// KeepAlive renews the lease once, or returns store.ErrLeaseNotFound.
func (s *Store) KeepAlive(ctx context.Context, id store.LeaseID) error {
	if s.closed.Load() {
		return fmt.Errorf("keep lease %d alive: %w", id, store.ErrClosed)
	}
	if _, err := s.cli.KeepAliveOnce(ctx, clientv3.LeaseID(id)); err != nil {
		return s.fail(fmt.Sprintf("keep lease %d alive", id), err)
	}
	return nil
}

// Revoke ends the lease, deleting its keys at one revision.
func (s *Store) Revoke(ctx context.Context, id store.LeaseID) error {
	if s.closed.Load() {
		return fmt.Errorf("revoke lease %d: %w", id, store.ErrClosed)
	}
	if _, err := s.cli.Revoke(ctx, clientv3.LeaseID(id)); err != nil {
		return s.fail(fmt.Sprintf("revoke lease %d", id), err)
	}
	return nil
}

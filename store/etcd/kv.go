package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pylon-mesh/pylon/store"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Get returns the key, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (store.KV, error) {
	if s.closed.Load() {
		return store.KV{}, fmt.Errorf("get %q: %w", key, store.ErrClosed)
	}
	resp, err := s.cli.Get(ctx, s.prefix+key)
	if err != nil {
		return store.KV{}, s.fail(fmt.Sprintf("get %q", key), err)
	}
	if len(resp.Kvs) == 0 {
		return store.KV{}, fmt.Errorf("get %q: %w", key, store.ErrNotFound)
	}
	return s.kv(resp.Kvs[0]), nil
}

// List returns the keys with the prefix, in key order, and the revision.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KV, int64, error) {
	if s.closed.Load() {
		return nil, 0, fmt.Errorf("list %q: %w", prefix, store.ErrClosed)
	}
	resp, err := s.cli.Get(ctx, s.prefix+prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, 0, s.fail(fmt.Sprintf("list %q", prefix), err)
	}
	var kvs []store.KV
	for _, kv := range resp.Kvs {
		kvs = append(kvs, s.kv(kv))
	}
	return kvs, resp.Header.Revision, nil
}

// Txn applies ops in one etcd transaction.
func (s *Store) Txn(ctx context.Context, ops ...store.Op) (int64, error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("txn: %w", store.ErrClosed)
	}
	if len(ops) == 0 {
		return s.revision(ctx)
	}
	var (
		cmps []clientv3.Cmp
		then []clientv3.Op
	)
	for _, op := range ops {
		k := s.prefix + op.Key
		switch op.IfRevision {
		case store.Any:
		case store.Absent:
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(k), "=", 0))
		default:
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", op.IfRevision))
		}
		if op.Delete {
			then = append(then, clientv3.OpDelete(k))
		} else {
			then = append(then, clientv3.OpPut(k, string(op.Value), clientv3.WithLease(clientv3.LeaseID(op.Lease))))
		}
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(then...).Commit()
	if err != nil {
		return 0, s.fail("txn", err)
	}
	if !resp.Succeeded {
		return 0, fmt.Errorf("txn: %w", store.ErrConflict)
	}
	return resp.Header.Revision, nil
}

// revision reads the cluster's current revision.
func (s *Store) revision(ctx context.Context) (int64, error) {
	resp, err := s.cli.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, s.fail("read revision", err)
	}
	return resp.Header.Revision, nil
}

// kv converts an etcd key, stripping the prefix.
func (s *Store) kv(kv *mvccpb.KeyValue) store.KV {
	out := store.KV{
		Key:            strings.TrimPrefix(string(kv.Key), s.prefix),
		ModRevision:    kv.ModRevision,
		CreateRevision: kv.CreateRevision,
		Lease:          store.LeaseID(kv.Lease),
	}
	if len(kv.Value) > 0 {
		out.Value = kv.Value
	}
	return out
}

// fail wraps an etcd error, translating the ones store callers test for.
func (s *Store) fail(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case s.closed.Load():
		err = store.ErrClosed
	case errors.Is(err, rpctypes.ErrLeaseNotFound) || errors.Is(err, rpctypes.ErrGRPCLeaseNotFound):
		err = store.ErrLeaseNotFound
	case errors.Is(err, rpctypes.ErrCompacted) || errors.Is(err, rpctypes.ErrGRPCCompacted):
		err = store.ErrCompacted
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Package store is the control plane's durable state: a small, ordered
// key-value interface with revisions, atomic transactions, prefix watches,
// leases and leader election, that every backend implements the same way.
//
// Two backends exist: store/bolt, an embedded bbolt file for one control
// plane on one machine, and store/etcd, for several control plane replicas
// sharing an etcd cluster. store/storetest is the conformance suite both
// pass; a behaviour it does not check is not part of the contract.
//
// Revisions work as in etcd: the store has one revision counter that every
// successful write transaction raises by exactly one, and every key
// remembers the revision that last changed it (ModRevision) and the one
// that created it (CreateRevision). Writes can be made conditional on a
// key's ModRevision, which is how resources get optimistic concurrency.
package store

import (
	"context"
	"errors"
	"time"
)

// Errors every backend returns (wrapped or not; test with errors.Is).
var (
	// ErrNotFound: the key does not exist.
	ErrNotFound = errors.New("store: key not found")
	// ErrConflict: a transaction's condition on a key's revision failed.
	ErrConflict = errors.New("store: revision conflict")
	// ErrCompacted: a watch asked to resume from a revision the store no
	// longer has the history for; list again and watch from there.
	ErrCompacted = errors.New("store: revision compacted")
	// ErrLeaseNotFound: the lease expired or was revoked.
	ErrLeaseNotFound = errors.New("store: lease not found")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// KV is one key with its value and revisions.
type KV struct {
	Key            string
	Value          []byte
	ModRevision    int64   // the revision of the last write to this key
	CreateRevision int64   // the revision that created this key
	Lease          LeaseID // the lease the key is attached to, or 0
}

// LeaseID names a lease. Zero means no lease.
type LeaseID int64

// Revision conditions for Op.IfRevision.
const (
	// Any makes an operation unconditional.
	Any int64 = -1
	// Absent makes a put succeed only if the key does not exist.
	Absent int64 = 0
)

// Op is one write inside a transaction.
type Op struct {
	Key string
	// Value is written unless Delete is set.
	Value []byte
	// Delete removes the key; deleting a missing key is not an error
	// unless IfRevision asks for a revision it cannot have.
	Delete bool
	// IfRevision is the condition: Any, Absent, or the ModRevision the key
	// must still have. A failed condition fails the whole transaction with
	// ErrConflict and writes nothing.
	IfRevision int64
	// Lease attaches the key to a lease (puts only); the key is deleted
	// when the lease expires or is revoked.
	Lease LeaseID
}

// EventType says what happened to a key.
type EventType int

// Event types.
const (
	Put EventType = iota + 1
	Delete
)

// Event is one change seen by a watch. For a Delete, KV.Value is empty and
// KV.ModRevision is the revision of the delete.
type Event struct {
	Type EventType
	KV   KV
}

// WatchResponse is one batch of events from a watch, all from the same
// revision (one transaction), in key order. Err, when set, ends the watch
// (ErrCompacted, ErrClosed, or the context's error) and the channel is
// closed after it.
type WatchResponse struct {
	Revision int64
	Events   []Event
	Err      error
}

// Store is the interface every backend implements. All methods are safe for
// concurrent use.
type Store interface {
	// Get returns the key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)
	// List returns every key with the prefix, sorted by key, and the
	// store's revision at the time of the read (for a Watch to resume
	// from).
	List(ctx context.Context, prefix string) ([]KV, int64, error)
	// Txn applies ops atomically: all conditions are checked first, then
	// every op is applied at one new revision, which is returned. An empty
	// ops list, or one that changes nothing (deletes of missing keys),
	// returns the current revision and writes nothing. Naming one key twice
	// is an error. etcd refuses transactions of more than 128 operations by
	// default; callers keep under that.
	Txn(ctx context.Context, ops ...Op) (int64, error)
	// Watch streams the changes to keys with the prefix made after the
	// revision afterRev (0 or less means from now on). Events arrive in revision
	// order, each transaction in one WatchResponse. The channel is closed
	// when ctx ends or the watch fails (see WatchResponse.Err). A slow
	// reader is never skipped: events queue, and a backend may end a watch
	// that falls too far behind with ErrCompacted.
	Watch(ctx context.Context, prefix string, afterRev int64) <-chan WatchResponse
	// Grant creates a lease that expires ttl after its last keep-alive.
	// Backends may round ttl up to whole seconds (at least one).
	Grant(ctx context.Context, ttl time.Duration) (LeaseID, error)
	// KeepAlive renews the lease once, or returns ErrLeaseNotFound.
	KeepAlive(ctx context.Context, id LeaseID) error
	// Revoke ends the lease now, deleting its keys at one revision.
	// Revoking a missing lease returns ErrLeaseNotFound.
	Revoke(ctx context.Context, id LeaseID) error
	// Campaign blocks until this caller leads the named election (or ctx
	// ends) and returns the leadership. value identifies the candidate
	// (for example the replica's address).
	Campaign(ctx context.Context, election, value string) (Leadership, error)
	// Close releases the store. Watches end with ErrClosed and leaderships
	// are resigned.
	Close() error
}

// Leadership is held by the one candidate that won an election.
type Leadership interface {
	// Done is closed when leadership is lost (the session expired, the
	// store closed) or resigned.
	Done() <-chan struct{}
	// Resign gives leadership up so another candidate can win.
	Resign(ctx context.Context) error
}

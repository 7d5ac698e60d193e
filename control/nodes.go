package control

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/push"
	"github.com/pylon-mesh/pylon/store"
)

// Node is a connected data plane as the admin API shows it.
type Node struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Identity    string    `json:"identity"`
	Peer        string    `json:"peer"`
	Build       string    `json:"build,omitempty"`
	Replica     string    `json:"replica"`
	ConnectedAt time.Time `json:"connected_at"`
	Sent        string    `json:"sent,omitempty"`
	Acked       string    `json:"acked,omitempty"`
	LastAckAt   time.Time `json:"last_ack_at,omitzero"`
	Nacked      string    `json:"nacked,omitempty"`
	NackError   string    `json:"nack_error,omitempty"`
}

// nodesPrefix is where replicas record the data planes connected to them.
const nodesPrefix = "nodes/"

// How node records are kept: written in batches, attached to the
// replica's lease so the records of a replica that died disappear.
const (
	nodeFlushEvery = 200 * time.Millisecond
	replicaTTL     = 15 * time.Second
)

func nodeOf(s push.NodeStatus, replica string) Node {
	return Node{ID: s.ID, Kind: s.Kind, Identity: s.Identity, Peer: s.Peer, Build: s.Build, Replica: replica,
		ConnectedAt: s.ConnectedAt.UTC(), Sent: s.Sent, Acked: s.Acked, LastAckAt: s.LastAckAt.UTC(),
		Nacked: s.Nacked, NackError: s.NackError}
}

// nodeBook records this replica's data planes in the store, so every
// replica's admin API lists them all.
type nodeBook struct {
	st      store.Store
	replica string

	mu      sync.Mutex
	pending map[string]*Node // id -> latest status, nil for a disconnect
	wake    chan struct{}
	lease   store.LeaseID
	written map[string]int64 // id -> revision of our last write of its record
}

func newNodeBook(st store.Store, replica string) *nodeBook {
	return &nodeBook{st: st, replica: replica, pending: map[string]*Node{}, wake: make(chan struct{}, 1), written: map[string]int64{}}
}

// recordKey names a node's record by its identity and the ID it gave, so a
// workload can only ever write records under its own identity.
func recordKey(s push.NodeStatus) string {
	return strings.TrimPrefix(s.Identity, "spiffe://") + "/" + s.ID
}

// update is push's OnStatus: it only queues, so streams never wait.
func (b *nodeBook) update(s push.NodeStatus) {
	var n *Node
	if s.Connected {
		v := nodeOf(s, b.replica)
		n = &v
	}
	b.mu.Lock()
	b.pending[recordKey(s)] = n
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// run writes queued statuses in batches and keeps the lease alive until ctx
// ends.
func (b *nodeBook) run(ctx context.Context, log func(msg string, err error)) {
	keep := time.NewTicker(replicaTTL / 3)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keep.C:
			if b.lease != 0 {
				if err := b.st.KeepAlive(ctx, b.lease); err != nil && ctx.Err() == nil {
					log("node records: lease lost; writing them again", err)
					b.lease = 0
				}
			}
			continue
		case <-b.wake:
		}
		if err := b.flush(ctx); err != nil && ctx.Err() == nil {
			log("node records", err)
		}
		sleep(ctx, nodeFlushEvery)
	}
}

// maxBatch keeps each transaction under etcd's default limit of 128
// operations.
const maxBatch = 100

// flush writes what is pending, up to maxBatch records per transaction.
func (b *nodeBook) flush(ctx context.Context) error {
	b.mu.Lock()
	batch := make(map[string]*Node, min(len(b.pending), maxBatch))
	for id, n := range b.pending {
		if len(batch) == maxBatch {
			break
		}
		batch[id] = n
		delete(b.pending, id)
	}
	more := len(b.pending) > 0
	b.mu.Unlock()
	if more {
		defer func() {
			select {
			case b.wake <- struct{}{}:
			default:
			}
		}()
	}
	if len(batch) == 0 {
		return nil
	}
	if b.lease == 0 {
		id, err := b.st.Grant(ctx, replicaTTL)
		if err != nil {
			b.requeue(batch)
			return err
		}
		b.lease = id
	}
	var ops []store.Op
	var ids []string
	for id, n := range batch {
		if n == nil {
			// Only remove a record this replica wrote last: the node may
			// already be connected to another replica.
			if rev, ok := b.written[id]; ok {
				ops = append(ops, store.Op{Key: nodesPrefix + id, Delete: true, IfRevision: rev})
			}
			delete(b.written, id)
			continue
		}
		v, err := json.Marshal(n)
		if err != nil {
			return err
		}
		ops = append(ops, store.Op{Key: nodesPrefix + id, Value: v, IfRevision: store.Any, Lease: b.lease})
		ids = append(ids, id)
	}
	rev, err := b.st.Txn(ctx, ops...)
	if errors.Is(err, store.ErrConflict) {
		return b.flushEach(ctx, ops, ids) // a removal lost a race; write the rest one by one
	}
	if errors.Is(err, store.ErrLeaseNotFound) {
		b.lease = 0
		b.requeue(batch)
		return err
	}
	if err != nil {
		b.requeue(batch)
		return err
	}
	for _, id := range ids {
		b.written[id] = rev
	}
	return nil
}

// flushEach writes ops one at a time, skipping removals that lost a race.
func (b *nodeBook) flushEach(ctx context.Context, ops []store.Op, ids []string) error {
	w := 0
	for _, op := range ops {
		rev, err := b.st.Txn(ctx, op)
		if op.Delete {
			continue
		}
		if err != nil {
			return err
		}
		b.written[ids[w]] = rev
		w++
	}
	return nil
}

// requeue puts a batch back under newer updates.
func (b *nodeBook) requeue(batch map[string]*Node) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, n := range batch {
		if _, newer := b.pending[id]; !newer {
			b.pending[id] = n
		}
	}
}

// list returns every replica's data planes, sorted by id.
func (b *nodeBook) list(ctx context.Context) ([]Node, error) {
	kvs, _, err := b.st.List(ctx, nodesPrefix)
	if err != nil {
		return nil, err
	}
	out := make([]Node, 0, len(kvs))
	for _, kv := range kvs {
		var n Node
		if err := json.Unmarshal(kv.Value, &n); err != nil {
			return nil, errors.New("decode node record " + strings.TrimPrefix(kv.Key, nodesPrefix) + ": " + err.Error())
		}
		out = append(out, n)
	}
	return out, nil
}

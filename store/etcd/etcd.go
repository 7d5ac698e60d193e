// Package etcd is the store backend for several control plane replicas
// sharing an etcd cluster. Everything lives under Options.Prefix; revisions,
// leases, watches and compaction are etcd's own, and elections use etcd's
// concurrency package, so a leader that loses its session loses leadership.
//
// Txn maps a store.Op condition to an etcd comparison: store.Absent to
// CreateRevision == 0, a revision to ModRevision == it. Like etcd, a
// transaction may not name a key twice, and one that changes nothing keeps
// the revision. etcd's own limits apply: at most --max-txn-ops operations
// per transaction (128 by default) and --max-request-bytes per request
// (1.5 MiB). The client logs nothing: errors come back as values.
package etcd

import (
	"context"
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pylon-mesh/pylon/store"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
)

// Options configures Open. The zero value connects in plain text with the
// defaults below.
type Options struct {
	// Prefix namespaces everything the store writes, so pylon shares a
	// cluster with others: keys go under Prefix+"kv/", elections under
	// Prefix+"election/". Empty means "/pylon/".
	Prefix string
	// DialTimeout bounds connecting and the first read at Open; zero means
	// five seconds.
	DialTimeout time.Duration
	// TLS, if not nil, secures the connection (client certificate and the
	// CA to trust); nil means plain text.
	TLS *tls.Config
	// SessionTTL is how long a leader keeps leadership after its replica
	// stops renewing it (rounded up to seconds); zero means ten seconds.
	SessionTTL time.Duration
}

// Store is a store.Store on etcd. It is safe for concurrent use.
type Store struct {
	cli        *clientv3.Client
	prefix     string // of keys: Options.Prefix + "kv/"
	elections  string // of elections: Options.Prefix + "election/"
	sessionTTL int
	ctx        context.Context // ends when Close starts: watches, campaigns
	cancel     context.CancelFunc
	sessCtx    context.Context // ends when Close has resigned the sessions
	sessCancel context.CancelFunc
	closed     atomic.Bool

	mu       sync.Mutex // guards sessions
	sessions map[*concurrency.Session]struct{}
}

var _ store.Store = (*Store)(nil)

// Open connects to the etcd cluster at endpoints and checks that it serves
// a read within the dial timeout (or ctx).
func Open(ctx context.Context, endpoints []string, opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = "/pylon/"
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 10 * time.Second
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          opts.DialTimeout,
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		TLS:                  opts.TLS,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	check, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	if _, err := cli.Get(check, opts.Prefix, clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("connect to etcd %v: %w", endpoints, err)
	}
	s := &Store{
		cli:        cli,
		prefix:     opts.Prefix + "kv/",
		elections:  opts.Prefix + "election/",
		sessionTTL: int((opts.SessionTTL + time.Second - 1) / time.Second),
		sessions:   make(map[*concurrency.Session]struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.sessCtx, s.sessCancel = context.WithCancel(context.Background())
	return s, nil
}

// Close resigns every leadership, ends every watch with store.ErrClosed and
// closes the client. Closing a closed store does nothing.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.cancel()
	s.mu.Lock()
	sessions := s.sessions
	s.sessions = nil
	s.mu.Unlock()
	for sess := range sessions {
		sess.Close()
	}
	s.sessCancel()
	if err := s.cli.Close(); err != nil {
		return fmt.Errorf("close etcd client: %w", err)
	}
	return nil
}

// Package bolt is the store backend for one control plane on one machine:
// every key, the revision counter and the leases live in one bbolt file.
//
// bbolt locks the file, so only one process can open it; elections are
// therefore decided inside that process. Watches resume from an in-memory
// history of the last Options.History transactions (the history starts
// empty when the file is opened, so older revisions are compacted). Writers
// never wait for watchers: each watcher has its own queue, and a watcher
// that falls more than Options.History transactions behind is ended with
// store.ErrCompacted, as if it had asked for a revision no longer kept.
//
// Values handed out in watch events are shared between watchers and must
// not be modified.
package bolt

import (
	"fmt"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/store"
	"go.etcd.io/bbolt"
)

// Options tunes a Store. The zero value is ready to use.
type Options struct {
	// History is how many recent transactions are kept for watches to
	// resume from, and how far behind a watcher may fall; zero means 10000.
	History int
	// NoSync skips the fsync after each transaction: much faster, but a
	// power failure loses the last writes. Zero (false) syncs; meant for
	// tests.
	NoSync bool
}

// Store is a store.Store in a bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bbolt.DB
	done chan struct{} // closed by Close
	wake chan struct{} // wakes the lease expiry loop
	wg   sync.WaitGroup

	mu        sync.Mutex // serializes writes; guards the fields below
	closed    bool
	rev       int64
	nextLease int64
	hist      history
	watchers  map[*watcher]struct{}
	leases    map[store.LeaseID]*lease
	elections map[string][]*leadership
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path with mode 0600.
// It fails if another process holds the file after waiting a second.
func Open(path string, opts Options) (*Store, error) {
	if opts.History <= 0 {
		opts.History = 10000
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.NoSync = opts.NoSync
	s := &Store{
		db:        db,
		done:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
		watchers:  make(map[*watcher]struct{}),
		leases:    make(map[store.LeaseID]*lease),
		elections: make(map[string][]*leadership),
	}
	if err := s.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.hist = history{max: opts.History, floor: s.rev}
	s.wg.Add(1)
	go s.expireLoop()
	return s, nil
}

// Close ends every watch with store.ErrClosed, resigns every leadership and
// closes the file. Closing a closed store does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for w := range s.watchers {
		w.end(store.ErrClosed)
	}
	for name, ls := range s.elections {
		for _, l := range ls {
			l.lost()
		}
		delete(s.elections, name)
	}
	close(s.done)
	s.mu.Unlock()
	s.wg.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

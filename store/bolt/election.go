package bolt

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/pylon-mesh/pylon/store"
)

// Campaign blocks until the caller leads the election. Candidates win in
// the order they campaigned; the file lock already makes this process the
// only replica, so the election is decided in memory.
func (s *Store) Campaign(ctx context.Context, election, value string) (store.Leadership, error) {
	l := &leadership{s: s, election: election, won: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, fmt.Errorf("campaign %q: %w", election, store.ErrClosed)
	}
	s.elections[election] = append(s.elections[election], l)
	if len(s.elections[election]) == 1 {
		close(l.won)
	}
	s.mu.Unlock()
	select {
	case <-l.won:
		return l, nil
	case <-l.done:
		return nil, fmt.Errorf("campaign %q: %w", election, store.ErrClosed)
	case <-ctx.Done():
		l.leave()
		return nil, fmt.Errorf("campaign %q: %w", election, ctx.Err())
	}
}

// leadership is one candidate of an in-process election.
type leadership struct {
	s        *Store
	election string
	won      chan struct{} // closed when the candidate leads
	done     chan struct{} // closed when it leaves the election
	once     sync.Once
}

// Done is closed when leadership is resigned or the store closes.
func (l *leadership) Done() <-chan struct{} { return l.done }

// Resign gives leadership up; the next candidate in line wins.
func (l *leadership) Resign(context.Context) error {
	l.leave()
	return nil
}

// leave takes the candidate out of its election, handing leadership on if
// it led.
func (l *leadership) leave() {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.elections[l.election]
	i := slices.Index(q, l)
	if i < 0 {
		return
	}
	q = slices.Delete(q, i, i+1)
	if len(q) == 0 {
		delete(s.elections, l.election)
	} else {
		s.elections[l.election] = q
		if i == 0 {
			close(q[0].won)
		}
	}
	l.lost()
}

// lost closes done once.
func (l *leadership) lost() { l.once.Do(func() { close(l.done) }) }

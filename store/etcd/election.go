package etcd

import (
	"context"
	"errors"
	"fmt"

	"github.com/pylon-mesh/pylon/store"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Campaign runs for the election in a new etcd session (a lease of
// Options.SessionTTL kept alive in the background); the leadership is lost
// when the session ends.
func (s *Store) Campaign(ctx context.Context, election, value string) (store.Leadership, error) {
	sess, err := s.session(ctx)
	if err != nil {
		return nil, fmt.Errorf("campaign %q: %w", election, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	e := concurrency.NewElection(sess, s.elections+election)
	err = e.Campaign(cctx, value)
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case s.ctx.Err() != nil:
		err = store.ErrClosed
	case err == nil && isDone(sess.Done()):
		// etcd's Campaign can return after the session's lease expired
		// under it, deleting the candidate's key.
		err = errSessionLost
	}
	if err != nil {
		s.drop(sess)
		return nil, fmt.Errorf("campaign %q: %w", election, err)
	}
	return &leadership{s: s, sess: sess, e: e}, nil
}

// errSessionLost: the session ended while its campaign waited.
var errSessionLost = errors.New("etcd session expired while campaigning")

// isDone reports whether ch is closed.
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// session starts a session the store tracks, to resign it at Close. Its
// lease is granted within ctx; keeping it alive lasts until Close.
func (s *Store) session(ctx context.Context) (*concurrency.Session, error) {
	lease, err := s.cli.Grant(ctx, int64(s.sessionTTL))
	if err != nil {
		return nil, s.fail("start etcd session", err)
	}
	sess, err := concurrency.NewSession(s.cli, concurrency.WithTTL(s.sessionTTL), concurrency.WithLease(lease.ID), concurrency.WithContext(s.sessCtx))
	if err != nil {
		return nil, s.fail("start etcd session", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions == nil {
		sess.Close()
		return nil, store.ErrClosed
	}
	s.sessions[sess] = struct{}{}
	return sess, nil
}

// drop closes a session, revoking its lease and so its election key. A
// lease already gone (the session expired) is no error.
func (s *Store) drop(sess *concurrency.Session) error {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	if err := s.fail("end etcd session", sess.Close()); !errors.Is(err, store.ErrLeaseNotFound) {
		return err
	}
	return nil
}

// leadership is a won election and the session that holds it.
type leadership struct {
	s    *Store
	sess *concurrency.Session
	e    *concurrency.Election
}

// Done is closed when the session ends: resigned, expired or closed.
func (l *leadership) Done() <-chan struct{} { return l.sess.Done() }

// Resign deletes the leader's key and ends the session. Resigning after the store closed does nothing: Close resigned it.
func (l *leadership) Resign(ctx context.Context) error {
	if l.s.closed.Load() {
		return nil
	}
	err := l.e.Resign(ctx)
	if err := errors.Join(err, l.s.drop(l.sess)); err != nil {
		return fmt.Errorf("resign: %w", err)
	}
	return nil
}

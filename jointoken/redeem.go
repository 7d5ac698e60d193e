package jointoken

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pylon-mesh/pylon/store"
)

// Redeem checks the secret names a usable token of the kind and consumes one
// of its uses; it returns the token as updated. Two redeemers racing for a
// token's last use: exactly one wins, the other gets ErrUsedUp.
func (m *Manager) Redeem(ctx context.Context, secret string, kind Kind) (Token, error) {
	for {
		r, kv, err := m.verify(ctx, secret, kind)
		if err != nil {
			return Token{}, fmt.Errorf("redeem token: %w", err)
		}
		if err := r.usable(m.now()); err != nil {
			return Token{}, fmt.Errorf("redeem token: %w", err)
		}
		r.Uses++
		val, err := json.Marshal(r)
		if err != nil {
			return Token{}, fmt.Errorf("redeem token: %w", err)
		}
		_, err = m.st.Txn(ctx, store.Op{Key: kv.Key, Value: val, IfRevision: kv.ModRevision})
		if err == nil {
			return r.Token, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return Token{}, fmt.Errorf("redeem token %s: %w", r.ID, err)
		}
	}
}

// Check checks the secret names a usable token of the kind, without
// consuming a use. It is meant to run on every admin API request: a verified
// secret is cached (by its hash) for CacheTTL, so only the first check in a
// CacheTTL reads the store.
func (m *Manager) Check(ctx context.Context, secret string, kind Kind) (Token, error) {
	now := m.now()
	h := hashOf(secret)
	t, ok := m.cache.get(h, now)
	if !ok {
		gen := m.cache.generation()
		r, _, err := m.verify(ctx, secret, kind)
		if err != nil {
			return Token{}, fmt.Errorf("check token: %w", err)
		}
		t = r.Token
		m.cache.put(h, t, now, gen)
	}
	if t.Kind != kind {
		return Token{}, fmt.Errorf("check token: %w", ErrInvalid)
	}
	if err := t.usable(now); err != nil {
		return Token{}, fmt.Errorf("check token: %w", err)
	}
	return t, nil
}

// verify reads the token the secret names and checks the secret and the
// kind. Every mismatch is ErrInvalid; store failures are returned as they
// are.
func (m *Manager) verify(ctx context.Context, secret string, kind Kind) (record, store.KV, error) {
	id, ok := parseSecret(secret)
	if !ok {
		return record{}, store.KV{}, ErrInvalid
	}
	r, kv, err := m.read(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return record{}, store.KV{}, ErrInvalid
	}
	if err != nil {
		return record{}, store.KV{}, err
	}
	h := hashOf(secret)
	if subtle.ConstantTimeCompare(h[:], r.Hash) != 1 || r.Kind != kind {
		return record{}, store.KV{}, ErrInvalid
	}
	return r, kv, nil
}

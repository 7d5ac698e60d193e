package jointoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pylon-mesh/pylon/store"
)

// Manager creates, checks, redeems and revokes tokens kept in a store. It is
// safe for concurrent use; several Managers (one per control plane replica)
// may share a store.
type Manager struct {
	st    store.Store
	now   func() time.Time
	cache *cache
}

// New returns a Manager of the tokens in st. now is the clock; nil means
// time.Now.
func New(st store.Store, now func() time.Time) *Manager {
	if now == nil {
		now = time.Now
	}
	return &Manager{st: st, now: now, cache: newCache()}
}

// record is a token as stored: its settings and the hash of its secret.
type record struct {
	Token
	Hash []byte `json:"hash"`
}

// createAttempts bounds the retries when a fresh id is taken already.
const createAttempts = 5

// Create stores a new token with t's Kind, Service, Namespace, MaxUses,
// Expires and Description, and returns its secret, shown only this once, and
// the token as stored (ID and Created set, Uses zero). Invalid settings
// return an error wrapping ErrBadFields.
func (m *Manager) Create(ctx context.Context, t Token) (string, Token, error) {
	now := m.now()
	if err := t.validate(now); err != nil {
		return "", Token{}, fmt.Errorf("create token: %w", err)
	}
	t.Uses, t.Created = 0, now
	for range createAttempts {
		id, secret := newSecret()
		t.ID = id
		h := hashOf(secret)
		val, err := json.Marshal(record{Token: t, Hash: h[:]})
		if err != nil {
			return "", Token{}, fmt.Errorf("create token: %w", err)
		}
		_, err = m.st.Txn(ctx, store.Op{Key: keyPrefix + id, Value: val, IfRevision: store.Absent})
		if err == nil {
			return secret, t, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return "", Token{}, fmt.Errorf("create token: %w", err)
		}
	}
	return "", Token{}, errors.New("create token: no free id")
}

// Get returns the token with the id, or ErrNotFound.
func (m *Manager) Get(ctx context.Context, id string) (Token, error) {
	r, _, err := m.read(ctx, id)
	if err != nil {
		return Token{}, fmt.Errorf("get token %q: %w", id, err)
	}
	return r.Token, nil
}

// List returns every token, by id.
func (m *Manager) List(ctx context.Context) ([]Token, error) {
	kvs, _, err := m.st.List(ctx, keyPrefix)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]Token, 0, len(kvs))
	for _, kv := range kvs {
		var r record
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return nil, fmt.Errorf("list tokens: decode %s: %w", kv.Key, err)
		}
		out = append(out, r.Token)
	}
	return out, nil
}

// Revoke deletes the token with the id, or returns ErrNotFound. The token
// stops working at once through this Manager, and within CacheTTL through
// the others.
func (m *Manager) Revoke(ctx context.Context, id string) error {
	defer m.cache.forget(id)
	for {
		_, kv, err := m.read(ctx, id)
		if err != nil {
			return fmt.Errorf("revoke token %q: %w", id, err)
		}
		_, err = m.st.Txn(ctx, store.Op{Key: kv.Key, Delete: true, IfRevision: kv.ModRevision})
		if !errors.Is(err, store.ErrConflict) {
			if err != nil {
				return fmt.Errorf("revoke token %q: %w", id, err)
			}
			return nil
		}
	}
}

// read returns the stored token with the id, or ErrNotFound.
func (m *Manager) read(ctx context.Context, id string) (record, store.KV, error) {
	if !validID(id) {
		return record{}, store.KV{}, ErrNotFound
	}
	kv, err := m.st.Get(ctx, keyPrefix+id)
	if errors.Is(err, store.ErrNotFound) {
		return record{}, store.KV{}, ErrNotFound
	}
	if err != nil {
		return record{}, store.KV{}, err
	}
	var r record
	if err := json.Unmarshal(kv.Value, &r); err != nil {
		return record{}, store.KV{}, fmt.Errorf("decode %s: %w", kv.Key, err)
	}
	return r, kv, nil
}

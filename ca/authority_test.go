package ca

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/store"
)

// barrierStore holds its first n Gets until all n arrived, so n Opens all
// find the store empty and race to create the CA.
type barrierStore struct {
	store.Store
	n       int32
	arrived atomic.Int32
	wg      sync.WaitGroup
}

func newBarrierStore(t *testing.T, n int) *barrierStore {
	b := &barrierStore{Store: newStore(t), n: int32(n)}
	b.wg.Add(n)
	return b
}

func (b *barrierStore) Get(ctx context.Context, key string) (store.KV, error) {
	if b.arrived.Add(1) <= b.n {
		b.wg.Done()
		b.wg.Wait()
	}
	return b.Store.Get(ctx, key)
}

func TestOpenRace(t *testing.T) {
	const replicas = 3
	st := newBarrierStore(t, replicas)
	kf := keyFile(t)
	cas := make([]*Authority, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { cas[i], errs[i] = Open(context.Background(), st, Options{KeyFile: kf}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
	}
	leaf := issue(t, cas[0], web)
	for i, a := range cas[1:] {
		if diff := cmp.Diff(cas[0].Pin(), a.Pin()); diff != "" {
			t.Errorf("replica %d pin (-want +got):\n%s", i+1, diff)
		}
		if diff := cmp.Diff("", verifyErr(a, leaf)); diff != "" {
			t.Errorf("replica %d verifying replica 0's leaf (-want +got):\n%s", i+1, diff)
		}
	}
}

func TestReopen(t *testing.T) {
	st := newStore(t)
	kf := keyFile(t)
	a := openCA(t, st, Options{KeyFile: kf})
	leaf := issue(t, a, web)
	b := openCA(t, st, Options{KeyFile: kf})
	if diff := cmp.Diff(a.Pin(), b.Pin()); diff != "" {
		t.Errorf("pin after reopening (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("", verifyErr(b, leaf)); diff != "" {
		t.Errorf("verify an old leaf after reopening (-want +got):\n%s", diff)
	}
	// The reopened CA signs with the same intermediate.
	if diff := cmp.Diff(leaf[1].Raw, issue(t, b, web)[1].Raw); diff != "" {
		t.Errorf("intermediate after reopening (-want +got):\n%s", diff)
	}
}

func TestOpenRefuses(t *testing.T) {
	st := newStore(t)
	openCA(t, st, Options{KeyFile: keyFile(t)})
	malformed := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(malformed, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		st      store.Store
		opts    Options
		wantErr string
	}{
		{"wrong key file", st, Options{KeyFile: keyFile(t)}, "does not decrypt the CA key"},
		{"another trust domain", st, Options{KeyFile: keyFile(t), TrustDomain: "other.example"}, `is for trust domain "pylon.local", not "other.example"`},
		{"no key file", newStore(t), Options{}, "a key file is required"},
		{"malformed key file", newStore(t), Options{KeyFile: malformed}, "want 32 bytes in base64"},
		{"key file in a missing directory", newStore(t), Options{KeyFile: filepath.Join(t.TempDir(), "no", "ca.key")}, "create key file"},
		{"bad trust domain", newStore(t), Options{KeyFile: keyFile(t), TrustDomain: "Bad Domain"}, `trust domain "Bad Domain"`},
		{"negative duration", newStore(t), Options{KeyFile: keyFile(t), LeafTTL: -1}, "must not be negative"},
		{"negative propagation", newStore(t), Options{KeyFile: keyFile(t), Propagation: -1}, "must not be negative"},
		{"overlap shorter than leaves", newStore(t), Options{KeyFile: keyFile(t), LeafTTL: time.Hour, Overlap: time.Hour - 1}, "overlap 59m59.999999999s is shorter than the leaf lifetime 1h0m0s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(context.Background(), tc.st, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Open: got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
	_, err := Open(context.Background(), st, Options{KeyFile: keyFile(t)})
	if !errors.Is(err, ErrWrongKeyFile) {
		t.Errorf("Open with a wrong key file: got %v, want ErrWrongKeyFile", err)
	}
}

func TestKeyFileCreated(t *testing.T) {
	kf := keyFile(t)
	openCA(t, newStore(t), Options{KeyFile: kf})
	fi, err := os.Stat(kf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(os.FileMode(0o600), fi.Mode().Perm()); diff != "" {
		t.Errorf("key file mode (-want +got):\n%s", diff)
	}
	entries, err := os.ReadDir(filepath.Dir(kf))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(1, len(entries)); diff != "" {
		t.Errorf("files beside the key file (temporary files left?) (-want +got):\n%s", diff)
	}
}

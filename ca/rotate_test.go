package ca

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pylon-mesh/pylon/store"
	"github.com/pylon-mesh/pylon/store/bolt"
)

// rootPins returns the pins of the Authority's roots, current first.
func rootPins(a *Authority) []string {
	var pins []string
	for _, r := range a.Roots() {
		pins = append(pins, pinOf(r))
	}
	return pins
}

func TestRotate(t *testing.T) {
	clock := newFakeClock()
	a := openCA(t, newStore(t), Options{KeyFile: keyFile(t), Now: clock.Now, Overlap: time.Hour})
	oldPin := a.Pin()
	oldLeaf := issue(t, a, web)
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	newLeaf := issue(t, a, web)
	if diff := cmp.Diff([]string{a.Pin(), oldPin}, rootPins(a)); diff != "" {
		t.Errorf("roots during the overlap, current first (-want +got):\n%s", diff)
	}
	if a.Pin() == oldPin {
		t.Errorf("pin after Rotate: got the old root's pin, want a new one")
	}
	if diff := cmp.Diff(a.Roots()[0].Subject.String(), newLeaf[1].Issuer.String()); diff != "" {
		t.Errorf("new leaves' intermediate is issued by (-want +got):\n%s", diff)
	}
	tests := []struct {
		name    string
		advance time.Duration
		pins    []string
		oldErr  string
	}{
		{"during the overlap", 59 * time.Minute, []string{a.Pin(), oldPin}, ""},
		{"after the overlap", time.Minute, []string{a.Pin()}, "unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(tc.advance)
			if diff := cmp.Diff(tc.pins, rootPins(a)); diff != "" {
				t.Errorf("roots (-want +got):\n%s", diff)
			}
			if got := verifyErr(a, oldLeaf); !strings.Contains(got, tc.oldErr) || (tc.oldErr == "") != (got == "") {
				t.Errorf("Verify(old leaf): got error %q, want %q", got, tc.oldErr)
			}
			if diff := cmp.Diff("", verifyErr(a, newLeaf)); diff != "" {
				t.Errorf("Verify(new leaf) (-want +got):\n%s", diff)
			}
		})
	}
}

// storedRoots returns how many roots the stored state lists.
func storedRoots(t *testing.T, st store.Store) int {
	t.Helper()
	kv, err := st.Get(context.Background(), stateKey)
	if err != nil {
		t.Fatal(err)
	}
	var s stateJSON
	if err := json.Unmarshal(kv.Value, &s); err != nil {
		t.Fatal(err)
	}
	return len(s.Roots)
}

func TestRotateDropsRetiredRootsFromStore(t *testing.T) {
	clock := newFakeClock()
	st := newStore(t)
	a := openCA(t, st, Options{KeyFile: keyFile(t), Now: clock.Now, Overlap: time.Hour})
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 2},                // the first root overlaps
		{30 * time.Minute, 3}, // both earlier roots overlap
		{45 * time.Minute, 3}, // the first root retired, the second overlaps
		{2 * time.Hour, 2},    // only the previous root overlaps
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if err := a.Rotate(context.Background()); err != nil {
			t.Fatalf("Rotate %d: %v", i, err)
		}
		if diff := cmp.Diff(s.want, storedRoots(t, st)); diff != "" {
			t.Errorf("rotation %d: stored roots (-want +got):\n%s", i, diff)
		}
	}
}

func TestRotateConflict(t *testing.T) {
	st := newStore(t)
	kf := keyFile(t)
	a := openCA(t, st, Options{KeyFile: kf})
	b := openCA(t, st, Options{KeyFile: kf})
	first := a.Pin()
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate a: %v", err)
	}
	// b still holds the first revision: its write conflicts, it re-reads
	// and rotates a's state.
	if err := b.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate b: %v", err)
	}
	want := []string{b.Pin(), a.Pin(), first}
	if diff := cmp.Diff(want, rootPins(b)); diff != "" {
		t.Errorf("roots after two rotations (-want +got):\n%s", diff)
	}
	if err := a.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, rootPins(a)); diff != "" {
		t.Errorf("roots a reads back (-want +got):\n%s", diff)
	}
}

func TestRunSeesRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		kf := keyFile(t)
		a := openCA(t, st, Options{KeyFile: kf})
		b := openCA(t, st, Options{KeyFile: kf})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		oldLeaf := issue(t, a, web)
		if err := a.Rotate(context.Background()); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		synctest.Wait()
		if diff := cmp.Diff(rootPins(a), rootPins(b)); diff != "" {
			t.Errorf("b's roots after a rotated (-want +got):\n%s", diff)
		}
		newLeaf := issue(t, b, web)
		if diff := cmp.Diff(a.Roots()[0].Raw, rootOf(t, newLeaf, a.Roots()).Raw); diff != "" {
			t.Errorf("b issues from (-want +got):\n%s", diff)
		}
		for _, leaf := range [][]*x509.Certificate{oldLeaf, newLeaf} {
			if diff := cmp.Diff("", verifyErr(b, leaf)); diff != "" {
				t.Errorf("b verifying (-want +got):\n%s", diff)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: got %v, want nil", err)
		}
	})
}

// rootOf returns the root among roots that chain's intermediate chains to.
func rootOf(t *testing.T, chain []*x509.Certificate, roots []*x509.Certificate) *x509.Certificate {
	t.Helper()
	for _, r := range roots {
		if chain[1].CheckSignatureFrom(r) == nil {
			return r
		}
	}
	t.Fatalf("no root signed the intermediate")
	return nil
}

func TestRunRefusesBadState(t *testing.T) {
	st := newStore(t)
	a := openCA(t, st, Options{KeyFile: keyFile(t)})
	pin := a.Pin()
	ctx := context.Background()
	if _, err := st.Txn(ctx, opPut(stateKey, `{"trust_domain":"pylon.local"}`)); err != nil {
		t.Fatal(err)
	}
	err := a.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "no current root") {
		t.Errorf("Run: got error %v, want one containing %q", err, "no current root")
	}
	if diff := cmp.Diff(pin, a.Pin()); diff != "" {
		t.Errorf("pin after a bad state (-want +got):\n%s", diff)
	}
}

func TestRunCatchesUpAfterCompaction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{NoSync: true, History: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		kf := keyFile(t)
		a := openCA(t, st, Options{KeyFile: kf})
		b := openCA(t, st, Options{KeyFile: kf})
		// b falls further behind than the store keeps history for.
		for range 3 {
			if err := a.Rotate(context.Background()); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		synctest.Wait()
		if diff := cmp.Diff(rootPins(a), rootPins(b)); diff != "" {
			t.Errorf("b's roots after catching up (-want +got):\n%s", diff)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: got %v, want nil", err)
		}
	})
}

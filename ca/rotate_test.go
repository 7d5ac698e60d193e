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
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// rootPins returns the pins of the Authority's roots, current first.
func rootPins(a *Authority) []string {
	var pins []string
	for _, r := range a.Roots() {
		pins = append(pins, pinOf(r))
	}
	return pins
}

// rootView is what a test checks of a RootStatus: the root by its pin.
type rootView struct {
	Pin         string
	State       RootState
	ActivatesAt time.Time
	RetiresAt   time.Time
	Pinned      bool
}

func statusOf(a *Authority) []rootView {
	var out []rootView
	for _, r := range a.Status() {
		out = append(out, rootView{pinOf(r.Cert), r.State, r.ActivatesAt, r.RetiresAt, r.Pinned})
	}
	return out
}

// rootByPin returns the one trusted root of a with the given pin.
func rootByPin(t *testing.T, a *Authority, pin string) *x509.Certificate {
	t.Helper()
	for _, r := range a.Roots() {
		if pinOf(r) == pin {
			return r
		}
	}
	t.Fatalf("no trusted root has pin %s", pin)
	return nil
}

// chainErr verifies chain against root alone, as a data plane whose trust
// bundle holds only that root would; "" for success.
func chainErr(chain []*x509.Certificate, root *x509.Certificate, now time.Time) string {
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range chain[1:] {
		inters.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return err.Error()
	}
	return ""
}

// rotateOpts are the options of the rotation tests: an hour's leaves, a
// minute's propagation and two hours' overlap.
func rotateOpts(t *testing.T, clock *fakeClock) Options {
	return Options{KeyFile: keyFile(t), Now: clock.Now, LeafTTL: time.Hour, Propagation: time.Minute, Overlap: 2 * time.Hour}
}

// TestRotatePhases walks a rotation through its phases: before the
// activation the new root is trusted but the old one issues; from the
// activation the new one issues and the old one stays trusted (and serves
// the control plane) through the overlap; then only the new one is left.
func TestRotatePhases(t *testing.T) {
	clock := newFakeClock()
	st := newStore(t)
	opts := rotateOpts(t, clock)
	a := openCA(t, st, opts)
	b := openCA(t, st, opts) // another replica on the store, loading the state after the rotation
	oldPin := a.Pin()
	// A leaf from the old intermediate that outlives the overlap, from a
	// replica with longer leaves, shows when the old root stops being
	// trusted (every leaf a itself issued has expired by then).
	long := opts
	long.LeafTTL, long.Overlap = 10*time.Hour, 20*time.Hour
	oldLeaf := issue(t, openCA(t, st, long), web)
	rotatedAt := clock.Now()
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if err := b.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	newPin := pinOf(a.Status()[1].Cert)
	activate, retire := rotatedAt.Add(time.Minute), rotatedAt.Add(time.Minute+2*time.Hour)
	tests := []struct {
		name   string
		at     time.Duration // since the rotation
		status []rootView
		signer string // the pin of the root Sign's chains verify against
		oldErr string // Verify's error for the long leaf issued before the rotation
	}{
		{"before the activation", 59 * time.Second, []rootView{
			{oldPin, Active, time.Time{}, retire, true},
			{newPin, Next, activate, time.Time{}, false},
		}, oldPin, ""},
		{"at the activation", time.Minute, []rootView{
			{newPin, Active, time.Time{}, time.Time{}, false},
			{oldPin, Retiring, time.Time{}, retire, true},
		}, newPin, ""},
		{"at the end of the overlap", time.Minute + 2*time.Hour - time.Second, []rootView{
			{newPin, Active, time.Time{}, time.Time{}, false},
			{oldPin, Retiring, time.Time{}, retire, true},
		}, newPin, ""},
		{"after the overlap", time.Minute + 2*time.Hour, []rootView{
			{newPin, Active, time.Time{}, time.Time{}, true},
		}, newPin, "unknown authority"},
	}
	var leaves [][]*x509.Certificate // issued in each phase so far
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Advance(rotatedAt.Add(tc.at).Sub(clock.Now()))
			now := clock.Now()
			if diff := cmp.Diff(tc.status, statusOf(a)); diff != "" {
				t.Errorf("roots (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(statusOf(a), statusOf(b)); diff != "" {
				t.Errorf("the other replica's roots (-a +b):\n%s", diff)
			}
			leaf := issue(t, b, web)
			if diff := cmp.Diff("", chainErr(leaf, rootByPin(t, a, tc.signer), now)); diff != "" {
				t.Errorf("Sign's chain against the root it should come from (-want +got):\n%s", diff)
			}
			serving := servingChain(t, a)
			if diff := cmp.Diff(a.Pin(), pinOf(serving[len(serving)-1])); diff != "" {
				t.Errorf("the serving chain ends in (-Pin +got):\n%s", diff)
			}
			if diff := cmp.Diff("", chainErr(serving[:2], serving[2], now)); diff != "" {
				t.Errorf("the serving chain against its own root (-want +got):\n%s", diff)
			}
			if got := verifyErr(a, oldLeaf); !strings.Contains(got, tc.oldErr) || (tc.oldErr == "") != (got == "") {
				t.Errorf("Verify(leaf from before the rotation): got error %q, want %q", got, tc.oldErr)
			}
			leaves = append(leaves, leaf)
			for i, l := range leaves {
				if l[0].NotAfter.After(now) {
					if diff := cmp.Diff("", verifyErr(a, l)); diff != "" {
						t.Errorf("Verify(unexpired leaf of phase %d) (-want +got):\n%s", i, diff)
					}
				}
			}
		})
	}
}

// servingChain returns the parsed chain of a's serving certificate.
func servingChain(t *testing.T, a *Authority) []*x509.Certificate {
	t.Helper()
	id := spiffeid.RequireFromPath(a.TrustDomain(), "/control")
	c, err := a.ServingCertificate(id, []string{"localhost"}, nil)
	if err != nil {
		t.Fatalf("ServingCertificate: %v", err)
	}
	return parseChain(t, c.Certificate)
}

// TestRotateTwiceBeforeActivation: a rotation during another's propagation
// window schedules the pending root to retire too, and every root still
// activates in turn.
func TestRotateTwiceBeforeActivation(t *testing.T) {
	clock := newFakeClock()
	a := openCA(t, newStore(t), rotateOpts(t, clock))
	first := a.Pin()
	t0 := clock.Now()
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	second := pinOf(a.Status()[1].Cert)
	clock.Advance(30 * time.Second)
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	third := pinOf(a.Status()[1].Cert)
	overlap := 2 * time.Hour
	want := []rootView{
		{first, Active, time.Time{}, t0.Add(time.Minute + overlap), true},
		{third, Next, t0.Add(90 * time.Second), time.Time{}, false},
		{second, Next, t0.Add(time.Minute), t0.Add(90*time.Second + overlap), false},
	}
	if diff := cmp.Diff(want, statusOf(a)); diff != "" {
		t.Errorf("roots after two rotations (-want +got):\n%s", diff)
	}
	clock.Advance(time.Minute)
	want = []rootView{
		{third, Active, time.Time{}, time.Time{}, false},
		{second, Retiring, time.Time{}, t0.Add(90*time.Second + overlap), false},
		{first, Retiring, time.Time{}, t0.Add(time.Minute + overlap), true},
	}
	if diff := cmp.Diff(want, statusOf(a)); diff != "" {
		t.Errorf("roots after both activations (-want +got):\n%s", diff)
	}
}

// TestLegacyState: a state written before two-phase rotation, with one
// intermediate beside the roots, still loads and rotates.
func TestLegacyState(t *testing.T) {
	clock := newFakeClock()
	st := newStore(t)
	opts := rotateOpts(t, clock)
	a := openCA(t, st, opts)
	kv, err := st.Get(context.Background(), stateKey)
	if err != nil {
		t.Fatal(err)
	}
	var cur stateJSON
	if err := json.Unmarshal(kv.Value, &cur); err != nil {
		t.Fatal(err)
	}
	legacy := stateJSON{TrustDomain: cur.TrustDomain, Intermediate: cur.Roots[0].Intermediate, IntermediateKey: cur.Roots[0].IntermediateKey,
		Roots: []rootJSON{{Cert: cur.Roots[0].Cert}, {Cert: openCA(t, newStore(t), opts).Roots()[0].Raw, Retire: clock.Now().Add(time.Hour)}}}
	val, err := json.Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Txn(context.Background(), store.Op{Key: stateKey, Value: val, IfRevision: store.Any}); err != nil {
		t.Fatal(err)
	}
	b := openCA(t, st, opts)
	if diff := cmp.Diff([]RootState{Active, Retiring}, statesOf(b)); diff != "" {
		t.Errorf("legacy roots' states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(a.Pin(), b.Pin()); diff != "" {
		t.Errorf("pin (-want +got):\n%s", diff)
	}
	if err := b.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate a legacy state: %v", err)
	}
	if diff := cmp.Diff([]RootState{Active, Next, Retiring}, statesOf(b)); diff != "" {
		t.Errorf("states after rotating a legacy state (-want +got):\n%s", diff)
	}
}

func statesOf(a *Authority) []RootState {
	var out []RootState
	for _, r := range a.Status() {
		out = append(out, r.State)
	}
	return out
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
	a := openCA(t, st, Options{KeyFile: keyFile(t), Now: clock.Now, LeafTTL: 30 * time.Minute, Propagation: time.Minute, Overlap: time.Hour})
	// Each root retires 61 minutes after the rotation that replaced it.
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
	second := pinOf(a.Status()[1].Cert)
	// b still holds the first revision: its write conflicts, it re-reads
	// and rotates a's state.
	if err := b.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate b: %v", err)
	}
	// The first root issues until the activations; then the newest first.
	want := []string{first, pinOf(b.Status()[1].Cert), second}
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

// TestRunRemovesRetiredRoots: when the old root retires, Run removes it
// from the stored state, so watchers of the store see the bundle change,
// even with no rotation after it.
func TestRunRemovesRetiredRoots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newStore(t)
		kf := keyFile(t)
		opts := Options{KeyFile: kf, LeafTTL: time.Minute, Propagation: 10 * time.Second, Overlap: time.Minute}
		a, b := openCA(t, st, opts), openCA(t, st, opts)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 2)
		for _, r := range []*Authority{a, b} {
			go func() { done <- r.Run(ctx) }()
		}
		if err := a.Rotate(context.Background()); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		synctest.Wait()
		steps := []struct {
			name    string
			advance time.Duration
			want    int
		}{
			{"rotated", 0, 2},
			{"just before the old root retires", 70*time.Second - time.Nanosecond, 2},
			{"when it retires", time.Nanosecond, 1},
		}
		for _, s := range steps {
			time.Sleep(s.advance)
			synctest.Wait()
			if diff := cmp.Diff(s.want, storedRoots(t, st)); diff != "" {
				t.Errorf("%s: stored roots (-want +got):\n%s", s.name, diff)
			}
		}
		if diff := cmp.Diff(rootPins(a), rootPins(b)); diff != "" {
			t.Errorf("the replicas' roots after the old one retired (-a +b):\n%s", diff)
		}
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Run after cancel: got %v, want nil", err)
			}
		}
	})
}

// TestDecodeStateRefuses: stored states that would leave the CA nothing
// to issue from, or an intermediate its root did not sign, are refused.
func TestDecodeStateRefuses(t *testing.T) {
	st := newStore(t)
	a := openCA(t, st, Options{KeyFile: keyFile(t)})
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	kv, err := st.Get(context.Background(), stateKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		change  func(s *stateJSON)
		wantErr string
	}{
		{"no roots", func(s *stateJSON) { s.Roots = nil }, "no current root"},
		{"newest root without intermediate", func(s *stateJSON) { s.Roots[0].Intermediate = nil }, "the newest root has no intermediate"},
		{"newest root retiring", func(s *stateJSON) { s.Roots[0].Retire = time.Now() }, "the newest root is set to retire"},
		{"intermediate of another root", func(s *stateJSON) { s.Roots[0].Cert = s.Roots[1].Cert }, "root 0: intermediate is not signed by its root"},
		{"key sealed for another intermediate", func(s *stateJSON) { s.Roots[1].IntermediateKey = s.Roots[0].IntermediateKey }, "root 1: " + ErrWrongKeyFile.Error()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s stateJSON
			if err := json.Unmarshal(kv.Value, &s); err != nil {
				t.Fatal(err)
			}
			tc.change(&s)
			b, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			_, err = decodeState(a.aead, a.td, b)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

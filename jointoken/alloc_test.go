//go:build !race

package jointoken

import "testing"

// TestCheckCachedAllocs gates the per-request cost of admin token checks.
func TestCheckCachedAllocs(t *testing.T) {
	m := New(newStore(t), nil)
	secret, _ := create(t, m, Token{Kind: Admin})
	got := testing.AllocsPerRun(100, func() {
		if _, err := m.Check(ctx, secret, Admin); err != nil {
			t.Fatal(err)
		}
	})
	if got != 0 {
		t.Errorf("allocations per cached Check: got %v, want 0", got)
	}
}

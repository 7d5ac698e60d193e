package retry

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	const base, max = 25 * time.Millisecond, 250 * time.Millisecond
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{-3, base}, {0, base}, {1, base}, {2, 2 * base}, {3, 4 * base}, {4, 8 * base},
		{5, max}, {63, max}, {1 << 30, max},
	}
	for _, tc := range tests {
		if got := ceiling(tc.attempt, base, max); got != tc.ceiling {
			t.Errorf("ceiling(%d): got %v, want %v", tc.attempt, got, tc.ceiling)
		}
		var seenHigh bool
		for range 500 {
			d := Backoff(tc.attempt, base, max)
			if d < 0 || d > tc.ceiling {
				t.Fatalf("Backoff(%d) = %v, want within [0, %v]", tc.attempt, d, tc.ceiling)
			}
			seenHigh = seenHigh || d > tc.ceiling/2
		}
		if !seenHigh {
			t.Errorf("Backoff(%d): 500 draws all at most %v, want the jitter to use the whole range", tc.attempt, tc.ceiling/2)
		}
	}
}

func TestBackoffEdges(t *testing.T) {
	if got := Backoff(3, 0, time.Second); got != 0 {
		t.Errorf("zero base: got %v, want 0", got)
	}
	if got := ceiling(70, time.Second, 0); got != 1<<62-1 {
		t.Errorf("uncapped overflow: got %v, want %v", got, time.Duration(1<<62-1))
	}
	if got := ceiling(3, time.Second, 0); got != 4*time.Second {
		t.Errorf("uncapped attempt 3: got %v, want 4s", got)
	}
	if n := testing.AllocsPerRun(100, func() { Backoff(4, time.Millisecond, time.Second) }); n != 0 {
		t.Errorf("Backoff allocs: got %v, want 0", n)
	}
}

func BenchmarkBackoff(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Backoff(i%6+1, 25*time.Millisecond, 250*time.Millisecond)
	}
}

package retry

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var epoch = time.Unix(1_800_000_000, 0)

// allowed asks for n retries at now and counts how many were allowed.
func allowed(b *Budget, now time.Time, n int) int {
	got := 0
	for range n {
		if b.TryRetry(now) {
			got++
		}
	}
	return got
}

func TestBudget(t *testing.T) {
	tests := []struct {
		name         string
		percent, min int
		requests     int
		asks         int
		want         int
	}{
		{"20 percent of 100", 20, 0, 100, 50, 20},
		{"20 percent plus min", 20, 3, 100, 50, 23},
		{"min only without traffic", 20, 3, 0, 50, 3},
		{"zero percent", 0, 0, 100, 10, 0},
		{"full retry", 100, 0, 10, 20, 10},
		{"negative treated as zero", -5, -1, 100, 10, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.percent, tc.min)
			for range tc.requests {
				b.Request(epoch)
			}
			if got := allowed(b, epoch, tc.asks); got != tc.want {
				t.Errorf("allowed %d retries, want %d", got, tc.want)
			}
		})
	}
}

// TestBudgetSlides checks that old traffic and old retries leave the window.
func TestBudgetSlides(t *testing.T) {
	b := NewBudget(20, 0)
	for range 100 {
		b.Request(epoch)
	}
	steps := []struct {
		at   time.Duration
		reqs int
		asks int
		want int
	}{
		{0, 0, 30, 20},                  // 20% of 100
		{5 * time.Second, 50, 30, 10},   // 150 requests, 20 retries used: 30-20
		{10 * time.Second, 0, 30, 0},    // t=0 left: 50 requests, 30 retries used
		{15 * time.Second, 0, 30, 0},    // t=5 left too: window empty
		{16 * time.Second, 100, 30, 20}, // fresh traffic, fresh budget
		{16*time.Second + 999*time.Millisecond, 0, 5, 0},
	}
	var got, want []int
	for _, s := range steps {
		now := epoch.Add(s.at)
		for range s.reqs {
			b.Request(now)
		}
		got = append(got, allowed(b, now, s.asks))
		want = append(want, s.want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("retries allowed per step (-want +got):\n%s", diff)
	}
}

func TestBudgetMinPerSecond(t *testing.T) {
	b := NewBudget(0, 2)
	var got []int
	for s := range 4 {
		got = append(got, allowed(b, epoch.Add(time.Duration(s)*time.Second), 5))
	}
	if diff := cmp.Diff([]int{2, 2, 2, 2}, got); diff != "" {
		t.Errorf("retries allowed per second (-want +got):\n%s", diff)
	}
}

// TestBudgetConcurrent checks the compare-and-swap keeps concurrent retries
// inside the budget.
func TestBudgetConcurrent(t *testing.T) {
	b := NewBudget(10, 0)
	for range 1000 {
		b.Request(epoch)
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { ok.Add(int64(allowed(b, epoch, 100))) })
	}
	wg.Wait()
	if got := ok.Load(); got != 100 {
		t.Errorf("allowed %d retries, want 100", got)
	}
}

func TestBudgetAllocs(t *testing.T) {
	b := NewBudget(20, 3)
	now := epoch
	if n := testing.AllocsPerRun(1000, func() {
		b.Request(now)
		b.TryRetry(now)
	}); n != 0 {
		t.Errorf("Request+TryRetry allocs: got %v, want 0", n)
	}
}

func BenchmarkBudgetRequest(b *testing.B) {
	bg := NewBudget(20, 3)
	now := epoch
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bg.Request(now)
		}
	})
}

func BenchmarkBudgetTryRetry(b *testing.B) {
	bg := NewBudget(20, 3)
	now := epoch
	for range 1000 {
		bg.Request(now)
	}
	b.ReportAllocs()
	for b.Loop() {
		bg.TryRetry(now)
	}
}

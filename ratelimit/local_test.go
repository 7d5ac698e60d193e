package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLocalBurstThenSteadyRate(t *testing.T) {
	lim := Limit{Rate: 10, Period: time.Second, Burst: 5} // one per 100ms, five at once
	ms := time.Millisecond
	allowed := func(remaining int, reset time.Duration) Result {
		return Result{Allowed: true, Remaining: remaining, ResetAfter: reset}
	}
	refused := func(retry, reset time.Duration) Result {
		return Result{RetryAfter: retry, ResetAfter: reset}
	}
	steps := []struct {
		advance time.Duration
		want    Result
	}{
		{0, allowed(4, 100*ms)},
		{0, allowed(3, 200*ms)},
		{0, allowed(2, 300*ms)},
		{0, allowed(1, 400*ms)},
		{0, allowed(0, 500*ms)},
		{0, refused(100*ms, 500*ms)},
		{99 * ms, refused(1*ms, 401*ms)},
		{1 * ms, allowed(0, 500*ms)}, // Period/Rate after the burst, one more passes
		{0, refused(100*ms, 500*ms)},
		{50 * ms, refused(50*ms, 450*ms)},
		{50 * ms, allowed(0, 500*ms)},
		{time.Second, allowed(4, 100*ms)}, // idle long enough: a full burst again
		{250 * ms, allowed(4, 100*ms)},    // a drained TAT gives no credit beyond the burst
		{0, allowed(3, 200*ms)},
		{30 * ms, allowed(2, 270*ms)},
	}
	clock := newFakeClock()
	l := newLocal(0, clock.now)
	for i, s := range steps {
		clock.advance(s.advance)
		got, err := l.Allow(context.Background(), "k", lim)
		if err != nil {
			t.Fatalf("step %d: Allow: %v", i, err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d (after +%v): Allow mismatch (-want +got):\n%s", i, s.advance, diff)
		}
	}
}

func TestNewLocalSharding(t *testing.T) {
	tests := []struct {
		maxKeys    int
		wantShards int
		wantPerCap int
	}{
		{maxKeys: 0, wantShards: 32, wantPerCap: 3125},
		{maxKeys: -5, wantShards: 32, wantPerCap: 3125},
		{maxKeys: 1, wantShards: 1, wantPerCap: 1},
		{maxKeys: 3, wantShards: 2, wantPerCap: 1},
		{maxKeys: 20, wantShards: 16, wantPerCap: 1},
		{maxKeys: 100, wantShards: 32, wantPerCap: 3},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.maxKeys), func(t *testing.T) {
			l := NewLocal(tc.maxKeys)
			got := [2]int{len(l.shards), l.perCap}
			if diff := cmp.Diff([2]int{tc.wantShards, tc.wantPerCap}, got); diff != "" {
				t.Errorf("NewLocal(%d) [shards, per shard] mismatch (-want +got):\n%s", tc.maxKeys, diff)
			}
		})
	}
}

// keyCount returns how many keys l holds.
func keyCount(l *Local) int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}

func TestLocalStaysBounded(t *testing.T) {
	lim := Limit{Rate: 1, Period: time.Minute, Burst: 1}
	tests := []struct {
		maxKeys int
		keys    int
	}{
		{maxKeys: 1, keys: 100},
		{maxKeys: 64, keys: 5000},
		{maxKeys: 1000, keys: 20000},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.maxKeys), func(t *testing.T) {
			l := newLocal(tc.maxKeys, newFakeClock().now)
			refused := 0
			for i := range tc.keys {
				r, _ := l.Allow(context.Background(), fmt.Sprint("key", i), lim)
				if !r.Allowed {
					refused++
				}
			}
			if got := keyCount(l); got > tc.maxKeys {
				t.Errorf("after %d keys, holds %d keys, want at most %d", tc.keys, got, tc.maxKeys)
			}
			if refused != 0 {
				t.Errorf("refused %d first requests of new keys, want 0", refused)
			}
		})
	}
}

func TestLocalEvictionErrsOnAllowing(t *testing.T) {
	lim := Limit{Rate: 1, Period: time.Hour, Burst: 1}
	l := newLocal(1, newFakeClock().now)
	var got []bool
	for _, key := range []string{"a", "a", "b", "a"} {
		r, _ := l.Allow(context.Background(), key, lim)
		got = append(got, r.Allowed)
	}
	// b evicts a, whose state is lost: a's next request passes.
	if diff := cmp.Diff([]bool{true, false, true, true}, got); diff != "" {
		t.Errorf("Allowed for a, a, b, a mismatch (-want +got):\n%s", diff)
	}
}

// liveKeys returns n keys with TATs from 200 on, and "old" with TAT 10.
func liveKeys(n int) map[string]int64 {
	m := map[string]int64{"old": 10}
	for i := range n {
		m[fmt.Sprint("live", i)] = 200 + int64(i)
	}
	return m
}

func TestShardInsert(t *testing.T) {
	tests := []struct {
		name         string
		tats         map[string]int64
		minTAT       int64
		skipSweeps   int
		now          int64
		perCap       int
		wantKeys     int
		wantKept     []string // keys that must still be there
		wantMin      int64
		wantSkipping int
	}{
		{name: "room left", tats: map[string]int64{"a": 10}, minTAT: 10, now: 50, perCap: 2,
			wantKeys: 2, wantKept: []string{"a", "new"}, wantMin: 10},
		{name: "full, sweep drops expired keys", tats: map[string]int64{"a": 10, "b": 20, "c": 30}, minTAT: 10, now: 20, perCap: 3,
			wantKeys: 2, wantKept: []string{"c", "new"}, wantMin: 30},
		{name: "full, TAT equal to now expires", tats: map[string]int64{"a": 20}, minTAT: 20, now: 20, perCap: 1,
			wantKeys: 1, wantKept: []string{"new"}, wantMin: 100},
		{name: "full, nothing expired, evicts one", tats: map[string]int64{"a": 40, "b": 60}, minTAT: 40, now: 20, perCap: 2,
			wantKeys: 2, wantKept: []string{"new"}, wantMin: 40},
		{name: "full, minTAT says no sweep is needed", tats: map[string]int64{"a": 10, "b": 60}, minTAT: 30, now: 20, perCap: 2,
			wantKeys: 2, wantKept: []string{"new"}, wantMin: 30},
		{name: "a sweep that frees little skips the next sweeps", tats: liveKeys(31), minTAT: 10, now: 20, perCap: 32,
			wantKeys: 32, wantKept: []string{"new", "live0", "live30"}, wantMin: 100, wantSkipping: 2},
		{name: "while sweeps are skipped, evicts", tats: liveKeys(31), minTAT: 10, skipSweeps: 2, now: 20, perCap: 32,
			wantKeys: 32, wantKept: []string{"new"}, wantMin: 10, wantSkipping: 1},
		{name: "a sweep that frees enough skips nothing", tats: liveKeys(1), minTAT: 10, now: 20, perCap: 2,
			wantKeys: 2, wantKept: []string{"new", "live0"}, wantMin: 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &shard{tats: tc.tats, minTAT: tc.minTAT, skipSweeps: tc.skipSweeps}
			s.insertLocked("new", 100, tc.now, tc.perCap)
			got := [3]int64{int64(len(s.tats)), s.minTAT, int64(s.skipSweeps)}
			want := [3]int64{int64(tc.wantKeys), tc.wantMin, int64(tc.wantSkipping)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("[keys, minTAT, skipSweeps] mismatch (-want +got):\n%s", diff)
			}
			for _, k := range tc.wantKept {
				if _, ok := s.tats[k]; !ok {
					t.Errorf("key %q is gone, want it kept", k)
				}
			}
		})
	}
}

func TestLocalConcurrentCountsExactly(t *testing.T) {
	const goroutines, calls = 8, 100
	lim := Limit{Rate: 500, Period: time.Hour, Burst: 500}
	l := newLocal(0, newFakeClock().now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				if r, _ := l.Allow(context.Background(), "one", lim); r.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != 500 {
		t.Errorf("allowed %d of %d requests, want 500", got, goroutines*calls)
	}
}

func TestLocalConcurrentManyKeys(t *testing.T) {
	const goroutines, keys, maxKeys = 4, 2000, 64
	lim := Limit{Rate: 2, Period: time.Hour, Burst: 2}
	clock := newFakeClock()
	l := newLocal(maxKeys, clock.now)
	var refused atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range keys {
				clock.advance(time.Millisecond)
				// Each key is used by two goroutines: at most two
				// requests, within its burst of two.
				r, _ := l.Allow(context.Background(), fmt.Sprint(g%2, "/", i), lim)
				if !r.Allowed {
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := keyCount(l); got > maxKeys {
		t.Errorf("holds %d keys, want at most %d", got, maxKeys)
	}
	if got := refused.Load(); got != 0 {
		t.Errorf("refused %d requests, want 0", got)
	}
}

func TestLocalAllowDoesNotAllocate(t *testing.T) {
	tests := []struct {
		name        string
		lim         Limit
		wantAllowed bool
	}{
		{name: "allowed", lim: Limit{Rate: 1 << 30, Period: time.Hour, Burst: 1 << 30}, wantAllowed: true},
		{name: "refused", lim: Limit{Rate: 1, Period: time.Hour, Burst: 1}, wantAllowed: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLocal(0, newFakeClock().now)
			ctx := context.Background()
			l.Allow(ctx, "existing", tc.lim)
			var last Result
			allocs := testing.AllocsPerRun(100, func() {
				last, _ = l.Allow(ctx, "existing", tc.lim)
			})
			if allocs != 0 {
				t.Errorf("Allow on an existing key: got %v allocations, want 0", allocs)
			}
			if last.Allowed != tc.wantAllowed {
				t.Errorf("Allowed: got %v, want %v", last.Allowed, tc.wantAllowed)
			}
		})
	}
}

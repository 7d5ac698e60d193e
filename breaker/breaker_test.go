package breaker

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAcquireRelease(t *testing.T) {
	tests := []struct {
		name         string
		limits       Limits
		kind         Kind
		tries        int
		wantAcquired int
	}{
		{"requests under limit", Limits{MaxRequests: 5}, Requests, 3, 3},
		{"requests at limit", Limits{MaxRequests: 5}, Requests, 8, 5},
		{"pending", Limits{MaxPending: 2}, Pending, 4, 2},
		{"connections", Limits{MaxConnections: 1}, Connections, 3, 1},
		{"retries", Limits{MaxRetries: 3}, Retries, 10, 3},
		{"zero is unlimited", Limits{}, Retries, 100, 100},
		{"other kinds unaffected", Limits{MaxRequests: 1}, Pending, 4, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.limits)
			got := 0
			for range tc.tries {
				if b.Acquire(tc.kind) {
					got++
				}
			}
			if got != tc.wantAcquired {
				t.Errorf("acquired %d, want %d", got, tc.wantAcquired)
			}
			type counts struct {
				Active   int64
				Rejected uint64
			}
			want := counts{int64(tc.wantAcquired), uint64(tc.tries - tc.wantAcquired)}
			if diff := cmp.Diff(want, counts{b.Active(tc.kind), b.Rejected(tc.kind)}); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			for range got {
				b.Release(tc.kind)
			}
			if got := b.Active(tc.kind); got != 0 {
				t.Errorf("active after release: got %d, want 0", got)
			}
		})
	}
}

func TestNamedMethods(t *testing.T) {
	b := New(Limits{MaxConnections: 1, MaxPending: 1, MaxRequests: 1, MaxRetries: 1})
	pairs := []struct {
		kind    Kind
		acquire func() bool
		release func()
	}{
		{Connections, b.AcquireConnection, b.ReleaseConnection},
		{Pending, b.AcquirePending, b.ReleasePending},
		{Requests, b.AcquireRequest, b.ReleaseRequest},
		{Retries, b.AcquireRetry, b.ReleaseRetry},
	}
	for _, p := range pairs {
		t.Run(p.kind.String(), func(t *testing.T) {
			got := []bool{p.acquire(), p.acquire()}
			if diff := cmp.Diff([]bool{true, false}, got); diff != "" {
				t.Errorf("acquire twice at limit 1 (-want +got):\n%s", diff)
			}
			p.release()
			if !p.acquire() {
				t.Errorf("acquire after release: got false, want true")
			}
			p.release()
		})
	}
}

// TestNeverOvershoots hammers one limit from many goroutines and records the
// highest concurrency any holder saw; it must never pass the limit.
func TestNeverOvershoots(t *testing.T) {
	const limit = 4
	b := New(Limits{MaxRequests: limit})
	var holders, peak atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 2000 {
				if !b.AcquireRequest() {
					runtime.Gosched()
					continue
				}
				n := holders.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				if a := b.Active(Requests); a > limit {
					t.Errorf("active %d, want at most %d", a, limit)
				}
				runtime.Gosched()
				holders.Add(-1)
				b.ReleaseRequest()
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Errorf("peak concurrency %d, want at most %d", p, limit)
	}
	if got := b.Active(Requests); got != 0 {
		t.Errorf("active after all released: got %d, want 0", got)
	}
}

func TestKindString(t *testing.T) {
	got := []string{Connections.String(), Pending.String(), Requests.String(), Retries.String(), Kind(9).String()}
	want := []string{"connections", "pending", "requests", "retries", "unknown"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	br := New(Limits{MaxRequests: 1 << 20})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if br.AcquireRequest() {
				br.ReleaseRequest()
			}
		}
	})
}

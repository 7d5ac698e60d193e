package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/pylon-mesh/pylon/internal/redistest"
)

// step is one Allow call and what it must decide.
type step struct {
	key     string
	lim     Limit
	want    Result
	wantErr error
}

var (
	perHour3 = Limit{Rate: 3, Period: time.Hour, Burst: 3}
	perHour2 = Limit{Rate: 2, Period: time.Hour, Burst: 2}
	perHour6 = Limit{Rate: 6, Period: time.Hour, Burst: 6}
)

// conformance holds sequences that every Limiter must decide alike. They
// happen within a moment, with periods of an hour, so that they hold on
// Redis's real clock as on a frozen one.
var conformance = []struct {
	name  string
	steps []step
}{
	{"burst then refuse", []step{
		{key: "a", lim: perHour3, want: Result{Allowed: true, Remaining: 2, ResetAfter: 20 * time.Minute}},
		{key: "a", lim: perHour3, want: Result{Allowed: true, Remaining: 1, ResetAfter: 40 * time.Minute}},
		{key: "a", lim: perHour3, want: Result{Allowed: true, Remaining: 0, ResetAfter: time.Hour}},
		{key: "a", lim: perHour3, want: Result{RetryAfter: 20 * time.Minute, ResetAfter: time.Hour}},
		{key: "a", lim: perHour3, want: Result{RetryAfter: 20 * time.Minute, ResetAfter: time.Hour}},
	}},
	{"burst above rate", []step{
		{key: "a", lim: Limit{Rate: 1, Period: time.Hour, Burst: 3}, want: Result{Allowed: true, Remaining: 2, ResetAfter: time.Hour}},
		{key: "a", lim: Limit{Rate: 1, Period: time.Hour, Burst: 3}, want: Result{Allowed: true, Remaining: 1, ResetAfter: 2 * time.Hour}},
		{key: "a", lim: Limit{Rate: 1, Period: time.Hour, Burst: 3}, want: Result{Allowed: true, Remaining: 0, ResetAfter: 3 * time.Hour}},
		{key: "a", lim: Limit{Rate: 1, Period: time.Hour, Burst: 3}, want: Result{RetryAfter: time.Hour, ResetAfter: 3 * time.Hour}},
	}},
	{"burst of one", []step{
		{key: "a", lim: Limit{Rate: 2, Period: time.Hour, Burst: 1}, want: Result{Allowed: true, ResetAfter: 30 * time.Minute}},
		{key: "a", lim: Limit{Rate: 2, Period: time.Hour, Burst: 1}, want: Result{RetryAfter: 30 * time.Minute, ResetAfter: 30 * time.Minute}},
	}},
	{"keys are independent", []step{
		{key: "a", lim: perHour2, want: Result{Allowed: true, Remaining: 1, ResetAfter: 30 * time.Minute}},
		{key: "a", lim: perHour2, want: Result{Allowed: true, Remaining: 0, ResetAfter: time.Hour}},
		{key: "b", lim: perHour2, want: Result{Allowed: true, Remaining: 1, ResetAfter: 30 * time.Minute}},
		{key: "a", lim: perHour2, want: Result{RetryAfter: 30 * time.Minute, ResetAfter: time.Hour}},
		{key: "b", lim: perHour2, want: Result{Allowed: true, Remaining: 0, ResetAfter: time.Hour}},
		{key: "", lim: perHour2, want: Result{Allowed: true, Remaining: 1, ResetAfter: 30 * time.Minute}},
	}},
	{"a changed limit applies to the kept state", []step{
		{key: "a", lim: perHour3, want: Result{Allowed: true, Remaining: 2, ResetAfter: 20 * time.Minute}},
		{key: "a", lim: perHour3, want: Result{Allowed: true, Remaining: 1, ResetAfter: 40 * time.Minute}},
		{key: "a", lim: perHour6, want: Result{Allowed: true, Remaining: 1, ResetAfter: 50 * time.Minute}},
		{key: "a", lim: perHour6, want: Result{Allowed: true, Remaining: 0, ResetAfter: time.Hour}},
		{key: "a", lim: perHour6, want: Result{RetryAfter: 10 * time.Minute, ResetAfter: time.Hour}},
	}},
	{"invalid limits are refused with an error", []step{
		{key: "a", lim: Limit{}, wantErr: ErrInvalidLimit},
		{key: "a", lim: Limit{Rate: 0, Period: time.Hour, Burst: 1}, wantErr: ErrInvalidLimit},
		{key: "a", lim: Limit{Rate: 1, Period: 0, Burst: 1}, wantErr: ErrInvalidLimit},
		{key: "a", lim: Limit{Rate: 1, Period: -time.Hour, Burst: 1}, wantErr: ErrInvalidLimit},
		{key: "a", lim: Limit{Rate: 1, Period: time.Hour, Burst: 0}, wantErr: ErrInvalidLimit},
		{key: "a", lim: Limit{Rate: -1, Period: time.Hour, Burst: 1}, wantErr: ErrInvalidLimit},
		{key: "a", lim: Limit{Rate: 2, Period: time.Nanosecond, Burst: 1}, wantErr: ErrInvalidLimit},
		{key: "a", lim: Limit{Rate: 1, Period: 1 << 62, Burst: 2}, wantErr: ErrInvalidLimit},
		{key: "a", lim: perHour2, want: Result{Allowed: true, Remaining: 1, ResetAfter: 30 * time.Minute}},
	}},
}

// runConformance runs every conformance sequence on a fresh limiter from
// newLimiter, allowing nonzero durations to be off by tolerance (a zero
// one must be zero).
func runConformance(t *testing.T, newLimiter func(name string) Limiter, tolerance time.Duration) {
	t.Helper()
	approx := cmp.Comparer(func(a, b time.Duration) bool {
		return (a == 0) == (b == 0) && (a-b).Abs() <= tolerance
	})
	for _, tc := range conformance {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(tc.name)
			for i, s := range tc.steps {
				got, err := l.Allow(context.Background(), s.key, s.lim)
				if !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d: Allow(%q, %+v) error: got %v, want %v", i, s.key, s.lim, err, s.wantErr)
				}
				if diff := cmp.Diff(s.want, got, approx); diff != "" {
					t.Errorf("step %d: Allow(%q, %+v) mismatch (-want +got):\n%s", i, s.key, s.lim, diff)
				}
			}
		})
	}
}

func TestConformanceLocal(t *testing.T) {
	runConformance(t, func(string) Limiter { return newLocal(0, newFakeClock().now) }, 0)
}

func TestConformanceRedis(t *testing.T) {
	client := newRedisClient(t)
	// Redis's clock runs between steps: durations may be short by that much.
	runConformance(t, func(name string) Limiter { return NewRedis(client, name+":") }, 2*time.Second)
}

// newRedisClient starts a redis-server for t and returns a client to it.
func newRedisClient(t *testing.T) *redis.Client {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: redistest.Start(t)})
	t.Cleanup(func() { client.Close() })
	return client
}

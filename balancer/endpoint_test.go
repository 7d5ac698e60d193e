package balancer

import (
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// observe reports one finished request that took d.
func observe(e *Endpoint, d time.Duration) {
	e.Begin()
	e.End(Success, d, time.Now())
}

// TestPeakEWMA feeds latencies at fake times and checks the estimate: a
// higher sample replaces it, a lower one blends in by e^(-dt/10s).
func TestPeakEWMA(t *testing.T) {
	ms := time.Millisecond
	type step struct {
		after  time.Duration // wait before the sample
		sample time.Duration
		want   time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"first sample taken as is", []step{{0, 40 * ms, 40 * ms}}},
		{"peak replaces at once", []step{{0, 10 * ms, 10 * ms}, {0, 300 * ms, 300 * ms}}},
		{"lower sample without time passing ignored", []step{{0, 300 * ms, 300 * ms}, {0, 10 * ms, 300 * ms}}},
		{"lower sample after one decay period", []step{{0, 300 * ms, 300 * ms}, {10 * time.Second, 10 * ms, blend(300*ms, 10*ms, 1)}}},
		{"lower sample after long idle", []step{{0, 300 * ms, 300 * ms}, {10 * time.Minute, 10 * ms, 10 * ms}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := NewEndpoint("a:1", 1)
				if got := e.Latency(); got != 0 {
					t.Fatalf("Latency before any sample: got %v, want 0", got)
				}
				for i, s := range tc.steps {
					time.Sleep(s.after)
					observe(e, s.sample)
					if got := e.Latency(); !near(got, s.want) {
						t.Errorf("step %d: Latency: got %v, want %v", i, got, s.want)
					}
				}
			})
		})
	}
}

// blend is the EWMA of old and sample after periods decay periods.
func blend(old, sample time.Duration, periods float64) time.Duration {
	w := math.Exp(-periods)
	return time.Duration(float64(old)*w + float64(sample)*(1-w))
}

func near(a, b time.Duration) bool { return math.Abs(float64(a-b)) <= float64(time.Microsecond) }

func TestDecayedLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := NewEndpoint("a:1", 1)
		if got := e.DecayedLatency(time.Now()); got != 0 {
			t.Errorf("DecayedLatency before any sample: got %v, want 0", got)
		}
		observe(e, 100*time.Millisecond)
		start := time.Now()
		tests := []struct {
			at   time.Duration
			want time.Duration
		}{
			{-time.Second, 100 * time.Millisecond}, // a clock behind the sample does not grow it
			{0, 100 * time.Millisecond},
			{10 * time.Second, blend(100*time.Millisecond, 0, 1)},
			{30 * time.Second, blend(100*time.Millisecond, 0, 3)},
			{3 * time.Hour, 0},
		}
		for _, tc := range tests {
			if got := e.DecayedLatency(start.Add(tc.at)); !near(got, tc.want) {
				t.Errorf("DecayedLatency %v after the sample: got %v, want %v", tc.at, got, tc.want)
			}
		}
		if got := e.Latency(); got != 100*time.Millisecond {
			t.Errorf("Latency after reading decayed values: got %v, want 100ms (reading must not store)", got)
		}
	})
}

// TestCountersConcurrent runs requests from many goroutines under -race and
// checks the totals.
func TestCountersConcurrent(t *testing.T) {
	e := NewEndpoint("a:1", 1)
	outcomes := []Outcome{Success, ServerError, ConnectFailure, Reset, Timeout}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				e.Begin()
				_ = e.InFlight() + int64(e.Latency())
				e.End(outcomes[(g+i)%len(outcomes)], time.Duration(i)*time.Microsecond, time.Now())
			}
		})
	}
	wg.Wait()
	type counts struct {
		InFlight           int64
		Requests, Failures uint64
	}
	want := counts{InFlight: 0, Requests: 4000, Failures: 3200}
	got := counts{e.InFlight(), e.Requests(), e.Failures()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}

func TestConsecutiveFailures(t *testing.T) {
	e := NewEndpoint("a:1", 1)
	for _, o := range []Outcome{ServerError, Timeout, ConnectFailure, Reset} {
		e.Begin()
		e.End(o, 0, time.Now())
	}
	if got := [2]int{e.Consecutive5xx(), e.ConsecutiveConnectFailures()}; got != [2]int{3, 1} {
		t.Errorf("consecutive 5xx, connect failures: got %v, want [3 1]", got)
	}
	e.Begin()
	e.End(Success, 0, time.Now())
	if got := [2]int{e.Consecutive5xx(), e.ConsecutiveConnectFailures()}; got != [2]int{0, 0} {
		t.Errorf("after a success: got %v, want [0 0]", got)
	}
}

// TestEffectiveWeight checks the slow-start ramp from 10% to 100% of the
// weight.
func TestEffectiveWeight(t *testing.T) {
	now := time.Unix(1000, 0)
	window := 10 * time.Second
	tests := []struct {
		name   string
		warmed time.Duration // how long ago warming began; -1: never
		window time.Duration
		want   float64
	}{
		{"no window", 0, 0, 4},
		{"never warmed", -1, window, 4},
		{"just returned", 0, window, 0.4},
		{"halfway", 5 * time.Second, window, 4 * 0.55},
		{"done", window, window, 4},
		{"warming starts in the future", -5 * time.Second, window, 0.4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEndpoint("a:1", 4)
			if tc.warmed != -1 {
				e.StartWarming(now.Add(-tc.warmed))
			}
			if got := e.EffectiveWeight(now, tc.window); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("EffectiveWeight: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHealthAndEjection(t *testing.T) {
	now := time.Unix(1000, 0)
	e := NewEndpoint("a:1", 0)
	if got := e.Weight(); got != 1 {
		t.Errorf("Weight of weight 0: got %d, want 1", got)
	}
	// do reports what the step returns: SetHealthy whether the state
	// changed, the ejection whether it is in force.
	steps := []struct {
		name      string
		do        func() bool
		want      bool
		wantAvail bool
	}{
		{"mark unhealthy", func() bool { return e.SetHealthy(false, now) }, true, false},
		{"unhealthy again", func() bool { return e.SetHealthy(false, now) }, false, false},
		{"healthy", func() bool { return e.SetHealthy(true, now) }, true, true},
		{"eject", func() bool { e.Eject(now.Add(time.Minute)); return e.Ejected(now) }, true, false},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Errorf("%s: got %v, want %v", s.name, got, s.want)
		}
		if got := e.Available(now); got != s.wantAvail {
			t.Errorf("%s: Available: got %v, want %v", s.name, got, s.wantAvail)
		}
	}
	if !e.Available(now.Add(time.Minute)) || !e.Warming(now.Add(time.Minute), time.Second) {
		t.Errorf("at the end of the ejection: got unavailable or not warming, want available and warming")
	}
}

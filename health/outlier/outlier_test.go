package outlier

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pylon-mesh/pylon/balancer"
)

// recorder is a balancer.Builder that remembers the weights of its last
// Build, so tests can watch what the picker is given.
type recorder struct {
	last atomic.Pointer[map[string]float64]
}

func (*recorder) Name() string { return "recorder" }

func (r *recorder) Build(eps []balancer.Weighted) balancer.Picker {
	m := map[string]float64{}
	for _, w := range eps {
		m[w.Endpoint.Addr()] = w.Weight
	}
	r.last.Store(&m)
	return first{eps[0].Endpoint}
}

func (r *recorder) weights() map[string]float64 { return *r.last.Load() }

type first struct{ e *balancer.Endpoint }

func (f first) Pick(uint64) (*balancer.Endpoint, error) { return f.e, nil }

func newSet(n int, slowStart time.Duration) (*balancer.Set, *recorder) {
	eps := make([]*balancer.Endpoint, n)
	for i := range eps {
		eps[i] = balancer.NewEndpoint(string(rune('a'+i))+":80", 1)
	}
	r := &recorder{}
	return balancer.NewSet(r, eps, 0, slowStart), r
}

var t0 = time.Unix(1_800_000_000, 0)

// fail records n outcomes o on ep and observes each, as the proxy does.
func fail(d *Detector, ep *balancer.Endpoint, o balancer.Outcome, n int, now time.Time) {
	for range n {
		ep.Begin()
		ep.End(o, time.Millisecond, time.Now())
		d.Observe(ep, now)
	}
}

func baseConfig() Config {
	return Config{
		Consecutive5xx: 3, ConsecutiveConnectFailures: 2,
		BaseEjectionTime: 30 * time.Second, MaxEjectionTime: 100 * time.Second,
		MaxEjectionPercent: 50, Interval: 10 * time.Second,
	}
}

func TestObserveEjects(t *testing.T) {
	type step struct {
		o balancer.Outcome
		n int
	}
	tests := []struct {
		name        string
		steps       []step
		wantEjected bool
	}{
		{"below threshold", []step{{balancer.ServerError, 2}}, false},
		{"5xx threshold", []step{{balancer.ServerError, 3}}, true},
		{"resets and timeouts count as 5xx", []step{{balancer.Reset, 1}, {balancer.Timeout, 1}, {balancer.ServerError, 1}}, true},
		{"success resets the streak", []step{{balancer.ServerError, 2}, {balancer.Success, 1}, {balancer.ServerError, 2}}, false},
		{"connect failures", []step{{balancer.ConnectFailure, 2}}, true},
		{"success resets connect failures", []step{{balancer.ConnectFailure, 1}, {balancer.Success, 1}, {balancer.ConnectFailure, 1}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, _ := newSet(4, 0)
			d := NewDetector(baseConfig(), set, nil)
			ep := set.Endpoints()[0]
			for _, s := range tc.steps {
				fail(d, ep, s.o, s.n, t0)
			}
			if got := ep.Ejected(t0); got != tc.wantEjected {
				t.Errorf("ejected: got %v, want %v", got, tc.wantEjected)
			}
			wantAvail := 4
			if tc.wantEjected {
				wantAvail = 3
			}
			if got := set.Available(); got != wantAvail {
				t.Errorf("available after rebuild: got %d, want %d", got, wantAvail)
			}
		})
	}
}

func TestThresholdZeroDisables(t *testing.T) {
	set, _ := newSet(4, 0)
	cfg := baseConfig()
	cfg.Consecutive5xx, cfg.ConsecutiveConnectFailures = 0, 0
	d := NewDetector(cfg, set, nil)
	ep := set.Endpoints()[0]
	fail(d, ep, balancer.ServerError, 50, t0)
	fail(d, ep, balancer.ConnectFailure, 50, t0)
	if ep.Ejected(t0) {
		t.Errorf("ejected: got true, want false with both thresholds zero")
	}
}

// TestEjectionTimeGrows ejects one endpoint again and again, each time after
// the last ejection ended: base × n, capped at max.
func TestEjectionTimeGrows(t *testing.T) {
	set, _ := newSet(4, 0)
	d := NewDetector(baseConfig(), set, nil)
	ep := set.Endpoints()[0]
	now := t0
	var got []time.Duration
	for range 5 {
		fail(d, ep, balancer.ServerError, 3, now)
		got = append(got, ep.EjectedUntil().Sub(now))
		now = ep.EjectedUntil()
	}
	want := []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second, 100 * time.Second, 100 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ejection times (-want +got):\n%s", diff)
	}
}

func TestEjectionTime(t *testing.T) {
	tests := []struct {
		base, max time.Duration
		n         int
		want      time.Duration
	}{
		{30 * time.Second, 300 * time.Second, 1, 30 * time.Second},
		{30 * time.Second, 300 * time.Second, 11, 300 * time.Second},
		{30 * time.Second, 0, 1 << 40, 1<<63 - 1},
		{0, time.Minute, 3, 0},
	}
	for _, tc := range tests {
		d := NewDetector(Config{BaseEjectionTime: tc.base, MaxEjectionTime: tc.max}, nil, nil)
		if got := d.ejectionTime(tc.n); got != tc.want {
			t.Errorf("ejectionTime(%d) base %v max %v: got %v, want %v", tc.n, tc.base, tc.max, got, tc.want)
		}
	}
}

func TestMaxEjectionPercent(t *testing.T) {
	tests := []struct {
		name      string
		endpoints int
		percent   int
		want      int
	}{
		{"half of four", 4, 50, 2},
		{"at least one", 2, 10, 1},
		{"zero disables", 4, 0, 0},
		{"all", 3, 100, 3},
		{"a third of ten", 10, 34, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			set, _ := newSet(tc.endpoints, 0)
			cfg := baseConfig()
			cfg.MaxEjectionPercent = tc.percent
			d := NewDetector(cfg, set, nil)
			for _, ep := range set.Endpoints() {
				fail(d, ep, balancer.ServerError, 3, t0)
			}
			if got := countEjected(set.Endpoints(), t0); got != tc.want {
				t.Errorf("ejected %d of %d at %d%%, want %d", got, tc.endpoints, tc.percent, tc.want)
			}
		})
	}
}

// TestRefusedEjectionNeedsNewStreak checks a refused ejection resets the
// counters, so the lock is not taken on every later failure.
func TestRefusedEjectionNeedsNewStreak(t *testing.T) {
	set, _ := newSet(2, 0)
	d := NewDetector(baseConfig(), set, nil)
	a, b := set.Endpoints()[0], set.Endpoints()[1]
	fail(d, a, balancer.ServerError, 3, t0)
	fail(d, b, balancer.ServerError, 3, t0)
	if got := []bool{a.Ejected(t0), b.Ejected(t0)}; !cmp.Equal([]bool{true, false}, got) {
		t.Fatalf("ejected: got %v, want [true false]", got)
	}
	if got := b.Consecutive5xx(); got != 0 {
		t.Errorf("consecutive 5xx after refusal: got %d, want 0", got)
	}
}

// runDetector starts d.Run and returns a stop function that waits for it.
func runDetector(d *Detector) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	return func() {
		cancel()
		<-done
	}
}

// TestReturnAndSlowStart ejects an endpoint and follows it back into the
// picker: out for the ejection time, then in at 10% weight ramping to 100%
// across the slow-start window.
func TestReturnAndSlowStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const slowStart = 10 * time.Second
		set, rec := newSet(3, slowStart)
		d := NewDetector(baseConfig(), set, nil)
		stop := runDetector(d)
		defer stop()
		synctest.Wait()

		ep := set.Endpoints()[0]
		fail(d, ep, balancer.ServerError, 3, time.Now())
		synctest.Wait()
		if got := d.Ejected(); got != 1 {
			t.Fatalf("Ejected(): got %d, want 1", got)
		}
		type sample struct {
			At     time.Duration
			Weight float64
			In     bool
		}
		var got []sample
		start := time.Now()
		for _, at := range []time.Duration{29 * time.Second, 30 * time.Second, 35 * time.Second, 40 * time.Second, 45 * time.Second} {
			time.Sleep(time.Until(start.Add(at)))
			synctest.Wait()
			w, in := rec.weights()[ep.Addr()]
			got = append(got, sample{at, w, in})
		}
		want := []sample{
			{29 * time.Second, 0, false},
			{30 * time.Second, 0.1, true},
			{35 * time.Second, 0.55, true},
			{40 * time.Second, 1, true},
			{45 * time.Second, 1, true},
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
			t.Errorf("weight of the returning endpoint (-want +got):\n%s", diff)
		}
		if got := d.Ejected(); got != 0 {
			t.Errorf("Ejected() after return: got %d, want 0", got)
		}
	})
}

// TestForgiveness checks one ejection is forgiven per clean interval in
// service, and that a failure during the interval delays it.
func TestForgiveness(t *testing.T) {
	tests := []struct {
		name      string
		failAt    time.Duration // 0: no failure after return
		forgiven  time.Duration // ejection count is 0 from here
		unforgave time.Duration // and still 1 here
	}{
		{"clean", 0, 40 * time.Second, 39 * time.Second},
		{"failure delays", 35 * time.Second, 50 * time.Second, 49 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				set, _ := newSet(3, 0)
				d := NewDetector(baseConfig(), set, nil)
				stop := runDetector(d)
				defer stop()
				start := time.Now()
				ep := set.Endpoints()[0]
				fail(d, ep, balancer.ServerError, 3, start)
				if tc.failAt > 0 {
					time.Sleep(tc.failAt)
					fail(d, ep, balancer.ServerError, 1, time.Now())
				}
				time.Sleep(time.Until(start.Add(tc.unforgave)))
				synctest.Wait()
				before := ep.Ejections()
				time.Sleep(time.Until(start.Add(tc.forgiven)))
				synctest.Wait()
				if diff := cmp.Diff([]int{1, 0}, []int{before, ep.Ejections()}); diff != "" {
					t.Errorf("ejections at %v and %v (-want +got):\n%s", tc.unforgave, tc.forgiven, diff)
				}
			})
		})
	}
}

// TestKickStartsWarmTicks checks an endpoint brought back from outside (by
// the active health checker) ramps once Kick is called.
func TestKickStartsWarmTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set, rec := newSet(2, 10*time.Second)
		d := NewDetector(baseConfig(), set, nil)
		stop := runDetector(d)
		defer stop()
		ep := set.Endpoints()[0]
		ep.SetHealthy(false, time.Now())
		set.Rebuild(time.Now())
		ep.SetHealthy(true, time.Now())
		d.Kick()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got, want := rec.weights()[ep.Addr()], 0.55; !cmp.Equal(want, got, cmpopts.EquateApprox(0, 1e-9)) {
			t.Errorf("weight 5s into slow start: got %v, want %v", got, want)
		}
	})
}

func TestObserveAllocs(t *testing.T) {
	set, _ := newSet(2, 0)
	d := NewDetector(baseConfig(), set, nil)
	ep := set.Endpoints()[0]
	if n := testing.AllocsPerRun(1000, func() { d.Observe(ep, t0) }); n != 0 {
		t.Errorf("Observe allocs: got %v, want 0", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	set, _ := newSet(4, 0)
	d := NewDetector(baseConfig(), set, nil)
	ep := set.Endpoints()[0]
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d.Observe(ep, t0)
		}
	})
}

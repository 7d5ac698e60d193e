package balancer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder is a Builder that remembers what it was last given and picks the
// first endpoint.
type recorder struct{ got []Weighted }

func (*recorder) Name() string { return "recorder" }

func (r *recorder) Build(eps []Weighted) Picker {
	r.got = append([]Weighted(nil), eps...)
	return first{eps[0].Endpoint}
}

type first struct{ e *Endpoint }

func (f first) Pick(uint64) (*Endpoint, error) { return f.e, nil }

// built summarises what the builder got: address=weight.
func (r *recorder) built() []string {
	var out []string
	for _, w := range r.got {
		out = append(out, fmt.Sprintf("%s=%.2f", w.Endpoint.Addr(), w.Weight))
	}
	return out
}

func endpoints(n int) []*Endpoint {
	eps := make([]*Endpoint, n)
	for i := range eps {
		eps[i] = NewEndpoint(fmt.Sprintf("e%d", i), i+1)
	}
	return eps
}

// TestPanicThreshold takes endpoints out of 4 and checks whether the set
// panics and what the picker is built over.
func TestPanicThreshold(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		down      []int
		wantPanic bool
		wantAvail int
		want      []string
	}{
		{"all up", 50, nil, false, 4, []string{"e0=1.00", "e1=2.00", "e2=3.00", "e3=4.00"}},
		{"at the threshold", 50, []int{0, 1}, false, 2, []string{"e2=3.00", "e3=4.00"}},
		{"below the threshold", 50, []int{0, 1, 2}, true, 1, []string{"e0=1.00", "e1=2.00", "e2=3.00", "e3=4.00"}},
		{"disabled", 0, []int{0, 1, 2}, false, 1, []string{"e3=4.00"}},
		{"all down, panic", 1, []int{0, 1, 2, 3}, true, 0, []string{"e0=1.00", "e1=2.00", "e2=3.00", "e3=4.00"}},
		{"threshold 100, one down", 100, []int{3}, true, 3, []string{"e0=1.00", "e1=2.00", "e2=3.00", "e3=4.00"}},
	}
	now := time.Now()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			eps := endpoints(4)
			for i, d := range tc.down {
				if i%2 == 0 {
					eps[d].SetHealthy(false, now)
				} else {
					eps[d].Eject(now.Add(time.Hour))
				}
			}
			r := &recorder{}
			s := NewSet(r, eps, tc.threshold, 0)
			if got := s.Panicking(); got != tc.wantPanic {
				t.Errorf("Panicking: got %v, want %v", got, tc.wantPanic)
			}
			if got := s.Available(); got != tc.wantAvail {
				t.Errorf("Available: got %d, want %d", got, tc.wantAvail)
			}
			if diff := cmp.Diff(tc.want, r.built()); diff != "" {
				t.Errorf("picker built over (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoEndpoint(t *testing.T) {
	now := time.Now()
	eps := endpoints(2)
	for _, e := range eps {
		e.SetHealthy(false, now)
	}
	for _, s := range []*Set{NewSet(&recorder{}, nil, 50, 0), NewSet(&recorder{}, eps, 0, 0)} {
		if _, err := s.Pick(0); !errors.Is(err, ErrNoEndpoint) {
			t.Errorf("Pick: got error %v, want %v", err, ErrNoEndpoint)
		}
	}
}

// TestSlowStart checks a returning endpoint is built with its ramped weight
// and that Rebuild asks to be called again until the ramp ends.
func TestSlowStart(t *testing.T) {
	start := time.Now()
	window := 10 * time.Second
	eps := endpoints(2)
	eps[1].Eject(start)
	r := &recorder{}
	s := NewSet(r, eps, 0, window)
	tests := []struct {
		at          time.Duration
		wantWarming bool
		want        []string
	}{
		{0, true, []string{"e0=1.00", "e1=0.20"}},
		{5 * time.Second, true, []string{"e0=1.00", "e1=1.10"}},
		{window, false, []string{"e0=1.00", "e1=2.00"}},
	}
	for _, tc := range tests {
		if got := s.Rebuild(start.Add(tc.at)); got != tc.wantWarming {
			t.Errorf("Rebuild at +%v: got warming %v, want %v", tc.at, got, tc.wantWarming)
		}
		if diff := cmp.Diff(tc.want, r.built()); diff != "" {
			t.Errorf("picker built at +%v over (-want +got):\n%s", tc.at, diff)
		}
	}
}

func TestSetEndpoints(t *testing.T) {
	r := &recorder{}
	s := NewSet(r, endpoints(1), 0, 0)
	eps := endpoints(3)
	s.SetEndpoints(eps, time.Now())
	if diff := cmp.Diff([]string{"e0=1.00", "e1=2.00", "e2=3.00"}, r.built()); diff != "" {
		t.Errorf("picker built over (-want +got):\n%s", diff)
	}
	if got, want := len(s.Endpoints()), 3; got != want {
		t.Errorf("len(Endpoints()): got %d, want %d", got, want)
	}
	if e, err := s.Pick(0); err != nil || e != eps[0] {
		t.Errorf("Pick: got %v, %v, want e0, nil", e, err)
	}
}

package supervise

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestBackoff(t *testing.T) {
	const ms = time.Millisecond
	o := Options{MinBackoff: 10 * ms, MaxBackoff: 50 * ms, ResetAfter: 100 * ms}
	tests := []struct {
		name string
		ran  []time.Duration // how long each process ran; -1: reset
		want []time.Duration
	}{
		{"doubles to the cap", []time.Duration{0, 0, 0, 0, 0}, []time.Duration{10 * ms, 20 * ms, 40 * ms, 50 * ms, 50 * ms}},
		{"long run resets", []time.Duration{0, 0, 100 * ms, 0}, []time.Duration{10 * ms, 20 * ms, 10 * ms, 20 * ms}},
		{"short run does not", []time.Duration{0, 99 * ms, 0}, []time.Duration{10 * ms, 20 * ms, 40 * ms}},
		{"reset", []time.Duration{0, 0, -1, 0}, []time.Duration{10 * ms, 20 * ms, 10 * ms}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := backoff{o: o.withDefaults()}
			var got []time.Duration
			for _, ran := range tc.ran {
				if ran < 0 {
					b.reset()
					continue
				}
				got = append(got, b.after(ran))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("delays (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{"zero", Options{}, Options{MinBackoff: time.Second, MaxBackoff: 30 * time.Second, ResetAfter: 10 * time.Second}},
		{"max below min", Options{MinBackoff: time.Minute}, Options{MinBackoff: time.Minute, MaxBackoff: time.Minute, ResetAfter: 10 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.in.withDefaults()); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

package ratelimit

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func BenchmarkLocalAllow(b *testing.B) {
	lim := Limit{Rate: 1000, Period: time.Second, Burst: 100}
	ctx := context.Background()
	b.Run("one_key", func(b *testing.B) {
		l := NewLocal(0)
		b.ReportAllocs()
		for b.Loop() {
			l.Allow(ctx, "client-203.0.113.7", lim)
		}
	})
	b.Run("parallel_many_keys", func(b *testing.B) {
		keys := make([]string, 4096)
		for i := range keys {
			keys[i] = "client-" + strconv.Itoa(i)
		}
		l := NewLocal(0)
		var worker atomic.Uint32
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(worker.Add(1)) * 997
			for pb.Next() {
				l.Allow(ctx, keys[i%len(keys)], lim)
				i++
			}
		})
	})
	b.Run("parallel_one_key", func(b *testing.B) {
		l := NewLocal(0)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow(ctx, "client-203.0.113.7", lim)
			}
		})
	})
	b.Run("new_keys_full_limiter", func(b *testing.B) {
		// Every request brings a key never seen, into a full limiter whose
		// keys are all live: the eviction path.
		keys := make([]string, 1<<16)
		for i := range keys {
			keys[i] = "client-" + strconv.Itoa(i)
		}
		l := NewLocal(1000)
		slow := Limit{Rate: 1, Period: time.Hour, Burst: 1}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			l.Allow(ctx, keys[i%len(keys)], slow)
			i++
		}
	})
	b.Run("new_keys_full_limiter_churning", func(b *testing.B) {
		// As above, but the clock moves so that a key expires about as
		// often as a new one arrives: the sweep path, for a flood of
		// client addresses.
		keys := make([]string, 1<<19)
		for i := range keys {
			keys[i] = "client-" + strconv.Itoa(i)
		}
		clock := newFakeClock()
		l := newLocal(DefaultMaxKeys, clock.now)
		fast := Limit{Rate: 1, Period: time.Second, Burst: 1}
		step := time.Second / DefaultMaxKeys
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			clock.advance(step)
			l.Allow(ctx, keys[i%len(keys)], fast)
			i++
		}
	})
}

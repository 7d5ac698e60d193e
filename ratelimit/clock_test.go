package ratelimit

import (
	"sync/atomic"
	"time"
)

// fakeClock is a clock that moves only when told, safe for concurrent use.
type fakeClock struct {
	elapsed atomic.Int64
}

// fakeStart is an arbitrary instant the fake clocks start from.
var fakeStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newFakeClock() *fakeClock { return &fakeClock{} }

func (c *fakeClock) now() time.Time { return fakeStart.Add(time.Duration(c.elapsed.Load())) }

func (c *fakeClock) advance(d time.Duration) { c.elapsed.Add(int64(d)) }

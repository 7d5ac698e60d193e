package supervise

import "time"

// Options tune a Supervisor. The zero value is the default.
type Options struct {
	// MinBackoff is the wait before restarting a process that exited
	// unasked, doubled at each exit in a row; zero means 1 s.
	MinBackoff time.Duration
	// MaxBackoff caps the wait; zero means 30 s.
	MaxBackoff time.Duration
	// ResetAfter is how long a process must run for the next wait to be
	// MinBackoff again; zero means 10 s.
	ResetAfter time.Duration
	// OnEvent, if not nil, is called with every event, in order, from
	// one goroutine at a time; it must not block for long nor call
	// Restart or Stop, which wait for it.
	OnEvent func(Event)
}

func (o Options) withDefaults() Options {
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.ResetAfter <= 0 {
		o.ResetAfter = 10 * time.Second
	}
	return o
}

// backoff is the delay before the next restart.
type backoff struct {
	o    Options
	next time.Duration // zero: MinBackoff
}

// after returns the wait before restarting a process that ran for ran,
// and doubles the next one.
func (b *backoff) after(ran time.Duration) time.Duration {
	if ran >= b.o.ResetAfter || b.next == 0 {
		b.next = b.o.MinBackoff
	}
	d := b.next
	b.next = min(2*d, b.o.MaxBackoff)
	return d
}

// reset makes the next wait MinBackoff.
func (b *backoff) reset() { b.next = 0 }

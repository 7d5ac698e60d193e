package supervise

import (
	"context"
	"slices"
	"sync"
)

// Buffer is a Sink that keeps the last lines of each process, for
// `pylon ctl logs`: Tail reads them and Follow streams them as they come.
// Its memory is bounded: at most size lines of at most MaxLine bytes per
// process name. It is safe for concurrent use.
type Buffer struct {
	size int

	mu   sync.Mutex
	logs map[string]*ring
}

// ring holds the last lines of one process.
type ring struct {
	lines []Line // line number n is at lines[n%size]
	total int    // lines ever added
	// more, if not nil, is closed at the next line: a follower waits
	// on it.
	more chan struct{}
}

// NewBuffer returns a Buffer keeping the last size lines of each process;
// size must be at least 1.
func NewBuffer(size int) *Buffer {
	return &Buffer{size: max(size, 1), logs: map[string]*ring{}}
}

// Line keeps l, dropping the oldest line of its process if it has size.
func (b *Buffer) Line(l Line) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.ringLocked(l.Name)
	if len(r.lines) < b.size {
		r.lines = append(r.lines, l)
	} else {
		r.lines[r.total%b.size] = l
	}
	r.total++
	if r.more != nil {
		close(r.more)
		r.more = nil
	}
}

func (b *Buffer) ringLocked(name string) *ring {
	r := b.logs[name]
	if r == nil {
		r = &ring{}
		b.logs[name] = r
	}
	return r
}

// Names returns the names of the processes that have written lines or are
// followed, sorted.
func (b *Buffer) Names() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, 0, len(b.logs))
	for n := range b.logs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Tail returns the last n lines of process name, oldest first; n < 0
// means all that are kept.
func (b *Buffer) Tail(name string, n int) []Line {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.logs[name]
	if r == nil {
		return nil
	}
	lines, _ := b.sinceLocked(r, b.firstLocked(r, n))
	return lines
}

// firstLocked returns the number of the first of the last n lines of r.
func (b *Buffer) firstLocked(r *ring, n int) int {
	if n < 0 || n > len(r.lines) {
		n = len(r.lines)
	}
	return r.total - n
}

// sinceLocked returns r's lines from number first on, or from its oldest
// kept line if first is gone, and the number of the next line.
func (b *Buffer) sinceLocked(r *ring, first int) ([]Line, int) {
	first = max(first, r.total-len(r.lines))
	out := make([]Line, 0, r.total-first)
	for i := first; i < r.total; i++ {
		out = append(out, r.lines[i%b.size])
	}
	return out, r.total
}

// Follow returns the last tail lines of process name (as Tail does), and
// then each line as it comes, until ctx is done, when the channel is
// closed. The process need not have written yet. A follower that falls
// behind by more than the Buffer's size misses the lines in between; it
// never slows the processes down.
func (b *Buffer) Follow(ctx context.Context, name string, tail int) <-chan Line {
	b.mu.Lock()
	next := b.firstLocked(b.ringLocked(name), tail)
	b.mu.Unlock()
	ch := make(chan Line)
	f := &follower{b: b, name: name, next: next, ch: ch}
	go f.run(ctx)
	return ch
}

// follower sends a process's lines to one Follow channel.
type follower struct {
	b    *Buffer
	name string
	next int // the number of the next line to send
	ch   chan<- Line
}

func (f *follower) run(ctx context.Context) {
	defer close(f.ch)
	for {
		lines, more := f.lines()
		for _, l := range lines {
			select {
			case f.ch <- l:
			case <-ctx.Done():
				return
			}
		}
		if more == nil {
			continue
		}
		select {
		case <-more:
		case <-ctx.Done():
			return
		}
	}
}

// lines returns the lines not yet sent or, when there are none, a channel
// closed at the next one.
func (f *follower) lines() ([]Line, <-chan struct{}) {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	r := f.b.logs[f.name]
	lines, next := f.b.sinceLocked(r, f.next)
	f.next = next
	if len(lines) > 0 {
		return lines, nil
	}
	if r.more == nil {
		r.more = make(chan struct{})
	}
	return nil, r.more
}

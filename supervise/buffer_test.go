package supervise

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// add writes lines "<from>".."<to>" of process name to s.
func add(s Sink, name string, from, to int) {
	for i := from; i <= to; i++ {
		s.Line(Line{Name: name, Stream: Stdout, Text: strconv.Itoa(i)})
	}
}

func lineTexts(lines []Line) []string {
	out := []string{}
	for _, l := range lines {
		out = append(out, l.Text)
	}
	return out
}

func TestBufferTail(t *testing.T) {
	tests := []struct {
		name    string
		written int
		n       int
		want    []string
	}{
		{"empty", 0, 3, []string{}},
		{"fewer than n", 2, 3, []string{"1", "2"}},
		{"last n", 3, 2, []string{"2", "3"}},
		{"none asked", 3, 0, []string{}},
		{"all", 3, -1, []string{"1", "2", "3"}},
		{"wrapped", 7, 3, []string{"5", "6", "7"}},
		{"wrapped, more than kept", 7, 10, []string{"4", "5", "6", "7"}},
		{"wrapped twice", 9, -1, []string{"6", "7", "8", "9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuffer(4)
			add(b, "other", 1, 9)
			add(b, "p", 1, tc.written)
			if diff := cmp.Diff(tc.want, lineTexts(b.Tail("p", tc.n))); diff != "" {
				t.Errorf("Tail(p, %d) (-want +got):\n%s", tc.n, diff)
			}
		})
	}
}

func TestBufferNames(t *testing.T) {
	b := NewBuffer(1)
	add(b, "orders-1", 1, 1)
	add(b, "gateway", 1, 2)
	ctx, cancel := context.WithCancel(context.Background())
	ch := b.Follow(ctx, "catalog-1", 0)
	cancel()
	for range ch {
	}
	if diff := cmp.Diff([]string{"catalog-1", "gateway", "orders-1"}, b.Names()); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
}

// receive reads n lines from ch, failing after 10 s.
func receive(t *testing.T, ch <-chan Line, n int) []string {
	t.Helper()
	got := []string{}
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("got %q, then the channel closed; want %d lines", got, n)
			}
			got = append(got, l.Text)
		case <-timeout:
			t.Fatalf("got %q, then nothing for 10s; want %d lines", got, n)
		}
	}
	return got
}

func TestBufferFollow(t *testing.T) {
	tests := []struct {
		name string
		tail int
		want []string
	}{
		{"new lines only", 0, []string{"4", "5"}},
		{"tail then new", 2, []string{"2", "3", "4", "5"}},
		{"all kept then new", -1, []string{"1", "2", "3", "4", "5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuffer(10)
			add(b, "p", 1, 3)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch := b.Follow(ctx, "p", tc.tail)
			add(b, "p", 4, 5)
			add(b, "q", 1, 5)
			if diff := cmp.Diff(tc.want, receive(t, ch, len(tc.want))); diff != "" {
				t.Errorf("followed (-want +got):\n%s", diff)
			}
			cancel()
			for l := range ch {
				t.Errorf("got line %q after the context ended, want the channel closed", l.Text)
			}
		})
	}
}

// TestBufferFollowBeforeFirstLine follows a process that has not written
// yet: its lines arrive as they come.
func TestBufferFollowBeforeFirstLine(t *testing.T) {
	b := NewBuffer(10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.Follow(ctx, "p", 5)
	for i := 1; i <= 3; i++ {
		add(b, "p", i, i)
		if diff := cmp.Diff([]string{strconv.Itoa(i)}, receive(t, ch, 1)); diff != "" {
			t.Errorf("followed (-want +got):\n%s", diff)
		}
	}
}

// TestBufferSlowFollower checks that a follower that does not read does
// not block the writer, and misses only what the Buffer no longer keeps.
func TestBufferSlowFollower(t *testing.T) {
	b := NewBuffer(2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.Follow(ctx, "p", 0)
	add(b, "p", 1, 100) // would block if the follower held the writer
	var got []int
	for len(got) == 0 || got[len(got)-1] != 100 {
		n, _ := strconv.Atoi(receive(t, ch, 1)[0])
		if len(got) > 0 && n <= got[len(got)-1] {
			t.Fatalf("got line %d after %v, want lines in order", n, got)
		}
		got = append(got, n)
	}
	if len(got) > 2+2 { // what it had taken before it fell behind, then the last 2
		t.Errorf("got %v, want at most 4 lines from a Buffer of 2", got)
	}
}

func TestTee(t *testing.T) {
	b1, b2 := NewBuffer(5), NewBuffer(5)
	add(Tee(b1, b2), "p", 1, 3)
	for i, b := range []*Buffer{b1, b2} {
		if diff := cmp.Diff([]string{"1", "2", "3"}, lineTexts(b.Tail("p", -1))); diff != "" {
			t.Errorf("sink %d (-want +got):\n%s", i, diff)
		}
	}
}

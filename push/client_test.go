package push

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
)

func TestRunReconnectsAndResumes(t *testing.T) {
	g := newGen(1)
	ts := startServer(t, g, Options{}, "")
	addr := ts.addr
	var dials atomic.Int64
	var connects atomic.Int64
	onState := func(connected bool, _ error) {
		if connected {
			connects.Add(1)
		}
	}
	a := newApplied()
	runClient(t, dialer(addr, &dials), hello("gw-1"), a.apply, ClientOptions{BackoffMin: time.Millisecond, BackoffMax: 20 * time.Millisecond, OnState: onState})
	waitFor(t, "v1 applied", func() bool { return a.last() == "v1" })

	// Restart with the same content: the client resumes at v1 and is sent
	// nothing until the content changes.
	ts.stop()
	ts = startServer(t, g, Options{}, addr)
	waitFor(t, "the client back", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v1" })
	g.n.Store(2)
	ts.Notify()
	waitFor(t, "v2 applied", func() bool { return a.last() == "v2" })

	// Restart with content that changed while the control plane was down.
	ts.stop()
	g.n.Store(3)
	ts = startServer(t, g, Options{}, addr)
	waitFor(t, "v3 applied", func() bool { return a.last() == "v3" })
	waitFor(t, "ack of v3", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v3" })

	if diff := cmp.Diff([]string{"v1", "v2", "v3"}, a.all()); diff != "" {
		t.Errorf("applied versions (-want +got):\n%s", diff)
	}
	if got, want := connects.Load(), int64(3); got != want {
		t.Errorf("got %d connections, want %d", got, want)
	}
	// A conn that failed is dialled again, for another replica.
	if got := dials.Load(); got < 3 {
		t.Errorf("got %d dials, want at least 3", got)
	}
}

func TestRunNacksApplyError(t *testing.T) {
	g := newGen(1)
	ts := startServer(t, g, Options{}, "")
	var mu sync.Mutex
	var calls []string
	apply := func(_ context.Context, s Snapshot) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, s.Version)
		if s.Version == "v2" {
			return errors.New("route 3: unknown cluster")
		}
		return nil
	}
	runClient(t, dialer(ts.addr, nil), hello("gw-1"), apply, ClientOptions{})
	waitFor(t, "ack of v1", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v1" })
	g.n.Store(2)
	ts.Notify()
	waitFor(t, "nack of v2", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Nacked == "v2" })
	n, _ := nodeStatus(ts.Server, "gw-1")
	want := NodeStatus{
		Node:      Node{ID: "gw-1", Kind: KindGateway, Build: "test"},
		Connected: true, Sent: "v2", Acked: "v1", Nacked: "v2", NackError: "route 3: unknown cluster",
	}
	if diff := cmp.Diff(want, n, ignoreVolatile); diff != "" {
		t.Errorf("status after the nack (-want +got):\n%s", diff)
	}
	g.n.Store(3)
	ts.Notify()
	waitFor(t, "ack of v3", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v3" })
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"v1", "v2", "v3"}, calls); diff != "" {
		t.Errorf("apply calls (-want +got):\n%s", diff)
	}
}

func TestRunRetriesDial(t *testing.T) {
	g := newGen(1)
	ts := startServer(t, g, Options{}, "")
	var dials atomic.Int64
	dial := func(ctx context.Context) (*grpc.ClientConn, error) {
		if dials.Add(1) <= 2 {
			return nil, errors.New("no control plane replica answers")
		}
		return dialer(ts.addr, nil)(ctx)
	}
	a := newApplied()
	runClient(t, dial, hello("gw-1"), a.apply, ClientOptions{BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond})
	waitFor(t, "v1 applied", func() bool { return a.last() == "v1" })
	if got, want := dials.Load(), int64(3); got != want {
		t.Errorf("got %d dials, want %d", got, want)
	}
}

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		min, max time.Duration
		jitter   func(int64) int64
		want     []time.Duration
	}{
		{
			name: "lowest", min: 100 * ms, max: 1000 * ms,
			jitter: func(int64) int64 { return 0 },
			want:   []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 500 * ms, 500 * ms},
		},
		{
			name: "highest", min: 100 * ms, max: 1000 * ms,
			jitter: func(n int64) int64 { return n - 1 },
			want:   []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1000 * ms, 1000 * ms},
		},
		{
			name: "max below min", min: 100 * ms, max: 10 * ms,
			jitter: func(n int64) int64 { return n - 1 },
			want:   []time.Duration{100 * ms, 100 * ms},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackoff(tc.min, tc.max)
			b.jitter = tc.jitter
			var got []time.Duration
			for range tc.want {
				got = append(got, b.next())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("delays (-want +got):\n%s", diff)
			}
			b.reset()
			if got, want := b.next(), tc.want[0]; got != want {
				t.Errorf("got %v after reset, want %v", got, want)
			}
		})
	}
}

func TestBackoffNoOverflow(t *testing.T) {
	b := newBackoff(time.Second, time.Hour)
	for i := range 100 {
		if d := b.next(); d < 0 || d > time.Hour {
			t.Fatalf("got delay %v at attempt %d, want within (0, 1h]", d, i)
		}
	}
}

// queuedStream is a client stream whose RecvMsg returns queued snapshots
// and then blocks until closed; it signals when it blocks.
type queuedStream struct {
	grpc.ClientStream
	queue   []Snapshot
	drained chan struct{} // closed when RecvMsg has run out of snapshots
	closed  chan struct{}
}

func (q *queuedStream) RecvMsg(m any) error {
	if len(q.queue) == 0 {
		close(q.drained)
		<-q.closed
		return errors.New("stream closed")
	}
	*m.(*Snapshot), q.queue = q.queue[0], q.queue[1:]
	return nil
}

func TestIncomingKeepsNewest(t *testing.T) {
	q := &queuedStream{
		queue:   []Snapshot{{Version: "v2"}, {Version: "v3"}, {Version: "v4"}},
		drained: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	in := &incoming{latest: make(chan Snapshot, 1), err: make(chan error, 1), done: make(chan struct{})}
	go in.loop(q)
	<-q.drained
	var got []string
	for len(in.latest) > 0 {
		got = append(got, (<-in.latest).Version)
	}
	close(q.closed)
	<-in.done
	if diff := cmp.Diff([]string{"v4"}, got); diff != "" {
		t.Errorf("snapshots waiting for apply (-want +got):\n%s", diff)
	}
	if err := <-in.err; err == nil {
		t.Error("got no error after the stream closed, want one")
	}
}

func TestRunRefusesInvalidHello(t *testing.T) {
	tests := []struct {
		name  string
		hello Hello
		want  string
	}{
		{name: "no node id", hello: Hello{Kind: KindGateway}, want: "push: hello without node id"},
		{name: "unknown kind", hello: Hello{NodeID: "n", Kind: "proxy"}, want: `push: hello kind "proxy": want "gateway" or "sidecar"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dial := func(context.Context) (*grpc.ClientConn, error) {
				t.Error("dial called for an invalid hello")
				return nil, errors.New("unreachable")
			}
			err := Run(context.Background(), dial, tc.hello, newApplied().apply, ClientOptions{})
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

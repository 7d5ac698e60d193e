package push

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ignoreVolatile leaves out of comparisons what depends on the clock and
// the network.
var ignoreVolatile = cmpopts.IgnoreFields(NodeStatus{}, "ConnectedAt", "LastAckAt", "Peer", "Err")

func TestFirstSnapshotAckedAndNotifySendsNew(t *testing.T) {
	g := newGen(1)
	ts := startServer(t, g, Options{Authenticate: func(context.Context) (string, error) { return "spiffe://test/gw", nil }}, "")
	a := newApplied()
	runClient(t, dialer(ts.addr, nil), hello("gw-1"), a.apply, ClientOptions{})

	waitFor(t, "ack of v1", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v1" })
	want := []NodeStatus{{
		Node:      Node{ID: "gw-1", Kind: KindGateway, Build: "test", Identity: "spiffe://test/gw"},
		Connected: true, Sent: "v1", Acked: "v1",
	}}
	got := ts.Nodes()
	if diff := cmp.Diff(want, got, ignoreVolatile); diff != "" {
		t.Errorf("Nodes() after first snapshot (-want +got):\n%s", diff)
	}
	if got[0].LastAckAt.IsZero() || got[0].Peer == "" {
		t.Errorf("got LastAckAt %v, Peer %q; want both set", got[0].LastAckAt, got[0].Peer)
	}

	g.n.Store(2)
	ts.Notify()
	waitFor(t, "ack of v2", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v2" })
	if diff := cmp.Diff([]string{"v1", "v2"}, a.all()); diff != "" {
		t.Errorf("applied versions (-want +got):\n%s", diff)
	}
}

func TestNotifyCoalesces(t *testing.T) {
	g := newGen(1)
	ts := startServer(t, g, Options{}, "")
	block := make(chan struct{})
	var mu sync.Mutex
	var got []string
	apply := func(ctx context.Context, s Snapshot) error {
		mu.Lock()
		got = append(got, s.Version)
		first := len(got) == 1
		mu.Unlock()
		if first {
			select { // the client is busy with v1 through the burst
			case <-block:
			case <-ctx.Done():
			}
		}
		return nil
	}
	runClient(t, dialer(ts.addr, nil), hello("gw-1"), apply, ClientOptions{})
	waitFor(t, "v1 sent", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Sent == "v1" })
	before := g.calls.Load()

	// The first Notify starts a generation that waits; the other 999 come
	// while it does and must lead to one more generation. The first makes
	// the newest version, so the second finds nothing to send.
	entered, release := g.holdNext()
	g.n.Store(2)
	ts.Notify()
	<-entered
	for i := int64(3); i <= 1001; i++ {
		g.n.Store(i)
		ts.Notify()
	}
	release()
	waitFor(t, "two generations", func() bool { return g.calls.Load()-before >= 2 })
	close(block)
	waitFor(t, "ack of v1001", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v1001" })
	if got, want := g.calls.Load()-before, int64(2); got != want {
		t.Errorf("got %d generations for 1000 notifications, want %d", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]string{"v1", "v1001"}, got); diff != "" {
		t.Errorf("applied versions (-want +got):\n%s", diff)
	}
}

func TestStuckClientsDoNotDelayOthers(t *testing.T) {
	g := newGen(1)
	g.pad = 64 << 10
	ts := startServer(t, g, Options{}, "")

	// A applies forever; B's stream never reads and has a small window,
	// so sends to it block in flow control.
	stuck := func(ctx context.Context, _ Snapshot) error { <-ctx.Done(); return ctx.Err() }
	runClient(t, dialer(ts.addr, nil), hello("a"), stuck, ClientOptions{})
	b := rawStream(t, ts.addr, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	send(t, b, &Request{Hello: &Hello{NodeID: "b", Kind: KindSidecar}})
	c := newApplied()
	runClient(t, dialer(ts.addr, nil), hello("c"), c.apply, ClientOptions{})
	waitFor(t, "three streams", func() bool { return len(ts.Nodes()) == 3 })

	for n := int64(2); n <= 5; n++ {
		g.n.Store(n)
		ts.Notify()
		want := version(n)
		waitFor(t, "c to apply "+want, func() bool { return c.last() == want })
	}
	if diff := cmp.Diff([]string{"v1", "v2", "v3", "v4", "v5"}, c.all()); diff != "" {
		t.Errorf("c applied (-want +got):\n%s", diff)
	}
	if n, _ := nodeStatus(ts.Server, "a"); n.Acked != "" {
		t.Errorf("got a's ack %q, want none", n.Acked)
	}
}

func TestStuckPeerTimesOut(t *testing.T) {
	g := newGen(1)
	g.pad = 128 << 10
	ended := make(chan NodeStatus, 1)
	onStatus := func(s NodeStatus) {
		if !s.Connected {
			ended <- s
		}
	}
	ts := startServer(t, g, Options{SendTimeout: 100 * time.Millisecond, OnStatus: onStatus}, "")
	b := rawStream(t, ts.addr, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	send(t, b, &Request{Hello: &Hello{NodeID: "b", Kind: KindSidecar}})
	// The first snapshot fits in gRPC's write queue; the second waits for
	// a window the peer never opens.
	waitFor(t, "v1 sent", func() bool { n, _ := nodeStatus(ts.Server, "b"); return n.Sent == "v1" })
	g.n.Store(2)
	ts.Notify()
	var s NodeStatus
	select {
	case s = <-ended:
	case <-time.After(defaultTestTimeout):
		t.Fatal("timed out waiting for the stuck stream to end")
	}
	if got, want := status.Code(s.Err), codes.DeadlineExceeded; got != want {
		t.Errorf("got stream end %v, want code %v", s.Err, want)
	}
	if diff := cmp.Diff([]NodeStatus{}, ts.Nodes()); diff != "" {
		t.Errorf("Nodes() after the timeout (-want +got):\n%s", diff)
	}
}

func TestNackRecordedAndNotResent(t *testing.T) {
	g := newGen(1)
	var events []string
	var mu sync.Mutex
	onStatus := func(s NodeStatus) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, s.Acked+"/"+s.Nacked+"/"+s.NackError)
	}
	ts := startServer(t, g, Options{OnStatus: onStatus}, "")
	cs := rawStream(t, ts.addr)
	send(t, cs, &Request{Hello: &Hello{NodeID: "gw-1", Kind: KindGateway}})
	if got := recv(t, cs).Version; got != "v1" {
		t.Fatalf("got first snapshot %s, want v1", got)
	}
	send(t, cs, &Request{Nack: &Nack{Version: "v1", Error: "route 3: unknown cluster"}})
	waitFor(t, "the nack", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Nacked == "v1" })
	n, _ := nodeStatus(ts.Server, "gw-1")
	if diff := cmp.Diff("route 3: unknown cluster", n.NackError); diff != "" {
		t.Errorf("NackError (-want +got):\n%s", diff)
	}

	// Unchanged content is generated again but not sent; a change is.
	calls := g.calls.Load()
	ts.Notify()
	waitFor(t, "a generation", func() bool { return g.calls.Load() > calls })
	g.n.Store(2)
	ts.Notify()
	if got := recv(t, cs).Version; got != "v2" {
		t.Fatalf("got snapshot %s after the nack, want v2", got)
	}
	send(t, cs, &Request{Ack: &Ack{Version: "v2"}})
	waitFor(t, "ack of v2", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v2" })
	mu.Lock()
	defer mu.Unlock()
	want := []string{"//", "/v1/route 3: unknown cluster", "v2//"}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("OnStatus events as acked/nacked/error (-want +got):\n%s", diff)
	}
}

func TestResumeSendsOnlyWhatChanged(t *testing.T) {
	tests := []struct {
		name, have string
		want       []string // versions received: first on connect, then after a change to v2
	}{
		{name: "up to date", have: "v1", want: []string{"v2"}},
		{name: "stale", have: "v0", want: []string{"v1", "v2"}},
		{name: "new node", have: "", want: []string{"v1", "v2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGen(1)
			ts := startServer(t, g, Options{}, "")
			cs := rawStream(t, ts.addr)
			send(t, cs, &Request{Hello: &Hello{NodeID: "gw-1", Kind: KindGateway, Version: tc.have}})
			waitFor(t, "the stream's first generation", func() bool { return g.calls.Load() == 1 })
			g.n.Store(2)
			ts.Notify()
			var got []string
			for len(got) < len(tc.want) {
				got = append(got, recv(t, cs).Version)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("received versions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHelloRequired(t *testing.T) {
	tests := []struct {
		name string
		msgs []*Request
		want codes.Code
	}{
		{name: "ack first", msgs: []*Request{{Ack: &Ack{Version: "v1"}}}, want: codes.InvalidArgument},
		{name: "empty request", msgs: []*Request{{}}, want: codes.InvalidArgument},
		{name: "two messages", msgs: []*Request{{Hello: &Hello{NodeID: "n", Kind: KindGateway}, Ack: &Ack{}}}, want: codes.InvalidArgument},
		{name: "no node id", msgs: []*Request{{Hello: &Hello{Kind: KindGateway}}}, want: codes.InvalidArgument},
		{name: "bad kind", msgs: []*Request{{Hello: &Hello{NodeID: "n", Kind: "router"}}}, want: codes.InvalidArgument},
		{name: "hello twice", msgs: []*Request{{Hello: &Hello{NodeID: "n", Kind: KindGateway}}, {Hello: &Hello{NodeID: "n", Kind: KindGateway}}}, want: codes.InvalidArgument},
		{name: "closed before hello", msgs: nil, want: codes.InvalidArgument},
	}
	ts := startServer(t, newGen(1), Options{}, "")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := rawStream(t, ts.addr)
			for _, m := range tc.msgs {
				send(t, cs, m)
			}
			if err := cs.CloseSend(); err != nil {
				t.Fatalf("close send: %v", err)
			}
			if got := streamEnd(cs); got != tc.want {
				t.Errorf("got stream end code %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHelloTimeout(t *testing.T) {
	ts := startServer(t, newGen(1), Options{HelloTimeout: 20 * time.Millisecond}, "")
	cs := rawStream(t, ts.addr)
	if got, want := streamEnd(cs), codes.InvalidArgument; got != want {
		t.Errorf("got stream end code %v, want %v", got, want)
	}
}

// streamEnd receives until the stream ends and returns its status code.
func streamEnd(cs grpc.ClientStream) codes.Code {
	for {
		if err := cs.RecvMsg(new(Snapshot)); err != nil {
			return status.Code(err)
		}
	}
}

func TestGenerateErrorKeepsStream(t *testing.T) {
	g := newGen(1)
	g.fail.Store(1)
	ts := startServer(t, g, Options{}, "")
	cs := rawStream(t, ts.addr)
	send(t, cs, &Request{Hello: &Hello{NodeID: "gw-1", Kind: KindGateway}})
	waitFor(t, "the failed generation", func() bool { return g.calls.Load() == 1 })
	ts.Notify()
	if got := recv(t, cs).Version; got != "v1" {
		t.Errorf("got %s after the retry, want v1", got)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	ts := startServer(t, newGen(1), Options{}, "")
	cs := rawStream(t, ts.addr)
	send(t, cs, &Request{Hello: &Hello{NodeID: "gw-1", Kind: KindGateway}})
	recv(t, cs)
	ts.Close()
	if got, want := streamEnd(cs), codes.Unavailable; got != want {
		t.Errorf("got stream end code %v, want %v", got, want)
	}
	if diff := cmp.Diff([]NodeStatus{}, ts.Nodes()); diff != "" {
		t.Errorf("Nodes() after Close (-want +got):\n%s", diff)
	}
	// The server refuses the stream before it reads anything.
	late := rawStream(t, ts.addr)
	if got, want := streamEnd(late), codes.Unavailable; got != want {
		t.Errorf("got code %v for a stream after Close, want %v", got, want)
	}
}

func TestAuthenticateErrorRetried(t *testing.T) {
	var refusals atomic.Int64
	refusals.Store(2)
	auth := func(context.Context) (string, error) {
		if refusals.Add(-1) >= 0 {
			return "", errors.New("no client certificate")
		}
		return "spiffe://test/gw", nil
	}
	ts := startServer(t, newGen(1), Options{Authenticate: auth}, "")
	var mu sync.Mutex
	var states []codes.Code
	onState := func(connected bool, err error) {
		mu.Lock()
		defer mu.Unlock()
		if connected {
			states = append(states, codes.OK)
		} else {
			states = append(states, status.Code(err))
		}
	}
	a := newApplied()
	runClient(t, dialer(ts.addr, nil), hello("gw-1"), a.apply, ClientOptions{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, OnState: onState})
	waitFor(t, "ack of v1", func() bool { n, _ := nodeStatus(ts.Server, "gw-1"); return n.Acked == "v1" })
	mu.Lock()
	defer mu.Unlock()
	want := []codes.Code{codes.Unauthenticated, codes.Unauthenticated, codes.OK}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("client states (-want +got):\n%s", diff)
	}
}

func TestCloseCutsGenerateShort(t *testing.T) {
	g := newGen(1)
	ts := startServer(t, g, Options{}, "")
	entered, _ := g.holdNext() // never released: only Close ends the wait
	cs := rawStream(t, ts.addr)
	send(t, cs, &Request{Hello: &Hello{NodeID: "gw-1", Kind: KindGateway}})
	<-entered
	ts.Close()
	if got, want := streamEnd(cs), codes.Unavailable; got != want {
		t.Errorf("got stream end code %v, want %v", got, want)
	}
}

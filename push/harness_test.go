package push

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pylon-mesh/pylon/internal/grpcjson"
)

// defaultTestTimeout bounds every wait for an event that should come.
const defaultTestTimeout = 10 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines of package push still running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines returns the stacks of goroutines running this package's
// non-test code, after giving them time to end.
func leakedGoroutines() string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "pylon/push.") && !strings.Contains(g, "push.TestMain(") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gen is a Generator whose content is a counter: version "v<n>", payload
// {"n":<n>}. It counts its calls and can be made to fail or to wait; a call
// that waits reads the counter when it is released.
type gen struct {
	n     atomic.Int64
	calls atomic.Int64
	fail  atomic.Int64 // the next fail calls return an error
	pad   int          // bytes of padding in each payload

	mu      sync.Mutex
	hold    chan struct{} // if not nil, Generate waits for it to close
	entered chan struct{} // signalled when a held Generate starts waiting
}

func newGen(n int64) *gen {
	g := &gen{}
	g.n.Store(n)
	return g
}

func (g *gen) Generate(ctx context.Context, _ Node) (Snapshot, error) {
	g.calls.Add(1)
	g.mu.Lock()
	hold, entered := g.hold, g.entered
	g.mu.Unlock()
	if hold != nil {
		entered <- struct{}{}
		select {
		case <-hold:
		case <-ctx.Done():
			return Snapshot{}, ctx.Err()
		}
	}
	n := g.n.Load()
	if g.fail.Load() > 0 {
		g.fail.Add(-1)
		return Snapshot{}, fmt.Errorf("generate v%d: test failure", n)
	}
	payload, err := json.Marshal(map[string]any{"n": n, "pad": strings.Repeat("x", g.pad)})
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Version: version(n), Payload: payload}, nil
}

// holdNext makes the next Generate calls wait until the returned function
// is called; entered receives once per call that waits.
func (g *gen) holdNext() (entered <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold, g.entered = make(chan struct{}), make(chan struct{}, 16)
	hold, ent := g.hold, g.entered
	return ent, func() {
		g.mu.Lock()
		g.hold, g.entered = nil, nil
		g.mu.Unlock()
		close(hold)
	}
}

func version(n int64) string { return fmt.Sprintf("v%d", n) }

// testServer is a push Server behind a gRPC server on loopback.
type testServer struct {
	*Server
	addr string
	g    *grpc.Server
}

// startServer serves gen on addr ("" for a free loopback port) until the
// test ends or stop is called.
func startServer(t testing.TB, gen Generator, opts Options, addr string) *testServer {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ts := &testServer{Server: NewServer(gen, opts), addr: lis.Addr().String(), g: grpc.NewServer()}
	ts.Register(ts.g)
	go ts.g.Serve(lis)
	t.Cleanup(ts.stop)
	return ts
}

// stop ends the streams and the gRPC server.
func (ts *testServer) stop() {
	ts.Close()
	ts.g.Stop()
}

// dialer returns a dial function for Run that counts its calls.
func dialer(addr string, dials *atomic.Int64, opts ...grpc.DialOption) func(context.Context) (*grpc.ClientConn, error) {
	return func(context.Context) (*grpc.ClientConn, error) {
		if dials != nil {
			dials.Add(1)
		}
		return grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	}
}

// applied records the snapshots a client applied.
type applied struct {
	mu       sync.Mutex
	versions []string
	notify   chan struct{} // 1 slot, signalled on every apply
}

func newApplied() *applied { return &applied{notify: make(chan struct{}, 1)} }

func (a *applied) apply(_ context.Context, s Snapshot) error {
	a.mu.Lock()
	a.versions = append(a.versions, s.Version)
	a.mu.Unlock()
	select {
	case a.notify <- struct{}{}:
	default:
	}
	return nil
}

func (a *applied) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.versions...)
}

func (a *applied) last() string {
	all := a.all()
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// runClient runs Run until the test ends.
func runClient(t *testing.T, dial func(context.Context) (*grpc.ClientConn, error), hello Hello, apply func(context.Context, Snapshot) error, opts ClientOptions) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, dial, hello, apply, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("Run returned %v, want %v", err, context.Canceled)
		}
	})
}

// waitFor polls cond until it holds, and fails the test if it does not
// within defaultTestTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(defaultTestTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// nodeStatus returns the status of the one stream of node id, if any.
func nodeStatus(s *Server, id string) (NodeStatus, bool) {
	for _, n := range s.Nodes() {
		if n.ID == id {
			return n, true
		}
	}
	return NodeStatus{}, false
}

// rawStream opens a stream without Run, to drive the protocol by hand.
func rawStream(t *testing.T, addr string, opts ...grpc.DialOption) grpc.ClientStream {
	t.Helper()
	conn, err := dialer(addr, nil, opts...)(context.Background())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		conn.Close()
	})
	cs, err := conn.NewStream(ctx, &streamDesc, streamMethod, grpcjson.CallOption)
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	return cs
}

func send(t *testing.T, cs grpc.ClientStream, r *Request) {
	t.Helper()
	if err := cs.SendMsg(r); err != nil {
		t.Fatalf("send %+v: %v", r, err)
	}
}

func recv(t *testing.T, cs grpc.ClientStream) Snapshot {
	t.Helper()
	var s Snapshot
	if err := cs.RecvMsg(&s); err != nil {
		t.Fatalf("receive snapshot: %v", err)
	}
	return s
}

func hello(id string) Hello { return Hello{NodeID: id, Kind: KindGateway, Build: "test"} }

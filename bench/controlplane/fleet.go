//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"sync"
	"time"

	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/enroll"
	"github.com/pylon-mesh/pylon/push"
	"github.com/pylon-mesh/pylon/snapshot"
)

// decodeAtOnce bounds concurrent snapshot decodes (--decode full) to the
// number of CPUs: real gateways decode on their own machines, and a
// thousand decodes at once on this one would only hold a thousand
// decoded configs in memory together and starve the connections' keepalives.
var decodeAtOnce = runtime.GOMAXPROCS(0)

// enrollAtOnce bounds concurrent enrollments: every one is a TLS handshake,
// a certificate signature and a compare-and-swap on the join token's use
// count in the control plane's store, and a thousand at once only retry
// against each other.
const enrollAtOnce = 8

// fleet is N simulated gateways, each with its own enrollment agent and
// its own gRPC connection to the control plane, as real ones have.
type fleet struct {
	addr   string
	token  string
	decode bool // decode every snapshot as a gateway does
	track  *tracker

	enrollSem chan struct{}
	decodeSem chan struct{}
	errs      chan error // enrollments that failed for good
	wg        sync.WaitGroup

	mu    sync.Mutex
	drops map[string]int // streams that failed, by gRPC code; push.Run reconnects them
}

func newFleet(addr, token string, n int, decode bool) *fleet {
	return &fleet{addr: addr, token: token, decode: decode, track: newTracker(n),
		enrollSem: make(chan struct{}, enrollAtOnce), decodeSem: make(chan struct{}, decodeAtOnce),
		errs: make(chan error, n), drops: map[string]int{}}
}

// start runs the n nodes until ctx ends; wait waits for them.
func (f *fleet) start(ctx context.Context, n int) {
	for i := range n {
		f.wg.Go(func() { f.node(ctx, i) })
	}
}

func (f *fleet) wait() { f.wg.Wait() }

// node enrolls node i and keeps its config stream until ctx ends.
func (f *fleet) node(ctx context.Context, i int) {
	quiet := slog.New(slog.DiscardHandler)
	agent, err := enroll.NewAgent(enroll.AgentOptions{Addrs: []string{f.addr}, JoinToken: f.token, Logger: quiet})
	if err == nil {
		f.enrollSem <- struct{}{}
		err = agent.Enroll(ctx)
		<-f.enrollSem
	}
	if err != nil {
		if ctx.Err() == nil {
			f.errs <- fmt.Errorf("node %d: %w", i, err)
		}
		return
	}
	apply := func(_ context.Context, s push.Snapshot) error {
		f.track.record(i, s.Version, time.Now())
		if !f.decode {
			return nil
		}
		f.decodeSem <- struct{}{}
		defer func() { <-f.decodeSem }()
		_, _, _, err := snapshot.Decode(s.Version, s.Payload)
		return err
	}
	onState := func(connected bool, err error) {
		if !connected {
			f.dropped(err)
		}
	}
	hello := push.Hello{NodeID: fmt.Sprintf("bench-%04d", i), Kind: push.KindGateway, Build: "bench"}
	push.Run(ctx, agent.Dial, hello, apply, push.ClientOptions{Logger: quiet, OnState: onState})
}

// dropped counts a failed stream by its gRPC code.
func (f *fleet) dropped(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drops[status.Code(err).String()]++
}

// dropCounts returns the failed streams by gRPC code.
func (f *fleet) dropCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.drops)
}

// tracker records, per node, the newest version it received and when it
// first received it. Safe for concurrent use.
type tracker struct {
	mu      sync.Mutex
	version []string
	at      []time.Time
	old     string
	changed int           // nodes whose version differs from old
	done    chan struct{} // closed when changed reaches len(version)
}

func newTracker(n int) *tracker {
	return &tracker{version: make([]string, n), at: make([]time.Time, n), done: make(chan struct{})}
}

func (t *tracker) record(i int, version string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if version == t.version[i] {
		return
	}
	left := t.version[i] == t.old
	t.version[i], t.at[i] = version, at
	if left {
		t.changed++
		if t.changed == len(t.version) {
			close(t.done)
		}
	}
}

// expectChange starts waiting for every node to leave version old, and
// returns the channel closed once they all did.
func (t *tracker) expectChange(old string) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.old, t.changed, t.done = old, 0, make(chan struct{})
	for _, v := range t.version {
		if v != old {
			t.changed++
		}
	}
	if t.changed == len(t.version) {
		close(t.done)
	}
	return t.done
}

// agreed returns the version every node has, or "" if they differ or
// one has none.
func (t *tracker) agreed() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, v := range t.version {
		if v != t.version[0] {
			return ""
		}
	}
	return t.version[0]
}

// since returns, per node, how long after start it first received its
// current version (zero if before start).
func (t *tracker) since(start time.Time) []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]time.Duration, len(t.at))
	for i, at := range t.at {
		out[i] = max(at.Sub(start), 0)
	}
	return out
}

// String counts the nodes at each version, for error messages.
func (t *tracker) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := map[string]int{}
	for _, v := range t.version {
		n[v]++
	}
	return fmt.Sprintf("nodes per version: %v (waiting for nodes to leave %q)", n, t.old)
}

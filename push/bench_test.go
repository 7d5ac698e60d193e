package push

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// fanoutGen serves one prepared snapshot to every node, as the control
// plane's per-class cache does.
type fanoutGen struct{ snap atomic.Pointer[Snapshot] }

func (g *fanoutGen) Generate(context.Context, Node) (Snapshot, error) { return *g.snap.Load(), nil }

// endpointsPayload is a snapshot payload of about 50 KB: 5000 endpoints
// split across 100 services.
func endpointsPayload(b *testing.B) json.RawMessage {
	type service struct {
		Name      string   `json:"name"`
		Port      int      `json:"port"`
		Endpoints []string `json:"endpoints"`
	}
	var services []service
	for s := range 100 {
		svc := service{Name: fmt.Sprintf("svc-%d", s), Port: 8080}
		for e := range 50 {
			svc.Endpoints = append(svc.Endpoints, fmt.Sprintf("10.%d.%d.%d", s/8, s%8, e))
		}
		services = append(services, svc)
	}
	p, err := json.Marshal(map[string]any{"services": services})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// fanout counts the streams that applied the version being waited for.
type fanout struct {
	drops atomic.Int64 // streams that failed (Run reconnects them)

	mu      sync.Mutex
	want    string
	start   time.Time
	latency []time.Duration
	n       int
	done    chan struct{}
}

func (f *fanout) apply(_ context.Context, s Snapshot) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.Version != f.want {
		return nil
	}
	f.latency = append(f.latency, time.Since(f.start))
	if len(f.latency) == f.n {
		close(f.done)
	}
	return nil
}

// expect prepares to wait for version v on n streams.
func (f *fanout) expect(v string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.want, f.n, f.latency, f.done, f.start = v, n, f.latency[:0], make(chan struct{}), time.Now()
}

// BenchmarkFanout measures how long a change takes to reach 1000 data
// plane streams (over 4 connections) on loopback: per-stream latency from
// Notify to the client having the snapshot (p50, p99) and the whole
// fan-out (mean and worst). The clients share the 2 cores with the server:
// with Run each decodes the whole snapshot, as a data plane does on its
// own machine; the light clients only read the version, which leaves the
// server's share of the work.
func BenchmarkFanout(b *testing.B) {
	b.Run("clients=Run", func(b *testing.B) { benchFanout(b, runClients) })
	b.Run("clients=light", func(b *testing.B) { benchFanout(b, lightClients) })
}

const fanoutStreams, fanoutConns = 1000, 4

// startClients opens fanoutStreams streams over conns that report to f,
// until ctx ends.
type startClients func(ctx context.Context, wg *sync.WaitGroup, conns []*grpc.ClientConn, f *fanout)

func benchFanout(b *testing.B, start startClients) {
	g := &fanoutGen{}
	payload := endpointsPayload(b)
	g.snap.Store(&Snapshot{Version: "v0", Payload: payload})
	ts := startServer(b, g, Options{}, "")

	var conns []*grpc.ClientConn
	for range fanoutConns {
		c, err := dialer(ts.addr, nil)(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	f := &fanout{}
	f.expect("v0", fanoutStreams)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	start(ctx, &wg, conns, f)
	defer func() { cancel(); wg.Wait() }()
	<-f.done

	var all []time.Duration
	var total, worst time.Duration
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		v := fmt.Sprint("v", n)
		g.snap.Store(&Snapshot{Version: v, Payload: payload})
		f.expect(v, fanoutStreams)
		ts.Notify()
		<-f.done
		d := time.Since(f.start)
		total, worst = total+d, max(worst, d)
		f.mu.Lock()
		all = append(all, f.latency...)
		f.mu.Unlock()
	}
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(all[len(all)/2]), "p50-ms")
	b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
	b.ReportMetric(ms(total/time.Duration(n)), "fanout-ms")
	b.ReportMetric(ms(worst), "worst-fanout-ms")
	b.ReportMetric(float64(len(payload)), "payload-B")
	b.ReportMetric(float64(f.drops.Load()), "dropped-streams")
}

// runClients runs Run for every stream.
func runClients(ctx context.Context, wg *sync.WaitGroup, conns []*grpc.ClientConn, f *fanout) {
	for i := range fanoutStreams {
		// Runs share the connections, which Run closes only when a stream
		// fails (none does here) and when it returns.
		dial := func(context.Context) (*grpc.ClientConn, error) { return conns[i%len(conns)], nil }
		wg.Go(func() {
			onState := func(connected bool, _ error) {
				if !connected {
					f.drops.Add(1)
				}
			}
			Run(ctx, dial, Hello{NodeID: fmt.Sprint("node-", i), Kind: KindSidecar}, f.apply, ClientOptions{OnState: onState})
		})
	}
}

// lightClients speak the protocol by hand and read only the version of
// each snapshot.
func lightClients(ctx context.Context, wg *sync.WaitGroup, conns []*grpc.ClientConn, f *fanout) {
	for i := range fanoutStreams {
		wg.Go(func() { lightClient(ctx, conns[i%len(conns)], fmt.Sprint("node-", i), f) })
	}
}

func lightClient(ctx context.Context, conn *grpc.ClientConn, id string, f *fanout) {
	cs, err := conn.NewStream(ctx, &streamDesc, streamMethod, grpc.ForceCodec(versionCodec{}))
	if err != nil || cs.SendMsg(&Request{Hello: &Hello{NodeID: id, Kind: KindSidecar}}) != nil {
		return
	}
	for {
		var s Snapshot
		if cs.RecvMsg(&s) != nil {
			return
		}
		f.apply(ctx, s)
		if cs.SendMsg(&Request{Ack: &Ack{Version: s.Version}}) != nil {
			return
		}
	}
}

// versionCodec is the JSON codec for requests, but decodes of a snapshot
// only its version, which the server writes first.
type versionCodec struct{}

func (versionCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

func (versionCodec) Unmarshal(data []byte, v any) error {
	rest, ok := bytes.CutPrefix(data, []byte(`{"version":"`))
	end := bytes.IndexByte(rest, '"')
	if !ok || end < 0 {
		return fmt.Errorf("snapshot does not start with its version: %.40q", data)
	}
	v.(*Snapshot).Version = string(rest[:end])
	return nil
}

func (versionCodec) Name() string { return "json" }

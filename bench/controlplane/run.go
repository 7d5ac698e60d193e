//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/pylon-mesh/pylon/bench/internal/proc"
)

// run does the whole benchmark, writing progress to logw.
func run(ctx context.Context, o options, logw io.Writer) (*result, error) {
	progress := func(format string, args ...any) { fmt.Fprintf(logw, "controlplane: "+format+"\n", args...) }
	raiseFileLimit()
	tmp, err := os.MkdirTemp("", "pylon-cpbench-")
	if err != nil {
		return nil, fmt.Errorf("make a temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if o.Pylon == "" {
		progress("building ./cmd/pylon")
		if o.Pylon, err = proc.BuildPylon(ctx, tmp); err != nil {
			return nil, err
		}
	}
	res := &result{opts: o, loadStart: proc.LoadAverage()}
	cp, err := startControl(ctx, o.Pylon, filepath.Join(tmp, "data"))
	if err != nil {
		return nil, err
	}
	defer cp.Stop()
	b := &bench{o: o, cp: cp, res: res, progress: progress}
	if err := b.measure(ctx); err != nil {
		return nil, fmt.Errorf("%w\npylon control stderr (tail):\n%s", err, cp.Stderr())
	}
	res.loadEnd = proc.LoadAverage()
	return res, nil
}

// bench is one run against a started control plane.
type bench struct {
	o        options
	cp       *controlPlane
	res      *result
	progress func(format string, args ...any)
	fleet    *fleet
}

func (b *bench) measure(ctx context.Context) error {
	w := newWorkload(b.o.services, b.o.endpoints)
	docs, err := w.documents()
	if err != nil {
		return err
	}
	for _, doc := range docs {
		if err := b.cp.call(ctx, http.MethodPost, "/v1/apply", doc, nil); err != nil {
			return fmt.Errorf("apply the benchmark config: %w", err)
		}
	}
	var tok struct{ Token string }
	req := map[string]any{"service": "bench", "max_uses": 0, "description": "push fan-out benchmark"}
	if err := b.cp.call(ctx, http.MethodPost, "/v1/tokens", req, &tok); err != nil {
		return fmt.Errorf("create the join token: %w", err)
	}
	fctx, stop := context.WithCancel(ctx)
	defer func() { stop(); b.fleet.wait() }()
	if err := b.connect(fctx, tok.Token); err != nil {
		return err
	}
	if b.o.cpuprofile != "" {
		stopProfile, err := startProfile(b.o.cpuprofile)
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	for r := range b.o.rounds {
		if err := b.round(ctx, w, r); err != nil {
			return fmt.Errorf("round %d: %w", r+1, err)
		}
	}
	b.res.drops = b.fleet.dropCounts()
	b.res.memoryEnd, err = proc.ReadMemory(b.cp.Pid())
	return err
}

// connect starts the fleet, waits until every node acked the same first
// version, and then reads the control plane's memory.
func (b *bench) connect(ctx context.Context, token string) error {
	b.progress("starting %d nodes", b.o.nodes)
	start := time.Now()
	versionOnly.Store(b.o.decode == "version")
	b.fleet = newFleet(b.cp.listen, token, b.o.nodes, b.o.decode == "full")
	first := b.fleet.track.expectChange("")
	b.fleet.start(ctx, b.o.nodes)
	if err := b.wait(ctx, first); err != nil {
		return fmt.Errorf("wait for every node's first snapshot: %w", err)
	}
	version, err := b.settle(ctx, "")
	if err != nil {
		return err
	}
	b.res.connect = time.Since(start)
	b.res.payload = snapshotSize.Load()
	b.progress("%d nodes acked version %s in %v", b.o.nodes, version, b.res.connect.Round(time.Millisecond))
	b.res.memory, err = proc.ReadMemory(b.cp.Pid())
	return err
}

// round moves one endpoint and times its arrival at every node.
func (b *bench) round(ctx context.Context, w *workload, r int) error {
	old := b.fleet.track.agreed()
	pid := b.cp.Pid()
	cpu0, err := proc.ReadCPU(pid)
	if err != nil {
		return err
	}
	self0 := proc.SelfCPU()
	all := b.fleet.track.expectChange(old)
	svc := w.change(r)
	start := time.Now()
	if err := b.cp.call(ctx, http.MethodPut, "/v1/services/"+svc.Name, svc, nil); err != nil {
		return fmt.Errorf("change an endpoint: %w", err)
	}
	returned := time.Now()
	if err := b.wait(ctx, all); err != nil {
		return fmt.Errorf("wait for every node to have the change: %w; %v; streams dropped: %v", err, b.fleet.track, b.fleet.dropCounts())
	}
	cpu1, err := proc.ReadCPU(pid)
	if err != nil {
		return err
	}
	lat := b.fleet.track.since(returned)
	b.res.rounds = append(b.res.rounds, roundResult{call: returned.Sub(start), latency: lat, cpu: cpu1 - cpu0, nodesCPU: proc.SelfCPU() - self0})
	version, err := b.settle(ctx, old)
	if err != nil {
		return err
	}
	b.progress("round %d: version %s at every node %v after the call returned", r+1, version, slowest(lat).Round(time.Millisecond))
	return nil
}

// wait waits for ch, failing early if the control plane exits, a node
// cannot enroll or ctx ends.
func (b *bench) wait(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-b.cp.Done():
		return errExited
	case err := <-b.fleet.errs:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settle waits until every node has one version other than old and the
// control plane's node records show it acked; it returns that version.
func (b *bench) settle(ctx context.Context, old string) (string, error) {
	for {
		v := b.fleet.track.agreed()
		if v != "" && v != old {
			n, err := b.acked(ctx, v)
			if err != nil {
				return "", err
			}
			if n == b.o.nodes {
				return v, nil
			}
		}
		if err := b.wait(ctx, afterChan(250*time.Millisecond)); err != nil {
			return "", fmt.Errorf("wait for every node to ack one version: %w", err)
		}
	}
}

// acked counts the benchmark's nodes that GET /v1/nodes shows acking
// version.
func (b *bench) acked(ctx context.Context, version string) (int, error) {
	var nodes struct {
		Items []struct{ ID, Acked string }
	}
	if err := b.cp.call(ctx, http.MethodGet, "/v1/nodes", nil, &nodes); err != nil {
		return 0, err
	}
	n := 0
	for _, it := range nodes.Items {
		if strings.HasPrefix(it.ID, "bench-") && it.Acked == version {
			n++
		}
	}
	return n, nil
}

func afterChan(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(d, func() { close(ch) })
	return ch
}

// startProfile starts profiling this process's CPU to path.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// raiseFileLimit lifts the soft limit on open files to the hard one: every
// node holds a connection.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pylon-mesh/pylon/bench/internal/loadgen"
	"github.com/pylon-mesh/pylon/bench/internal/proc"
)

// Targets: direct calls the echo app, mesh the client sidecar's
// outbound port.
const (
	direct = "direct"
	mesh   = "mesh"
)

// run does the whole benchmark, writing progress to logw.
func run(ctx context.Context, o options, logw io.Writer) (*result, error) {
	progress := func(format string, args ...any) { fmt.Fprintf(logw, "mesh: "+format+"\n", args...) }
	tmp, err := os.MkdirTemp("", "pylon-meshbench-")
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
	progress("building and starting the echo app")
	echo, app, err := startEcho(ctx, tmp)
	if err != nil {
		return nil, err
	}
	defer echo.Stop()
	res := &result{opts: o, start: time.Now(), loadStart: proc.LoadAverage()}
	progress("starting the control plane and two sidecars")
	m, err := startMesh(ctx, o.Pylon, filepath.Join(tmp, "data"), app)
	defer m.stop()
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, m: m, res: res, progress: progress, clients: map[string]*loadgen.Client{
		direct: newClient(app, o.conns),
		mesh:   newClient(m.client.outbound, o.conns),
	}}
	defer b.clients[direct].Close()
	defer b.clients[mesh].Close()
	if err := b.measure(ctx); err != nil {
		return nil, err
	}
	res.loadEnd = proc.LoadAverage()
	return res, nil
}

// bench is one run against a started mesh.
type bench struct {
	o        options
	m        *procs
	res      *result
	progress func(format string, args ...any)
	clients  map[string]*loadgen.Client // by target
}

// sidecars are the processes measured, in report order.
func (b *bench) sidecars() map[string]*sidecar {
	return map[string]*sidecar{"client": b.m.client, "server": b.m.server}
}

func (b *bench) measure(ctx context.Context) error {
	for _, n := range sidecarNames {
		s := b.sidecars()[n]
		b.progress("%s sidecar: pid %d, admin (pprof) http://%s", n, s.Pid(), s.admin)
	}
	b.progress("mesh reached; settling %v before reading idle memory", b.o.settle)
	select {
	case <-time.After(b.o.settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	var err error
	if b.res.idle, err = b.memory(); err != nil {
		return err
	}
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	for r := range b.o.rounds {
		order := []string{direct, mesh}
		if r%2 == 1 {
			order = []string{mesh, direct}
		}
		for _, t := range order {
			rr, err := b.round(ctx, t)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, t, err)
			}
			rr.index = r + 1
			b.res.rounds = append(b.res.rounds, rr)
			b.progress("round %d %s: %s", r+1, t, rr.summary)
		}
	}
	if b.res.after, err = b.memory(); err != nil {
		return err
	}
	if b.o.profile != "" {
		return b.profile(ctx)
	}
	return nil
}

// warmUp sends unmeasured load to each target, so that every connection
// and pool is open before the rounds.
func (b *bench) warmUp(ctx context.Context) error {
	if b.o.warmup == 0 {
		return nil
	}
	for _, t := range []string{direct, mesh} {
		b.progress("warming up %s for %v", t, b.o.warmup)
		lat, errs, err := b.clients[t].Run(ctx, b.interval(), b.o.warmup)
		if len(lat) == 0 {
			return fmt.Errorf("warm up %s: %d failed, last error: %v", t, errs, err)
		}
	}
	return nil
}

func (b *bench) interval() time.Duration { return time.Duration(float64(time.Second) / b.o.rate) }

// round runs one timed round against target, reading the sidecars' CPU
// time before and after and sampling their VmRSS during it.
func (b *bench) round(ctx context.Context, target string) (roundResult, error) {
	cpu0, err := b.cpu()
	if err != nil {
		return roundResult{}, err
	}
	wait0 := b.runWait()
	machine0, machineErr := proc.ReadMachineCPU()
	sctx, stopSampling := context.WithCancel(ctx)
	peak := b.samplePeaks(sctx)
	lat, errs, lastErr := b.clients[target].Run(ctx, b.interval(), b.o.duration)
	stopSampling()
	rr := roundResult{target: target, summary: summarize(lat, errs), peak: <-peak, steal: -1}
	if machine1, err := proc.ReadMachineCPU(); err == nil && machineErr == nil {
		rr.steal = machine0.StealShare(machine1)
	}
	if err := ctx.Err(); err != nil {
		return rr, err
	}
	if len(lat) == 0 {
		return rr, fmt.Errorf("no request succeeded; %d failed, last error: %w", errs, lastErr)
	}
	cpu1, err := b.cpu()
	if err != nil {
		return rr, err
	}
	rr.cpu = map[string]time.Duration{}
	for name := range cpu1 {
		rr.cpu[name] = cpu1[name] - cpu0[name]
	}
	if wait1 := b.runWait(); wait0 != nil && wait1 != nil {
		rr.wait = map[string]time.Duration{}
		for name := range wait1 {
			rr.wait[name] = wait1[name] - wait0[name]
		}
	}
	return rr, nil
}

// runWait reads how long each sidecar's threads have waited for a CPU,
// or returns nil when the kernel does not say (the report then leaves
// the figure out).
func (b *bench) runWait() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, s := range b.sidecars() {
		w, err := proc.ReadRunWait(s.Pid())
		if err != nil {
			b.progress("%s sidecar: %v", name, err)
			return nil
		}
		out[name] = w
	}
	return out
}

// cpu reads each sidecar's user plus system CPU time.
func (b *bench) cpu() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for name, s := range b.sidecars() {
		t, err := proc.ReadCPU(s.Pid())
		if err != nil {
			return nil, fmt.Errorf("%s sidecar: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// memory reads each sidecar's resident set.
func (b *bench) memory() (map[string]proc.Memory, error) {
	out := map[string]proc.Memory{}
	for name, s := range b.sidecars() {
		mem, err := proc.ReadMemory(s.Pid())
		if err != nil {
			return nil, fmt.Errorf("%s sidecar: %w", name, err)
		}
		out[name] = mem
	}
	return out, nil
}

// samplePeaks reads each sidecar's memory every 250 ms until ctx ends,
// and then sends the largest figures seen per sidecar.
func (b *bench) samplePeaks(ctx context.Context) <-chan map[string]proc.Memory {
	out := make(chan map[string]proc.Memory, 1)
	go func() {
		peak := map[string]proc.Memory{}
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			if mem, err := b.memory(); err == nil {
				for name, m := range mem {
					peak[name] = peak[name].Max(m)
				}
			}
			select {
			case <-ctx.Done():
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// profile runs one more mesh round, not counted, while fetching a CPU
// profile of each sidecar into the --profile directory.
func (b *bench) profile(ctx context.Context) error {
	if err := os.MkdirAll(b.o.profile, 0o755); err != nil {
		return fmt.Errorf("make the profile directory: %w", err)
	}
	// The profile ends a second before the round, so it covers load only.
	secs := max(1, int(b.o.duration/time.Second)-1)
	b.progress("profiling both sidecars for %ds during an extra mesh round", secs)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for name, s := range b.sidecars() {
		url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.admin, secs)
		wg.Go(func() { errs <- fetch(ctx, url, filepath.Join(b.o.profile, name+".pprof")) })
	}
	b.clients[mesh].Run(ctx, b.interval(), b.o.duration)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fetch GETs url into the file path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("fetch a profile: %w", err)
	}
	data, err := do(req)
	if err != nil {
		return fmt.Errorf("fetch a profile: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write a profile: %w", err)
	}
	return nil
}

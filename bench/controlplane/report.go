//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/pylon-mesh/pylon/bench/internal/proc"
)

// result is what one run measured.
type result struct {
	opts               options
	loadStart, loadEnd string        // /proc/loadavg
	payload            int64         // bytes of a snapshot message
	connect            time.Duration // fleet start to every node acking
	memory             proc.Memory   // control plane, with every stream connected
	memoryEnd          proc.Memory   // control plane, after the rounds
	rounds             []roundResult
	drops              map[string]int // streams that failed during the run, by gRPC code
}

// roundResult is one endpoint change.
type roundResult struct {
	call     time.Duration   // the PUT, sent to answered
	latency  []time.Duration // per node: call returned to version received
	cpu      time.Duration   // control plane CPU, call sent to last node
	nodesCPU time.Duration   // this process's CPU over the same span
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted, or 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(k, 1), len(sorted))-1]
}

func slowest(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return slices.Max(d)
}

// summary is the distribution of one set of latencies.
type summary struct{ p50, p99, max time.Duration }

func summarize(d []time.Duration) summary {
	s := slices.Sorted(slices.Values(d))
	return summary{percentile(s, 50), percentile(s, 99), slowest(s)}
}

// all returns every node's latency of every round.
func (r *result) all() []time.Duration {
	var out []time.Duration
	for _, rr := range r.rounds {
		out = append(out, rr.latency...)
	}
	return out
}

// Print writes the report as markdown.
func (r *result) Print(w io.Writer) {
	o := r.opts
	fmt.Fprintf(w, "pylon control push fan-out: %d nodes, %d services × %d endpoints, snapshot %.1f KiB, decode %s\n\n",
		o.nodes, o.services, o.endpoints, float64(r.payload)/1024, o.decode)
	fmt.Fprintf(w, "- load average: %s at the start, %s at the end\n", r.loadStart, r.loadEnd)
	fmt.Fprintf(w, "- every node enrolled, connected and acked the first version in %s\n", ms(r.connect))
	fmt.Fprintf(w, "- control plane memory with %d streams: VmRSS %s, VmHWM %s; after the rounds VmRSS %s, VmHWM %s\n",
		o.nodes, mib(r.memory.RSS), mib(r.memory.HWM), mib(r.memoryEnd.RSS), mib(r.memoryEnd.HWM))
	fmt.Fprintf(w, "- streams dropped during the run, by gRPC code: %v\n\n", r.drops)
	fmt.Fprintln(w, "| round | API call | p50 | p99 | last node | control plane CPU | nodes' CPU |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	var calls, cpus, nodes []time.Duration
	for i, rr := range r.rounds {
		s := summarize(rr.latency)
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s |\n", i+1, ms(rr.call), ms(s.p50), ms(s.p99), ms(s.max), ms(rr.cpu), ms(rr.nodesCPU))
		calls, cpus, nodes = append(calls, rr.call), append(cpus, rr.cpu), append(nodes, rr.nodesCPU)
	}
	s := summarize(r.all())
	fmt.Fprintf(w, "| all | %s | %s | %s | %s | %s | %s |\n", ms(median(calls)), ms(s.p50), ms(s.p99), ms(s.max), ms(median(cpus)), ms(median(nodes)))
	fmt.Fprintln(w, "\nLatency runs from the API call's return to each node's receipt of the new version; the \"all\" row gives")
	fmt.Fprintln(w, "percentiles over every node of every round, and the median round's call time and CPU.")
}

func median(d []time.Duration) time.Duration {
	return percentile(slices.Sorted(slices.Values(d)), 50)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Package loadgen is the benchmarks' open-loop HTTP/1.1 load generator: a
// fixed request rate over N keep-alive connections, and the percentiles
// of what it measured.
//
// Request i is due at start + i*interval. A free connection takes the
// next due request, waits until it is due, sends it and reads the whole
// response. When every connection is busy, requests fall behind their due
// times; their latency then runs from the due time, not the send time, so
// a stalled server is charged for the requests that queued behind it (no
// coordinated omission). A request that was waited for is measured from
// the moment the client's timer woke, so the client's own timer lateness
// (up to a millisecond on Linux) is not charged to the server.
package loadgen

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes a Client.
type Config struct {
	Addr    string        // host:port to dial
	Request []byte        // complete HTTP/1.1 request, sent as is
	Conns   int           // keep-alive connections, one goroutine each in a run
	Timeout time.Duration // bound on one request, dial included

	// Check judges a response from its status code and body length; an
	// error fails the request. Nil accepts any 2xx status.
	Check func(status int, bodyLen int64) error
}

// Client sends fixed-rate load to one address over keep-alive
// connections, which it keeps from one run to the next, so that runs
// after a warm-up measure no connection setup. Not safe for concurrent
// runs.
type Client struct {
	cfg   Config
	conns []*conn
}

// New returns a client of cfg.Conns connections, dialed lazily.
func New(cfg Config) *Client {
	if cfg.Check == nil {
		cfg.Check = check2xx
	}
	c := &Client{cfg: cfg, conns: make([]*conn, cfg.Conns)}
	for i := range c.conns {
		c.conns[i] = &conn{cfg: &c.cfg}
	}
	return c
}

// GetRequest returns a keep-alive GET request for uri on host.
func GetRequest(host, uri, userAgent string) []byte {
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n", uri, host, userAgent)
}

// Run sends requests due every interval for d, or until ctx ends, and
// returns each successful request's latency (unsorted), the number of
// failed requests and the last failure.
func (c *Client) Run(ctx context.Context, interval, d time.Duration) ([]time.Duration, int, error) {
	s := &schedule{start: time.Now(), interval: interval, n: count(interval, d), ctx: ctx}
	results := make([]connResult, len(c.conns))
	var wg sync.WaitGroup
	for i, cn := range c.conns {
		wg.Go(func() { results[i] = cn.run(s) })
	}
	wg.Wait()
	var lat []time.Duration
	errs := 0
	var lastErr error
	for _, r := range results {
		lat = append(lat, r.lat...)
		errs += r.errors
		if r.lastErr != nil {
			lastErr = r.lastErr
		}
	}
	return lat, errs, lastErr
}

// Close closes every connection.
func (c *Client) Close() {
	for _, cn := range c.conns {
		cn.close()
	}
}

// count is the number of requests due every interval in [0, d).
func count(interval, d time.Duration) int64 {
	return int64((d + interval - 1) / interval)
}

func check2xx(status int, _ int64) error {
	if status/100 != 2 {
		return fmt.Errorf("status %d", status)
	}
	return nil
}

// schedule hands out due times; it is shared by all connections.
type schedule struct {
	start    time.Time
	interval time.Duration
	n        int64
	next     atomic.Int64
	ctx      context.Context
}

// take returns the due time of the next request, or false when all
// requests have been handed out or the context ended.
func (s *schedule) take() (time.Time, bool) {
	i := s.next.Add(1) - 1
	if i >= s.n || s.ctx.Err() != nil {
		return time.Time{}, false
	}
	return s.start.Add(time.Duration(i) * s.interval), true
}

// sendAt waits until due and returns the time latency is measured from.
// A request taken after its due time (every connection was busy waiting
// for the server) is measured from due, so the server is charged for the
// queueing it caused. A request taken early is measured from when the
// sleep returns: the timer wakes up to a millisecond late on Linux, and
// that lateness is the client's, not the server's.
func sendAt(due time.Time) time.Time {
	wait := time.Until(due)
	if wait <= 0 {
		return due
	}
	time.Sleep(wait)
	return time.Now()
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// client sends fixed-rate load to one address over keep-alive
// connections, which it keeps from one run to the next so that rounds
// after the warm-up measure no connection setup. Not safe for concurrent
// runs.
type client struct {
	addr    string
	request []byte
	timeout time.Duration // bound on one request, dial included
	conns   []*conn
}

// newClient returns a client of n connections to addr, dialed lazily.
func newClient(addr string, n int, timeout time.Duration) *client {
	c := &client{addr: addr, timeout: timeout, conns: make([]*conn, n)}
	c.request = fmt.Appendf(nil, "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: pylon-bench-mesh\r\n\r\n", addr)
	for i := range c.conns {
		c.conns[i] = &conn{c: c}
	}
	return c
}

// run sends requests due every interval for d, or until ctx ends, and
// returns each successful request's latency (unsorted) and the failures.
// A free connection takes the next due request; when every connection is
// busy, requests fall behind their due times and are timed from them.
func (c *client) run(ctx context.Context, interval, d time.Duration) ([]time.Duration, int, error) {
	s := &schedule{start: time.Now(), interval: interval, n: int64((d + interval - 1) / interval), ctx: ctx}
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

// close closes every connection.
func (c *client) close() {
	for _, cn := range c.conns {
		cn.close()
	}
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

// connResult is what one connection measured in one run.
type connResult struct {
	lat     []time.Duration
	errors  int
	lastErr error
}

// conn is one keep-alive connection, redialed after an error.
type conn struct {
	c  *client
	nc net.Conn
	br *bufio.Reader
}

func (cn *conn) run(s *schedule) connResult {
	var res connResult
	for {
		due, ok := s.take()
		if !ok {
			return res
		}
		start := sendAt(due)
		if err := cn.roundTrip(); err != nil {
			res.errors++
			res.lastErr = err
			cn.close()
			continue
		}
		res.lat = append(res.lat, time.Since(start))
	}
}

// sendAt waits until due and returns the time latency is measured from:
// due itself when it has passed (the server is charged for the queueing
// it caused), else the moment the sleep returned (the timer's lateness is
// the client's, not the server's).
func sendAt(due time.Time) time.Time {
	wait := time.Until(due)
	if wait <= 0 {
		return due
	}
	time.Sleep(wait)
	return time.Now()
}

// roundTrip sends the request and reads the whole response.
func (cn *conn) roundTrip() error {
	if cn.nc == nil {
		nc, err := net.DialTimeout("tcp", cn.c.addr, cn.c.timeout)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		cn.nc, cn.br = nc, bufio.NewReader(nc)
	}
	if err := cn.nc.SetDeadline(time.Now().Add(cn.c.timeout)); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	if _, err := cn.nc.Write(cn.c.request); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	resp, err := http.ReadResponse(cn.br, nil)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK || n != int64(len(body)) {
		return fmt.Errorf("check response: status %d with %d bytes, want 200 with %d", resp.StatusCode, n, len(body))
	}
	if resp.Close {
		cn.close()
	}
	return nil
}

func (cn *conn) close() {
	if cn.nc != nil {
		cn.nc.Close()
		cn.nc, cn.br = nil, nil
	}
}

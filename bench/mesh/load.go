//go:build linux

package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pylon-mesh/pylon/bench/internal/loadgen"
)

// newClient returns a load generator of n connections to addr that counts
// only a 200 answer with the echo app's body as a success.
func newClient(addr string, n int) *loadgen.Client {
	return loadgen.New(loadgen.Config{
		Addr:    addr,
		Request: loadgen.GetRequest(addr, "/", "pylon-bench-mesh"),
		Conns:   n,
		Timeout: 5 * time.Second,
		Check:   checkEcho,
	})
}

// checkEcho accepts a 200 answer with len(body) bytes.
func checkEcho(status int, n int64) error {
	if status != http.StatusOK || n != int64(len(body)) {
		return fmt.Errorf("status %d with %d bytes, want 200 with %d", status, n, len(body))
	}
	return nil
}

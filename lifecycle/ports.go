package lifecycle

import (
	"fmt"
	"net"
	"sync"
)

// checkFree reports an error when addr cannot be listened on: something
// on this machine already listens there, or it is not this machine's.
func checkFree(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s cannot be used (is another pylon up or pylon control running?): %w", addr, err)
	}
	return ln.Close()
}

// portPool hands out free loopback addresses, never the same one twice in
// a run, so an instance restarting cannot find its port taken by another.
type portPool struct {
	mu   sync.Mutex
	used map[string]bool
}

// next returns a loopback address whose port was free a moment ago.
func (p *portPool) next() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used == nil {
		p.used = map[string]bool{}
	}
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("find a free loopback port: %w", err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !p.used[addr] {
			p.used[addr] = true
			return addr, nil
		}
	}
	return "", fmt.Errorf("find a free loopback port: every port offered was already given out")
}

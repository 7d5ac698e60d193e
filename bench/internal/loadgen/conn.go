package loadgen

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// connResult is what one connection measured in one run.
type connResult struct {
	lat     []time.Duration
	errors  int
	lastErr error
}

// conn is one keep-alive connection, redialed after an error.
type conn struct {
	cfg *Config
	nc  net.Conn
	br  *bufio.Reader
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

// roundTrip sends the request and reads the whole response.
func (cn *conn) roundTrip() error {
	if cn.nc == nil {
		nc, err := net.DialTimeout("tcp", cn.cfg.Addr, cn.cfg.Timeout)
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		cn.nc, cn.br = nc, bufio.NewReader(nc)
	}
	if err := cn.nc.SetDeadline(time.Now().Add(cn.cfg.Timeout)); err != nil {
		return fmt.Errorf("set deadline: %w", err)
	}
	if _, err := cn.nc.Write(cn.cfg.Request); err != nil {
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
	if err := cn.cfg.Check(resp.StatusCode, n); err != nil {
		return fmt.Errorf("check response: %w", err)
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

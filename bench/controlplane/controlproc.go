//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/pylon-mesh/pylon/bench/internal/proc"
)

// controlPlane is the `pylon control` child process under test.
type controlPlane struct {
	*proc.Child
	listen string // data planes dial this
	admin  string // admin API, host:port
	token  string // admin token
}

// startControl starts `pylon control` on free loopback ports with its data
// in dir, and returns once its admin API answers with the admin token.
func startControl(ctx context.Context, pylon, dir string) (*controlPlane, error) {
	addrs, err := proc.FreeAddrs(2)
	if err != nil {
		return nil, err
	}
	c := &controlPlane{listen: addrs[0], admin: addrs[1]}
	c.Child, err = proc.Start("pylon control", pylon, "control", "--data", dir, "--listen", c.listen, "--admin", c.admin, "--log-level", "warn")
	if err != nil {
		return nil, err
	}
	tokenFile := filepath.Join(dir, "admin.token")
	if err := c.Poll(ctx, "pylon control to serve", func() error { return c.status(ctx, tokenFile) }); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// status reads the admin token from tokenFile and calls GET /v1/status
// with it.
func (c *controlPlane) status(ctx context.Context, tokenFile string) error {
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return fmt.Errorf("read the admin token: %w", err)
	}
	c.token = strings.TrimSpace(string(b))
	return c.call(ctx, http.MethodGet, "/v1/status", nil, nil)
}

// call sends body (JSON-encoded unless it is a []byte) to the admin API
// and decodes a 2xx answer into out, when out is not nil.
func (c *controlPlane) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+c.admin+path, r)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: status %d: %.500s", method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// errExited is returned when the control plane died during the run.
var errExited = errors.New("pylon control exited during the run")

// Package etcdtest starts real etcd clusters on loopback for tests: one
// etcd process per member, each with its own ports and data directory,
// killed and removed when the test ends.
//
// It runs the etcd binary named by $PYLON_ETCD, or the one on PATH. Without
// one the test is skipped, or fails when $PYLON_REQUIRE_ETCD is 1 (as CI
// sets it), so a machine with only Go still passes go test ./... .
package etcdtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// missing is the message when there is no etcd to run.
const missing = "etcd not found: install Debian's etcd-server package (apt-get install etcd-server) or set PYLON_ETCD to an etcd binary"

// startTimeout bounds how long a cluster or a member may take to serve.
const startTimeout = 30 * time.Second

// Cluster is a running etcd cluster. Its methods must be called from the
// test's goroutine.
type Cluster struct {
	t       testing.TB
	bin     string
	members []*member
}

// StartCluster starts an etcd cluster of the given size and waits until it
// serves. It picks free ports, retrying if one was taken in the meantime.
func StartCluster(t testing.TB, members int) *Cluster {
	t.Helper()
	bin := binary(t)
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		c := &Cluster{t: t, bin: bin}
		if err = c.start(members); err == nil {
			return c
		}
		c.kill()
		if !c.portTaken() {
			c.dumpLogs()
			t.Fatalf("start etcd cluster: %v", err)
		}
	}
	t.Fatalf("start etcd cluster: %v", err)
	return nil
}

// binary finds etcd, skipping or failing the test without it.
func binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("PYLON_ETCD")
	if bin == "" {
		bin, _ = exec.LookPath("etcd")
	}
	if bin != "" {
		return bin
	}
	if os.Getenv("PYLON_REQUIRE_ETCD") == "1" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return ""
}

// start lays out and launches the members, then waits for them to serve.
func (c *Cluster) start(n int) error {
	ports, err := freePorts(2 * n)
	if err != nil {
		return err
	}
	dir := c.t.TempDir()
	var initial []string
	for i := range n {
		m := &member{
			name:   fmt.Sprintf("m%d", i),
			dir:    filepath.Join(dir, fmt.Sprintf("m%d", i)),
			client: fmt.Sprintf("http://127.0.0.1:%d", ports[2*i]),
			peer:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
		}
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	c.t.Cleanup(c.cleanup)
	for _, m := range c.members {
		if err := m.start(c.bin, strings.Join(initial, ",")); err != nil {
			return err
		}
	}
	return c.wait(c.Endpoints(), c.members)
}

// Endpoints returns every member's client URL.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.client
	}
	return eps
}

// Stop kills member i, as a crash would. If a majority is still running,
// it waits until they serve again (elected a new leader if need be), so
// the test's next request does not meet the election.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.members[i].kill()
	var up []*member
	var eps []string
	for _, m := range c.members {
		if m.running() {
			up, eps = append(up, m), append(eps, m.client)
		}
	}
	if 2*len(up) <= len(c.members) {
		return
	}
	if err := c.wait(eps, up); err != nil {
		c.dumpLogs()
		c.t.Fatalf("etcd after stopping member %d: %v", i, err)
	}
}

// Start restarts member i from its data directory and waits until it
// serves again.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	m := c.members[i]
	if err := m.start(c.bin, ""); err != nil {
		c.t.Fatalf("restart etcd member %d: %v", i, err)
	}
	if err := c.wait([]string{m.client}, []*member{m}); err != nil {
		c.dumpLogs()
		c.t.Fatalf("restart etcd member %d: %v", i, err)
	}
}

// Leader returns the index of the member that leads the cluster now.
func (c *Cluster) Leader() int {
	c.t.Helper()
	cli := c.client(c.Endpoints())
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for i, m := range c.members {
		if !m.running() {
			continue
		}
		st, err := cli.Status(ctx, m.client)
		if err == nil && st.Leader == st.Header.MemberId {
			return i
		}
	}
	c.t.Fatalf("no etcd member leads the cluster")
	return -1
}

// wait polls until a linearizable read through endpoints succeeds, or a
// member exits, or startTimeout passes.
func (c *Cluster) wait(endpoints []string, ms []*member) error {
	cli := c.client(endpoints)
	defer cli.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Get(ctx, "etcdtest-health")
		cancel()
		if err == nil {
			return nil
		}
		for _, m := range ms {
			if !m.running() {
				return fmt.Errorf("etcd member %s exited while starting", m.name)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd not serving after %v: %w", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// client returns a quiet etcd client for endpoints.
func (c *Cluster) client(endpoints []string) *clientv3.Client {
	c.t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.t.Fatalf("etcd client: %v", err)
	}
	return cli
}

// cleanup kills the members and, if the test failed, prints their logs.
func (c *Cluster) cleanup() {
	c.kill()
	if c.t.Failed() {
		c.dumpLogs()
	}
}

func (c *Cluster) kill() {
	for _, m := range c.members {
		m.kill()
	}
}

// portTaken reports whether a member failed because its port was in use.
func (c *Cluster) portTaken() bool {
	for _, m := range c.members {
		if strings.Contains(m.tail(), "address already in use") {
			return true
		}
	}
	return false
}

// dumpLogs prints the end of every member's log.
func (c *Cluster) dumpLogs() {
	for _, m := range c.members {
		c.t.Logf("etcd member %s (%s), end of its log:\n%s", m.name, m.client, m.tail())
	}
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/etcdtest"
)

// replicaStatus is GET /v1/status.
type replicaStatus struct {
	Replica string `json:"replica"`
	Leader  bool   `json:"leader"`
}

func (c *controlPlane) status() (replicaStatus, bool) {
	code, b := c.api(http.MethodGet, "/v1/status", nil)
	var s replicaStatus
	return s, code == http.StatusOK && json.Unmarshal(b, &s) == nil
}

// leaderOf returns the index of the one replica that says it leads, or -1.
func leaderOf(cps []*controlPlane, alive []bool) int {
	leader := -1
	for i, c := range cps {
		if !alive[i] {
			continue
		}
		if s, ok := c.status(); ok && s.Leader {
			if leader >= 0 {
				return -1 // two leaders: not settled (or a bug)
			}
			leader = i
		}
	}
	return leader
}

// TestReplicatedControlPlanes: three control planes share a real
// three-member etcd cluster. Killing the leader in the middle of a change
// leaves the gateways connected to it reconnecting to another replica and
// converging on the change; another replica takes over the leadership.
// With every control plane dead the gateways keep serving, and when one
// comes back they reconnect and take the next change.
func TestReplicatedControlPlanes(t *testing.T) {
	t.Parallel() // long and mostly waiting: see parallelTests in harness_test.go
	cluster := etcdtest.StartCluster(t, 3)
	storeURL := "etcd://" + strings.Join(cluster.Endpoints(), ",")
	keyFile := filepath.Join(t.TempDir(), "ca.key")
	var cps []*controlPlane
	for range 3 {
		cps = append(cps, startControl(t, "", "--store", storeURL, "--ca-key-file", keyFile))
	}
	addrs := []string{cps[0].listen, cps[1].listen, cps[2].listen}
	alive := []bool{true, true, true}

	a, b, c, d := startEcho(t, "a"), startEcho(t, "b"), startEcho(t, "c"), startEcho(t, "d")
	cps[0].applyYAML(gatewayDoc(a))
	token := cps[1].joinToken("edge") // tokens made on one replica work on all
	var gws []*gateway
	for i := range 3 {
		// Each gateway starts on a different replica (the list rotated),
		// so every replica has a stream to lose.
		rotated := append(append([]string{}, addrs[i:]...), addrs[:i]...)
		gws = append(gws, startManagedGateway(t, rotated, token, fmt.Sprintf("edge-%d", i)))
	}
	for i, g := range gws {
		if !servedBy(g.url("web")+"/api/x", "a") {
			t.Fatalf("gateway %d does not serve the config applied on another replica", i)
		}
	}

	var leader int
	waitFor(t, 20*time.Second, "one replica to lead", func() bool { leader = leaderOf(cps, alive); return leader >= 0 })
	other := (leader + 1) % 3
	cps[other].applyYAML(gatewayDoc(b))
	cps[leader].kill()
	alive[leader] = false
	for i, g := range gws {
		waitFor(t, 20*time.Second, fmt.Sprintf("gateway %d to converge after the leader died", i), func() bool {
			return servedBy(g.url("web")+"/api/x", "b")
		})
	}
	waitFor(t, 30*time.Second, "a surviving replica to take the leadership", func() bool { return leaderOf(cps, alive) >= 0 })
	cps[other].applyYAML(gatewayDoc(c))
	for i, g := range gws {
		waitFor(t, 10*time.Second, fmt.Sprintf("gateway %d to take a change after the failover", i), func() bool {
			return servedBy(g.url("web")+"/api/x", "c")
		})
	}

	for i := range cps {
		if alive[i] {
			cps[i].kill()
			alive[i] = false
		}
	}
	for range 20 {
		for i, g := range gws {
			if !servedBy(g.url("web")+"/api/x", "c") {
				t.Fatalf("gateway %d stopped serving with every control plane dead", i)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cps[0].start()
	alive[0] = true
	cps[0].applyYAML(gatewayDoc(d))
	for i, g := range gws {
		waitFor(t, 20*time.Second, fmt.Sprintf("gateway %d to reconnect to the restarted replica", i), func() bool {
			return servedBy(g.url("web")+"/api/x", "d")
		})
	}
}

package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// servedBy reports whether a GET of url is answered 200 by the echo
// instance named instance.
func servedBy(url, instance string) bool {
	code, b := body(url)
	var reply struct {
		Instance string `json:"instance"`
	}
	return code == http.StatusOK && json.Unmarshal([]byte(b), &reply) == nil && reply.Instance == instance
}

// TestControlPlanePushesToGateways: three managed gateways serve what the
// control plane holds; a change applied with `pylon ctl apply` reaches all
// of them; a config a gateway cannot apply is NACKed and the old one keeps
// serving there.
func TestControlPlanePushesToGateways(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	cp := startControl(t, "")
	cp.applyYAML(gatewayDoc(a))
	token := cp.joinToken("edge")
	var gws []*gateway
	for i := range 3 {
		gws = append(gws, startManagedGateway(t, []string{cp.listen}, token, fmt.Sprintf("edge-%d", i)))
	}
	for i, g := range gws {
		if !servedBy(g.url("web")+"/api/x", "a") {
			code, b := body(g.url("web") + "/api/x")
			t.Fatalf("gateway %d: got %d %q, want the request served by upstream a", i, code, b)
		}
	}

	began := time.Now()
	cp.applyYAML(gatewayDoc(b))
	for i, g := range gws {
		waitFor(t, 5*time.Second, fmt.Sprintf("gateway %d to serve the changed endpoint", i), func() bool {
			return servedBy(g.url("web")+"/api/x", "b")
		})
	}
	t.Logf("an applied change reached 3 gateways in %v", time.Since(began))

	waitFor(t, 5*time.Second, "every gateway to ACK the same version", func() bool {
		ns := cp.nodes()
		if len(ns) != 3 {
			return false
		}
		for _, n := range ns {
			if n.Acked == "" || n.Acked != ns[0].Acked || n.Kind != "gateway" || n.Identity != "spiffe://pylon.local/ns/default/svc/edge" {
				return false
			}
		}
		return true
	})

	// The control plane cannot read a gateway's files, so it stores a
	// service naming a CA bundle that is not there; every gateway refuses
	// that config and keeps serving the one before.
	bad := gatewayDoc(b) + "    tls: { ca: /nonexistent/pylon-test-ca.pem }\n"
	cp.applyYAML(bad)
	waitFor(t, 5*time.Second, "every gateway to NACK the config naming a missing file", func() bool {
		ns := cp.nodes()
		for _, n := range ns {
			if n.Nacked == "" || !strings.Contains(n.NackError, "/nonexistent/pylon-test-ca.pem") {
				return false
			}
		}
		return len(ns) == 3
	})
	for i, g := range gws {
		if !servedBy(g.url("web")+"/api/x", "b") {
			t.Errorf("gateway %d stopped serving its last good config after a NACK", i)
		}
	}
}

// TestGatewaysOutliveTheControlPlane: with the control plane gone,
// gateways keep serving; once it is back they reconnect and take changes.
func TestGatewaysOutliveTheControlPlane(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	cp := startControl(t, "")
	cp.applyYAML(gatewayDoc(a))
	g := startManagedGateway(t, []string{cp.listen}, cp.joinToken("edge"), "edge-0")
	if !servedBy(g.url("web")+"/api/x", "a") {
		t.Fatal("the managed gateway does not serve its config")
	}
	cp.kill()
	for range 20 {
		if !servedBy(g.url("web")+"/api/x", "a") {
			t.Fatal("the gateway stopped serving when its control plane died")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cp.start()
	cp.applyYAML(gatewayDoc(b))
	waitFor(t, 15*time.Second, "the gateway to reconnect and serve the change", func() bool {
		return servedBy(g.url("web")+"/api/x", "b")
	})
}

// TestJoinTokenRules: a bad token, a used-up one and an expired one are
// refused, and the gateway says why and exits 1.
func TestJoinTokenRules(t *testing.T) {
	cp := startControl(t, "")
	once := cp.joinToken("edge", "--uses", "1")
	startManagedGateway(t, []string{cp.listen}, once, "first")

	for name, tok := range map[string]string{
		"used up":   once,
		"unknown":   "0123abcd.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA." + strings.Split(once, ".")[2],
		"wrong pin": strings.Join(strings.Split(once, ".")[:2], ".") + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := runPylon(t, "gateway", "--control", cp.listen, "--join-token", tok, "--admin", "off")
			if code != 1 || !strings.Contains(stderr, "enroll") {
				t.Errorf("got exit %d, stderr %q; want exit 1 saying enrollment failed", code, tail(stderr, 2000))
			}
		})
	}
}

// TestCertificatesRenewWithoutFailedRequests: with 6-second certificates a
// managed gateway renews over mTLS several times while it serves a steady
// stream of requests, none of which fails, and keeps taking changes.
func TestCertificatesRenewWithoutFailedRequests(t *testing.T) {
	t.Parallel() // long and mostly waiting: see parallelTests in harness_test.go
	a, b := startEcho(t, "a"), startEcho(t, "b")
	cp := startControl(t, "", "--cert-ttl", "6s")
	cp.applyYAML(gatewayDoc(a))
	g := startManagedGateway(t, []string{cp.listen}, cp.joinToken("edge"), "edge-0")
	deadline := time.Now().Add(8 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		if !servedBy(g.url("web")+"/api/x", "a") {
			t.Fatalf("request %d failed while certificates rotated", n)
		}
		n++
		time.Sleep(5 * time.Millisecond)
	}
	if got := strings.Count(cp.stderr.String(), `"via":"renewal"`); got < 2 {
		t.Errorf("the control plane issued %d renewals in 8s of 6s certificates, want at least 2", got)
	}
	cp.applyYAML(gatewayDoc(b))
	waitFor(t, 5*time.Second, "the gateway to take a change after renewals", func() bool {
		return servedBy(g.url("web")+"/api/x", "b")
	})
	t.Logf("%d requests, none failed", n)
}

// TestRegisteredInstancesBecomeEndpoints: a service with no static
// endpoints gets the healthy instances registered for it; an instance whose
// lease lapses disappears from every gateway, and an unhealthy one takes no
// traffic.
func TestRegisteredInstancesBecomeEndpoints(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	cp := startControl(t, "")
	cp.applyYAML(strings.Replace(gatewayDoc("x"), "endpoints: [x]", "endpoints: []", 1))
	g := startManagedGateway(t, []string{cp.listen}, cp.joinToken("edge"), "edge-0")
	if code, _ := body(g.url("web") + "/api/x"); code != http.StatusServiceUnavailable {
		t.Fatalf("a service without endpoints answered %d, want 503", code)
	}
	register := func(id, addr, health, ttl string) {
		doc := fmt.Sprintf(`{"id": %q, "service": "api", "address": %q, "health": %q, "ttl": %q}`, id, addr, health, ttl)
		if code, resp := cp.api(http.MethodPost, "/v1/instances", []byte(doc)); code != http.StatusCreated {
			t.Fatalf("register %s: %d %s", id, code, resp)
		}
	}
	register("api-a", a, "healthy", "30s")
	register("api-b", b, "unhealthy", "2s")
	waitFor(t, 5*time.Second, "the gateway to route to the registered instance", func() bool {
		return servedBy(g.url("web")+"/api/x", "a")
	})
	for range 20 {
		if servedBy(g.url("web")+"/api/x", "b") {
			t.Fatal("an unhealthy instance got traffic")
		}
	}
	if code, resp := cp.api(http.MethodDelete, "/v1/instances/api/api-a", nil); code != http.StatusNoContent {
		t.Fatalf("deregister: %d %s", code, resp)
	}
	register("api-b", b, "healthy", "2s") // re-registered healthy, then left to lapse
	waitFor(t, 5*time.Second, "the gateway to follow the deregistration and the re-registration", func() bool {
		return servedBy(g.url("web")+"/api/x", "b")
	})
	waitFor(t, 10*time.Second, "the lapsed instance to leave the gateway", func() bool {
		code, _ := body(g.url("web") + "/api/x")
		return code == http.StatusServiceUnavailable
	})
}

// TestHUPDoesNotKill: the roles whose config does not come from a file
// ignore SIGHUP instead of dying of it.
func TestHUPDoesNotKill(t *testing.T) {
	cp := startControl(t, "")
	cp.applyYAML(gatewayDoc(startEcho(t, "a")))
	g := startManagedGateway(t, []string{cp.listen}, cp.joinToken("edge"), "edge-0")
	for _, p := range []*os.Process{cp.cmd.Process, g.cmd.Process} {
		if err := p.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if !servedBy(g.url("web")+"/api/x", "a") {
		t.Error("the managed gateway stopped serving after SIGHUP")
	}
	if code, _ := cp.api(http.MethodGet, "/v1/status", nil); code != http.StatusOK {
		t.Errorf("the control plane answered %d after SIGHUP", code)
	}
}

package test

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/internal/testpki"
)

// meshSidecar is one running `pylon sidecar`.
type meshSidecar struct {
	*gateway // the process handling (stop, logs, race check) is the same
	inbound  string
	outbound map[string]string // upstream -> loopback address
}

// startSidecar starts a sidecar for service in front of app, calling the
// given upstreams, and waits until it applied its first config.
func startSidecar(t *testing.T, cp *controlPlane, token, service, app string, extra []string, upstreams ...string) *meshSidecar {
	t.Helper()
	s := &meshSidecar{gateway: &gateway{t: t, dir: t.TempDir(), ports: map[string]string{}, admin: freeAddr(t),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}, inbound: freeAddr(t), outbound: map[string]string{}}
	args := []string{"sidecar", "--control", cp.listen, "--join-token", token, "--service", service, "--app", app,
		"--inbound", s.inbound, "--admin", s.admin, "--access-log", "stdout", "--drain-timeout", drainTimeout.String(), "--log-level", "debug",
		"--drain-delay", sidecarDrainDelay.String()}
	for _, u := range upstreams {
		s.outbound[u] = freeAddr(t)
		args = append(args, "--upstream", u+"="+s.outbound[u])
	}
	if !slices.Contains(extra, "--proxy") {
		args = append(args, "--proxy", "off") // many sidecars share this host's loopback
	}
	s.cmd = exec.Command(pylonBin, append(args, extra...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting pylon sidecar: %v", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.cleanup)
	s.waitReady()
	return s
}

// url is the base URL the app uses to call upstream through its sidecar.
func (s *meshSidecar) url(upstream string) string { return "http://" + s.outbound[upstream] }

// TestMeshHTTP: an app calls another service through two sidecars; the
// call crosses mutual TLS, the caller's identity reaches the callee's
// authorization, and a policy applied with pylon ctl turns 200 into 403
// within a second. The inbound port refuses plaintext and foreign
// certificates.
func TestMeshHTTP(t *testing.T) {
	cp := startControl(t, "")
	catalogApp := startEcho(t, "catalog-1")
	catalog := startSidecar(t, cp, cp.joinToken("catalog"), "catalog", catalogApp, []string{"--health-http", "/", "--cpus", "3"})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")

	waitFor(t, 10*time.Second, "orders to reach catalog through the mesh", func() bool {
		return servedBy(orders.url("catalog")+"/items/1", "catalog-1")
	})
	// Under traffic a sidecar raises its heap goal to a floor, so that it
	// collects garbage less often (internal/heapfloor); Go's
	// go_gc_gogc_percent shows it. Once idle, GOGC is Go's default again.
	// The GOGC seen is read while the load runs: the floor lets go soon
	// after it stops.
	l := startLoad(orders.url("catalog")+"/items/1", 4)
	var callerGOGC, calledGOGC float64
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		callerGOGC, calledGOGC = orders.metric("go_gc_gogc_percent"), catalog.metric("go_gc_gogc_percent")
		if callerGOGC > 100 && calledGOGC > 100 {
			break
		}
	}
	if total, failed, first := l.finish(); failed > 0 {
		t.Errorf("%d of %d requests through the mesh failed, the first: %s", failed, total, first)
	}
	if callerGOGC <= 100 || calledGOGC <= 100 {
		t.Errorf("under traffic, the sidecars' GOGC is %v (caller) and %v (called), want both raised over 100", callerGOGC, calledGOGC)
	}
	// A sidecar runs on one thread unless --cpus says otherwise. While it
	// carries traffic it holds one more P (internal/keepawake), which
	// GOMAXPROCS counts; it lets go soon after the traffic stops, as here.
	// Each look at the metrics is work for the sidecar too, so the looks
	// are far apart: a look every 20 ms kept a sidecar busy enough to hold.
	for _, c := range []struct {
		sc   *gateway
		want float64
		what string
	}{{orders.gateway, 1, "without --cpus"}, {catalog.gateway, 3, "with --cpus 3"}} {
		got := c.sc.metric("go_sched_gomaxprocs_threads")
		for end := time.Now().Add(15 * time.Second); got != c.want && time.Now().Before(end); {
			time.Sleep(500 * time.Millisecond)
			got = c.sc.metric("go_sched_gomaxprocs_threads")
		}
		if got != c.want {
			t.Errorf("a sidecar %s runs with GOMAXPROCS %v once idle, want %v", c.what, got, c.want)
		}
		gogc := c.sc.metric("go_gc_gogc_percent")
		for end := time.Now().Add(5 * time.Second); gogc != 100 && time.Now().Before(end); {
			time.Sleep(500 * time.Millisecond)
			gogc = c.sc.metric("go_gc_gogc_percent")
		}
		if gogc != 100 {
			t.Errorf("a sidecar %s runs with GOGC %v once idle, want 100", c.what, gogc)
		}
	}

	// Plaintext and a client without a mesh certificate get nowhere.
	if code, _ := body("http://" + catalog.inbound + "/items/1"); code != 0 {
		t.Errorf("plaintext HTTP to the inbound port answered %d, want the connection refused", code)
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := insecure.Get("https://" + catalog.inbound + "/items/1"); err == nil {
		resp.Body.Close()
		t.Errorf("TLS without a client certificate got an answer: %d", resp.StatusCode)
	}
	otherCA := testpki.NewCA(t) // the CA of another trust domain
	foreign := otherCA.Issue(t, "spiffe://other.example/ns/default/svc/orders")
	foreign.Certificate = append(foreign.Certificate, otherCA.Cert.Raw) // the whole chain, and still refused
	stranger := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{foreign}}}}
	if resp, err := stranger.Get("https://" + catalog.inbound + "/items/1"); err == nil {
		resp.Body.Close()
		t.Errorf("a certificate from another trust domain got an answer: %d", resp.StatusCode)
	}

	// An authorization policy selecting catalog that allows only the
	// gateway denies orders, within a second of the apply.
	cp.applyYAML(`authorization_policies:
  - name: catalog-gateway-only
    service: catalog
    action: allow
    from: [{ services: [edge] }]
`)
	began := time.Now()
	waitFor(t, 5*time.Second, "the policy to deny orders", func() bool {
		code, _ := body(orders.url("catalog") + "/items/1")
		return code == http.StatusForbidden
	})
	t.Logf("a policy took effect %v after the apply", time.Since(began))
	code, b := body(orders.url("catalog") + "/items/1")
	if code != http.StatusForbidden || errorCode(t, []byte(b)) != "forbidden" {
		t.Errorf("got %d %s, want 403 forbidden", code, b)
	}
	if !strings.Contains(catalog.stderr.String(), `"source":"spiffe://pylon.local/ns/default/svc/orders"`) {
		t.Error("the callee's log does not name the denied caller's identity")
	}
	cp.applyYAML(`authorization_policies:
  - name: catalog-gateway-only
    service: catalog
    action: allow
    from: [{ services: [edge, orders] }]
`)
	waitFor(t, 5*time.Second, "the widened policy to allow orders again", func() bool {
		return servedBy(orders.url("catalog")+"/items/1", "catalog-1")
	})
}

// TestMeshAdvertisedAddress: a sidecar listening on every address
// registers the address it advertises, and callers reach it there.
func TestMeshAdvertisedAddress(t *testing.T) {
	cp := startControl(t, "")
	port := freeAddr(t)[len("127.0.0.1:"):]
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"),
		[]string{"--inbound", "0.0.0.0:" + port, "--advertise", "127.0.0.1:" + port})
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	waitFor(t, 10*time.Second, "orders to reach catalog at its advertised address", func() bool {
		return servedBy(orders.url("catalog")+"/items/1", "catalog-1")
	})
	if got := cp.mustCtl("get", "instances", "-o", "json"); !strings.Contains(got, `"address": "127.0.0.1:`+port+`"`) {
		t.Errorf("the registry does not hold the advertised address 127.0.0.1:%s:\n%s", port, got)
	}
}

// TestMeshSidecarDeregistersOnStop: a stopped sidecar leaves the registry
// at once, so callers stop choosing it before its lease would lapse.
func TestMeshSidecarDeregistersOnStop(t *testing.T) {
	cp := startControl(t, "")
	catalog := startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
	waitFor(t, 10*time.Second, "catalog to register healthy", func() bool {
		_, b := cp.api(http.MethodGet, "/v1/instances?service=catalog", nil)
		return strings.Contains(string(b), `"health": "healthy"`)
	})
	if err := catalog.stop(); err != nil {
		t.Fatalf("stopping the sidecar: %v", err)
	}
	_, b := cp.api(http.MethodGet, "/v1/instances?service=catalog", nil)
	if strings.Contains(string(b), `"service": "catalog"`) {
		t.Errorf("a stopped sidecar is still registered: %s", b)
	}
}

// TestGatewayInFrontOfTheMesh: a managed gateway routes to a service that
// has only mesh instances, over mutual TLS with its own identity, and the
// callee's authorization sees the gateway's identity.
func TestGatewayInFrontOfTheMesh(t *testing.T) {
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
	cp.applyYAML(strings.Replace(strings.Replace(gatewayDoc("x"), "endpoints: [x]", "endpoints: []", 1), "service: api", "service: catalog", 1) +
		"  - name: catalog\n" + `authorization_policies:
  - name: catalog-from-edge
    service: catalog
    action: allow
    from: [{ services: [edge] }]
`)
	g := startManagedGateway(t, []string{cp.listen}, cp.joinToken("edge"), "edge-0")
	waitFor(t, 10*time.Second, "the gateway to reach catalog through its sidecar", func() bool {
		return servedBy(g.url("web")+"/api/x", "catalog-1")
	})
}

// kill ends the process at once, as a crash would; its cleanup then
// expects nothing more of it.
func (g *gateway) kill() {
	g.cmd.Process.Kill()
	<-g.done
	g.stopped, g.waitErr = true, nil
}

// TestMeshInstanceKilledUnderLoad: with two instances behind sidecars, one
// crashing under load fails no idempotent request; its replacement gets
// traffic back gradually, the slow start showing in the caller's metrics.
func TestMeshInstanceKilledUnderLoad(t *testing.T) {
	cp := startControl(t, "")
	cp.applyYAML("services:\n  - name: catalog\n    health: { slow_start: 3s }\n")
	tok := cp.joinToken("catalog")
	startSidecar(t, cp, tok, "catalog", startEcho(t, "catalog-1"), nil)
	doomed := startSidecar(t, cp, tok, "catalog", startEcho(t, "catalog-2"), nil)
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	for _, inst := range []string{"catalog-1", "catalog-2"} {
		waitFor(t, 10*time.Second, "orders to reach "+inst, func() bool { return servedBy(orders.url("catalog")+"/x", inst) })
	}

	l := startLoad(orders.url("catalog")+"/x", 8)
	time.Sleep(500 * time.Millisecond)
	doomed.kill()
	time.Sleep(1500 * time.Millisecond)
	replacement := startSidecar(t, cp, tok, "catalog", startEcho(t, "catalog-3"), nil)
	endpoint := `pylon_upstream_endpoint_weight{endpoint="` + replacement.inbound + `",service="catalog"}`
	var ramp []float64
	waitFor(t, 10*time.Second, "the replacement's weight to ramp up to its full weight", func() bool {
		w, ok := metricValue(orders.get("/metrics"), endpoint)
		if ok && (len(ramp) == 0 || w != ramp[len(ramp)-1]) {
			ramp = append(ramp, w)
		}
		return ok && w == 1
	})
	waitFor(t, 5*time.Second, "the replacement to take traffic", func() bool { return servedBy(orders.url("catalog")+"/x", "catalog-3") })
	total, failed, first := l.finish()
	if failed != 0 {
		t.Errorf("%d of %d idempotent requests failed while an instance crashed and was replaced; the first: %s", failed, total, first)
	}
	if len(ramp) < 2 || ramp[0] >= 1 {
		t.Errorf("the replacement's weight went %v, want a ramp from below 1 up to 1 (slow start)", ramp)
	}
	t.Logf("%d requests, none failed; the replacement's weight rose from %.2f to 1 over %d scrapes", total, ramp[0], len(ramp))
}

// metricValue finds the sample line starting with name{labels} in a
// Prometheus text exposition.
func metricValue(exposition, series string) (float64, bool) {
	for _, l := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// TestMeshOutlivesTheControlPlane: with the control plane gone, traffic
// through the mesh keeps flowing; once it is back, sidecars reconnect and
// take changes again.
func TestMeshOutlivesTheControlPlane(t *testing.T) {
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	waitFor(t, 10*time.Second, "orders to reach catalog", func() bool { return servedBy(orders.url("catalog")+"/x", "catalog-1") })
	cp.kill()
	for i := range 50 {
		if !servedBy(orders.url("catalog")+"/x", "catalog-1") {
			t.Fatalf("request %d failed with the control plane down", i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cp.start()
	cp.applyYAML("authorization_policies:\n  - {name: deny-orders, service: catalog, action: deny, from: [{services: [orders]}]}\n")
	waitFor(t, 20*time.Second, "the sidecars to reconnect and apply a change", func() bool {
		code, _ := body(orders.url("catalog") + "/x")
		return code == http.StatusForbidden
	})
}

// TestMeshPermissiveMode: a service in permissive mode also takes callers
// outside the mesh, in plaintext, counted in a metric; its authorization
// policies still apply to them, as callers with no identity.
func TestMeshPermissiveMode(t *testing.T) {
	cp := startControl(t, "")
	cp.applyYAML("services:\n  - name: catalog\n    mtls: permissive\n")
	catalog := startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	waitFor(t, 10*time.Second, "a plaintext caller to reach catalog", func() bool {
		return servedBy("http://"+catalog.inbound+"/x", "catalog-1")
	})
	waitFor(t, 10*time.Second, "orders to reach catalog over mTLS", func() bool { return servedBy(orders.url("catalog")+"/x", "catalog-1") })
	if v, ok := metricValue(catalog.get("/metrics"), "pylon_mesh_plaintext_connections_total"); !ok || v < 1 {
		t.Errorf("plaintext connections counted: %v, %v", v, ok)
	}
	if v, ok := metricValue(catalog.get("/metrics"), `pylon_mesh_requests_total{class="2xx",destination="catalog",direction="inbound",source="plaintext"}`); !ok || v < 1 {
		t.Errorf("the plaintext caller's edge was not counted: %v, %v", v, ok)
	}
	cp.applyYAML("authorization_policies:\n  - {name: only-orders, service: catalog, action: allow, from: [{services: [orders]}]}\n")
	waitFor(t, 5*time.Second, "the policy to refuse the plaintext caller", func() bool {
		code, _ := body("http://" + catalog.inbound + "/x")
		return code == http.StatusForbidden
	})
	if !servedBy(orders.url("catalog")+"/x", "catalog-1") {
		t.Error("the policy refused the mesh caller it allows")
	}
}

// TestMeshHTTPProxyMode: an app that uses its sidecar as an HTTP proxy
// reaches its upstreams by name, http://<service>/...
func TestMeshHTTPProxyMode(t *testing.T) {
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
	proxyAddr := freeAddr(t)
	startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), []string{"--proxy", proxyAddr}, "catalog")
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: proxyAddr})}}
	get := func(u string) (int, string) {
		resp, err := client.Get(u)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor(t, 10*time.Second, "http://catalog/ through the proxy listener", func() bool {
		code, b := get("http://catalog/items/1")
		return code == http.StatusOK && strings.Contains(b, `"instance": "catalog-1"`)
	})
	if code, b := get("http://billing/x"); code != http.StatusNotFound {
		t.Errorf("a service the sidecar does not call: got %d %s, want 404", code, b)
	}
}

// TestMeshExpiredCertificate: a sidecar whose certificate expired (its
// control plane gone, so no renewal) cannot be called, and says so in its
// log and its /ready.
func TestMeshExpiredCertificate(t *testing.T) {
	cp := startControl(t, "", "--cert-ttl", "4s")
	catalog := startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	waitFor(t, 10*time.Second, "orders to reach catalog", func() bool { return servedBy(orders.url("catalog")+"/x", "catalog-1") })
	cp.kill()
	waitFor(t, 15*time.Second, "catalog's /ready to fail once its certificate expired", func() bool {
		resp, err := http.Get(catalog.adminURL() + "/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	if code, _ := body(orders.url("catalog") + "/x"); code == http.StatusOK {
		t.Error("a sidecar with an expired certificate was still called")
	}
	waitFor(t, 5*time.Second, "the expiry in catalog's log", func() bool {
		return strings.Contains(catalog.stderr.String(), "certificate expired")
	})
}

// TestMeshViews: pylon ctl shows how the callers' sidecars see a service's
// instances: healthy, and ejected once the instance fails.
func TestMeshViews(t *testing.T) {
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
	orders := startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), nil, "catalog")
	waitFor(t, 10*time.Second, "orders to reach catalog", func() bool { return servedBy(orders.url("catalog")+"/x", "catalog-1") })
	waitFor(t, 15*time.Second, "orders' view of catalog in pylon ctl get views", func() bool {
		code, out, _ := cp.ctl("get", "views", "catalog")
		return code == 0 && strings.Contains(out, "orders/") && strings.Contains(out, "true")
	})
	code, out, errs := cp.ctl("get", "views", "catalog", "-o", "json")
	if code != 0 || !strings.Contains(out, `"caller"`) || !strings.Contains(out, `"healthy": true`) {
		t.Errorf("get views -o json: exit %d\n%s\n%s", code, out, errs)
	}
}

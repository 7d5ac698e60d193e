package test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netns is a network namespace joined to the root namespace by a veth pair:
// the root end has .1 and the namespace end .2 of a /24.
type netns struct {
	name, root, addr string // addr: the namespace's own address
}

// run runs a command and fails the test on error.
func run(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// newNetns makes a namespace on subnet 10.250.<n>.0/24, routed through the
// root namespace, and removes it when the test ends.
func newNetns(t *testing.T, n int) *netns {
	t.Helper()
	ns := &netns{name: fmt.Sprintf("pylon%d-%d", os.Getpid(), n), root: fmt.Sprintf("10.250.%d.1", n), addr: fmt.Sprintf("10.250.%d.2", n)}
	outer, inner := fmt.Sprintf("pyv%d-%d", os.Getpid()%10000, n), "eth0"
	run(t, "ip", "netns", "add", ns.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
	run(t, "ip", "link", "add", outer, "type", "veth", "peer", "name", inner, "netns", ns.name)
	run(t, "ip", "addr", "add", ns.root+"/24", "dev", outer)
	run(t, "ip", "link", "set", outer, "up")
	in := func(args ...string) { run(t, append([]string{"ip", "netns", "exec", ns.name}, args...)...) }
	in("ip", "addr", "add", ns.addr+"/24", "dev", inner)
	in("ip", "link", "set", inner, "up")
	in("ip", "link", "set", "lo", "up")
	in("ip", "route", "add", "default", "via", ns.root)
	return ns
}

// TestMeshAcrossNetworkNamespaces: sidecars in their own network
// namespaces, joined by veth links, so mesh traffic crosses real
// interfaces between distinct addresses; each app listens on its own
// namespace's loopback, reachable only through its sidecar. It needs root
// (CI runs as root) and skips elsewhere.
func TestMeshAcrossNetworkNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("creating network namespaces needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("the ip command (iproute2) is not installed")
	}
	fwd, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Skip("cannot read net.ipv4.ip_forward")
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		t.Skipf("cannot enable forwarding between namespaces: %v", err)
	}
	t.Cleanup(func() { os.WriteFile("/proc/sys/net/ipv4/ip_forward", fwd, 0o644) })
	a, b := newNetns(t, 1), newNetns(t, 2)

	upstream := filepath.Join(t.TempDir(), "upstream")
	if out, err := exec.Command("go", "build", "-o", upstream, "../examples/upstream").CombinedOutput(); err != nil {
		t.Fatalf("building the example upstream: %v\n%s", err, out)
	}
	port := freeAddr(t)[len("127.0.0.1:"):]
	cp := startControl(t, "", "--listen", a.root+":"+port)
	cp.listen = a.root + ":" + port

	// catalog's app on namespace b's loopback, its sidecar on b's address.
	app := exec.Command("ip", "netns", "exec", b.name, upstream, "-addr", "127.0.0.1:18080", "-name", "catalog-1")
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Process.Kill(); app.Wait() })
	startSidecarIn(t, cp, b, "catalog", "127.0.0.1:18080", nil)
	startSidecarIn(t, cp, a, "orders", "127.0.0.1:18081", []string{"--upstream", "catalog=" + a.addr + ":7001"})

	waitFor(t, 15*time.Second, "orders in one namespace to reach catalog in another", func() bool {
		return servedBy("http://"+a.addr+":7001/items/1", "catalog-1")
	})
	_, body := cp.api(http.MethodGet, "/v1/instances?service=catalog", nil)
	if !strings.Contains(string(body), `"address": "`+b.addr+`:15006"`) {
		t.Errorf("catalog registered %s, want its namespace's address %s:15006", body, b.addr)
	}
	if resp, err := http.Get("http://" + b.addr + ":15006/"); err == nil {
		resp.Body.Close()
		t.Error("the inbound port answered plaintext across namespaces")
	}
}

// startSidecarIn starts a sidecar inside ns, listening on ns's address.
func startSidecarIn(t *testing.T, cp *controlPlane, ns *netns, service, app string, extra []string) *meshSidecar {
	t.Helper()
	s := &meshSidecar{gateway: &gateway{t: t, dir: t.TempDir(), ports: map[string]string{}, admin: ns.addr + ":15020",
		stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}, inbound: ns.addr + ":15006", outbound: map[string]string{}}
	args := append([]string{"netns", "exec", ns.name, pylonBin, "sidecar", "--control", cp.listen, "--join-token", cp.joinToken(service),
		"--service", service, "--app", app, "--inbound", s.inbound, "--admin", s.admin, "--drain-timeout", drainTimeout.String(),
		"--drain-delay", sidecarDrainDelay.String()}, extra...)
	s.cmd = exec.Command("ip", args...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting a sidecar in %s: %v", ns.name, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.cleanup)
	s.waitReady()
	return s
}

package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// certsState is what `pylon ctl get certs -o json` prints.
type certsState struct {
	Pin   string `json:"pin"`
	Roots []struct {
		SHA256      string    `json:"sha256"`
		State       string    `json:"state"`
		ActivatesAt time.Time `json:"activates_at"`
		RetiresAt   time.Time `json:"retires_at"`
	} `json:"roots"`
}

func (c *controlPlane) certs() certsState {
	c.t.Helper()
	var s certsState
	if err := json.Unmarshal([]byte(c.mustCtl("get", "certs", "-o", "json")), &s); err != nil {
		c.t.Fatalf("pylon ctl get certs -o json: %v", err)
	}
	return s
}

// states returns each root's sha256 and state, in order.
func (s certsState) states() [][2]string {
	var out [][2]string
	for _, r := range s.Roots {
		out = append(out, [2]string{r.SHA256, r.State})
	}
	return out
}

// logLine is a line of the control plane's log, as far as these tests
// read it.
type logLine struct {
	Time    time.Time `json:"time"`
	Msg     string    `json:"msg"`
	ID      string    `json:"id"`
	RootPin string    `json:"root_pin"`
}

// loggedSince reports whether the control plane logged a line matching
// want at or after t.
func (c *controlPlane) loggedSince(t time.Time, want func(logLine) bool) bool {
	sc := bufio.NewScanner(strings.NewReader(c.stderr.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && !l.Time.Before(t) && want(l) {
			return true
		}
	}
	return false
}

// servingRenewed matches the control plane renewing its serving
// certificate from the root with pin.
func servingRenewed(pin string) func(logLine) bool {
	return func(l logLine) bool { return l.Msg == "renewed the serving certificate" && l.RootPin == pin }
}

// requestLoop GETs path on every gateway in turn until stop is closed,
// counting the answers that are not 200.
type requestLoop struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	firstFailure string
}

func (l *requestLoop) run(urls []string, stop <-chan struct{}, done *sync.WaitGroup) {
	defer done.Done()
	for {
		for _, u := range urls {
			select {
			case <-stop:
				return
			default:
			}
			code, body := body(u)
			l.sent.Add(1)
			if code != http.StatusOK && l.failed.Add(1) == 1 {
				l.mu.Lock()
				l.firstFailure = fmt.Sprintf("%s: %d %q", u, code, body)
				l.mu.Unlock()
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCARotationStrandsNoDataPlane rotates the CA of a control plane with
// 6-second certificates and a 3-second propagation window (so the old
// root retires 3+12 seconds after the rotation) while two managed
// gateways serve a steady request loop:
//   - no request fails, and the gateways keep taking config changes;
//   - after the activation every gateway's certificate comes from the new
//     CA, and after the overlap only the new root is left;
//   - a gateway stopped before the rotation and started again with the
//     same join token after the activation still enrolls: the control
//     plane's serving chain stays on the old root, which its token pins,
//     until that root retires;
//   - once the old root retired, that token no longer works (its pin names
//     a root nobody serves) and a fresh token does.
func TestCARotationStrandsNoDataPlane(t *testing.T) {
	t.Parallel() // long and mostly waiting: see parallelTests in harness_test.go
	a, b := startEcho(t, "a"), startEcho(t, "b")
	cp := startControl(t, "", "--cert-ttl", "6s", "--ca-propagation", "3s")
	cp.applyYAML(gatewayDoc(a))
	var gws []*gateway
	for i := range 2 {
		svc := fmt.Sprintf("edge-%d", i)
		gws = append(gws, startManagedGateway(t, []string{cp.listen}, cp.joinToken(svc), svc))
	}
	offlineToken := cp.joinToken("edge-offline", "--uses", "5")
	if err := startManagedGateway(t, []string{cp.listen}, offlineToken, "edge-offline").stop(); err != nil {
		t.Fatalf("stopping the gateway that sits out the rotation: %v", err)
	}

	loop := &requestLoop{}
	stop := make(chan struct{})
	var looping sync.WaitGroup
	looping.Add(1)
	go loop.run([]string{gws[0].url("web") + "/api/x", gws[1].url("web") + "/api/x"}, stop, &looping)
	stopLoop := sync.OnceFunc(func() { close(stop); looping.Wait() })
	defer stopLoop()

	before := cp.certs()
	cp.mustCtl("certs", "rotate")
	rotated := cp.certs()
	if len(rotated.Roots) != 2 {
		t.Fatalf("got roots %v after the rotation, want the old and the new", rotated.states())
	}
	next := rotated.Roots[1]
	// The old root issues until the activation; the pin stays on it.
	want := [][2]string{{before.Pin, "active"}, {next.SHA256, "next"}}
	if diff := cmp.Diff(want, rotated.states()); diff != "" {
		t.Fatalf("roots after the rotation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before.Pin, rotated.Pin); diff != "" {
		t.Errorf("pin after the rotation (-want +got):\n%s", diff)
	}
	table := cp.mustCtl("certs")
	if !strings.Contains(table, "STATE") || !strings.Contains(table, "next") {
		t.Errorf("pylon ctl certs shows\n%s\nwant a STATE column with the next root", table)
	}

	activation, retirement := next.ActivatesAt, rotated.Roots[0].RetiresAt
	waitFor(t, time.Until(activation)+5*time.Second, "the new root to activate", func() bool {
		s := cp.certs()
		return len(s.Roots) == 2 && s.Roots[0].SHA256 == next.SHA256 && s.Roots[0].State == "active"
	})
	// The serving certificate lives 6s and renews at half that: it has
	// been renewed since the activation, and still chains to the old root.
	waitFor(t, 5*time.Second, "the control plane to renew its serving certificate after the activation", func() bool {
		return cp.loggedSince(activation, servingRenewed(before.Pin))
	})
	back := startManagedGateway(t, []string{cp.listen}, offlineToken, "edge-offline")
	if time.Now().After(retirement) {
		t.Fatalf("the stopped gateway came back after the old root retired (%v); the test machine is too slow for this timing", retirement)
	}
	t.Logf("the gateway offline through the propagation window enrolled again %v after the activation", time.Since(activation).Round(time.Millisecond))
	gws = append(gws, back)

	cp.applyYAML(gatewayDoc(b))
	for i, g := range gws {
		waitFor(t, 5*time.Second, fmt.Sprintf("gateway %d to take a change after the activation", i), func() bool {
			return servedBy(g.url("web")+"/api/x", "b")
		})
	}
	for _, svc := range []string{"edge-0", "edge-1", "edge-offline"} {
		id := "spiffe://pylon.local/ns/default/svc/" + svc
		waitFor(t, 10*time.Second, id+" to get a certificate from the new CA", func() bool {
			return cp.loggedSince(activation, func(l logLine) bool { return l.Msg == "issued certificate" && l.ID == id })
		})
	}

	waitFor(t, time.Until(retirement)+5*time.Second, "the old root to retire", func() bool {
		s := cp.certs()
		return len(s.Roots) == 1 && s.Roots[0].SHA256 == next.SHA256 && s.Pin == next.SHA256
	})
	waitFor(t, 5*time.Second, "the control plane's serving certificate to move to the new root", func() bool {
		return cp.loggedSince(retirement, servingRenewed(next.SHA256))
	})
	cp.applyYAML(gatewayDoc(a))
	for i, g := range gws {
		waitFor(t, 5*time.Second, fmt.Sprintf("gateway %d to take a change after the old root retired", i), func() bool {
			return servedBy(g.url("web")+"/api/x", "a")
		})
	}

	// A data plane offline for the whole overlap holds only the retired
	// root: its token's pin no longer matches, and it needs a fresh one.
	code, _, stderr := runPylon(t, "gateway", "--control", cp.listen, "--join-token", offlineToken, "--admin", "off")
	if code != 1 || !strings.Contains(stderr, "does not match the join token's pin") {
		t.Errorf("a gateway with a token from before the rotation, after the overlap: got exit %d, stderr %q; want exit 1 and a pin mismatch",
			code, tail(stderr, 2000))
	}
	fresh := startManagedGateway(t, []string{cp.listen}, cp.joinToken("edge-offline"), "edge-late")
	if !servedBy(fresh.url("web")+"/api/x", "a") {
		t.Errorf("a gateway enrolled with a fresh token after the overlap does not serve the config")
	}

	stopLoop()
	if n := loop.failed.Load(); n != 0 {
		t.Errorf("%d of %d requests failed during the rotation; the first: %s", n, loop.sent.Load(), loop.firstFailure)
	}
	t.Logf("%d requests through the rotation, none failed", loop.sent.Load())
}

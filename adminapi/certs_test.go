package adminapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/store"
)

func currents(c adminapi.Certs) []bool {
	out := make([]bool, len(c.Roots))
	for i, r := range c.Roots {
		out[i] = r.Current
	}
	return out
}

// current returns the current root's sha256 and the others'.
func current(c adminapi.Certs) (cur string, others []string) {
	for _, r := range c.Roots {
		if r.Current {
			cur = r.SHA256
		} else {
			others = append(others, r.SHA256)
		}
	}
	return cur, others
}

func TestCertsRotate(t *testing.T) {
	h := newHarness(t)
	var before adminapi.Certs
	decode(t, h.do(t, "GET", "/v1/certs", ""), &before)
	if diff := cmp.Diff([]bool{true}, currents(before)); diff != "" {
		t.Fatalf("roots before rotation, current flags (-want +got):\n%s", diff)
	}
	old := before.Roots[0].SHA256
	if diff := cmp.Diff(old, before.Pin); diff != "" || old == "" {
		t.Errorf("pin is the current root's sha256 (-want +got):\n%s", diff)
	}
	if r := before.Roots[0]; !r.NotBefore.Before(r.NotAfter) || r.Subject == "" {
		t.Errorf("got root %+v, want a subject and NotBefore before NotAfter", r)
	}

	resp := h.do(t, "POST", "/v1/certs/rotate", "")
	want(t, resp, http.StatusOK, "")
	var rotated adminapi.Certs
	decode(t, resp, &rotated)
	if diff := cmp.Diff([]bool{true, false}, currents(rotated)); diff != "" {
		t.Fatalf("roots after rotation, current first (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(rotated.Roots, func(r adminapi.Root) bool { return r.SHA256 == rotated.Pin }) {
		t.Errorf("got pin %q after rotation, want one of the roots' %+v", rotated.Pin, rotated.Roots)
	}

	// However long the CA waits before the new root issues, it does by
	// now, and the old root is still trusted (for twice the leaf TTL).
	h.clock.advance(10 * time.Minute)
	var after adminapi.Certs
	decode(t, h.do(t, "GET", "/v1/certs", ""), &after)
	cur, others := current(after)
	if cur == old || cur == "" {
		t.Errorf("got current root %q, want the new one (the old was %q)", cur, old)
	}
	if diff := cmp.Diff([]string{old}, others); diff != "" {
		t.Errorf("roots besides the current (-want +got):\n%s", diff)
	}
}

func TestNodesAndStatus(t *testing.T) {
	h := newHarness(t)
	var nodes struct {
		Items []map[string]string `json:"items"`
	}
	decode(t, h.do(t, "GET", "/v1/nodes", ""), &nodes)
	if diff := cmp.Diff(fixedNodes, nodes.Items); diff != "" {
		t.Errorf("nodes (-want +got):\n%s", diff)
	}
	var status map[string]any
	decode(t, h.do(t, "GET", "/v1/status", ""), &status)
	if diff := cmp.Diff(fixedStatus, status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

func TestNodesUnavailable(t *testing.T) {
	h := newHarness(t, func(o *adminapi.Options) {
		o.Nodes = func(context.Context) (any, error) { return nil, fmt.Errorf("list nodes: %w", store.ErrClosed) }
	})
	want(t, h.do(t, "GET", "/v1/nodes", ""), http.StatusServiceUnavailable, "unavailable")
}

// rootStates returns each root's sha256 and state, with the time that
// state names, relative to from.
func rootStates(c adminapi.Certs, from time.Time) [][3]string {
	var out [][3]string
	for _, r := range c.Roots {
		at := "-"
		switch {
		case !r.ActivatesAt.IsZero():
			at = "activates +" + r.ActivatesAt.Sub(from).String()
		case !r.RetiresAt.IsZero():
			at = "retires +" + r.RetiresAt.Sub(from).String()
		}
		out = append(out, [3]string{r.SHA256, r.State, at})
	}
	return out
}

// TestCertsRotationStates: each root's state through a rotation with the
// defaults (a minute's propagation, an overlap of twice the 12h leaves),
// and the pin staying on the old root until it retires.
func TestCertsRotationStates(t *testing.T) {
	h := newHarness(t)
	var before adminapi.Certs
	decode(t, h.do(t, "GET", "/v1/certs", ""), &before)
	old := before.Pin
	rotatedAt := h.clock.now().UTC()
	var rotated adminapi.Certs
	decode(t, h.do(t, "POST", "/v1/certs/rotate", ""), &rotated)
	next := rotated.Roots[1].SHA256
	steps := []struct {
		name    string
		advance time.Duration
		pin     string
		states  [][3]string
	}{
		{"rotated", 0, old, [][3]string{{old, "active", "retires +24h1m0s"}, {next, "next", "activates +1m0s"}}},
		{"activated", time.Minute, old, [][3]string{{next, "active", "-"}, {old, "retiring", "retires +24h1m0s"}}},
		{"retired", 24 * time.Hour, next, [][3]string{{next, "active", "-"}}},
	}
	for _, s := range steps {
		h.clock.advance(s.advance)
		var got adminapi.Certs
		decode(t, h.do(t, "GET", "/v1/certs", ""), &got)
		if diff := cmp.Diff(s.states, rootStates(got, rotatedAt)); diff != "" {
			t.Errorf("%s: roots (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.pin, got.Pin); diff != "" {
			t.Errorf("%s: pin (-want +got):\n%s", s.name, diff)
		}
	}
}

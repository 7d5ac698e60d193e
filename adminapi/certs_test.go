package adminapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

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

func TestCertsRotate(t *testing.T) {
	h := newHarness(t)
	var before adminapi.Certs
	decode(t, h.do(t, "GET", "/v1/certs", ""), &before)
	if diff := cmp.Diff([]bool{true}, currents(before)); diff != "" {
		t.Fatalf("roots before rotation, current flags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before.Roots[0].SHA256, before.Pin); diff != "" || before.Pin == "" {
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
		t.Fatalf("roots after rotation, current flags (-want +got):\n%s", diff)
	}
	if rotated.Roots[0].SHA256 == before.Pin {
		t.Errorf("got the old root still current after rotation")
	}
	if diff := cmp.Diff([2]string{rotated.Roots[0].SHA256, before.Pin}, [2]string{rotated.Pin, rotated.Roots[1].SHA256}); diff != "" {
		t.Errorf("pin and the old root after rotation (-want +got):\n%s", diff)
	}

	var after adminapi.Certs
	decode(t, h.do(t, "GET", "/v1/certs", ""), &after)
	if diff := cmp.Diff(rotated, after); diff != "" {
		t.Errorf("GET /v1/certs after rotation (-rotate answer +GET):\n%s", diff)
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

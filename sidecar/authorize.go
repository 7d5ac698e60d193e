package sidecar

import (
	"log/slog"
	"sync/atomic"

	"github.com/pylon-mesh/pylon/authz"
	"github.com/pylon-mesh/pylon/flow"
	"github.com/pylon-mesh/pylon/meshtls"
	"github.com/pylon-mesh/pylon/proxy"
)

// authorizer checks every inbound request and tunnel against the
// authorization policies that select this service.
type authorizer struct {
	self   string // this sidecar's SPIFFE ID, for log lines
	engine atomic.Pointer[authz.Engine]
	log    *slog.Logger
}

// authorize is the inbound listener's Authorize hook.
func (a *authorizer) authorize(acc *proxy.Access) *flow.Error {
	e := a.engine.Load()
	if e == nil || !e.Selected() {
		return nil
	}
	src, _ := meshtls.PeerID(acc.Peer)
	d := e.Decide(authz.Request{Source: src, L4: acc.Method == "CONNECT", Method: acc.Method, Path: acc.Path, Header: acc.Values})
	if d.Allowed {
		return nil
	}
	source := "plaintext caller"
	if !src.IsZero() {
		source = src.String()
	}
	a.log.Warn("authorization denied", "source", source, "destination", a.self, "method", acc.Method, "path", acc.Path,
		"policy", d.Policy, "reason", d.Reason)
	return flow.New(403, flow.CodeForbidden, source+" may not call "+a.self+": "+d.Reason)
}

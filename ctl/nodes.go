package ctl

import (
	"context"
	"net/http"
)

// runNodes: nodes.
func runNodes(ctx context.Context, s *session, args []string) error {
	if len(args) > 0 {
		return usageErrorf("nodes takes no arguments")
	}
	k, _ := kindOf("nodes")
	return s.show(ctx, k, "")
}

// runCerts: certs [rotate].
func runCerts(ctx context.Context, s *session, args []string) error {
	k, _ := kindOf("certs")
	switch {
	case len(args) == 0:
		return s.show(ctx, k, "")
	case len(args) > 1 || args[0] != "rotate":
		return usageErrorf("certs takes no argument but rotate")
	}
	doc, err := s.client.Do(ctx, http.MethodPost, "/v1/certs/rotate", nil, nil, "")
	if err != nil {
		return err
	}
	s.notef("rotated: the new root is trusted now and issues from its activation; the old one stays trusted, and join tokens keep pinning it, until it retires (see STATE)")
	if s.output != "table" {
		return s.printDoc(doc)
	}
	f, err := listIn(doc, "roots", "POST /v1/certs/rotate")
	if err != nil {
		return err
	}
	return s.printItems(k, f)
}

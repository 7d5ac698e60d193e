package ctl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// tokenRequest is the body of POST /v1/tokens.
type tokenRequest struct {
	Kind        string `json:"kind"`
	Service     string `json:"service,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	MaxUses     int    `json:"max_uses,omitempty"`
	TTL         string `json:"ttl,omitempty"`
	Description string `json:"description,omitempty"`
}

// setupTokenCreate: token create --service S [--namespace N] [--uses N]
// [--ttl D] [--admin] [--description D].
func setupTokenCreate(fs *flag.FlagSet) runFunc {
	var req tokenRequest
	fs.StringVar(&req.Service, "service", "", "the service a workload joining with the token runs (required for a join token)")
	fs.StringVar(&req.Namespace, "namespace", "", "the service's namespace (default \"default\")")
	fs.IntVar(&req.MaxUses, "uses", 0, "how many times the token can be redeemed; 0 is unlimited")
	ttl := fs.Duration("ttl", 0, "how long the token is valid, like 24h; 0 is forever")
	admin := fs.Bool("admin", false, "create an admin token (for this API) instead of a join token")
	fs.StringVar(&req.Description, "description", "", "a note kept with the token")
	return func(ctx context.Context, s *session, args []string) error {
		if len(args) > 0 {
			return usageErrorf("token create takes no arguments but its flags")
		}
		req.Kind = "join"
		if *admin {
			req.Kind = "admin"
		}
		switch {
		case !*admin && req.Service == "":
			return usageErrorf("token create needs --service (or --admin)")
		case *ttl < 0, req.MaxUses < 0:
			return usageErrorf("--ttl and --uses must not be negative")
		case *ttl > 0:
			req.TTL = ttl.String()
		}
		return s.createToken(ctx, req)
	}
}

func (s *session) createToken(ctx context.Context, req tokenRequest) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode token request: %w", err)
	}
	doc, err := s.client.Do(ctx, http.MethodPost, "/v1/tokens", nil, body, "application/json")
	if err != nil {
		return err
	}
	if s.output != "table" {
		return s.printDoc(doc)
	}
	var created struct {
		Token string `json:"token"`
		Info  struct {
			ID      string    `json:"id"`
			Expires time.Time `json:"expires"`
		} `json:"info"`
	}
	if err := json.Unmarshal(doc, &created); err != nil {
		return fmt.Errorf("read the answer to token create: %w", err)
	}
	if created.Token == "" {
		return fmt.Errorf("read the answer to token create: no token in %.200q", doc)
	}
	s.notef("created %s token %s (expires: %s)", req.Kind, created.Info.ID, expires(s.now(), created.Info.Expires))
	_, err = fmt.Fprintln(s.stdout, created.Token)
	return err
}

// runTokenList: token list.
func runTokenList(ctx context.Context, s *session, args []string) error {
	if len(args) > 0 {
		return usageErrorf("token list takes no arguments")
	}
	k, _ := kindOf("tokens")
	return s.show(ctx, k, "")
}

// runTokenRevoke: token revoke <id>.
func runTokenRevoke(ctx context.Context, s *session, args []string) error {
	if len(args) != 1 {
		return usageErrorf("token revoke takes one token id")
	}
	return s.revoke(ctx, args[0])
}

func (s *session) revoke(ctx context.Context, id string) error {
	if _, err := s.client.Do(ctx, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil, ""); err != nil {
		return err
	}
	_, err := fmt.Fprintf(s.stdout, "token/%s revoked\n", id)
	return err
}

package ctl

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// runDelete: delete <kind> <name>. Deleting a token revokes it.
func runDelete(ctx context.Context, s *session, args []string) error {
	if len(args) != 2 {
		return usageErrorf("delete takes a kind and a name")
	}
	if k, err := kindOf(args[0]); err == nil && k.plural == "tokens" {
		return s.revoke(ctx, args[1])
	}
	k, err := configKindOf(args[0], "delete")
	if err != nil {
		return err
	}
	doc, err := s.client.Do(ctx, http.MethodDelete, "/v1/"+k.plural+"/"+url.PathEscape(args[1]), nil, nil, "")
	if err != nil {
		return err
	}
	if s.output != "table" {
		return s.printDoc(doc)
	}
	_, err = fmt.Fprintf(s.stdout, "%s/%s deleted\n", k.singular, args[1])
	return err
}

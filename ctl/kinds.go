package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// kind is a kind of object get can show.
type kind struct {
	// plural names the kind in the API and in output ("services").
	plural string
	// singular names one of it ("service"), as apply and delete print it.
	singular string
	// aliases are the other names the command line takes.
	aliases []string
	// config kinds are stored resources: get, describe, delete by name.
	config bool
	// header and row make the table: one row per item (an API object).
	header []string
	row    func(item json.RawMessage, now time.Time) ([]string, error)
}

var kinds = []*kind{
	{plural: "listeners", singular: "listener", config: true, header: []string{"NAME", "ADDRESS", "TLS", "VERSION"}, row: listenerRow},
	{plural: "routes", singular: "route", config: true, header: []string{"NAME", "MATCH", "SERVICE", "VERSION"}, row: routeRow},
	{plural: "services", singular: "service", aliases: []string{"svc"}, config: true, header: []string{"NAME", "PROTOCOL", "BALANCER", "ENDPOINTS", "VERSION"}, row: serviceRow},
	{plural: "policies", singular: "policy", aliases: []string{"pol"}, config: true,
		header: []string{"NAME", "AUTH", "CONSUMERS", "RATE-LIMIT", "VERSION"}, row: gatewayPolicyRow},
	{plural: "consumers", singular: "consumer", aliases: []string{"cons"}, config: true,
		header: []string{"NAME", "KEYS", "RATE-LIMIT", "VERSION"}, row: consumerRow},
	{plural: "authorization_policies", singular: "authorization_policy", aliases: []string{"authz"}, config: true,
		header: []string{"NAME", "SERVICE", "ACTION", "FROM", "TO", "VERSION"}, row: policyRow},
	{plural: "instances", singular: "instance", header: []string{"SERVICE", "ID", "ADDRESS", "HEALTH", "AGE"}, row: instanceRow},
	{plural: "views", singular: "view", header: []string{"CALLER", "SERVICE", "ENDPOINT", "HEALTHY", "EJECTED", "WEIGHT"}, row: viewRow},
	{plural: "tokens", singular: "token", header: []string{"ID", "KIND", "SERVICE", "USES", "EXPIRES"}, row: tokenRow},
	{plural: "nodes", singular: "node", header: []string{"ID", "KIND", "IDENTITY", "ACKED", "NACKED"}, row: nodeRow},
	{plural: "certs", singular: "cert", header: []string{"SUBJECT", "SHA256", "NOT-BEFORE", "NOT-AFTER", "CURRENT", "STATE", "ACTIVATES", "RETIRES"}, row: rootRow},
}

// kindOf finds a kind by any of its names.
func kindOf(name string) (*kind, error) {
	for _, k := range kinds {
		if name == k.plural || name == k.singular || slices.Contains(k.aliases, name) {
			return k, nil
		}
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.plural
		if len(k.aliases) > 0 {
			names[i] += " (" + strings.Join(k.aliases, ", ") + ")"
		}
	}
	return nil, usageErrorf("unknown kind %q; kinds are %s", name, strings.Join(names, ", "))
}

func configKindOf(name, verb string) (*kind, error) {
	k, err := kindOf(name)
	if err == nil && !k.config {
		err = usageErrorf("%s works on %s, not %s", verb, configKinds("and"), k.plural)
	}
	return k, err
}

// configKinds names the config kinds, the last two joined by conj:
// "listeners, routes, ... and authorization_policies".
func configKinds(conj string) string {
	var names []string
	for _, k := range kinds {
		if k.config {
			names = append(names, k.plural)
		}
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + conj + " " + names[len(names)-1]
}

// fetched is what get shows: doc for -o json and yaml, items for a table.
type fetched struct {
	doc   json.RawMessage
	items []json.RawMessage
}

// fetch reads the objects of kind k, or the one named name.
func (k *kind) fetch(ctx context.Context, c *Client, name string) (fetched, error) {
	switch {
	case k.config && name != "":
		doc, err := c.Do(ctx, http.MethodGet, "/v1/"+k.plural+"/"+url.PathEscape(name), nil, nil, "")
		return fetched{doc: doc, items: []json.RawMessage{doc}}, err
	case k.plural == "certs":
		if name != "" {
			return fetched{}, usageErrorf("certs takes no name")
		}
		return fetchList(ctx, c, "/v1/certs", nil, "roots")
	case k.plural == "views":
		if name == "" {
			return fetched{}, usageErrorf("get views takes the service whose endpoints the callers see")
		}
		f, err := fetchList(ctx, c, "/v1/views/"+url.PathEscape(name), nil, "items")
		if err != nil {
			return f, err
		}
		return f.flattenViews()
	case k.plural == "instances":
		// The name of instances is the service they belong to.
		q := url.Values{}
		if name != "" {
			q.Set("service", name)
		}
		return fetchList(ctx, c, "/v1/instances", q, "items")
	}
	f, err := fetchList(ctx, c, "/v1/"+k.plural, nil, "items")
	if err != nil || name == "" {
		return f, err
	}
	return f.byID(k, name)
}

// fetchList reads a list answer and the items under field.
func fetchList(ctx context.Context, c *Client, path string, q url.Values, field string) (fetched, error) {
	doc, err := c.Do(ctx, http.MethodGet, path, q, nil, "")
	if err != nil {
		return fetched{}, err
	}
	return listIn(doc, field, "GET "+path)
}

// listIn finds the items under field of doc, the answer to what.
func listIn(doc []byte, field, what string) (fetched, error) {
	var list map[string]json.RawMessage
	if err := json.Unmarshal(doc, &list); err != nil {
		return fetched{}, fmt.Errorf("read the answer to %s: %w", what, err)
	}
	var items []json.RawMessage
	if raw := list[field]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &items); err != nil {
			return fetched{}, fmt.Errorf("read the %s of the answer to %s: %w", field, what, err)
		}
	}
	return fetched{doc: doc, items: items}, nil
}

// byID picks the item whose "id" is id; the API has no such lookup for
// tokens and nodes.
func (f fetched) byID(k *kind, id string) (fetched, error) {
	for _, it := range f.items {
		var v struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(it, &v) == nil && v.ID == id {
			return fetched{doc: it, items: []json.RawMessage{it}}, nil
		}
	}
	return fetched{}, &APIError{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("no %s with id %q", k.singular, id)}
}

// flattenViews makes one table row per caller and endpoint of the views
// answer, whose items each hold a caller's views.
func (f fetched) flattenViews() (fetched, error) {
	var rows []json.RawMessage
	for _, it := range f.items {
		var cv struct {
			Caller string            `json:"caller"`
			Views  []json.RawMessage `json:"views"`
		}
		if err := json.Unmarshal(it, &cv); err != nil {
			return fetched{}, fmt.Errorf("read the views: %w", err)
		}
		for _, v := range cv.Views {
			var m map[string]any
			if err := json.Unmarshal(v, &m); err != nil {
				return fetched{}, fmt.Errorf("read the views: %w", err)
			}
			m["caller"] = cv.Caller
			row, err := json.Marshal(m)
			if err != nil {
				return fetched{}, fmt.Errorf("read the views: %w", err)
			}
			rows = append(rows, row)
		}
	}
	return fetched{doc: f.doc, items: rows}, nil
}

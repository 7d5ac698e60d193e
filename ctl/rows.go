package ctl

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// resourceOf is a config resource as the API shows it, with the part of
// its spec that S names.
type resourceOf[S any] struct {
	Name    string `json:"name"`
	Version int64  `json:"version"`
	Spec    S      `json:"spec"`
}

func decodeItem[T any](item json.RawMessage) (T, error) {
	var v T
	if err := json.Unmarshal(item, &v); err != nil {
		return v, fmt.Errorf("read an item of the server's answer: %w", err)
	}
	return v, nil
}

func listenerRow(item json.RawMessage, _ time.Time) ([]string, error) {
	r, err := decodeItem[resourceOf[struct {
		Address string          `json:"address"`
		TLS     json.RawMessage `json:"tls"`
	}]](item)
	tls := "no"
	if len(r.Spec.TLS) > 0 && string(r.Spec.TLS) != "null" {
		tls = "yes"
	}
	return []string{r.Name, orDash(r.Spec.Address), tls, strconv.FormatInt(r.Version, 10)}, err
}

type routeSpec struct {
	Match struct {
		Hosts []string `json:"hosts"`
		Path  struct {
			Exact, Prefix, Regex, Template string
		} `json:"path"`
		Methods []string `json:"methods"`
		Headers []struct {
			Name string `json:"name"`
		} `json:"headers"`
	} `json:"match"`
	Service string `json:"service"`
	Split   []struct {
		Service string `json:"service"`
		Weight  int    `json:"weight"`
	} `json:"split"`
}

func routeRow(item json.RawMessage, _ time.Time) ([]string, error) {
	r, err := decodeItem[resourceOf[routeSpec]](item)
	return []string{r.Name, orDash(r.Spec.match()), orDash(r.Spec.target()), strconv.FormatInt(r.Version, 10)}, err
}

// match shows what a route matches as space-separated key=value pairs.
func (s routeSpec) match() string {
	m := s.Match
	var parts []string
	add := func(key, v string) {
		if v != "" {
			parts = append(parts, key+"="+v)
		}
	}
	add("hosts", strings.Join(m.Hosts, ","))
	add("exact", m.Path.Exact)
	add("prefix", m.Path.Prefix)
	add("regex", m.Path.Regex)
	add("template", m.Path.Template)
	add("methods", strings.Join(m.Methods, ","))
	names := make([]string, len(m.Headers))
	for i, h := range m.Headers {
		names[i] = h.Name
	}
	add("headers", strings.Join(names, ","))
	return strings.Join(parts, " ")
}

// target shows where a route sends requests: a service, or a split as
// service=weight pairs.
func (s routeSpec) target() string {
	if s.Service != "" || len(s.Split) == 0 {
		return s.Service
	}
	parts := make([]string, len(s.Split))
	for i, e := range s.Split {
		parts[i] = e.Service + "=" + strconv.Itoa(e.Weight)
	}
	return strings.Join(parts, ",")
}

// maxEndpoints is how many endpoint addresses a service's row shows.
const maxEndpoints = 3

func serviceRow(item json.RawMessage, _ time.Time) ([]string, error) {
	r, err := decodeItem[resourceOf[struct {
		Protocol  string `json:"protocol"`
		Balancer  string `json:"balancer"`
		Endpoints []struct {
			Address string `json:"address"`
		} `json:"endpoints"`
	}]](item)
	var addrs []string
	for i, e := range r.Spec.Endpoints {
		if i == maxEndpoints {
			addrs = append(addrs, fmt.Sprintf("+%d more", len(r.Spec.Endpoints)-maxEndpoints))
			break
		}
		addrs = append(addrs, e.Address)
	}
	return []string{r.Name, orDash(r.Spec.Protocol), orDash(r.Spec.Balancer), orDash(strings.Join(addrs, ",")),
		strconv.FormatInt(r.Version, 10)}, err
}

func instanceRow(item json.RawMessage, now time.Time) ([]string, error) {
	in, err := decodeItem[struct {
		ID         string    `json:"id"`
		Service    string    `json:"service"`
		Address    string    `json:"address"`
		Health     string    `json:"health"`
		Registered time.Time `json:"registered"`
	}](item)
	return []string{in.Service, in.ID, in.Address, orDash(in.Health), age(now, in.Registered)}, err
}

func tokenRow(item json.RawMessage, now time.Time) ([]string, error) {
	t, err := decodeItem[struct {
		ID      string    `json:"id"`
		Kind    string    `json:"kind"`
		Service string    `json:"service"`
		MaxUses int       `json:"max_uses"`
		Uses    int       `json:"uses"`
		Expires time.Time `json:"expires"`
	}](item)
	uses := strconv.Itoa(t.Uses) + "/unlimited"
	if t.MaxUses > 0 {
		uses = fmt.Sprintf("%d/%d", t.Uses, t.MaxUses)
	}
	return []string{t.ID, t.Kind, orDash(t.Service), uses, expires(now, t.Expires)}, err
}

func nodeRow(item json.RawMessage, _ time.Time) ([]string, error) {
	// The names match the API's fields whatever their case.
	n, err := decodeItem[struct {
		ID, Kind, Identity, Acked, Nacked string
	}](item)
	return []string{n.ID, orDash(n.Kind), orDash(n.Identity), orDash(n.Acked), orDash(n.Nacked)}, err
}

func rootRow(item json.RawMessage, now time.Time) ([]string, error) {
	r, err := decodeItem[struct {
		Subject     string    `json:"subject"`
		SHA256      string    `json:"sha256"`
		NotBefore   time.Time `json:"not_before"`
		NotAfter    time.Time `json:"not_after"`
		Current     bool      `json:"current"`
		State       string    `json:"state"`
		ActivatesAt time.Time `json:"activates_at"`
		RetiresAt   time.Time `json:"retires_at"`
	}](item)
	current := "no"
	if r.Current {
		current = "yes"
	}
	return []string{r.Subject, r.SHA256, r.NotBefore.UTC().Format(time.RFC3339), r.NotAfter.UTC().Format(time.RFC3339), current,
		orDash(r.State), until(now, r.ActivatesAt), until(now, r.RetiresAt)}, err
}

// until shows how long until t: "-" for no time, "now" once it passed,
// else coarsely ("42s", "5m", "3h").
func until(now, t time.Time) string {
	switch {
	case t.IsZero():
		return "-"
	case !t.After(now):
		return "now"
	}
	return coarse(t.Sub(now))
}

// age shows how long ago t was, coarsely ("42s", "5m", "3h", "12d").
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return coarse(now.Sub(t))
}

// expires shows how long a token has left: "never", "expired" or "23h".
func expires(now, t time.Time) string {
	switch {
	case t.IsZero():
		return "never"
	case !t.After(now):
		return "expired"
	}
	return coarse(t.Sub(now))
}

// coarse shows d in its largest sensible unit, rounded to the nearest.
func coarse(d time.Duration) string {
	units := []struct {
		min, unit time.Duration
		suffix    string
	}{{48 * time.Hour, 24 * time.Hour, "d"}, {2 * time.Hour, time.Hour, "h"}, {2 * time.Minute, time.Minute, "m"}}
	for _, u := range units {
		if d >= u.min {
			return strconv.FormatInt(int64((d+u.unit/2)/u.unit), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(max(d, 0).Round(time.Second)/time.Second), 10) + "s"
}

func viewRow(item json.RawMessage, _ time.Time) ([]string, error) {
	v, err := decodeItem[struct {
		Caller   string  `json:"caller"`
		Service  string  `json:"service"`
		Endpoint string  `json:"endpoint"`
		Healthy  bool    `json:"healthy"`
		Ejected  bool    `json:"ejected"`
		Weight   float64 `json:"weight"`
	}](item)
	return []string{v.Caller, v.Service, v.Endpoint, strconv.FormatBool(v.Healthy), strconv.FormatBool(v.Ejected), strconv.FormatFloat(v.Weight, 'f', -1, 64)}, err
}

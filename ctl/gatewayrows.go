package ctl

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// rateSpec is the part of a policy's or a consumer's rate limit a row shows.
type rateSpec struct {
	Requests int    `json:"requests"`
	Per      string `json:"per"`
	Burst    int    `json:"burst"`
	By       string `json:"by"`
	Header   string `json:"header"`
}

// gatewayPolicySpec is the part of a gateway policy its row shows.
type gatewayPolicySpec struct {
	Authentication *struct {
		APIKey json.RawMessage `json:"api_key"`
		JWT    json.RawMessage `json:"jwt"`
	} `json:"authentication"`
	AllowConsumers []string  `json:"allow_consumers"`
	RateLimit      *rateSpec `json:"rate_limit"`
}

// gatewayPolicyRow shows a policy: NAME, AUTH (api_key, jwt, both or -),
// CONSUMERS (its allow list, or any), RATE-LIMIT and VERSION.
func gatewayPolicyRow(item json.RawMessage, _ time.Time) ([]string, error) {
	r, err := decodeItem[resourceOf[gatewayPolicySpec]](item)
	var auth []string
	if a := r.Spec.Authentication; a != nil {
		if present(a.APIKey) {
			auth = append(auth, "api_key")
		}
		if present(a.JWT) {
			auth = append(auth, "jwt")
		}
	}
	consumers := "any"
	if len(r.Spec.AllowConsumers) > 0 {
		consumers = strings.Join(r.Spec.AllowConsumers, ",")
	}
	return []string{r.Name, orDash(strings.Join(auth, ",")), consumers, r.Spec.RateLimit.String(), strconv.FormatInt(r.Version, 10)}, err
}

// consumerRow shows a consumer: NAME, KEYS (how many), RATE-LIMIT (its own
// rate, replacing policies' per-consumer ones) and VERSION.
func consumerRow(item json.RawMessage, _ time.Time) ([]string, error) {
	r, err := decodeItem[resourceOf[struct {
		APIKeys   []string  `json:"api_keys"`
		RateLimit *rateSpec `json:"rate_limit"`
	}]](item)
	return []string{r.Name, strconv.Itoa(len(r.Spec.APIKeys)), r.Spec.RateLimit.String(), strconv.FormatInt(r.Version, 10)}, err
}

// String shows a limit as "100/1m", with " burst N" when the burst is not
// the rate and " by what" when it is counted per something: "-" for none.
func (l *rateSpec) String() string {
	if l == nil {
		return "-"
	}
	s := strconv.Itoa(l.Requests) + "/" + shortDuration(l.Per)
	if l.Burst != 0 && l.Burst != l.Requests {
		s += " burst " + strconv.Itoa(l.Burst)
	}
	switch {
	case l.By == "header":
		s += " by header:" + l.Header
	case l.By != "":
		s += " by " + l.By
	}
	return s
}

// shortDuration drops the zero units Go leaves at the end: "1m0s" is "1m",
// "1h0m0s" is "1h".
func shortDuration(d string) string {
	if s, ok := strings.CutSuffix(d, "m0s"); ok {
		d = s + "m"
	}
	if s, ok := strings.CutSuffix(d, "h0m"); ok {
		d = s + "h"
	}
	return d
}

// present reports whether a JSON value was given and is not null.
func present(v json.RawMessage) bool { return len(v) > 0 && string(v) != "null" }

package ctl

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRows(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		row  func(json.RawMessage, time.Time) ([]string, error)
		item string
		want []string
	}{
		{"route with split", routeRow,
			`{"name":"r","version":4,"spec":{"match":{"hosts":["a.com","b.com"],"path":{"exact":"/x"},"methods":["GET","HEAD"],"headers":[{"name":"x-env"}]},"split":[{"service":"a","weight":90},{"service":"b","weight":10}]}}`,
			[]string{"r", "hosts=a.com,b.com exact=/x methods=GET,HEAD headers=x-env", "a=90,b=10", "4"}},
		{"route matching everything", routeRow, `{"name":"r","version":1,"spec":{"match":{"path":{}},"service":"s"}}`,
			[]string{"r", "-", "s", "1"}},
		{"route with template", routeRow, `{"name":"r","version":1,"spec":{"match":{"path":{"template":"/u/{id}"}},"service":"s"}}`,
			[]string{"r", "template=/u/{id}", "s", "1"}},
		{"service with many endpoints", serviceRow,
			`{"name":"s","version":9,"spec":{"protocol":"h2c","balancer":"maglev","endpoints":[{"address":"a:1"},{"address":"b:1"},{"address":"c:1"},{"address":"d:1"},{"address":"e:1"}]}}`,
			[]string{"s", "h2c", "maglev", "a:1,b:1,c:1,+2 more", "9"}},
		{"service without endpoints", serviceRow, `{"name":"s","version":9,"spec":{}}`, []string{"s", "-", "-", "-", "9"}},
		{"listener with tls", listenerRow, `{"name":"l","version":2,"spec":{"address":":443","tls":{"certificates":[]}}}`, []string{"l", ":443", "yes", "2"}},
		{"limited token", tokenRow, `{"id":"ab","kind":"join","service":"edge","max_uses":5,"uses":2,"expires":"2030-01-04T03:04:05Z"}`,
			[]string{"ab", "join", "edge", "2/5", "2d"}},
		{"expired token", tokenRow, `{"id":"ab","kind":"join","service":"edge","expires":"2030-01-02T03:04:04Z"}`,
			[]string{"ab", "join", "edge", "0/unlimited", "expired"}},
		{"admin token", tokenRow, `{"id":"ab","kind":"admin","max_uses":0,"uses":0}`, []string{"ab", "admin", "-", "0/unlimited", "never"}},
		{"node as push reports it", nodeRow, `{"ID":"n","Kind":"sidecar","Identity":"spiffe://x","Acked":"3","Nacked":"4","NackError":"bad"}`,
			[]string{"n", "sidecar", "spiffe://x", "3", "4"}},
		{"instance", instanceRow, `{"id":"i","service":"s","address":"h:1","health":"","registered":"2030-01-02T02:04:05Z"}`,
			[]string{"s", "i", "h:1", "-", "60m"}},
		{"root from a server without states", rootRow, `{"subject":"CN=r","sha256":"x","not_before":"2030-01-02T03:04:05+01:00","not_after":"2031-01-02T03:04:05Z","current":false}`,
			[]string{"CN=r", "x", "2030-01-02T02:04:05Z", "2031-01-02T03:04:05Z", "no", "-", "-", "-"}},
		{"next root", rootRow, `{"subject":"CN=r","sha256":"x","not_before":"2030-01-02T03:04:05Z","not_after":"2031-01-02T03:04:05Z","current":false,"state":"next","activates_at":"2030-01-02T03:04:50Z"}`,
			[]string{"CN=r", "x", "2030-01-02T03:04:05Z", "2031-01-02T03:04:05Z", "no", "next", "45s", "-"}},
		{"active root being replaced", rootRow, `{"subject":"CN=r","sha256":"x","not_before":"2030-01-02T03:04:05Z","not_after":"2031-01-02T03:04:05Z","current":true,"state":"active","retires_at":"2030-01-02T06:04:05Z"}`,
			[]string{"CN=r", "x", "2030-01-02T03:04:05Z", "2031-01-02T03:04:05Z", "yes", "active", "-", "3h"}},
		{"retiring root past its time", rootRow, `{"subject":"CN=r","sha256":"x","not_before":"2030-01-02T03:04:05Z","not_after":"2031-01-02T03:04:05Z","current":false,"state":"retiring","retires_at":"2030-01-02T03:04:05Z"}`,
			[]string{"CN=r", "x", "2030-01-02T03:04:05Z", "2031-01-02T03:04:05Z", "no", "retiring", "-", "now"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.row(json.RawMessage(tc.item), now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRowOfBadItem(t *testing.T) {
	if _, err := serviceRow(json.RawMessage(`{"name":7}`), time.Time{}); err == nil {
		t.Errorf("got no error for a service named by a number, want one")
	}
}

func TestCoarse(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{1400 * time.Millisecond, "1s"},
		{119 * time.Second, "119s"},
		{2 * time.Minute, "2m"},
		{119*time.Minute + 40*time.Second, "120m"},
		{24*time.Hour - time.Second, "24h"},
		{47 * time.Hour, "47h"},
		{48 * time.Hour, "2d"},
		{400 * 24 * time.Hour, "400d"},
	}
	for _, tc := range tests {
		if got := coarse(tc.d); got != tc.want {
			t.Errorf("coarse(%s): got %q, want %q", tc.d, got, tc.want)
		}
	}
}

package proxy

import (
	"testing"
	"time"

	"github.com/pylon-mesh/pylon/balancer"
)

func TestCleanPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/", true},
		{"/orders/1", true},
		{"/a//b", true},
		{"/a/.hidden", true},
		{"/a/...", true},
		{"/a/b.", true},
		{"", false},
		{"orders", false},
		{"*", false},
		{"/.", false},
		{"/..", false},
		{"/a/../admin", false},
		{"/a/./b", false},
		{"/a/%2e%2e/admin", false},
		{"/a/%2E%2e/admin", false},
		{"/a/.%2e", false},
		{"/a/%2e", false},
		{"/a/%2ex", true},
		{"/a%20b/%E2%82%AC", true},
		{"/a%zz", false},
		{"/%bs", false},
		{"/a%2", false},
		{"/a%", false},
		{"/a%%41", false},
		{"/a%g0/b", false},
	} {
		if got := cleanPath([]byte(tc.path)); got != tc.want {
			t.Errorf("cleanPath(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestHasPathPrefix(t *testing.T) {
	for _, tc := range []struct {
		path, prefix string
		want         bool
	}{
		{"/orders", "/orders", true},
		{"/orders/1", "/orders", true},
		{"/ordersx", "/orders", false},
		{"/orders/", "/orders/", true},
		{"/orders", "/orders/", false},
		{"/x", "/", true},
	} {
		if got := hasPathPrefix([]byte(tc.path), []byte(tc.prefix)); got != tc.want {
			t.Errorf("hasPathPrefix(%q, %q) = %v, want %v", tc.path, tc.prefix, got, tc.want)
		}
	}
}

func TestCookieValue(t *testing.T) {
	for _, tc := range []struct {
		header, name, want string
		ok                 bool
	}{
		{"sid=abc", "sid", "abc", true},
		{"a=1; sid=abc; b=2", "sid", "abc", true},
		{"a=1;sid=abc", "sid", "abc", true},
		{"xsid=abc", "sid", "", false},
		{"sid", "sid", "", false},
		{"", "sid", "", false},
		{"sid=", "sid", "", true},
	} {
		got, ok := cookieValue([]byte(tc.header), tc.name)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("cookieValue(%q, %q) = %q, %v; want %q, %v", tc.header, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestPickBackendFollowsWeights(t *testing.T) {
	a, b := &Service{Name: "a"}, &Service{Name: "b"}
	r := &Route{Backends: []Backend{{Service: a, Cumulative: 90}, {Service: b, Cumulative: 100}}, TotalWeight: 100}
	counts := map[string]int{}
	const n = 100000
	for i := 0; i < n; i++ {
		counts[pickBackend(r).Service.Name]++
	}
	// 10% of 100k is 10000 with a standard deviation near 95: a band of
	// ±1000 never fails by chance and still catches a wrong split.
	if got := counts["b"]; got < 9000 || got > 11000 {
		t.Errorf("service b got %d of %d requests, want about 10%%", got, n)
	}
}

func TestRequestIDValidation(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"abc-123", true},
		{"", false},
		{"has space", false},
		{"quote\"d", false},
		{string(make([]byte, 65)), false},
	} {
		if got := validRequestID([]byte(tc.id)); got != tc.want {
			t.Errorf("validRequestID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
	id := appendNewRequestID(nil)
	if len(id) != 32 || !validRequestID(id) {
		t.Errorf("new request ID %q: want 32 hex digits", id)
	}
}

// inTurn returns endpoints in turn; a test-only picker.
type inTurn struct {
	eps []*balancer.Endpoint
	n   *int
}

func (p inTurn) Pick(uint64) (*balancer.Endpoint, error) {
	ep := p.eps[*p.n%len(p.eps)]
	*p.n++
	return ep, nil
}

type inTurnBuilder struct{ n *int }

func (inTurnBuilder) Name() string { return "in_turn" }

func (b inTurnBuilder) Build(ws []balancer.Weighted) balancer.Picker {
	eps := make([]*balancer.Endpoint, len(ws))
	for i, w := range ws {
		eps[i] = w.Endpoint
	}
	return inTurn{eps: eps, n: b.n}
}

func TestPickOtherAvoidsThePreviousEndpoint(t *testing.T) {
	a, b := balancer.NewEndpoint("a:1", 1), balancer.NewEndpoint("b:1", 1)
	n := 0
	set := balancer.NewSet(inTurnBuilder{&n}, []*balancer.Endpoint{a, b}, 0, 0)
	n = 0
	onA := triedOn(a)
	got, err := PickOther(set, 0, &onA) // in turn: a first, then b
	if err != nil || got != b {
		t.Errorf("got %v, %v; want endpoint b, the one not tried before", got, err)
	}
	single := balancer.NewSet(inTurnBuilder{&n}, []*balancer.Endpoint{a}, 0, 0)
	if got, err := PickOther(single, 0, &onA); err != nil || got != a {
		t.Errorf("with one endpoint got %v, %v; want a again", got, err)
	}
}

func TestGRPCTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"100m", 100 * time.Millisecond, true},
		{"1S", time.Second, true},
		{"2H", 2 * time.Hour, true},
		{"3M", 3 * time.Minute, true},
		{"250u", 250 * time.Microsecond, true},
		{"99999999n", 99999999 * time.Nanosecond, true},
		{"123456789S", 0, false}, // more than 8 digits
		{"5", 0, false},
		{"m", 0, false},
		{"5x", 0, false},
		{"-5S", 0, false},
		{"", 0, false},
	} {
		got, ok := grpcTimeout(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("grpcTimeout(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHTTPDate(t *testing.T) {
	now := time.Date(2026, 11, 25, 21, 0, 7, 0, time.UTC)
	if got, want := string(httpDate(now)), "Wed, 25 Nov 2026 21:00:07 GMT"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := string(httpDate(now.Add(time.Second))), "Wed, 25 Nov 2026 21:00:08 GMT"; got != want {
		t.Errorf("next second: got %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { httpDate(now.Add(time.Second)) }); n != 0 {
		t.Errorf("httpDate within one second allocates %v times, want 0", n)
	}
}

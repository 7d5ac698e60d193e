package retry

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func statuses(codes ...int) Statuses {
	var s Statuses
	for _, c := range codes {
		s.Add(c)
	}
	return s
}

func TestParseOn(t *testing.T) {
	tests := []struct {
		name    string
		words   []string
		want    On
		wantErr string
	}{
		{name: "empty", words: nil, want: On{}},
		{
			name:  "doc example",
			words: []string{"connect_failure", "reset", "refused_stream", "502", "503", "504"},
			want:  On{Conditions: ConnectFailure | Reset | RefusedStream, Statuses: statuses(502, 503, 504)},
		},
		{name: "edges", words: []string{"500", "599", "500"}, want: On{Statuses: statuses(500, 599)}},
		{name: "4xx refused", words: []string{"429"}, wantErr: `"429"`},
		{name: "5xx word refused", words: []string{"5xx"}, wantErr: `"5xx"`},
		{name: "unknown word", words: []string{"reset", "sometimes"}, wantErr: `"sometimes"`},
		{name: "2xx refused", words: []string{"200"}, wantErr: `"200"`},
		{name: "600 refused", words: []string{"600"}, wantErr: `"600"`},
		{name: "signed refused", words: []string{"+503"}, wantErr: `"+503"`},
		{name: "padded refused", words: []string{"0503"}, wantErr: `"0503"`},
		{name: "case matters", words: []string{"Reset"}, wantErr: `"Reset"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOn(tc.words)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseOn(%q) (-want +got):\n%s", tc.words, diff)
			}
		})
	}
}

func TestPolicyRetryable(t *testing.T) {
	on, err := ParseOn([]string{"connect_failure", "refused_stream", "503", "500"})
	if err != nil {
		t.Fatal(err)
	}
	p := &Policy{Attempts: 2, On: on}
	conds := []struct {
		c    Condition
		want bool
	}{{ConnectFailure, true}, {Reset, false}, {RefusedStream, true}}
	for _, c := range conds {
		if got := p.Retryable(c.c); got != c.want {
			t.Errorf("Retryable(%b): got %v, want %v", c.c, got, c.want)
		}
	}
	codes := []struct {
		code int
		want bool
	}{{503, true}, {500, true}, {502, false}, {429, false}, {200, false}, {-1, false}, {1000, false}, {600, false}}
	for _, c := range codes {
		if got := p.RetryableStatus(c.code); got != c.want {
			t.Errorf("RetryableStatus(%d): got %v, want %v", c.code, got, c.want)
		}
	}
}

func TestMethodAllowed(t *testing.T) {
	tests := []struct {
		method        string
		cond          Condition
		nonIdempotent bool
		want          bool
	}{
		{"GET", Reset, false, true},
		{"GET", 0, false, true},
		{"POST", 0, false, false},
		{"POST", Reset, false, false},
		{"POST", ConnectFailure, false, true},
		{"POST", RefusedStream, false, true},
		{"POST", 0, true, true},
		{"PATCH", Reset, true, true},
	}
	for _, tc := range tests {
		p := &Policy{NonIdempotent: tc.nonIdempotent}
		if got := p.MethodAllowed([]byte(tc.method), tc.cond); got != tc.want {
			t.Errorf("MethodAllowed(%s, %b) non_idempotent=%v: got %v, want %v", tc.method, tc.cond, tc.nonIdempotent, got, tc.want)
		}
	}
}

func TestIdempotentMethod(t *testing.T) {
	tests := map[string]bool{
		"GET": true, "HEAD": true, "OPTIONS": true, "TRACE": true, "PUT": true, "DELETE": true,
		"POST": false, "PATCH": false, "CONNECT": false, "get": false, "": false,
	}
	for m, want := range tests {
		if got := IdempotentMethod([]byte(m)); got != want {
			t.Errorf("IdempotentMethod(%q): got %v, want %v", m, got, want)
		}
	}
	method := []byte("DELETE")
	if n := testing.AllocsPerRun(100, func() { IdempotentMethod(method) }); n != 0 {
		t.Errorf("IdempotentMethod allocs: got %v, want 0", n)
	}
}

func FuzzParseOn(f *testing.F) {
	for _, seed := range []string{"connect_failure,reset", "502,503,504", "0x1f4", "", "599,600", "refused_stream,429"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		words := strings.Split(list, ",")
		on, err := ParseOn(words)
		if err != nil {
			return
		}
		p := &Policy{On: on}
		for _, w := range words {
			if c, ok := conditionWords[w]; ok && !p.Retryable(c) {
				t.Errorf("word %q parsed but not retryable", w)
			}
		}
		for code := range 1000 {
			if p.RetryableStatus(code) && (code < 500 || code > 599) {
				t.Errorf("status %d outside 500-599 in the set", code)
			}
		}
	})
}

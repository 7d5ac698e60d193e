package tracecontext

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	validTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	validSpan  = "00f067aa0ba902b7"
)

var example = Context{
	TraceID: TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
	SpanID:  SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
}

func sampled(c Context) Context { c.Flags = Sampled; return c }

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Context
		ok   bool
	}{
		{"sampled", "00-" + validTrace + "-" + validSpan + "-01", sampled(example), true},
		{"not sampled", "00-" + validTrace + "-" + validSpan + "-00", example, true},
		{"unknown flags dropped", "00-" + validTrace + "-" + validSpan + "-fe", example, true},
		{"unknown flags with sampled", "00-" + validTrace + "-" + validSpan + "-09", sampled(example), true},
		{"higher version, same length", "cc-" + validTrace + "-" + validSpan + "-01", sampled(example), true},
		{"higher version, more fields", "cc-" + validTrace + "-" + validSpan + "-01-what-the-future-will-be-like", sampled(example), true},
		{"higher version, no dash after flags", "cc-" + validTrace + "-" + validSpan + "-01.what", Context{}, false},
		{"version 00 with more fields", "00-" + validTrace + "-" + validSpan + "-01-extra", Context{}, false},
		{"version ff", "ff-" + validTrace + "-" + validSpan + "-01", Context{}, false},
		{"upper-case version", "0A-" + validTrace + "-" + validSpan + "-01", Context{}, false},
		{"upper-case trace id", "00-" + strings.ToUpper(validTrace) + "-" + validSpan + "-01", Context{}, false},
		{"upper-case parent id", "00-" + validTrace + "-00F067AA0BA902B7-01", Context{}, false},
		{"upper-case flags", "00-" + validTrace + "-" + validSpan + "-0A", Context{}, false},
		{"zero trace id", "00-00000000000000000000000000000000-" + validSpan + "-01", Context{}, false},
		{"zero parent id", "00-" + validTrace + "-0000000000000000-01", Context{}, false},
		{"non-hex trace id", "00-4bf92f3577b34da6a3ce929d0g0e4736-" + validSpan + "-01", Context{}, false},
		{"short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-" + validSpan + "-01", Context{}, false},
		{"long parent id", "00-" + validTrace + "-" + validSpan + "0-01", Context{}, false},
		{"wrong separator", "00_" + validTrace + "-" + validSpan + "-01", Context{}, false},
		{"missing flags", "00-" + validTrace + "-" + validSpan, Context{}, false},
		{"one-digit flags", "00-" + validTrace + "-" + validSpan + "-1", Context{}, false},
		{"empty", "", Context{}, false},
		{"spaces inside", "00-" + validTrace + "-" + validSpan + " -1", Context{}, false},
		{"surrounding space kept", " 00-" + validTrace + "-" + validSpan + "-01", Context{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.in)
			if ok != tt.ok {
				t.Fatalf("Parse(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); ok && diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
			}
			if gotB, okB := Parse([]byte(tt.in)); okB != ok || gotB != got {
				t.Errorf("Parse of bytes got %v %v, want %v %v as for the string", gotB, okB, got, ok)
			}
		})
	}
}

func TestAppend(t *testing.T) {
	tests := []struct {
		in   Context
		want string
	}{
		{sampled(example), "00-" + validTrace + "-" + validSpan + "-01"},
		{example, "00-" + validTrace + "-" + validSpan + "-00"},
		{Context{TraceID: TraceID{15: 0xff}, SpanID: SpanID{0: 0xab}, Flags: 0xff}, "00-000000000000000000000000000000ff-ab00000000000000-ff"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
		if got := string(tt.in.Append([]byte("x"))); got != "x"+tt.want {
			t.Errorf("Append got %s, want x%s", got, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for range 100 {
		c := Begin(0.5)
		got, ok := Parse(c.String())
		if !ok {
			t.Fatalf("Parse(%s) refused what Append wrote", c)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestChild(t *testing.T) {
	parent := sampled(example)
	c := parent.Child()
	if c.TraceID != parent.TraceID || c.Flags != parent.Flags {
		t.Errorf("got %v, want the trace and flags of %v", c, parent)
	}
	if c.SpanID == parent.SpanID || c.SpanID.IsZero() {
		t.Errorf("got span %s, want a new valid one", c.SpanID)
	}
}

func TestBeginSampling(t *testing.T) {
	tests := []struct {
		ratio    float64
		min, max int
	}{
		{0, 0, 0},
		{1, 1000, 1000},
		{0.5, 400, 600},
		{-1, 0, 0},
		{2, 1000, 1000},
	}
	for _, tt := range tests {
		n := 0
		seen := map[TraceID]bool{}
		for range 1000 {
			c := Begin(tt.ratio)
			if c.TraceID.IsZero() || c.SpanID.IsZero() {
				t.Fatalf("Begin gave an invalid context %v", c)
			}
			seen[c.TraceID] = true
			if c.Sampled() {
				n++
			}
		}
		if n < tt.min || n > tt.max {
			t.Errorf("ratio %v: got %d of 1000 sampled, want %d to %d", tt.ratio, n, tt.min, tt.max)
		}
		if len(seen) != 1000 {
			t.Errorf("got %d distinct trace IDs in 1000, want 1000", len(seen))
		}
	}
}

func TestNoAllocs(t *testing.T) {
	v := []byte("00-" + validTrace + "-" + validSpan + "-01")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() {
		c, _ := Parse(v)
		buf = c.Child().Append(buf[:0])
		_ = Begin(0.5)
	}); n != 0 {
		t.Errorf("got %v allocs per parse, child and append, want 0", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"00-" + validTrace + "-" + validSpan + "-01",
		"cc-" + validTrace + "-" + validSpan + "-01-what",
		"ff-" + validTrace + "-" + validSpan + "-01",
		"00-00000000000000000000000000000000-" + validSpan + "-01",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := Parse(s)
		if !ok {
			return
		}
		if c.TraceID.IsZero() || c.SpanID.IsZero() || c.Flags&^Sampled != 0 {
			t.Fatalf("Parse(%q) accepted an invalid context %v", s, c)
		}
		// What was accepted is written back as the same IDs and flags.
		back, ok := Parse(c.String())
		if !ok || back != c {
			t.Fatalf("Parse(%q) = %v; its String %s parses to %v %v", s, c, c, back, ok)
		}
		if s[:2] == "00" && c.String() != s[:53]+c.String()[53:] {
			t.Fatalf("Parse(%q) = %s changed the IDs", s, c)
		}
	})
}

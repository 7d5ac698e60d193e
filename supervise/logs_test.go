package supervise

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lineList is a Sink that keeps texts in order.
type lineList struct {
	mu    sync.Mutex
	texts []string
}

func (l *lineList) Line(x Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.texts = append(l.texts, x.Text)
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("a", MaxLine)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"lines", "a\nb\n", []string{"a", "b"}},
		{"crlf", "a\r\nb\r\r\n", []string{"a", "b\r"}},
		{"partial last", "a\nb", []string{"a", "b"}},
		{"empty lines", "\n\n", []string{"", ""}},
		{"exactly MaxLine", long + "\nb\n", []string{long, "b"}},
		{"MaxLine then empty line", long + "\n\n", []string{long, ""}},
		{"split", long + "bc\n", []string{long, "bc"}},
		{"split twice, partial", long + long + "c", []string{long, long, "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got lineList
			lineReader{name: "p", stream: Stdout, sink: &got}.run(strings.NewReader(tc.in))
			if diff := cmp.Diff(tc.want, got.texts); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzLineReader checks that any output is read whole: the lines joined
// give it back without its line ends, none holds a "\n" or exceeds
// MaxLine, and there is one per "\n" plus the partial last one.
func FuzzLineReader(f *testing.F) {
	for _, s := range []string{"", "a\nb", "a\r\n\r\n", "\n", "x\r", strings.Repeat("z", MaxLine+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var got lineList
		lineReader{name: "p", stream: Stdout, sink: &got}.run(strings.NewReader(in))
		want := strings.ReplaceAll(strings.ReplaceAll(in, "\r\n", "\n"), "\n", "")
		if joined := strings.Join(got.texts, ""); joined != want && len(in) < MaxLine {
			t.Errorf("got lines %q, want them to join to %q", got.texts, want)
		}
		n := strings.Count(in, "\n")
		if !strings.HasSuffix(in, "\n") && in != "" {
			n++
		}
		if len(in) < MaxLine && len(got.texts) != n {
			t.Errorf("got %d lines, want %d", len(got.texts), n)
		}
		for _, l := range got.texts {
			if len(l) > MaxLine || strings.Contains(l, "\n") {
				t.Errorf("got line of %d bytes with newline %v, want at most %d and none", len(l), strings.Contains(l, "\n"), MaxLine)
			}
		}
	})
}

package supervise

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrinter(t *testing.T) {
	lines := []Line{
		{Name: "gateway", Text: "listening"},
		{Name: "orders-1", Text: "started"},
		{Name: "gateway", Stream: Stderr, Text: "a  b"},
		{Name: "a", Text: ""},
	}
	tests := []struct {
		name  string
		width int
		color bool
		want  string
	}{
		{"longest so far", 0, false, "" +
			"gateway  | listening\n" +
			"orders-1  | started\n" +
			"gateway   | a  b\n" +
			"a         | \n"},
		{"width given", 10, false, "" +
			"gateway     | listening\n" +
			"orders-1    | started\n" +
			"gateway     | a  b\n" +
			"a           | \n"},
		{"colour", 0, true, "" +
			"\x1b[" + colorOf("gateway") + "mgateway  |\x1b[0m listening\n" +
			"\x1b[" + colorOf("orders-1") + "morders-1  |\x1b[0m started\n" +
			"\x1b[" + colorOf("gateway") + "mgateway   |\x1b[0m a  b\n" +
			"\x1b[" + colorOf("a") + "ma         |\x1b[0m \n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := NewPrinter(&buf, tc.width, tc.color)
			for _, l := range lines {
				p.Line(l)
			}
			if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrinterLongLine(t *testing.T) {
	var buf bytes.Buffer
	p := NewPrinter(&buf, 0, false)
	long := strings.Repeat("z", MaxLine)
	p.Line(Line{Name: "a", Text: long})
	p.Line(Line{Name: "a", Text: "short"})
	if diff := cmp.Diff("a  | "+long+"\na  | short\n", buf.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestColorOf(t *testing.T) {
	names := map[string]bool{}
	for _, n := range []string{"gateway", "orders-1", "orders-2", "catalog-1", "catalog-1.sidecar", "inventory-1"} {
		if got, again := colorOf(n), colorOf(n); got != again {
			t.Errorf("colorOf(%q): got %q then %q, want the same colour", n, got, again)
		}
		names[colorOf(n)] = true
	}
	if len(names) < 2 {
		t.Errorf("got %d colours for 6 names, want several", len(names))
	}
}

func TestColorable(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// /dev/null is a character device like a terminal, which is all
	// Colorable can tell without golang.org/x/term.
	dev, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	tests := []struct {
		name    string
		w       io.Writer
		noColor string
		want    bool
	}{
		{"buffer", &bytes.Buffer{}, "", false},
		{"regular file", f, "", false},
		{"character device", dev, "", true},
		{"character device with NO_COLOR", dev, "1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tc.noColor)
			if got := Colorable(tc.w); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

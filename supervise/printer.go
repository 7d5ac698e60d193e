package supervise

import (
	"hash/fnv"
	"io"
	"os"
	"strings"
	"sync"
)

// palette holds the ANSI colours of name prefixes: the ones docker compose
// uses, red left out so a prefix never reads as an error.
var palette = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// Printer is a Sink that writes lines for a terminal, the way docker
// compose does: "orders-1  | text", names padded to the same width, each
// name in its own colour. It is safe for concurrent use.
type Printer struct {
	color bool

	mu    sync.Mutex
	w     io.Writer
	width int
	buf   []byte
}

// NewPrinter returns a Printer writing to w. Names are padded to width or
// to the longest name printed so far, whichever is longer; color turns on
// ANSI colours (see Colorable). Write errors are ignored: there is nowhere
// to report them.
func NewPrinter(w io.Writer, width int, color bool) *Printer {
	return &Printer{w: w, width: width, color: color}
}

// Colorable reports whether colours suit w: it is a terminal and NO_COLOR
// is unset or empty (https://no-color.org).
func Colorable(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Line writes l as one line with one Write.
func (p *Printer) Line(l Line) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.width = max(p.width, len(l.Name))
	b := p.buf[:0]
	if p.color {
		b = append(b, "\x1b["+colorOf(l.Name)+"m"...)
	}
	b = append(b, l.Name...)
	b = append(b, strings.Repeat(" ", p.width-len(l.Name))...)
	b = append(b, "  |"...)
	if p.color {
		b = append(b, "\x1b[0m"...)
	}
	b = append(b, ' ')
	b = append(b, l.Text...)
	b = append(b, '\n')
	p.w.Write(b)
	if cap(b) <= 4<<10 { // keep a small buffer, not the longest line's
		p.buf = b
	}
}

// colorOf returns the colour of name, the same on every run.
func colorOf(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return palette[h.Sum32()%uint32(len(palette))]
}

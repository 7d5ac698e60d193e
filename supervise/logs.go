package supervise

import (
	"bufio"
	"bytes"
	"io"
	"time"
)

// Stream says which output of a process a line came from.
type Stream uint8

// The streams of a process.
const (
	Stdout Stream = iota + 1
	Stderr
)

// String returns "stdout" or "stderr".
func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "stream?"
}

// Line is one line of a process's output.
type Line struct {
	// Name is the Spec.Name of the process.
	Name string
	// Stream is the output it was written to.
	Stream Stream
	// Time is when it was read.
	Time time.Time
	// Text is the line without its "\n" (or "\r\n"). A line longer than
	// MaxLine arrives as several Lines of at most MaxLine bytes each.
	Text string
}

// MaxLine is the longest Line.Text; longer lines are split, not lost.
const MaxLine = 64 << 10

// Sink receives the lines of processes. Its Line method is called from
// several goroutines at once (two per process) and must not block for
// long: a process whose lines are not read blocks on its next write.
type Sink interface {
	Line(Line)
}

// Tee returns a Sink that gives every line to each of sinks, in order.
func Tee(sinks ...Sink) Sink {
	return tee(sinks)
}

type tee []Sink

func (t tee) Line(l Line) {
	for _, s := range t {
		s.Line(l)
	}
}

// lineReader reads one stream of one process into a Sink.
type lineReader struct {
	name   string
	stream Stream
	sink   Sink
}

// run reads r until it ends or fails, giving every line to the sink; a
// last line without "\n" is given too.
func (lr lineReader) run(r io.Reader) {
	br := bufio.NewReaderSize(r, MaxLine)
	split := false // the last Line was a piece of a longer line
	for {
		b, err := br.ReadSlice('\n')
		// A line of exactly MaxLine bytes ends with its "\n" alone in
		// the next read: that is not another line.
		if len(b) > 0 && !(split && len(b) == 1 && b[0] == '\n') {
			lr.emit(b)
		}
		split = err == bufio.ErrBufferFull
		if err != nil && !split {
			return
		}
	}
}

func (lr lineReader) emit(b []byte) {
	if t, ok := bytes.CutSuffix(b, []byte("\n")); ok {
		b = bytes.TrimSuffix(t, []byte("\r"))
	}
	lr.sink.Line(Line{Name: lr.name, Stream: lr.stream, Time: time.Now(), Text: string(b)})
}

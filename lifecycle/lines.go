package lifecycle

import (
	"bytes"
	"path/filepath"
	"time"

	"github.com/pylon-mesh/pylon/control"
	"github.com/pylon-mesh/pylon/supervise"
)

// lineWriter gives what is written to it, line by line, to a sink under
// one name: the in-process control plane's log lines (slog writes each
// record with one Write).
type lineWriter struct {
	name string
	sink supervise.Sink
}

func (w *lineWriter) Write(b []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		w.sink.Line(supervise.Line{Name: w.name, Stream: supervise.Stderr, Time: time.Now(), Text: string(line)})
	}
	return len(b), nil
}

func tokenPath(dataDir string) string { return filepath.Join(dataDir, control.AdminTokenFile) }

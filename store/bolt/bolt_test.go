package bolt

import (
	"path/filepath"
	"testing"

	"github.com/pylon-mesh/pylon/store"
	"github.com/pylon-mesh/pylon/store/storetest"
)

// open opens a store in a new file, closed when the test ends.
func open(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "pylon.db"), opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, Options{}) })
}

package lifecycle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockName is the file in the data directory that the running pylon up
// holds locked; it also holds its pid.
const lockName = "up.lock"

// dataDir is the directory of one running app's control plane state.
type dataDir struct {
	path string
	lock *os.File
}

// openDataDir makes path if needed, locks it so a second pylon up for
// the same app refuses to start, and clears what a previous run left
// there (its store with stale registrations, tokens and CA), so each run
// starts from the app file alone.
func openDataDir(path string) (*dataDir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(path, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("pylon up is already running this app (pid %s, data directory %s); stop it first", strings.TrimSpace(string(pid)), path)
		}
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	d := &dataDir{path: path, lock: f}
	if err := d.clear(); err != nil {
		d.close()
		return nil, err
	}
	f.Truncate(0)
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return d, nil
}

// clear removes everything in the directory but the lock.
func (d *dataDir) clear() error {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("clear the previous run's state: %w", err)
	}
	for _, e := range entries {
		if e.Name() == lockName {
			continue
		}
		if err := os.RemoveAll(filepath.Join(d.path, e.Name())); err != nil {
			return fmt.Errorf("clear the previous run's state: %w", err)
		}
	}
	return nil
}

func (d *dataDir) close() {
	d.lock.Truncate(0)
	d.lock.Close() // releases the lock
}

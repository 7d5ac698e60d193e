package lifecycle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files in the data directory besides the control plane's.
const (
	// lockName is held locked by the running pylon up; it holds its pid
	// and admin API address.
	lockName = "up.lock"
	// LogName is where a detached pylon up writes its output.
	LogName = "up.log"
)

// DataDir is the data directory of app's control plane when none is given.
func DataDir(appDir string) string { return filepath.Join(appDir, ".pylon") }

// Running describes a pylon up that holds a data directory.
type Running struct {
	Pid   int
	Admin string // the admin API's address
}

// ErrRunning says a data directory is held by a running pylon up.
var ErrRunning = errors.New("pylon up is already running this app")

// FindRunning reports the pylon up running with data directory dir, if
// any: the one holding its lock.
func FindRunning(dir string) (Running, bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return Running{}, false, nil
	}
	if err != nil {
		return Running{}, false, err
	}
	defer f.Close()
	switch err := tryLock(f, false); {
	case err == nil:
		return Running{}, false, nil // nobody holds it; closing f releases ours
	case !errors.Is(err, errLocked):
		return Running{}, false, fmt.Errorf("check the data directory's lock: %w", err)
	}
	b, _ := os.ReadFile(f.Name())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var r Running
	r.Pid, _ = strconv.Atoi(lines[0])
	if len(lines) > 1 {
		r.Admin = lines[1]
	}
	return r, true, nil
}

// dataDir is the directory of one running app's control plane state.
type dataDir struct {
	path string
	lock *os.File
}

// openDataDir makes path if needed, locks it so a second pylon up for
// the same app refuses to start, and clears what a previous run left
// there (its store with stale registrations, tokens and CA), so each run
// starts from the app file alone. admin is written in the lock file, for
// FindRunning.
func openDataDir(path, admin string) (*dataDir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(path, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := tryLock(f, true); err != nil {
		pid, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, errLocked) {
			first, _, _ := strings.Cut(string(pid), "\n")
			return nil, fmt.Errorf("%w (pid %s, data directory %s); stop it first", ErrRunning, first, path)
		}
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	d := &dataDir{path: path, lock: f}
	if err := d.clear(); err != nil {
		d.close()
		return nil, err
	}
	f.Truncate(0)
	f.WriteString(strconv.Itoa(os.Getpid()) + "\n" + admin + "\n")
	return d, nil
}

// clear removes everything in the directory but the lock and the log.
func (d *dataDir) clear() error {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("clear the previous run's state: %w", err)
	}
	for _, e := range entries {
		if e.Name() == lockName || e.Name() == LogName {
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

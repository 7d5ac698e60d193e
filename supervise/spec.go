package supervise

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Spec says how to run one process.
type Spec struct {
	// Name names the process in logs and events ("orders-1",
	// "orders-1.sidecar", "gateway").
	Name string
	// Path is the program: a name looked up in the PATH of Env (or of
	// this process when Env has none), or a path, relative to Dir when
	// relative. It is also the child's argv[0]. No shell is involved.
	Path string
	// Args are the arguments after argv[0].
	Args []string
	// Env is the child's whole environment, "KEY=value" entries; nil
	// means this process's environment.
	Env []string
	// Dir is the child's working directory; empty means this process's.
	Dir string
	// StopTimeout is how long Stop waits after SIGTERM before it sends
	// SIGKILL; zero means DefaultStopTimeout.
	StopTimeout time.Duration
}

// DefaultStopTimeout is the StopTimeout of a Spec that sets none.
const DefaultStopTimeout = 10 * time.Second

func (s Spec) stopTimeout() time.Duration {
	if s.StopTimeout > 0 {
		return s.StopTimeout
	}
	return DefaultStopTimeout
}

// Check reports whether spec could be started, without starting it: the
// working directory exists and the program is found and executable. The
// error names the process, the command and where it was looked for.
func Check(spec Spec) error {
	_, err := resolve(spec)
	return err
}

// resolve returns the path to execute for spec, checking Dir and Path.
func resolve(spec Spec) (string, error) {
	if spec.Path == "" {
		return "", fmt.Errorf("check %s: no command given", spec.Name)
	}
	if spec.Dir != "" {
		fi, err := os.Stat(spec.Dir)
		if err != nil {
			return "", fmt.Errorf("check %s: working directory: %w", spec.Name, err)
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("check %s: working directory %s is not a directory", spec.Name, spec.Dir)
		}
	}
	if strings.Contains(spec.Path, "/") {
		return spec.Path, checkFile(spec)
	}
	path := pathOf(spec.Env)
	for _, dir := range filepath.SplitList(path) {
		// Relative PATH entries are skipped, as exec.LookPath refuses
		// them (exec.ErrDot): they depend on the working directory.
		if !filepath.IsAbs(dir) {
			continue
		}
		if p, err := exec.LookPath(filepath.Join(dir, spec.Path)); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("check %s: command %q not found in PATH %q", spec.Name, spec.Path, path)
}

// checkFile checks a Path that names a file, relative to Dir when relative,
// as the child will execute it.
func checkFile(spec Spec) error {
	p := spec.Path
	if !filepath.IsAbs(p) && spec.Dir != "" {
		p = filepath.Join(spec.Dir, p)
	}
	if _, err := exec.LookPath(p); err != nil {
		// Say "no such file or directory", not how it was found out.
		var ee *exec.Error
		if errors.As(err, &ee) {
			err = ee.Err
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("check %s: command %s: %w", spec.Name, p, err)
	}
	return nil
}

// pathOf returns the PATH of env, the last one if it has several as the
// child would see it, or this process's PATH when env is nil.
func pathOf(env []string) string {
	if env == nil {
		return os.Getenv("PATH")
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	return path
}

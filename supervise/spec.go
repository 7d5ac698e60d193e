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

// CheckError is why a Spec could not start: its working directory or its
// command.
type CheckError struct {
	// Name is the Spec's.
	Name string
	// Dir is set when the working directory is at fault, not the command.
	Dir bool
	// Msg says what is wrong, naming the command and where it was looked
	// for, but not the process.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

// Error names the process and says what is wrong.
func (e *CheckError) Error() string { return "check " + e.Name + ": " + e.Msg }

// Unwrap returns the underlying error.
func (e *CheckError) Unwrap() error { return e.Err }

// Check reports whether spec could be started, without starting it: the
// working directory exists and the program is found and executable. The
// error is a *CheckError.
func Check(spec Spec) error {
	_, err := resolve(spec)
	return err
}

// resolve returns the path to execute for spec, checking Dir and Path.
func resolve(spec Spec) (string, error) {
	if spec.Path == "" {
		return "", &CheckError{Name: spec.Name, Msg: "no command given"}
	}
	if spec.Dir != "" {
		fi, err := os.Stat(spec.Dir)
		if err != nil {
			return "", &CheckError{Name: spec.Name, Dir: true, Msg: "working directory: " + err.Error(), Err: err}
		}
		if !fi.IsDir() {
			return "", &CheckError{Name: spec.Name, Dir: true, Msg: fmt.Sprintf("working directory %s is not a directory", spec.Dir)}
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
	return "", &CheckError{Name: spec.Name, Msg: fmt.Sprintf("command %q not found in PATH %q", spec.Path, path)}
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
		return &CheckError{Name: spec.Name, Msg: fmt.Sprintf("command %s: %v", p, err), Err: err}
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

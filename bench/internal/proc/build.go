//go:build linux

package proc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BuildPylon builds ./cmd/pylon of the module the working directory
// belongs to into dir, as it is released (static, without cgo: pylon uses
// none, and a binary that maps no libc is 2 to 3 MB smaller in RSS), and
// returns the binary's path.
func BuildPylon(ctx context.Context, dir string) (string, error) {
	return Build(ctx, dir, "./cmd/pylon")
}

// Build builds the command pkg (a path relative to the root of the module
// the working directory belongs to, such as "./cmd/pylon") into dir,
// static and without cgo, and returns the binary's path.
func Build(ctx context.Context, dir, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the pylon module: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("find the pylon module: go env GOMOD printed %q; run from inside the pylon module or pass --pylon", mod)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = filepath.Dir(mod)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// FreeAddrs returns n loopback addresses with ports that were free a
// moment ago, for a child to listen on.
func FreeAddrs(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer ln.Close()
		out[i] = ln.Addr().String()
	}
	return out, nil
}

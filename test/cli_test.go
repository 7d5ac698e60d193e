package test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const badConfig = `admin:
  address: "off"
listeners:
  - name: web
    address: 127.0.0.1:18080
routes:
  - name: r
    service: nosuch
services:
  - name: real
    endpoints: [127.0.0.1:9001]
`

// runPylon runs the binary with args and returns its exit code and output.
func runPylon(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx := testContext(t, 20*time.Second)
	cmd := exec.CommandContext(ctx, pylonBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running pylon %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(badConfig), 0o600); err != nil {
		t.Fatalf("writing bad.yaml: %v", err)
	}
	fieldErr := regexp.MustCompile(`bad\.yaml:8:\d+: routes\[0\]\.service: `)

	t.Run("validate refuses a bad file", func(t *testing.T) {
		code, _, stderr := runPylon(t, "validate", "-c", bad)
		if code != 1 || !fieldErr.MatchString(stderr) {
			t.Errorf("got exit %d, stderr %q; want exit 1 and a line matching %s", code, stderr, fieldErr)
		}
	})

	t.Run("gateway refuses a bad file", func(t *testing.T) {
		code, _, stderr := runPylon(t, "gateway", "-c", bad)
		if code == 0 || !fieldErr.MatchString(stderr) {
			t.Errorf("got exit %d, stderr %q; want non-zero and a line matching %s", code, stderr, fieldErr)
		}
	})

	t.Run("validate accepts the example", func(t *testing.T) {
		code, stdout, stderr := runPylon(t, "validate", "-c", "../examples/gateway/pylon.yaml")
		if code != 0 {
			t.Errorf("got exit %d, stdout %q, stderr %q; want 0", code, stdout, stderr)
		}
	})

	t.Run("version", func(t *testing.T) {
		code, stdout, _ := runPylon(t, "version")
		if code != 0 || !strings.HasPrefix(stdout, "pylon ") {
			t.Errorf("got exit %d, stdout %q; want 0 and \"pylon <version> ...\"", code, stdout)
		}
	})
}

// TestSidecarAdvertise: a sidecar whose inbound listens on every address
// must be told the address callers dial, and says so before doing anything.
func TestSidecarAdvertise(t *testing.T) {
	base := []string{"sidecar", "--control", "127.0.0.1:1", "--join-token", "x", "--service", "orders", "--app", "127.0.0.1:9001"}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--inbound", "0.0.0.0:15006"}, `--inbound "0.0.0.0:15006" listens on every address; give --advertise HOST:PORT`},
		{[]string{"--inbound", "[::]:15006"}, `--inbound "[::]:15006" listens on every address`},
		{[]string{"--inbound", "0.0.0.0:15006", "--advertise", "0.0.0.0:15006"}, `--advertise "0.0.0.0:15006": callers cannot dial`},
		{[]string{"--advertise", "10.0.0.7"}, `--advertise "10.0.0.7": want HOST:PORT`},
		{[]string{"--inbound", ":15006"}, `--inbound ":15006": want HOST:PORT`},
	}
	for _, c := range cases {
		code, _, stderr := runPylon(t, append(base, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("pylon sidecar %v: got exit %d, stderr %q; want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}

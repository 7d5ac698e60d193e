package test

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSidecarConfigFile: `pylon sidecar -c FILE` takes its settings from a
// YAML file (flags given as well win), and a bad file is refused before
// anything starts, each problem named by file, line and field.
func TestSidecarConfigFile(t *testing.T) {
	write := func(doc string) string {
		path := filepath.Join(t.TempDir(), "sidecar.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Run("refused", func(t *testing.T) {
		cases := []struct {
			doc  string
			args []string
			want []string
		}{
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\nupstream: catalog=127.0.0.1:7001\n", nil,
				[]string{`sidecar.yaml:5:1: upstream: unknown field "upstream"; valid fields: access_log, admin,`}},
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\ndrain_timeout: 30\n", nil,
				[]string{`sidecar.yaml:5:16: drain_timeout:`}},
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\nprotocol: htp\n", nil,
				[]string{`sidecar.yaml:5:1: protocol: "htp": want http1, h2c, grpc, tcp or auto`}},
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\nupstreams:\n  catalog: 127.0.0.1:7001\n  \"\": 127.0.0.1:7002\n", nil,
				[]string{`sidecar.yaml:7:3: upstreams.: want NAME=ADDR`}},
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\ninbound: 0.0.0.0:15006\n", nil,
				[]string{`sidecar.yaml:5:1: inbound: "0.0.0.0:15006" listens on every address`}},
			// Every bad value is named, not only the first.
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\nprotocol: htp\ndrain_delay: -1s\nlog_level: loud\n", []string{"--cpus", "-2"},
				[]string{`sidecar.yaml:5:1: protocol: "htp"`, `sidecar.yaml:6:1: drain_delay: -1s: must not be negative`,
					`sidecar.yaml:7:1: log_level: "loud"`, `pylon sidecar: --cpus -2: must not be negative`}},
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\ncpus: -1\n", nil,
				[]string{`sidecar.yaml:5:1: cpus: -1: must not be negative; 0 means one per core`}},
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\nadmin: nowhere\n", nil,
				[]string{`sidecar.yaml:5:1: admin: "nowhere" is not host:port`}},
			// A flag on the command line wins over the file: the file's
			// protocol is never read, the flag's bad one is.
			{"control: [127.0.0.1:1]\nservice: orders\napp: 127.0.0.1:9001\njoin_token: x\nprotocol: grpc\n", []string{"--protocol", "udp"},
				[]string{`pylon sidecar: --protocol "udp": want http1`}},
			{"service: orders\n", nil, []string{`--app, --control, --join-token required (as flags, or in `, `sidecar.yaml as app, control, join_token)`}},
		}
		for _, c := range cases {
			code, _, stderr := runPylon(t, append([]string{"sidecar", "-c", write(c.doc)}, c.args...)...)
			for _, w := range c.want {
				if code != 2 || !strings.Contains(stderr, w) {
					t.Errorf("pylon sidecar -c with\n%s\ngot exit %d, stderr %q; want 2 and %q", c.doc, code, stderr, w)
				}
			}
		}
	})
	t.Run("a key for every flag", func(t *testing.T) {
		// The unknown-field error lists the file's keys; each must be a
		// flag of pylon sidecar -h (upstreams standing for --upstream, and
		// -c/--config naming the file itself), and each flag a key.
		_, _, stderr := runPylon(t, "sidecar", "-c", write("bogus: 1\n"))
		_, list, ok := strings.Cut(stderr, "valid fields: ")
		if !ok {
			t.Fatalf("stderr %q lists no valid fields", stderr)
		}
		var keys []string
		for _, k := range strings.Split(strings.TrimSpace(list), ", ") {
			keys = append(keys, strings.ReplaceAll(strings.TrimSuffix(k, "s"), "_", "-"))
		}
		out, _ := exec.Command(pylonBin, "sidecar", "-h").CombinedOutput()
		var flags []string
		for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllSubmatch(out, -1) {
			if f := string(m[1]); f != "c" && f != "config" {
				flags = append(flags, strings.TrimSuffix(f, "s"))
			}
		}
		slices.Sort(keys)
		slices.Sort(flags)
		if d := cmp.Diff(flags, keys); d != "" {
			t.Errorf("flags of pylon sidecar -h (-) and keys of its config file (+) differ:\n%s", d)
		}
	})
	t.Run("serves", func(t *testing.T) {
		cp := startControl(t, "")
		startSidecar(t, cp, cp.joinToken("catalog"), "catalog", startEcho(t, "catalog-1"), nil)
		out := freeAddr(t)
		file := write("protocol: http1\nhealth_http: /\nhealth_interval: 200ms\nupstreams:\n  catalog: " + out + "\n")
		startSidecar(t, cp, cp.joinToken("orders"), "orders", startEcho(t, "orders-1"), []string{"-c", file})
		var body string
		waitFor(t, 10*time.Second, "catalog to answer on the upstream port the file names", func() bool {
			resp, err := http.Get("http://" + out + "/hello")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body = string(b)
			return resp.StatusCode == http.StatusOK
		})
		if !strings.Contains(body, "catalog-1") {
			t.Errorf("GET through the upstream port from the file: body %q, want the catalog instance's echo", body)
		}
	})
}

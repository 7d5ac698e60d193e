package all

import (
	"os"
	"regexp"
	"testing"

	"github.com/pylon-mesh/pylon/balancer"
	"github.com/pylon-mesh/pylon/config"
)

const docPath = "../../docs/balancing.md"

// validBlock finds a ```yaml block after a "<!-- valid -->" line.
var validBlock = regexp.MustCompile("(?s)<!-- valid -->\n```yaml\n(.*?)```")

// firstService is the name of the first service in a block.
var firstService = regexp.MustCompile(`(?m)^  - name: (\S+)`)

// TestDocExamples checks every example in docs/balancing.md is a valid
// config, once given a listener and a route to its first service, and
// names a registered balancer.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	blocks := validBlock.FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < len(balancer.Names()) {
		t.Fatalf("valid yaml blocks in %s: got %d, want at least one per balancer (%d)", docPath, len(blocks), len(balancer.Names()))
	}
	for _, b := range blocks {
		svc := firstService.FindStringSubmatch(b[1])
		if svc == nil {
			t.Errorf("block %q: got no service, want one", b[1])
			continue
		}
		yaml := b[1] + "listeners: [{name: web, address: 127.0.0.1:8080}]\n" +
			"routes: [{name: r, match: {path: {prefix: /}}, service: " + svc[1] + "}]\n"
		c, err := config.Parse(docPath, []byte(yaml))
		if err != nil {
			t.Errorf("block for service %s: got error\n%v\nwant nil", svc[1], err)
			continue
		}
		for _, s := range c.Services {
			if _, ok := balancer.Lookup(s.Balancer); !ok && s.Balancer != "" {
				t.Errorf("service %s: balancer %q not registered", s.Name, s.Balancer)
			}
		}
	}
}

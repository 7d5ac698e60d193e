package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/pylon-mesh/pylon/internal/redistest"
)

// TestShopApp runs the README's first command, pylon up on the example
// shop, and uses the shop as its README says: products through the
// gateway and the mesh (storefront -> catalog over gRPC), an order
// (storefront -> orders -> catalog, inventory and Redis), the canary split,
// the live feed over WebSocket, an import whose new price reaches the feed;
// then Ctrl-C shuts it all down cleanly.
// The shop's own gateway listener, 127.0.0.1:8080, must be free.
func TestShopApp(t *testing.T) {
	t.Parallel() // long and mostly waiting: see parallelTests in harness_test.go
	if _, err := exec.LookPath("redis-server"); err != nil {
		redistest.Start(t) // skips, or fails when CI requires Redis: the shop runs without it, this test does not
	}
	u := runUp(t, "../examples/shop/app.yaml", filepath.Join(t.TempDir(), "data"), 4*time.Minute)
	const web = "http://127.0.0.1:8080"

	code, b := body(web + "/api/products")
	if code != http.StatusOK || !strings.Contains(b, `"id":"mug"`) {
		t.Fatalf("GET /api/products: %d %s", code, b)
	}

	ctx := testContext(t, 30*time.Second)
	feed, _, err := websocket.Dial(ctx, "ws://127.0.0.1:8080/feed", nil)
	if err != nil {
		t.Fatalf("dial the feed through the gateway: %v", err)
	}
	defer feed.CloseNow()
	if _, hello, err := feed.Read(ctx); err != nil || !strings.Contains(string(hello), "hello") {
		t.Fatalf("the feed's first message: %s, %v", hello, err)
	}

	// inventory-2 fails a fifth of its requests on purpose, and an order
	// (a POST) is not retried: try a few.
	var order string
	for range 10 {
		resp, err := http.Post(web+"/api/orders", "application/json", strings.NewReader(`{"sku": "mug", "qty": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Order struct{ ID string } `json:"order"`
		}
		json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			order = got.Order.ID
			break
		}
	}
	if order == "" {
		t.Fatal("no order was placed in 10 tries")
	}
	waitFor(t, 10*time.Second, "the order to arrive on the feed", func() bool {
		rctx, cancel := context.WithTimeout(ctx, 6*time.Second)
		defer cancel()
		_, msg, err := feed.Read(rctx)
		return err == nil && strings.Contains(string(msg), order)
	})

	// An import (storefront -> catalog's client-streaming ImportProducts)
	// lands on one catalog instance; the new price reaches the feed's
	// WatchPrices stream, on whichever instance, through Redis. An import
	// is idempotent: try a few times.
	imported := false
	for range 3 {
		resp, err := http.Post(web+"/api/products", "application/json",
			strings.NewReader(`[{"id": "mug", "name": "Pylon mug", "price_cents": 1399, "stock_hint": 100}]`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if imported = resp.StatusCode == http.StatusCreated; imported {
			break
		}
	}
	if !imported {
		t.Fatal("POST /api/products did not import in 3 tries")
	}
	waitFor(t, 10*time.Second, "the mug's new price to arrive on the feed", func() bool {
		rctx, cancel := context.WithTimeout(ctx, 6*time.Second)
		defer cancel()
		_, msg, err := feed.Read(rctx)
		var m struct {
			Type  string
			Price struct {
				ID         string `json:"id"`
				PriceCents int64  `json:"price_cents"`
			}
		}
		return err == nil && json.Unmarshal(msg, &m) == nil && m.Type == "price" && m.Price.ID == "mug" && m.Price.PriceCents == 1399
	})

	versions := map[string]int{}
	for range 100 {
		resp, err := http.Get(web + "/api/products/mug")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		versions[resp.Header.Get("X-Storefront-Version")]++
	}
	if versions["v1"] < 70 || versions["v2"] < 1 || versions["v1"]+versions["v2"] != 100 {
		t.Errorf("100 requests went to storefront versions %v, want about 90 v1 and 10 v2", versions)
	}

	// A killed instance is restarted and healthy again.
	before := u.pids()["storefront-v1-1"]
	syscall.Kill(before, syscall.SIGKILL)
	waitFor(t, 60*time.Second, "storefront-v1-1 to be restarted and healthy", func() bool {
		pid := u.pids()["storefront-v1-1"]
		return pid != 0 && pid != before && u.health("storefront-v1-1") == "healthy"
	})

	// inventory scaled up, then down.
	for _, n := range []int{3, 1} {
		if code, b := u.api(http.MethodPost, "/v1/app/scale", fmt.Sprintf(`{"service": "inventory", "replicas": %d}`, n)); code != http.StatusOK {
			t.Fatalf("scale inventory to %d: %d %s", n, code, b)
		}
		if got := u.instances("inventory"); len(got) != n {
			t.Errorf("inventory scaled to %d runs %v", n, got)
		}
	}

	// A rolling restart of catalog while the storefront lists products
	// (a server-streaming call to catalog through the mesh): no request
	// fails.
	l := startLoad(web+"/api/products", 3)
	time.Sleep(time.Second) // the retry budget is a share of recent traffic
	if code, b := u.api(http.MethodPost, "/v1/app/restart", `{"service": "catalog"}`); code != http.StatusOK {
		t.Errorf("rolling restart of catalog: %d %s", code, b)
	}
	total, failed, first := l.finish()
	if failed != 0 || total == 0 {
		t.Errorf("%d of %d product lists failed during catalog's rolling restart; the first: %s", failed, total, first)
	}

	pids := u.pids()
	if code := u.stop(); code != 0 {
		t.Errorf("pylon up exited %d after Ctrl-C, want 0 (a clean shutdown)\n%s", code, u.errb)
	}
	for name, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s (pid %d) still runs after pylon up exited", name, pid)
		}
	}
	if left := shopLeftovers(); len(left) > 0 {
		t.Errorf("processes the shop's go run started still run: %v", left)
	}
	t.Logf("%d product lists during the rolling restart, none failed", total)
}

// shopLeftovers lists the running programs `go run` built for the shop's
// services (they run from a go-build directory's exe/).
func shopLeftovers() []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(b), "\x00")
		for _, name := range []string{"catalog", "inventory", "orders", "storefront", "feed"} {
			if strings.Contains(argv0, "go-build") && strings.HasSuffix(argv0, "/exe/"+name) {
				out = append(out, filepath.Dir(p)+" "+argv0)
			}
		}
	}
	return out
}

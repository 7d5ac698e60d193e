package lifecycle

import (
	"testing"
	"time"
)

func TestHealthTrack(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		at    int
		state string
		want  bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"healthy stays", []step{{1, "healthy", false}, {100, "healthy", false}}},
		{"failing after healthy, replaced after 30s", []step{{1, "healthy", false}, {2, "unhealthy", false}, {31, "unhealthy", false}, {32, "unhealthy", true}}},
		{"recovering resets the clock", []step{{1, "healthy", false}, {2, "unhealthy", false}, {20, "healthy", false}, {21, "unknown", false}, {50, "", false}, {51, "", true}}},
		{"never healthy: the start grace", []step{{1, "unknown", false}, {119, "unhealthy", false}, {120, "unhealthy", true}}},
	}
	for _, c := range cases {
		var h healthTrack
		h.restarted(t0)
		for _, s := range c.steps {
			if got := h.observe(s.state, at(s.at), 30*time.Second) != ""; got != s.want {
				t.Errorf("%s: at %ds %q: replace %v, want %v", c.name, s.at, s.state, got, s.want)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"PORT": "7001", "CATALOG_ADDR": "127.0.0.1:7002"}
	for in, want := range map[string]string{
		"--port=${PORT}":     "--port=7001",
		"${CATALOG_ADDR}":    "127.0.0.1:7002",
		"$PORT":              "$PORT", // only the braced form
		"${UNSET}":           "${UNSET}",
		"a$b ${PORT}${PORT}": "a$b 70017001",
	} {
		if got := expand(in, env); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

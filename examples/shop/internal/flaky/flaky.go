// Package flaky makes one instance of a service misbehave on purpose, so
// the mesh's retries and outlier ejection can be watched: the instance
// named by FLAKY_INSTANCE answers a share FLAKY_ERROR_RATE (0..1) of its
// requests with 503 and delays every request by FLAKY_LATENCY. Every other
// instance ignores the settings, so one app file can run two instances of a
// service of which exactly one is flaky.
package flaky

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/pylon-mesh/pylon/examples/shop/internal/httpjson"
)

// The environment variables read by FromEnv.
const (
	EnvInstance  = "FLAKY_INSTANCE"
	EnvErrorRate = "FLAKY_ERROR_RATE"
	EnvLatency   = "FLAKY_LATENCY"
)

// Config is how a flaky instance misbehaves. The zero Config does nothing.
type Config struct {
	// ErrorRate is the share of requests answered 503, 0..1; 0 fails none.
	ErrorRate float64
	// Latency is added to every request before it is served or failed;
	// 0 adds none.
	Latency time.Duration
}

// FromEnv reads the settings with getenv (os.Getenv outside tests) for the
// instance named instance. It returns the zero Config when FLAKY_INSTANCE
// is unset or names another instance, and an error when a setting of this
// instance does not parse.
func FromEnv(getenv func(string) string, instance string) (Config, error) {
	if name := getenv(EnvInstance); name == "" || name != instance {
		return Config{}, nil
	}
	var c Config
	if s := getenv(EnvErrorRate); s != "" {
		rate, err := strconv.ParseFloat(s, 64)
		if err != nil || rate < 0 || rate > 1 {
			return Config{}, fmt.Errorf("read %s: %q is not a number between 0 and 1", EnvErrorRate, s)
		}
		c.ErrorRate = rate
	}
	if s := getenv(EnvLatency); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return Config{}, fmt.Errorf("read %s: %q is not a duration like 200ms", EnvLatency, s)
		}
		c.Latency = d
	}
	return c, nil
}

// Active reports whether c changes anything.
func (c Config) Active() bool {
	return c.ErrorRate > 0 || c.Latency > 0
}

// Middleware returns next wrapped so that each request first waits
// Latency (or until the client gives up) and then, with probability
// ErrorRate, gets 503 with the error code "flaky" instead of reaching next.
// It returns next itself when c is not Active.
func (c Config) Middleware(next http.Handler) http.Handler {
	if !c.Active() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.wait(r) {
			return
		}
		if c.ErrorRate > 0 && rand.Float64() < c.ErrorRate {
			httpjson.Error(w, http.StatusServiceUnavailable, "flaky",
				fmt.Sprintf("this instance fails %.4g%% of its requests on purpose (%s)", c.ErrorRate*100, EnvErrorRate))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// wait sleeps Latency and reports whether the request is still wanted.
func (c Config) wait(r *http.Request) bool {
	if c.Latency <= 0 {
		return true
	}
	t := time.NewTimer(c.Latency)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

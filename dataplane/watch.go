package dataplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"time"
)

// watch reloads the config on a Reload signal or when the file's content
// changes, until ctx is done.
func (rt *Runtime) watch(ctx context.Context) {
	var tick <-chan time.Time
	if rt.opts.WatchInterval > 0 {
		t := time.NewTicker(rt.opts.WatchInterval)
		defer t.Stop()
		tick = t.C
	}
	last := fileSum(rt.opts.ConfigPath)
	for {
		select {
		case <-ctx.Done():
			return
		case <-rt.opts.Reload:
			rt.Reload()
			last = fileSum(rt.opts.ConfigPath)
		case <-tick:
			// Content, not modification time: editors that write in place
			// and ones that rename a new file over the old both show up, and
			// touching the file without changing it does nothing.
			sum := fileSum(rt.opts.ConfigPath)
			if sum == nil || bytes.Equal(sum, last) {
				continue
			}
			last = sum
			rt.Reload()
		}
	}
}

// fileSum hashes a file's content (nil when it cannot be read, e.g. in the
// middle of being replaced).
func fileSum(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	s := sha256.Sum256(b)
	return s[:]
}

package control

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/pylon-mesh/pylon/store"
	"github.com/pylon-mesh/pylon/store/bolt"
	"github.com/pylon-mesh/pylon/store/etcd"
)

// OpenStore opens the store named by a --store URL: empty for a bbolt file
// in dataDir, bolt:///path/file.db, or etcd://host:port,host:port (the
// keys go under /pylon/).
func OpenStore(ctx context.Context, raw, dataDir string) (store.Store, error) {
	if raw == "" {
		return openBolt(filepath.Join(dataDir, "pylon.db"))
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("--store %q: want bolt:///path/file.db or etcd://host:port,host:port", raw)
	}
	switch scheme {
	case "bolt":
		u, err := url.Parse(raw)
		if err != nil || u.Path == "" {
			return nil, fmt.Errorf("--store %q: want bolt:///absolute/path/file.db", raw)
		}
		return openBolt(u.Path)
	case "etcd":
		var eps []string
		for _, h := range strings.Split(rest, ",") {
			if h = strings.TrimSpace(strings.TrimSuffix(h, "/")); h != "" {
				eps = append(eps, h)
			}
		}
		if len(eps) == 0 {
			return nil, fmt.Errorf("--store %q: name at least one etcd endpoint host:port", raw)
		}
		s, err := etcd.Open(ctx, eps, etcd.Options{})
		if err != nil {
			return nil, fmt.Errorf("open etcd store %s: %w", strings.Join(eps, ","), err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("--store %q: unknown scheme %q; use bolt or etcd", raw, scheme)
	}
}

func openBolt(path string) (store.Store, error) {
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"google.golang.org/grpc/encoding"

	"github.com/pylon-mesh/pylon/internal/grpcjson"
	"github.com/pylon-mesh/pylon/push"
)

// snapshotSize is the size of the last snapshot message this process
// received, payload included however it is decoded.
var snapshotSize atomic.Int64

// versionOnly makes this process's gRPC JSON codec read only the version
// of each snapshot (--decode version). A run sets it before its nodes
// start.
var versionOnly atomic.Bool

// lightCodec takes the place of grpcjson's codec in this process (this
// package's init runs after grpcjson's). It is the same JSON codec, except
// that with versionOnly a snapshot's payload is skipped: the 1000 nodes
// then leave the two cores to the control plane instead of scanning every
// payload with encoding/json, as the push package's light benchmark
// clients do.
type lightCodec struct{}

func init() { encoding.RegisterCodec(lightCodec{}) }

func (lightCodec) Name() string { return grpcjson.Name }

func (lightCodec) Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return b, nil
}

func (lightCodec) Unmarshal(data []byte, v any) error {
	s, ok := v.(*push.Snapshot)
	if ok {
		snapshotSize.Store(int64(len(data)))
	}
	if !ok || !versionOnly.Load() {
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("unmarshal %T: %w", v, err)
		}
		return nil
	}
	// The server writes the version first.
	rest, ok := bytes.CutPrefix(data, []byte(`{"version":"`))
	end := bytes.IndexByte(rest, '"')
	if !ok || end < 0 {
		return fmt.Errorf("snapshot does not start with its version: %.40q", data)
	}
	*s = push.Snapshot{Version: string(rest[:end])}
	return nil
}

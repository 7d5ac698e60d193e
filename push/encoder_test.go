package push

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding/gzip"
)

// nodeGen gives every node its own payload under one version, which breaks
// the Generator contract; the server must still send each node its own.
type nodeGen struct{}

func (nodeGen) Generate(_ context.Context, n Node) (Snapshot, error) {
	return Snapshot{Version: "v1", Payload: json.RawMessage(fmt.Sprintf(`{"node":%q}`, n.ID))}, nil
}

// sameGen gives every node the same payload.
type sameGen struct{}

func (sameGen) Generate(context.Context, Node) (Snapshot, error) {
	return Snapshot{Version: "v1", Payload: json.RawMessage(`{"routes":[]}`)}, nil
}

func TestEncodingShared(t *testing.T) {
	tests := []struct {
		name   string
		gen    Generator
		opts   map[string][]grpc.CallOption // per node: options of its stream
		want   map[string]string            // per node: the payload it gets
		shared bool                         // whether the encoding is cached
	}{
		{
			name: "same payload", gen: sameGen{},
			want:   map[string]string{"a": `{"routes":[]}`, "b": `{"routes":[]}`},
			shared: true,
		},
		{
			name: "payload differs under one version", gen: nodeGen{},
			want:   map[string]string{"a": `{"node":"a"}`, "b": `{"node":"b"}`},
			shared: true,
		},
		{
			name: "compressed stream", gen: sameGen{},
			opts:   map[string][]grpc.CallOption{"a": {grpc.UseCompressor(gzip.Name)}, "b": {grpc.UseCompressor(gzip.Name)}},
			want:   map[string]string{"a": `{"routes":[]}`, "b": `{"routes":[]}`},
			shared: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.gen, Options{}, "")
			got := map[string]string{}
			for _, id := range []string{"a", "b"} {
				cs := rawStream(t, ts.addr, grpc.WithDefaultCallOptions(tc.opts[id]...))
				send(t, cs, &Request{Hello: &Hello{NodeID: id, Kind: KindSidecar}})
				got[id] = string(recv(t, cs).Payload)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("payloads (-want +got):\n%s", diff)
			}
			ts.enc.mu.Lock()
			_, shared := ts.enc.cur["v1"]
			ts.enc.mu.Unlock()
			if shared != tc.shared {
				t.Errorf("got encoding cached %v, want %v", shared, tc.shared)
			}
		})
	}
}

func TestEncoderEvictsOldVersions(t *testing.T) {
	e := newEncoder()
	for i := range 3 * encodeCacheSize {
		e.entry(&Snapshot{Version: fmt.Sprint("v", i)})
		// v0 stays because it is used all along.
		e.entry(&Snapshot{Version: "v0"})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if got, limit := len(e.cur)+len(e.prev), 2*encodeCacheSize; got > limit {
		t.Errorf("got %d cached versions, want at most %d", got, limit)
	}
	if _, ok := e.cur["v0"]; !ok {
		t.Error("got v0 evicted, want it kept while in use")
	}
	if _, ok := e.cur["v1"]; ok {
		t.Error("got v1 kept, want it evicted")
	}
}

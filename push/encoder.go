package push

import (
	"bytes"
	"encoding/json"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"

	"github.com/pylon-mesh/pylon/internal/grpcjson"
)

// encodeCacheSize is how many versions the encoder keeps in each of its
// two generations.
const encodeCacheSize = 64

// encoder encodes each snapshot version once for all the streams it goes
// to: a change that reaches a thousand nodes of one class costs one JSON
// encoding, not a thousand. It is safe for concurrent use.
//
// Versions recently used are kept in two generations: when the current one
// is full it becomes the previous one and the oldest is dropped, so memory
// stays bounded by 2 × encodeCacheSize encoded snapshots.
type encoder struct {
	mu        sync.Mutex
	cur, prev map[string]*encoded
}

// encoded is one version's encoding, made by the first stream to need it.
type encoded struct {
	payload json.RawMessage // what was encoded, to check a later hit
	once    sync.Once
	msg     *grpc.PreparedMsg
	err     error
}

func newEncoder() *encoder {
	return &encoder{cur: make(map[string]*encoded), prev: make(map[string]*encoded)}
}

// encode returns snap encoded for ss. The encoding is shared only by
// streams that send plain JSON, and only for an identical payload: a
// generator that gave two nodes different payloads under one version still
// sends each its own.
func (e *encoder) encode(ss grpc.ServerStream, snap *Snapshot) (*grpc.PreparedMsg, error) {
	if !plainJSON(ss) {
		return encodeFor(ss, snap)
	}
	en := e.entry(snap)
	if !bytes.Equal(en.payload, snap.Payload) {
		return encodeFor(ss, snap)
	}
	en.once.Do(func() { en.msg, en.err = encodeFor(ss, snap) })
	return en.msg, en.err
}

// entry returns the cache entry of snap's version, adding one if needed.
func (e *encoder) entry(snap *Snapshot) *encoded {
	e.mu.Lock()
	defer e.mu.Unlock()
	if en, ok := e.cur[snap.Version]; ok {
		return en
	}
	en, ok := e.prev[snap.Version]
	if !ok {
		en = &encoded{payload: snap.Payload}
	}
	if len(e.cur) >= encodeCacheSize {
		e.prev, e.cur = e.cur, make(map[string]*encoded)
	}
	e.cur[snap.Version] = en
	return en
}

func encodeFor(ss grpc.ServerStream, snap *Snapshot) (*grpc.PreparedMsg, error) {
	msg := new(grpc.PreparedMsg)
	if err := msg.Encode(ss, snap); err != nil {
		return nil, err
	}
	return msg, nil
}

// plainJSON tells whether ss sends messages with the JSON codec and
// without compression, as every stream Run opens does, so that its
// encoding of a snapshot is the same as any other such stream's. gRPC
// exposes both through the methods of its transport stream; if that ever
// changes, every stream encodes for itself, which is slower but correct.
func plainJSON(ss grpc.ServerStream) bool {
	ts, ok := grpc.ServerTransportStreamFromContext(ss.Context()).(interface {
		ContentSubtype() string
		SendCompress() string
	})
	return ok && ts.ContentSubtype() == grpcjson.Name &&
		(ts.SendCompress() == "" || ts.SendCompress() == encoding.Identity)
}

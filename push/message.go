package push

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Kinds of data plane a Hello may announce.
const (
	KindGateway = "gateway"
	KindSidecar = "sidecar"
)

// Limits on what a client may send, so that a hostile or broken peer cannot
// fill logs or the status the dashboard shows.
const (
	maxField     = 256  // NodeID, Kind, Build, versions and each want, in bytes
	maxWants     = 1024 // names in Hello.Wants
	maxNackError = 4096 // a Nack's error text; longer texts are cut
)

// Hello is the first message of every stream: who the data plane is and
// what it already has.
type Hello struct {
	// NodeID names the data plane, unique in the mesh. Required.
	NodeID string `json:"nodeId"`
	// Kind is KindGateway or KindSidecar.
	Kind string `json:"kind"`
	// Build is the data plane's build (version string of the binary).
	Build string `json:"build,omitempty"`
	// Version is the version of the snapshot the data plane applied last;
	// empty if it has none. The server sends nothing until the content
	// differs from it.
	Version string `json:"version,omitempty"`
	// Wants names what the node needs beyond what its identity gives it:
	// for a sidecar, the services its app calls.
	Wants []string `json:"wants,omitempty"`
}

// Ack says the data plane applied the snapshot with Version.
type Ack struct {
	Version string `json:"version"`
}

// Nack says the data plane refused the snapshot with Version and keeps
// serving what it had; Error says why.
type Nack struct {
	Version string `json:"version"`
	Error   string `json:"error"`
}

// Request is a message from the data plane: exactly one field is set.
type Request struct {
	Hello *Hello `json:"hello,omitempty"`
	Ack   *Ack   `json:"ack,omitempty"`
	Nack  *Nack  `json:"nack,omitempty"`
}

// Snapshot is the whole config of one node at one version.
type Snapshot struct {
	// Version names the content; equal content has an equal version.
	Version string `json:"version"`
	// Payload is the config, opaque to this package. It must be valid JSON.
	Payload json.RawMessage `json:"payload"`
}

// check reports what is wrong with r; first tells whether r is the first
// message of its stream.
func (r *Request) check(first bool) error {
	n := 0
	for _, set := range []bool{r.Hello != nil, r.Ack != nil, r.Nack != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return fmt.Errorf("request carries %d messages, want exactly one of hello, ack, nack", n)
	case first && r.Hello == nil:
		return errors.New("first request must carry hello")
	case !first && r.Hello != nil:
		return errors.New("hello sent twice")
	case r.Hello != nil:
		return r.Hello.check()
	case r.Ack != nil:
		return checkLen("ack version", r.Ack.Version)
	}
	return checkLen("nack version", r.Nack.Version)
}

// check reports what is wrong with h.
func (h *Hello) check() error {
	if h.NodeID == "" {
		return errors.New("hello without node id")
	}
	if h.Kind != KindGateway && h.Kind != KindSidecar {
		return fmt.Errorf("hello kind %.64q: want %q or %q", h.Kind, KindGateway, KindSidecar)
	}
	if len(h.Wants) > maxWants {
		return fmt.Errorf("hello wants %d names, want at most %d", len(h.Wants), maxWants)
	}
	errs := []error{
		checkLen("hello node id", h.NodeID),
		checkLen("hello build", h.Build),
		checkLen("hello version", h.Version),
	}
	for _, w := range h.Wants {
		errs = append(errs, checkLen("hello wants", w))
	}
	return errors.Join(errs...)
}

func checkLen(what, s string) error {
	if len(s) > maxField {
		return fmt.Errorf("%s is %d bytes, want at most %d", what, len(s), maxField)
	}
	return nil
}

// truncate cuts s to at most n bytes and drops invalid UTF-8, such as a
// sequence the cut split.
func truncate(s string, n int) string {
	return strings.ToValidUTF8(s[:min(len(s), n)], "")
}

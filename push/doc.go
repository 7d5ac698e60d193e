// Package push is the config push protocol between the control plane and
// its data planes (gateways, later sidecars): one long-lived gRPC stream per
// data plane over which the control plane sends whole, versioned per-node
// snapshots and the data plane says which it applied.
//
// The package knows nothing about what a snapshot holds: the payload is
// opaque JSON produced by a [Generator]. The control plane wires a Server
// (what a snapshot contains, TLS credentials, who the node is); a data plane
// calls [Run] with a function that applies a snapshot.
//
// # Protocol
//
// Service pylon.control.v1.Config, method Stream, bidirectional, over gRPC
// with the JSON codec of internal/grpcjson (content type
// application/grpc+json), so the messages below are JSON objects:
//
//	client → server  Request  {"hello": Hello} | {"ack": Ack} | {"nack": Nack}
//	  Hello {"nodeId", "kind": "gateway"|"sidecar", "build", "version"}
//	  Ack   {"version"}
//	  Nack  {"version", "error"}
//	server → client  Snapshot {"version", "payload": <any JSON>}
//
// A stream goes like this:
//
//  1. The server authenticates the stream (for example from the mTLS peer
//     certificate); a failure ends it with code Unauthenticated.
//  2. The client's first message carries exactly one Hello: who it is and
//     the version of the snapshot it already applied ("" if none). A stream
//     without a Hello within 10 s, or whose first message is anything else,
//     ends with code InvalidArgument. Every Request carries exactly one
//     message; a second Hello is also InvalidArgument.
//  3. Once the Hello is accepted the server sends the response headers (so
//     the client knows it is connected), generates the node's snapshot and
//     sends it unless its version is the one the node has: a resuming node
//     that is up to date is sent nothing.
//  4. Whenever the control plane's state changes the server generates
//     again and sends the snapshot if its version differs from the last one
//     it sent. Versions are opaque strings; the control plane uses a content
//     hash, so the same content has the same version. Changes that arrive
//     while a stream is busy coalesce: the node gets the newest snapshot,
//     never a queue of stale ones.
//  5. The client applies each snapshot and answers Ack{version} or
//     Nack{version, error}. A NACKed version is not sent again on that
//     stream; the next change of content is. A client that is still
//     applying when newer snapshots arrive skips to the newest.
//  6. Either side may end the stream; the client reconnects with
//     exponential backoff and resumes with the version it applied. While
//     disconnected the data plane keeps serving what it applied. A server
//     that shuts down ends its streams with code Unavailable, and clients
//     dial again (possibly another control plane replica).
//
// A snapshot that a peer has not read within Options.SendTimeout (1 minute
// by default) ends the stream with code DeadlineExceeded, so a stuck data
// plane is disconnected and shows as such. A dead TCP peer is found by gRPC
// keepalive, which the integrator configures; recommended values are
// keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 *
// time.Second} with keepalive.EnforcementPolicy{MinTime: 15 * time.Second,
// PermitWithoutStream: true} on the control plane, and
// keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 *
// time.Second} on data planes.
package push

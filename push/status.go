package push

import "time"

// NodeStatus is the push state of one stream.
type NodeStatus struct {
	// Node is who is connected: ID, Kind, Build, Identity and Peer.
	Node
	// Connected is false only in the OnStatus call that reports the end of
	// the stream.
	Connected bool
	// ConnectedAt is when the stream's Hello was accepted.
	ConnectedAt time.Time
	// Sent is the version last sent on the stream or, before the first
	// send, the version the node resumed with; empty if neither.
	Sent string
	// Acked is the version the node last ACKed, or the one it resumed with.
	Acked string
	// LastAckAt is when the node last ACKed; zero if it has not.
	LastAckAt time.Time
	// Nacked is the version the node last refused, and NackError why. Both
	// are cleared when the node ACKs a later snapshot.
	Nacked, NackError string
	// Err is why the stream ended (a gRPC status error), in the OnStatus
	// call that reports it; nil otherwise.
	Err error
}

package control

import (
	"time"

	"github.com/pylon-mesh/pylon/push"
)

// Node is a connected data plane as the admin API shows it.
type Node struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Identity    string    `json:"identity"`
	Peer        string    `json:"peer"`
	Build       string    `json:"build,omitempty"`
	Replica     string    `json:"replica"`
	ConnectedAt time.Time `json:"connected_at"`
	Sent        string    `json:"sent,omitempty"`
	Acked       string    `json:"acked,omitempty"`
	LastAckAt   time.Time `json:"last_ack_at,omitzero"`
	Nacked      string    `json:"nacked,omitempty"`
	NackError   string    `json:"nack_error,omitempty"`
}

func nodeOf(s push.NodeStatus, replica string) Node {
	return Node{ID: s.ID, Kind: s.Kind, Identity: s.Identity, Peer: s.Peer, Build: s.Build, Replica: replica,
		ConnectedAt: s.ConnectedAt.UTC(), Sent: s.Sent, Acked: s.Acked, LastAckAt: s.LastAckAt.UTC(),
		Nacked: s.Nacked, NackError: s.NackError}
}

// localNodes lists the data planes connected to this replica.
func (r *replica) localNodes() []Node {
	out := []Node{}
	for _, s := range r.push.Nodes() {
		out = append(out, nodeOf(s, r.opts.ControlAddr))
	}
	return out
}

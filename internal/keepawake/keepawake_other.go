//go:build !linux

package keepawake

// Holder does nothing outside Linux.
type Holder struct{}

// Start does nothing outside Linux.
func Start() *Holder { return &Holder{} }

// Stop does nothing outside Linux.
func (h *Holder) Stop() {}

// Holding is always false outside Linux.
func (h *Holder) Holding() bool { return false }

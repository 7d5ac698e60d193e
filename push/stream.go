package push

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// stream is the server side of one data plane's stream. Its run loop is
// the only goroutine that generates and decides what to send; a sender
// goroutine writes to the peer, so a peer that stops reading cannot keep
// the loop from noticing the send timeout or the server closing.
type stream struct {
	srv     *Server
	ss      grpc.ServerStream
	node    Node
	in      *receiver
	notify  chan struct{}          // 1 slot: "generate again"
	out     chan *grpc.PreparedMsg // to the sender; 1 slot, used one at a time
	sent    chan error             // from the sender: the result of a send
	quit    chan struct{}          // closed when run returns
	timer   *time.Timer            // send timeout, armed while sending
	have    string                 // the version the node has or was sent last
	sending bool                   // a send is in flight

	mu sync.Mutex
	st NodeStatus
}

func (s *Server) newStream(ss grpc.ServerStream, node Node, have string, in *receiver) *stream {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &stream{
		srv:    s,
		ss:     ss,
		node:   node,
		in:     in,
		notify: make(chan struct{}, 1),
		out:    make(chan *grpc.PreparedMsg, 1),
		sent:   make(chan error, 1),
		quit:   make(chan struct{}),
		timer:  t,
		have:   have,
		st: NodeStatus{
			Node:        node,
			Connected:   true,
			ConnectedAt: time.Now(),
			Sent:        have,
			Acked:       have,
		},
	}
}

// wake asks the stream to generate again; it never blocks.
func (st *stream) wake() {
	select {
	case st.notify <- struct{}{}:
	default:
	}
}

// run serves the stream until it ends and returns why.
func (st *stream) run(ctx context.Context) error {
	st.srv.wg.Add(1)
	go func() {
		defer st.srv.wg.Done()
		st.sendLoop()
	}()
	defer close(st.quit)
	defer st.timer.Stop()
	st.notifyStatus(func(*NodeStatus) {}) // connected
	st.sync(ctx)
	for {
		// While a send is in flight a Notify stays in its slot, to be
		// served with the newest state once the send is done.
		notify, timeout := st.notify, (<-chan time.Time)(nil)
		if st.sending {
			notify, timeout = nil, st.timer.C
		}
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-notify:
			st.sync(ctx)
		case err := <-st.sent:
			st.sending = false
			st.timer.Stop()
			if err != nil {
				return err
			}
		case <-timeout:
			return status.Errorf(codes.DeadlineExceeded, "send snapshot %.64q: the peer took none of it for %v", st.have, st.srv.opts.SendTimeout)
		case m := <-st.in.c:
			if err := st.handle(m); err != nil {
				return err
			}
		}
	}
}

// sync generates the node's snapshot and hands it to the sender if its
// version is not the one the node has.
func (st *stream) sync(ctx context.Context) {
	snap, err := st.srv.gen.Generate(ctx, st.node)
	switch {
	case ctx.Err() != nil:
		return // the stream is ending; run returns next
	case err != nil:
		st.srv.log.Error("push: generate snapshot", "node", st.node.ID, "err", err)
		return
	case snap.Version == "":
		st.srv.log.Error("push: generated snapshot has no version", "node", st.node.ID)
		return
	case snap.Version == st.have:
		return
	}
	msg, err := st.srv.enc.encode(st.ss, &snap)
	if err != nil {
		st.srv.log.Error("push: encode snapshot", "node", st.node.ID, "version", snap.Version, "err", err)
		return
	}
	st.have = snap.Version
	st.update(func(s *NodeStatus) { s.Sent = snap.Version })
	st.sending = true
	st.timer.Reset(st.srv.opts.SendTimeout)
	st.out <- msg
}

// sendLoop writes what sync prepared. A SendMsg blocked on a peer that
// does not read returns once run has returned and gRPC ends the stream.
func (st *stream) sendLoop() {
	for {
		select {
		case <-st.quit:
			return
		case msg := <-st.out:
			st.sent <- st.ss.SendMsg(msg)
		}
	}
}

// handle records an Ack or Nack.
func (st *stream) handle(m received) error {
	if m.err != nil {
		return m.err
	}
	if err := m.req.check(false); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if a := m.req.Ack; a != nil {
		st.srv.log.Debug("push: ack", "node", st.node.ID, "version", a.Version)
		st.notifyStatus(func(s *NodeStatus) {
			s.Acked, s.LastAckAt, s.Nacked, s.NackError = a.Version, time.Now(), "", ""
		})
		return nil
	}
	n := m.req.Nack
	msg := truncate(n.Error, maxNackError)
	st.srv.log.Warn("push: nack", "node", st.node.ID, "version", n.Version, "err", msg)
	st.notifyStatus(func(s *NodeStatus) { s.Nacked, s.NackError = n.Version, msg })
	return nil
}

// disconnected reports the end of the stream.
func (st *stream) disconnected(err error) {
	st.notifyStatus(func(s *NodeStatus) { s.Connected, s.Err = false, err })
}

// notifyStatus updates the status and passes it to Options.OnStatus.
func (st *stream) notifyStatus(update func(*NodeStatus)) {
	s := st.update(update)
	if st.srv.opts.OnStatus != nil {
		st.srv.opts.OnStatus(s)
	}
}

// update changes the status and returns a copy of it.
func (st *stream) update(update func(*NodeStatus)) NodeStatus {
	st.mu.Lock()
	defer st.mu.Unlock()
	update(&st.st)
	return st.st
}

func (st *stream) status() NodeStatus {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.st
}

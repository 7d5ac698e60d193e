package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// serveStream handles one data plane's stream, from authentication to its
// end.
func (s *Server) serveStream(ss grpc.ServerStream) error {
	if !s.enter() {
		return errClosing
	}
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	defer context.AfterFunc(s.closing, cancel)()
	err := s.serve(ctx, ss)
	if s.closing.Err() != nil {
		return errClosing
	}
	return err
}

// serve runs the stream with ctx, which ends with the stream or on Close.
func (s *Server) serve(ctx context.Context, ss grpc.ServerStream) error {
	node, err := s.authenticate(ctx)
	if err != nil {
		return err
	}
	in := s.receive(ss)
	defer in.stop()
	hello, err := s.awaitHello(ctx, in)
	if err != nil {
		return err
	}
	node.ID, node.Kind, node.Build, node.Wants = hello.NodeID, hello.Kind, hello.Build, hello.Wants
	// The headers tell the client that its Hello was accepted.
	if err := ss.SendHeader(metadata.MD{}); err != nil {
		return fmt.Errorf("send headers to node %s: %w", node.ID, err)
	}
	st := s.newStream(ss, node, hello.Version, in)
	s.add(st)
	s.log.Info("push: node connected", "node", node.ID, "kind", node.Kind, "identity", node.Identity, "peer", node.Peer, "version", hello.Version)
	err = st.run(ctx)
	if s.closing.Err() != nil {
		err = errClosing
	}
	s.remove(st)
	s.log.Info("push: node disconnected", "node", node.ID, "peer", node.Peer, "err", err)
	st.disconnected(err)
	return err
}

// authenticate runs Options.Authenticate and describes the peer.
func (s *Server) authenticate(ctx context.Context) (Node, error) {
	var n Node
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		n.Peer = p.Addr.String()
	}
	if s.opts.Authenticate == nil {
		return n, nil
	}
	id, err := s.opts.Authenticate(ctx)
	if err != nil {
		s.log.Warn("push: stream refused", "peer", n.Peer, "err", err)
		return n, status.Errorf(codes.Unauthenticated, "authenticate: %v", err)
	}
	n.Identity = id
	return n, nil
}

// awaitHello waits for the stream's first message, which must be a Hello.
func (s *Server) awaitHello(ctx context.Context, in *receiver) (*Hello, error) {
	t := time.NewTimer(s.opts.HelloTimeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-t.C:
		return nil, status.Errorf(codes.InvalidArgument, "no hello within %v", s.opts.HelloTimeout)
	case m := <-in.c:
		if errors.Is(m.err, io.EOF) {
			return nil, status.Error(codes.InvalidArgument, "stream closed before hello")
		}
		if m.err != nil {
			return nil, m.err
		}
		if err := m.req.check(true); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return m.req.Hello, nil
	}
}

// received is one result of RecvMsg.
type received struct {
	req Request
	err error
}

// receiver reads a stream's requests on its own goroutine, so the stream's
// loop can wait for them and for changes at once.
type receiver struct {
	c    chan received // closed after the last result (an error)
	quit chan struct{} // closed by stop
}

// receive starts reading ss.
func (s *Server) receive(ss grpc.ServerStream) *receiver {
	r := &receiver{c: make(chan received), quit: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		r.loop(ss)
	}()
	return r
}

func (r *receiver) loop(ss grpc.ServerStream) {
	for {
		var m received
		m.err = ss.RecvMsg(&m.req)
		select {
		case r.c <- m:
		case <-r.quit:
			return
		}
		if m.err != nil {
			return
		}
	}
}

// stop lets the reader exit; its RecvMsg returns once the handler has
// returned and gRPC has ended the stream.
func (r *receiver) stop() { close(r.quit) }

package push

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	"github.com/pylon-mesh/pylon/internal/grpcjson"
)

// stream opens a stream, says hello and applies snapshots until it fails.
func (c *client) stream(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := c.conn.NewStream(sctx, &streamDesc, streamMethod, grpcjson.CallOption)
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	if err := c.sayHello(cs); err != nil {
		return err
	}
	c.state(true, nil)
	c.log.Info("push: connected to control plane", "version", c.hello.Version)
	in := &incoming{latest: make(chan Snapshot, 1), err: make(chan error, 1), done: make(chan struct{})}
	go in.loop(cs)
	defer func() {
		cancel()
		<-in.done
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-in.err:
			return err
		case s := <-in.latest:
			if err := c.applyOne(ctx, cs, s); err != nil {
				cancel()
				return ended(err, <-in.err)
			}
		}
	}
}

// sayHello sends the Hello and waits until the server accepts it.
func (c *client) sayHello(cs grpc.ClientStream) error {
	// io.EOF means the stream already ended; the headers tell why.
	if err := cs.SendMsg(&Request{Hello: &c.hello}); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("send hello: %w", err)
	}
	md, err := cs.Header()
	if err != nil {
		return fmt.Errorf("await hello accepted: %w", err)
	}
	if md == nil {
		// The stream ended without headers: the server refused it.
		return fmt.Errorf("hello refused: %w", cs.RecvMsg(new(Snapshot)))
	}
	return nil
}

// applyOne applies s and tells the server how it went.
func (c *client) applyOne(ctx context.Context, cs grpc.ClientStream, s Snapshot) error {
	var req Request
	if err := c.apply(ctx, s); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.log.Warn("push: snapshot refused", "version", s.Version, "err", err)
		req.Nack = &Nack{Version: s.Version, Error: truncate(err.Error(), maxNackError)}
	} else {
		c.log.Debug("push: snapshot applied", "version", s.Version)
		c.hello.Version = s.Version
		req.Ack = &Ack{Version: s.Version}
	}
	return cs.SendMsg(&req)
}

// ended picks the error that says why a stream ended: a send reports
// io.EOF and leaves the reason to the receive.
func ended(sendErr, recvErr error) error {
	if errors.Is(sendErr, io.EOF) && recvErr != nil {
		return recvErr
	}
	return sendErr
}

// incoming receives snapshots on its own goroutine and keeps only the
// newest one not yet taken.
type incoming struct {
	latest chan Snapshot // 1 slot
	err    chan error    // 1 slot: why receiving stopped
	done   chan struct{} // closed when loop returns
}

func (in *incoming) loop(cs grpc.ClientStream) {
	defer close(in.done)
	for {
		var s Snapshot
		if err := cs.RecvMsg(&s); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("control plane ended the stream")
			}
			in.err <- err
			return
		}
		// This goroutine is the only sender, so after dropping a stale
		// snapshot the slot is free.
		select {
		case <-in.latest:
		default:
		}
		in.latest <- s
	}
}

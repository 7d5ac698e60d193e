package push

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// Defaults for the zero values of ClientOptions.
const (
	defaultBackoffMin = 100 * time.Millisecond
	defaultBackoffMax = 10 * time.Second
	// stableAfter is how long a stream must have lived for the next
	// reconnect to start again from the shortest delay.
	stableAfter = 30 * time.Second
)

// ClientOptions tunes Run. The zero value is usable.
type ClientOptions struct {
	// BackoffMin and BackoffMax bound the delay between reconnects, which
	// doubles from BackoffMin up to BackoffMax and is jittered. Zero means
	// 100 ms and 10 s.
	BackoffMin, BackoffMax time.Duration
	// Logger receives the client's logs. Nil discards them.
	Logger *slog.Logger
	// OnState is called from Run's goroutine with true when the control
	// plane accepted the stream, and with false and why when a dial or a
	// stream failed. Nil means no calls.
	OnState func(connected bool, err error)
}

// Run keeps a data plane in sync with the control plane until ctx ends,
// and then returns ctx.Err(). It returns at once, with an error, only if
// hello is invalid (no NodeID, an unknown Kind, a field over 256 bytes).
//
// It dials with dial, opens the stream, says hello (with hello.Version set
// to the version last applied; the caller's hello.Version is the one it
// starts with), and calls apply for each snapshot, in order, from Run's
// goroutine: nil is sent as an Ack, an error as a Nack with its text. A
// snapshot that arrives while apply runs replaces any older one that is
// still waiting, so apply always gets the newest. apply's ctx is Run's.
//
// When a stream fails Run reconnects after a jittered exponential backoff
// (which starts again from BackoffMin after a stream that lived 30 s),
// reusing the connection unless it failed or the server ended the stream
// with code Unavailable, in which case it closes it and calls dial again
// (which may pick another control plane replica). Run owns the connections
// dial returns. While disconnected, apply is not called and the data plane
// keeps what it has.
func Run(ctx context.Context, dial func(ctx context.Context) (*grpc.ClientConn, error), hello Hello, apply func(ctx context.Context, s Snapshot) error, opts ClientOptions) error {
	if err := hello.check(); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	c := &client{
		dial:    dial,
		hello:   hello,
		apply:   apply,
		onState: opts.OnState,
		log:     opts.Logger,
		backoff: newBackoff(cmp.Or(opts.BackoffMin, defaultBackoffMin), cmp.Or(opts.BackoffMax, defaultBackoffMax)),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c.run(ctx)
}

// client is the state of one Run.
type client struct {
	dial    func(ctx context.Context) (*grpc.ClientConn, error)
	hello   Hello // Version is the version last applied
	apply   func(ctx context.Context, s Snapshot) error
	onState func(connected bool, err error)
	log     *slog.Logger
	backoff *backoff
	conn    *grpc.ClientConn // nil until dialled, and after it failed
}

func (c *client) run(ctx context.Context) error {
	defer c.closeConn()
	for {
		start := time.Now()
		err := c.connect(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.state(false, err)
		if time.Since(start) >= stableAfter {
			c.backoff.reset()
		}
		if c.failed(err) {
			c.closeConn()
		}
		d := c.backoff.next()
		c.log.Warn("push: disconnected from control plane", "err", err, "retry_in", d)
		if !sleep(ctx, d) {
			return ctx.Err()
		}
	}
}

// connect dials if needed and serves one stream until it fails.
func (c *client) connect(ctx context.Context) error {
	if c.conn == nil {
		conn, err := c.dial(ctx)
		if err != nil {
			return fmt.Errorf("dial control plane: %w", err)
		}
		c.conn = conn
	}
	return c.stream(ctx)
}

// failed tells whether the connection should be dialled again after err.
func (c *client) failed(err error) bool {
	if c.conn == nil {
		return false
	}
	switch c.conn.GetState() {
	case connectivity.TransientFailure, connectivity.Shutdown:
		return true
	}
	// Unavailable is also how a control plane that shuts down ends its
	// streams: dial again, perhaps to another replica.
	return status.Code(err) == codes.Unavailable
}

func (c *client) closeConn() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *client) state(connected bool, err error) {
	if c.onState != nil {
		c.onState(connected, err)
	}
}

// sleep waits for d or until ctx ends, and tells which came first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

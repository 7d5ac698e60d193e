package registration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/config"
	"github.com/pylon-mesh/pylon/internal/grpcjson"
	"github.com/pylon-mesh/pylon/registry"
)

func call[Req any](ctx context.Context, conn *grpc.ClientConn, method string, req *Req) (*Reply, error) {
	out := new(Reply)
	if err := conn.Invoke(ctx, "/"+ServiceName+"/"+method, req, out, grpcjson.CallOption); err != nil {
		return nil, err
	}
	return out, nil
}

// Keeper keeps one instance registered while its sidecar runs.
type Keeper struct {
	// Dial connects to a control plane replica (enroll.Agent.Dial).
	Dial func(ctx context.Context) (*grpc.ClientConn, error)
	// Instance is what to register; its TTL sets the heartbeat pace.
	Instance registry.Instance
	// Health returns the app's health now: registry.Healthy, Unhealthy or
	// Unknown.
	Health func() string
	// Changed, when it receives, makes the keeper report at once rather
	// than at the next heartbeat (the app just became healthy).
	Changed <-chan struct{}
	// Views, when set, returns how the sidecar sees its upstreams'
	// endpoints; a heartbeat carries them when they changed.
	Views  func() []registry.View
	sent   []registry.View
	Logger *slog.Logger
}

// Run registers the instance and heartbeats every third of its lease,
// registering again whenever the control plane lost it (its lease lapsed
// while the control plane was away), until ctx ends; then it deregisters,
// so callers stop at once rather than when the lease lapses.
func (k *Keeper) Run(ctx context.Context) error {
	if k.Logger == nil {
		k.Logger = slog.New(slog.DiscardHandler)
	}
	if k.Instance.TTL == 0 {
		k.Instance.TTL = config.Duration(registry.DefaultTTL)
	}
	every := time.Duration(k.Instance.TTL) / 3
	var conn *grpc.ClientConn
	defer func() {
		if conn == nil {
			// No connection when the stop came: make one to deregister,
			// so callers stop at once rather than when the lease lapses.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			conn, _ = k.Dial(ctx)
			cancel()
		}
		if conn != nil {
			k.deregister(conn)
			conn.Close()
		}
	}()
	registered := false
	for {
		if conn == nil {
			c, err := k.Dial(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				k.Logger.Warn("registry: cannot reach the control plane; will retry", "err", err.Error())
				if !k.wait(ctx, every) {
					return nil
				}
				continue
			}
			conn = c
		}
		err := k.beat(ctx, conn, &registered)
		if err != nil && ctx.Err() == nil {
			k.Logger.Warn("registry: heartbeat failed; will retry", "err", err.Error())
			if status.Code(err) == codes.Unavailable {
				conn.Close()
				conn = nil
			}
		}
		if !k.wait(ctx, every) {
			return nil
		}
	}
}

// wait sleeps d, or less when the health changed; false when ctx ended.
func (k *Keeper) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-k.Changed:
	}
	return true
}

// beat registers when needed, else heartbeats with the current health.
func (k *Keeper) beat(ctx context.Context, conn *grpc.ClientConn, registered *bool) error {
	in := k.Instance
	in.Health = k.Health()
	if *registered {
		req := &HeartbeatRequest{Service: in.Service, ID: in.ID, Health: in.Health}
		var views []registry.View
		if k.Views != nil {
			if views = k.Views(); !slices.Equal(views, k.sent) {
				req.Views = append([]registry.View{}, views...)
			}
		}
		_, err := call(ctx, conn, "Heartbeat", req)
		if err == nil && req.Views != nil {
			k.sent = views
		}
		if status.Code(err) != codes.NotFound {
			return err
		}
		k.Logger.Warn("registry: the control plane lost this instance; registering again", "id", in.ID)
	}
	out, err := call(ctx, conn, "Register", &RegisterRequest{Instance: in})
	if err != nil {
		*registered = false
		return fmt.Errorf("register: %w", err)
	}
	k.sent = nil // a new lease: the views go again with the next heartbeat
	if !*registered {
		k.Logger.Info("registered with the control plane", "id", out.Instance.ID,
			"address", out.Instance.Address, "health", out.Instance.Health)
	}
	*registered = true
	return nil
}

// deregister removes the instance, bounded by a short timeout of its own
// (the run's context is already over).
func (k *Keeper) deregister(conn *grpc.ClientConn) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := call(ctx, conn, "Deregister", &DeregisterRequest{Service: k.Instance.Service, ID: k.Instance.ID})
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && status.Code(err) != codes.NotFound {
		k.Logger.Warn("registry: deregister failed; the instance leaves when its lease lapses", "err", err.Error())
		return
	}
	k.Logger.Info("deregistered from the control plane", "id", k.Instance.ID)
}

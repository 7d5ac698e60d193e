package enroll

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/pylon-mesh/pylon/internal/grpcjson"
)

// clientKeepalive is what Dial's connections send; ServerKeepalive
// permits it.
var clientKeepalive = keepalive.ClientParameters{
	Time:                20 * time.Second,
	Timeout:             5 * time.Second,
	PermitWithoutStream: true,
}

// ServerKeepalive is the server option a control plane's gRPC server needs
// so that it accepts the keepalive pings of Dial's connections; without it
// gRPC's default policy closes them as abusive.
func ServerKeepalive() grpc.ServerOption {
	return grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
		MinTime:             clientKeepalive.Time / 2,
		PermitWithoutStream: true,
	})
}

// Dial connects to the next control plane address (round-robin) over
// mutual TLS: the agent's current certificate authenticates it, read on
// every handshake so renewals apply to reconnections, and the server must
// be the control plane by the current trust bundle. It waits until the
// connection is ready, so a caller that gets an error can dial again and
// reach another replica. Calls on the connection use the JSON codec by
// default.
func (a *Agent) Dial(ctx context.Context) (*grpc.ClientConn, error) {
	if a.cur.Load() == nil {
		return nil, fmt.Errorf("dial control plane: %w", errNotEnrolled)
	}
	addr := a.nextAddr()
	check := new(peerCheck)
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(credentials.NewTLS(a.mtlsConfig(check))),
		grpc.WithKeepaliveParams(clientKeepalive),
		grpc.WithDefaultCallOptions(grpcjson.CallOption),
	)
	if err != nil {
		return nil, fmt.Errorf("dial control plane %s: %w", addr, err)
	}
	if err := waitReady(ctx, conn, check); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dial control plane %s: %w", addr, err)
	}
	return conn, nil
}

// waitReady connects conn and waits until it is ready, has failed, or ctx
// ends.
func waitReady(ctx context.Context, conn *grpc.ClientConn, check *peerCheck) error {
	conn.Connect()
	for {
		switch s := conn.GetState(); s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			if err := check.result(); err != nil {
				return err
			}
			return errors.New("connection failed")
		default:
			if !conn.WaitForStateChange(ctx, s) {
				return ctx.Err()
			}
		}
	}
}

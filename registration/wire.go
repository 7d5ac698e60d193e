// Package registration is how a sidecar keeps its instance in the control
// plane's registry: a gRPC service (JSON codec, over the same mTLS
// connection as the config push) whose caller may only register, renew
// and remove instances of the service its certificate names, and the
// client that registers, heartbeats with the app's health every third of
// the lease and deregisters on a graceful stop.
package registration

import (
	"context"

	"google.golang.org/grpc"

	_ "github.com/pylon-mesh/pylon/internal/grpcjson" // the JSON codec the service speaks
	"github.com/pylon-mesh/pylon/registry"
)

// ServiceName is the gRPC service of the registry.
const ServiceName = "pylon.control.v1.Registry"

// RegisterRequest registers (or replaces) an instance.
type RegisterRequest struct {
	Instance registry.Instance `json:"instance"`
}

// HeartbeatRequest renews an instance's lease and reports its health.
type HeartbeatRequest struct {
	Service string `json:"service"`
	ID      string `json:"id"`
	Health  string `json:"health,omitempty"`
	// Views, when set, replace how this instance's sidecar sees the
	// endpoints of the services it calls (sent when they changed).
	Views []registry.View `json:"views,omitempty"`
}

// DeregisterRequest removes an instance.
type DeregisterRequest struct {
	Service string `json:"service"`
	ID      string `json:"id"`
}

// Reply carries the instance as stored (empty after a deregistration).
type Reply struct {
	Instance registry.Instance `json:"instance"`
}

// service is the handler type of the service description.
type service interface {
	register(ctx context.Context, req *RegisterRequest) (*Reply, error)
	heartbeat(ctx context.Context, req *HeartbeatRequest) (*Reply, error)
	deregister(ctx context.Context, req *DeregisterRequest) (*Reply, error)
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*service)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Register", Handler: handler(func(s service, ctx context.Context, r *RegisterRequest) (*Reply, error) { return s.register(ctx, r) })},
		{MethodName: "Heartbeat", Handler: handler(func(s service, ctx context.Context, r *HeartbeatRequest) (*Reply, error) { return s.heartbeat(ctx, r) })},
		{MethodName: "Deregister", Handler: handler(func(s service, ctx context.Context, r *DeregisterRequest) (*Reply, error) {
			return s.deregister(ctx, r)
		})},
	},
	Metadata: "registration/wire.go",
}

// handler adapts a typed method to grpc's method handler, honouring
// interceptors.
func handler[Req any](call func(s service, ctx context.Context, r *Req) (*Reply, error)) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		req := new(Req)
		if err := dec(req); err != nil {
			return nil, err
		}
		s := srv.(service)
		if icpt == nil {
			return call(s, ctx, req)
		}
		info := &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + ServiceName}
		return icpt(ctx, req, info, func(ctx context.Context, req any) (any, error) {
			return call(s, ctx, req.(*Req))
		})
	}
}

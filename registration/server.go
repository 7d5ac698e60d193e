package registration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pylon-mesh/pylon/meshtls"
	"github.com/pylon-mesh/pylon/registry"
)

// maxViews bounds the endpoint views one heartbeat may carry.
const maxViews = 10000

// Server serves the registry to sidecars.
type Server struct {
	reg    *registry.Registry
	caller func(ctx context.Context) (spiffeid.ID, error)
	log    *slog.Logger
}

// NewServer serves reg; caller returns the verified identity of a call's
// peer (enroll.PeerID).
func NewServer(reg *registry.Registry, caller func(ctx context.Context) (spiffeid.ID, error), log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{reg: reg, caller: caller, log: log}
}

// Register adds the service to g.
func (s *Server) Register(g *grpc.Server) { g.RegisterService(&serviceDesc, s) }

// workload returns the namespace and service the caller's identity names.
func (s *Server) workload(ctx context.Context) (ns, svc string, err error) {
	id, err := s.caller(ctx)
	if err != nil {
		return "", "", status.Error(codes.Unauthenticated, err.Error())
	}
	ns, svc, ok := meshtls.Workload(id)
	if !ok {
		return "", "", status.Errorf(codes.PermissionDenied, "%s is not a workload identity (/ns/<namespace>/svc/<service>)", id)
	}
	return ns, svc, nil
}

// own refuses a call about another service than the caller's.
func own(callerNS, callerSvc, ns, svc string) error {
	if svc != callerSvc || (ns != "" && ns != callerNS) {
		return status.Errorf(codes.PermissionDenied, "a workload of %s/%s may not register instances of %s/%s", callerNS, callerSvc, orDefault(ns, callerNS), svc)
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (s *Server) register(ctx context.Context, req *RegisterRequest) (*Reply, error) {
	ns, svc, err := s.workload(ctx)
	if err != nil {
		return nil, err
	}
	in := req.Instance
	if err := own(ns, svc, in.Namespace, in.Service); err != nil {
		return nil, err
	}
	in.Namespace, in.Mesh = ns, true
	if err := in.Check(); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	out, err := s.reg.Register(ctx, in)
	if err != nil {
		return nil, toStatus(err)
	}
	s.log.Info("instance registered", "service", out.Service, "id", out.ID, "address", out.Address, "health", out.Health)
	return &Reply{Instance: out}, nil
}

func (s *Server) heartbeat(ctx context.Context, req *HeartbeatRequest) (*Reply, error) {
	ns, svc, err := s.workload(ctx)
	if err != nil {
		return nil, err
	}
	if err := own(ns, svc, "", req.Service); err != nil {
		return nil, err
	}
	switch req.Health {
	case "", registry.Unknown, registry.Healthy, registry.Unhealthy:
	default:
		return nil, status.Errorf(codes.InvalidArgument, "health %q is not one of unknown, healthy, unhealthy", req.Health)
	}
	out, err := s.reg.Heartbeat(ctx, req.Service, req.ID, req.Health)
	if err != nil {
		return nil, toStatus(err)
	}
	if req.Views != nil {
		if len(req.Views) > maxViews {
			return nil, status.Errorf(codes.InvalidArgument, "%d views, at most %d", len(req.Views), maxViews)
		}
		if err := s.reg.SetViews(ctx, out, req.Views); err != nil {
			return nil, toStatus(err)
		}
	}
	return &Reply{Instance: out}, nil
}

func (s *Server) deregister(ctx context.Context, req *DeregisterRequest) (*Reply, error) {
	ns, svc, err := s.workload(ctx)
	if err != nil {
		return nil, err
	}
	if err := own(ns, svc, "", req.Service); err != nil {
		return nil, err
	}
	if err := s.reg.Deregister(ctx, req.Service, req.ID); err != nil {
		return nil, toStatus(err)
	}
	s.log.Info("instance deregistered", "service", req.Service, "id", req.ID)
	return &Reply{}, nil
}

func toStatus(err error) error {
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	}
	return status.Error(codes.Unavailable, fmt.Sprintf("registry: %v", err))
}

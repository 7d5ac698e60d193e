package enroll

import (
	"context"

	"google.golang.org/grpc"

	_ "github.com/pylon-mesh/pylon/internal/grpcjson" // the JSON codec the service speaks
)

// ServiceName is the gRPC service that signs workload certificates.
const ServiceName = "pylon.control.v1.Identity"

// signMethod is the full gRPC method name of Sign.
const signMethod = "/" + ServiceName + "/Sign"

// SignRequest asks for a certificate. A workload enrolling for the first
// time sets Token; one renewing leaves it empty and authenticates with its
// current certificate on the TLS connection.
type SignRequest struct {
	// CSR is a DER PKCS#10 certificate request signed by the workload's key.
	CSR []byte `json:"csr"`
	// Token is "<id>.<secret>" of a join token, without the pin.
	Token string `json:"token,omitempty"`
}

// SignResponse carries the issued certificate and the trust bundle.
type SignResponse struct {
	// Chain is the leaf certificate then its intermediates, DER.
	Chain [][]byte `json:"chain"`
	// Roots is every root the control plane trusts, DER, current first.
	Roots [][]byte `json:"roots"`
}

// identityService is the handler type of the service description; *Server
// implements it.
type identityService interface {
	sign(ctx context.Context, req *SignRequest) (*SignResponse, error)
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*identityService)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Sign", Handler: signHandler}},
	Metadata:    "enroll/wire.go",
}

func signHandler(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
	req := new(SignRequest)
	if err := dec(req); err != nil {
		return nil, err
	}
	s := srv.(identityService)
	if icpt == nil {
		return s.sign(ctx, req)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: signMethod}
	return icpt(ctx, req, info, func(ctx context.Context, req any) (any, error) {
		return s.sign(ctx, req.(*SignRequest))
	})
}

package push

import (
	"google.golang.org/grpc"

	// The service speaks JSON; importing the codec registers it.
	_ "github.com/pylon-mesh/pylon/internal/grpcjson"
)

// ServiceName is the gRPC service the protocol is served under.
const ServiceName = "pylon.control.v1.Config"

// streamMethod is the full name of the one method of the service.
const streamMethod = "/" + ServiceName + "/Stream"

// handler is what the service description requires of its implementation.
type handler interface {
	serveStream(grpc.ServerStream) error
}

var streamDesc = grpc.StreamDesc{
	StreamName:    "Stream",
	Handler:       func(srv any, ss grpc.ServerStream) error { return srv.(handler).serveStream(ss) },
	ServerStreams: true,
	ClientStreams: true,
}

// serviceDesc is written by hand: the messages are Go structs carried by
// the JSON codec, so there is no generated code.
var serviceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*handler)(nil),
	Streams:     []grpc.StreamDesc{streamDesc},
	Metadata:    "pylon/control/v1/config",
}

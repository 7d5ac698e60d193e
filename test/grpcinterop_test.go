package test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
)

// gRPC's interoperability test cases (google.golang.org/grpc/interop, the
// cases every gRPC implementation runs against every other) between
// grpc-go's client and grpc-go's interop test server, through pylon: over
// h2c and over TLS. They check what a proxy most easily gets wrong:
// empty and large messages, every streaming kind, deadlines a sleeping
// server must honour, cancellation at each point of a call, initial and
// trailing metadata including binary values, status codes with messages
// that need percent-encoding, and unimplemented methods and services.

// interopCases are the cases that need nothing but the test server (the
// others need cloud credentials, ALTS, xDS or several backends).
var interopCases = []struct {
	name string
	run  func(ctx context.Context, cc *grpc.ClientConn)
}{
	{"empty_unary", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoEmptyUnaryCall(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"large_unary", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoLargeUnaryCall(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"client_streaming", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoClientStreaming(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"server_streaming", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoServerStreaming(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"ping_pong", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoPingPong(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"empty_stream", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoEmptyStream(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"timeout_on_sleeping_server", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoTimeoutOnSleepingServer(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"cancel_after_begin", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoCancelAfterBegin(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"cancel_after_first_response", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoCancelAfterFirstResponse(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"custom_metadata", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoCustomMetadata(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"status_code_and_message", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoStatusCodeAndMessage(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"special_status_message", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoSpecialStatusMessage(ctx, testgrpc.NewTestServiceClient(cc))
	}},
	{"unimplemented_method", func(ctx context.Context, cc *grpc.ClientConn) { interop.DoUnimplementedMethod(ctx, cc) }},
	{"unimplemented_service", func(ctx context.Context, cc *grpc.ClientConn) {
		interop.DoUnimplementedService(ctx, testgrpc.NewUnimplementedServiceClient(cc))
	}},
}

// The interop cases report a failure through grpclog's Fatal, which exits
// the process. This logger turns it into a panic runInterop recovers, so a
// failed case fails its own subtest; the rest of grpclog's output goes
// where grpc-go's default logger sends it (errors to stderr).
func init() {
	grpclog.SetLoggerV2(interopLogger{grpclog.NewLoggerV2(io.Discard, io.Discard, os.Stderr)})
}

// interopFailure is what a failed interop case panics with.
type interopFailure string

type interopLogger struct{ grpclog.LoggerV2 }

func (interopLogger) Fatal(args ...any)   { panic(interopFailure(fmt.Sprint(args...))) }
func (interopLogger) Fatalln(args ...any) { panic(interopFailure(fmt.Sprintln(args...))) }
func (interopLogger) Fatalf(format string, args ...any) {
	panic(interopFailure(fmt.Sprintf(format, args...)))
}
func (l interopLogger) InfoDepth(_ int, args ...any)    { l.Infoln(args...) }
func (l interopLogger) WarningDepth(_ int, args ...any) { l.Warningln(args...) }
func (l interopLogger) ErrorDepth(_ int, args ...any)   { l.Errorln(args...) }
func (interopLogger) FatalDepth(_ int, args ...any)     { panic(interopFailure(fmt.Sprintln(args...))) }

// runInterop runs one interop case on cc and fails t with the case's own
// message if the case fails.
func runInterop(t *testing.T, cc *grpc.ClientConn, run func(context.Context, *grpc.ClientConn)) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(interopFailure)
			if !ok {
				panic(r)
			}
			t.Errorf("the interop case failed: %s", f)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	run(ctx, cc)
}

// startInteropServer serves grpc-go's interop test server on loopback,
// with the gRPC health service a sidecar checks it by.
func startInteropServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, interop.NewTestServer())
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

const interopConfig = `
listeners:
  - name: web
    address: {{listen "web"}}
  - name: secure
    address: {{listen "secure"}}
    tls:
      certificates:
        - { cert: {{.Cert}}, key: {{.Key}} }
routes:
  - name: grpc
    service: interop
services:
  - name: interop
    protocol: grpc
    endpoints: [{{.Interop}}]
`

// TestGRPCInteropThroughTheGateway runs gRPC's interop cases through the
// gateway, over h2c and over TLS.
func TestGRPCInteropThroughTheGateway(t *testing.T) {
	certPath, keyPath, cert := writeCert(t, t.TempDir(), "interop.test")
	g := startGateway(t, interopConfig, map[string]string{"Interop": startInteropServer(t), "Cert": certPath, "Key": keyPath})
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, tc := range []struct {
		listener string
		creds    credentials.TransportCredentials
	}{
		{"web", insecure.NewCredentials()},
		{"secure", credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "interop.test"})},
	} {
		t.Run(tc.listener, func(t *testing.T) {
			cc, err := grpc.NewClient(g.addr(tc.listener), grpc.WithTransportCredentials(tc.creds))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			for _, c := range interopCases {
				t.Run(c.name, func(t *testing.T) { runInterop(t, cc, c.run) })
			}
		})
	}
}

// TestGRPCInteropThroughTheMesh runs gRPC's interop cases from an app's
// sidecar to the interop server's sidecar: mutual TLS and HTTP/2 between
// the sidecars, h2c on both ends.
func TestGRPCInteropThroughTheMesh(t *testing.T) {
	cp := startControl(t, "")
	startSidecar(t, cp, cp.joinToken("interop"), "interop", startInteropServer(t), []string{"--protocol", "grpc"})
	caller := startSidecar(t, cp, cp.joinToken("caller"), "caller", startEcho(t, "caller-1"), nil, "interop")
	cc, err := grpc.NewClient(caller.outbound["interop"], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := testgrpc.NewTestServiceClient(cc)
	waitFor(t, 10*time.Second, "the interop server to be reachable through the mesh", func() bool {
		_, err := client.EmptyCall(testContext(t, time.Second), &testgrpc.Empty{})
		return err == nil
	})
	for _, c := range interopCases {
		t.Run(c.name, func(t *testing.T) { runInterop(t, cc, c.run) })
	}
}

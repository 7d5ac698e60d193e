package push

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Defaults for the zero values of Options.
const (
	defaultHelloTimeout = 10 * time.Second
	defaultSendTimeout  = time.Minute
)

// Node is a connected data plane as the Generator sees it.
type Node struct {
	// ID, Kind, Build and Wants are what the node announced in its Hello.
	ID, Kind, Build string
	Wants           []string
	// Identity is what Options.Authenticate returned for the stream.
	Identity string
	// Peer is the remote address of the stream.
	Peer string
}

// Generator builds the snapshot of one node. The Server calls Generate
// from each stream's goroutine, so it may be called concurrently, once per
// stream on connect and after every Notify; it should be quick (cache per
// node class) and may block only until ctx, the stream's context, ends. An
// error is logged and the stream waits for the next Notify.
//
// Equal versions must mean equal content: the server sends a node nothing
// when the version is the one it has. The server encodes each version once
// for all the streams it goes to (checking that the payloads are equal), so
// a returned Payload must not be modified afterwards.
type Generator interface {
	Generate(ctx context.Context, n Node) (Snapshot, error)
}

// Options tunes a Server. The zero value is usable.
type Options struct {
	// Authenticate is called once per stream before anything else and
	// returns the identity of the peer (for example the SPIFFE ID of its
	// certificate, from peer.FromContext). An error ends the stream with
	// code Unauthenticated. Nil accepts every stream with an empty identity.
	Authenticate func(ctx context.Context) (identity string, err error)
	// OnStatus is called when a node connects, ACKs, NACKs and
	// disconnects, from that node's stream goroutine; it must not block
	// long. Nil means no calls.
	OnStatus func(NodeStatus)
	// Logger receives the server's logs. Nil discards them.
	Logger *slog.Logger
	// HelloTimeout is how long a new stream may take to send its Hello.
	// Zero means 10 s.
	HelloTimeout time.Duration
	// SendTimeout is how long a snapshot may wait for a peer that does not
	// read before the stream is ended. Zero means 1 minute.
	SendTimeout time.Duration
}

// Server serves the push protocol. It is safe for concurrent use.
type Server struct {
	gen  Generator
	opts Options
	log  *slog.Logger
	enc  *encoder

	mu      sync.Mutex
	closed  bool
	streams map[*stream]struct{}

	// closing is cancelled by Close; every stream's context ends with it,
	// so a Generate or Authenticate in progress is cut short too.
	closing context.Context
	close   context.CancelFunc
	wg      sync.WaitGroup // stream handlers and their goroutines
}

// NewServer returns a Server that builds snapshots with gen.
func NewServer(gen Generator, opts Options) *Server {
	opts.HelloTimeout = cmp.Or(opts.HelloTimeout, defaultHelloTimeout)
	opts.SendTimeout = cmp.Or(opts.SendTimeout, defaultSendTimeout)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	closing, cancel := context.WithCancel(context.Background())
	return &Server{
		closing: closing,
		close:   cancel,
		gen:     gen,
		opts:    opts,
		log:     log,
		enc:     newEncoder(),
		streams: make(map[*stream]struct{}),
	}
}

// Register adds the service to g.
func (s *Server) Register(g *grpc.Server) {
	g.RegisterService(&serviceDesc, s)
}

// Notify tells every stream that the state changed, so each generates its
// snapshot again and sends it if its version changed. It never blocks: a
// stream that is busy generates once more when it is done, with the newest
// state, however many times Notify was called meanwhile.
func (s *Server) Notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.streams {
		st.wake()
	}
}

// Nodes returns the status of every connected stream, by node ID and then
// connection time.
func (s *Server) Nodes() []NodeStatus {
	s.mu.Lock()
	out := make([]NodeStatus, 0, len(s.streams))
	for st := range s.streams {
		out = append(out, st.status())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b NodeStatus) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), a.ConnectedAt.Compare(b.ConnectedAt))
	})
	return out
}

// Close ends every stream with code Unavailable, so that clients reconnect
// (to another replica), refuses new streams, and waits until the streams'
// goroutines are done. Call it before grpc.Server.GracefulStop, which
// would otherwise wait for streams that never end by themselves.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.close()
	s.wg.Wait()
}

// enter counts a new stream handler in, unless the server is closed.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Server) add(st *stream) {
	s.mu.Lock()
	s.streams[st] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) remove(st *stream) {
	s.mu.Lock()
	delete(s.streams, st)
	s.mu.Unlock()
}

// errClosing ends streams when the server closes.
var errClosing = status.Error(codes.Unavailable, "push server is shutting down")

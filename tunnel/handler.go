package tunnel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ErrReset is in the Stats.Err of a tunnel that the caller reset (closed
// without ending its direction first) rather than one that failed here.
var ErrReset = errors.New("tunnel: the caller reset the stream")

// HandlerOptions configures the remote end of tunnels, see Handler.
type HandlerOptions struct {
	// Dial connects to a tunnel's destination, the CONNECT :authority.
	// Required. Its error picks the answer: 504 for a timeout, else 502.
	Dial func(ctx context.Context, target string) (net.Conn, error)
	// Authorize decides whether the caller may open the tunnel; a non-nil
	// error refuses it with status (403 when status is 0) and the error's
	// text. A nil Authorize allows every tunnel.
	Authorize func(r *http.Request) (status int, err error)
	// IdleTimeout returns, as each tunnel opens, how long it may go with
	// no byte moving either way before it is ended. Nil, or a result of
	// zero, means no idle timeout.
	IdleTimeout func() time.Duration
	// OnStream, if set, is called once per CONNECT request when it ends,
	// refused or not, from the request's goroutine.
	OnStream func(Stats)
	// Logger receives a line per refusal (Info) and per failed tunnel
	// (Warn), and at Debug one per other tunnel. Nil discards them.
	Logger *slog.Logger
}

// Stats describes a tunnel, or a refused attempt at one, once it is over.
type Stats struct {
	Target   string        // the destination asked for
	Remote   string        // the caller's address (the remote sidecar)
	Status   int           // the answer: 200 for a tunnel that was opened
	BytesIn  int64         // bytes from the caller to the destination
	BytesOut int64         // bytes from the destination to the caller
	Duration time.Duration // from the request to the tunnel's end
	Err      error         // why the tunnel failed or was refused; nil if it ended cleanly
	// Traceparent is the CONNECT request's traceparent header, "" when it
	// had none.
	Traceparent string
}

// Handler returns the handler that opens tunnels: it answers HTTP/2
// CONNECT requests by authorizing them, dialing the destination named by
// their :authority, answering 200 and splicing the stream with the
// destination until both directions have ended (see the package doc for
// the protocol). It refuses other methods with 405 and CONNECT over
// HTTP/1 with 505.
//
// The server's ReadTimeout and WriteTimeout do not cut tunnels short: the
// handler clears the stream's deadlines once a tunnel is open.
func Handler(o HandlerOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &handler{o: o}
}

// handler is the http.Handler returned by Handler.
type handler struct {
	o HandlerOptions
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	st := Stats{Target: r.Host, Remote: r.RemoteAddr, Traceparent: r.Header.Get("Traceparent")}
	start := time.Now()
	h.serve(w, r, &st)
	st.Duration = time.Since(start)
	h.log(r.Context(), st)
	if h.o.OnStream != nil {
		h.o.OnStream(st)
	}
}

// serve runs one CONNECT request, recording its outcome in st.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, st *Stats) {
	if status, err := h.admit(r); err != nil {
		refuse(w, st, status, err)
		return
	}
	up, err := h.o.Dial(r.Context(), st.Target)
	if err != nil {
		refuse(w, st, dialStatus(err), fmt.Errorf("tunnel: dial %s: %w", st.Target, err))
		return
	}
	rc := http.NewResponseController(w)
	// The server's own timeouts are meant for requests, not for tunnels.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	st.Status = http.StatusOK
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		up.Close()
		st.Err = fmt.Errorf("tunnel: answer CONNECT: %w", err)
		return
	}
	s := newStreamConn(w, r, rc)
	var idle time.Duration
	if h.o.IdleTimeout != nil {
		idle = h.o.IdleTimeout()
	}
	st.BytesIn, st.BytesOut, st.Err = Splice(s, up, idle)
	if st.Err != nil && r.Context().Err() != nil {
		st.Err = fmt.Errorf("%w: %w", ErrReset, st.Err)
	}
	if st.Err != nil {
		// Reset the stream, so that the caller sees an error, not an EOF.
		_ = rc.SetWriteDeadline(time.Now())
	}
}

// admit checks that r may open a tunnel, returning the status to refuse it
// with otherwise.
func (h *handler) admit(r *http.Request) (int, error) {
	switch {
	case r.Method != http.MethodConnect:
		return http.StatusMethodNotAllowed, fmt.Errorf("tunnel: method %s is not CONNECT", r.Method)
	case r.ProtoMajor != 2:
		return http.StatusHTTPVersionNotSupported, fmt.Errorf("tunnel: CONNECT over %s is not supported, only over HTTP/2", r.Proto)
	case r.Host == "":
		return http.StatusBadRequest, errors.New("tunnel: CONNECT without a destination")
	case h.o.Authorize == nil:
		return 0, nil
	}
	status, err := h.o.Authorize(r)
	if err != nil && status == 0 {
		status = http.StatusForbidden
	}
	return status, err
}

// refuse answers a request that opens no tunnel.
func refuse(w http.ResponseWriter, st *Stats, status int, err error) {
	st.Status, st.Err = status, err
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodConnect)
	}
	http.Error(w, err.Error(), status)
}

// dialStatus maps a failure to reach the destination to a status.
func dialStatus(err error) int {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// log writes one line about a tunnel that ended or was refused.
func (h *handler) log(ctx context.Context, st Stats) {
	level := slog.LevelDebug
	switch {
	case st.Status != http.StatusOK:
		level = slog.LevelInfo
	case st.Err != nil && !errors.Is(st.Err, ErrReset):
		level = slog.LevelWarn
	}
	if !h.o.Logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("target", st.Target),
		slog.String("remote", st.Remote),
		slog.Int("status", st.Status),
		slog.Int64("bytes_in", st.BytesIn),
		slog.Int64("bytes_out", st.BytesOut),
		slog.Duration("duration", st.Duration),
	}
	if st.Err != nil {
		attrs = append(attrs, slog.String("error", st.Err.Error()))
	}
	h.o.Logger.LogAttrs(ctx, level, "tunnel", attrs...)
}

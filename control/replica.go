package control

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/ca"
	"github.com/pylon-mesh/pylon/enroll"
	"github.com/pylon-mesh/pylon/jointoken"
	"github.com/pylon-mesh/pylon/push"
	"github.com/pylon-mesh/pylon/registration"
	"github.com/pylon-mesh/pylon/registry"
	"github.com/pylon-mesh/pylon/resource"
	"github.com/pylon-mesh/pylon/store"
)

// replica is one running control plane.
type replica struct {
	opts   Options
	st     store.Store
	ca     *ca.Authority
	tokens *jointoken.Manager
	reg    *registry.Registry
	log    *slog.Logger
	snap   *snapshotter
	push   *push.Server
	nodes  *nodeBook
	leader leaderFlag
}

func (r *replica) serve(ctx context.Context, cancel context.CancelFunc) error {
	go func() {
		if err := r.ca.Run(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("certificate authority watch ended", "err", err.Error())
		}
	}()
	r.snap = &snapshotter{st: r.st, roots: r.ca.Roots, td: r.ca.TrustDomain}
	r.nodes = newNodeBook(r.st, r.opts.ControlAddr)
	r.push = push.NewServer(generator{r.snap}, push.Options{Authenticate: r.authenticate, OnStatus: r.nodes.update, Logger: r.log})
	certs, err := newServingCert(r.ca, r.opts)
	if err != nil {
		return err
	}
	gs := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(enroll.ServerTLS(certs.get))),
		enroll.ServerKeepalive(),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	)
	r.push.Register(gs)
	enroll.NewServer(r.ca, redeemer{r.tokens}, enroll.ServerOptions{Logger: r.log}).Register(gs)
	registration.NewServer(r.reg, func(ctx context.Context) (spiffeid.ID, error) { return enroll.PeerID(ctx, r.ca) }, r.log).Register(gs)

	cln, err := net.Listen("tcp", r.opts.ControlAddr)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", r.opts.ControlAddr, err)
	}
	aln, err := net.Listen("tcp", r.opts.AdminAddr)
	if err != nil {
		cln.Close()
		return fmt.Errorf("--admin %s: %w", r.opts.AdminAddr, err)
	}
	api := adminapi.Handler(adminapi.Options{Store: r.st, Tokens: r.tokens, CA: r.ca, Registry: r.reg,
		Nodes: func(ctx context.Context) (any, error) { return r.nodes.list(ctx) }, Status: r.status, App: r.opts.App, Logger: r.log})

	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(5)
	go func() { defer wg.Done(); errc <- gs.Serve(cln) }()
	go func() { defer wg.Done(); errc <- r.serveAdmin(ctx, aln, api) }()
	go func() { defer wg.Done(); r.follow(ctx) }()
	go func() { defer wg.Done(); r.lead(ctx) }()
	go func() {
		defer wg.Done()
		r.nodes.run(ctx, func(msg string, err error) { r.log.Warn(msg, "err", err.Error()) })
	}()
	go certs.renew(ctx, r.log)
	r.log.Info("pylon control serving", "control", cln.Addr().String(), "admin", aln.Addr().String(),
		"store", storeName(r.opts), "trust_domain", r.ca.TrustDomain().String())

	select {
	case <-ctx.Done():
	case err = <-errc:
		if err != nil {
			err = fmt.Errorf("serve: %w", err)
		}
	}
	cancel()
	r.push.Close()
	stopGracefully(gs, 5*time.Second)
	wg.Wait()
	r.log.Info("pylon control stopped")
	return err
}

func storeName(o Options) string {
	if o.Store == "" {
		return "bolt (" + o.DataDir + ")"
	}
	return o.Store
}

// stopGracefully lets streams end on their own for up to d, then cuts them.
func stopGracefully(gs *grpc.Server, d time.Duration) {
	done := make(chan struct{})
	go func() { gs.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		gs.Stop()
	}
}

// authenticate is the push stream's check: the peer must present a valid
// workload certificate, whose SPIFFE ID names the node.
func (r *replica) authenticate(ctx context.Context) (string, error) {
	id, err := enroll.PeerID(ctx, r.ca)
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// status is what GET /v1/status reports about this replica.
func (r *replica) status() any {
	rev, _ := r.st.Txn(context.Background())
	host, _ := os.Hostname()
	return map[string]any{
		"replica":  host + "/" + r.opts.ControlAddr,
		"leader":   r.leader.get(),
		"store":    storeName(r.opts),
		"revision": rev,
		"nodes":    len(r.push.Nodes()),
	}
}

// follow keeps the gateway snapshot in step with the store: every burst of
// changes to resources, instances or the CA is coalesced into one rebuild,
// and the streams are told only when the snapshot's content changed.
func (r *replica) follow(ctx context.Context) {
	dirty := make(chan struct{}, 1)
	go r.watchStore(ctx, dirty)
	for {
		select {
		case <-ctx.Done():
			return
		case <-dirty:
		}
		// Let a burst of writes (an apply of many resources, many
		// instances registering) land before building.
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Millisecond):
		}
		if _, err := r.snap.rebuild(ctx); err != nil {
			if ctx.Err() == nil {
				r.log.Error("build snapshots", "err", err.Error())
			}
			continue
		}
		// Every stream regenerates; those whose content did not change
		// (same version) are sent nothing.
		r.push.Notify()
	}
}

// watchStore signals dirty after every relevant change, re-watching from
// the current revision after a compaction or a store failure.
func (r *replica) watchStore(ctx context.Context, dirty chan<- struct{}) {
	mark := func() {
		select {
		case dirty <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		rev, err := r.st.Txn(ctx)
		if err != nil {
			r.log.Warn("read store revision", "err", err.Error())
			sleep(ctx, time.Second)
			continue
		}
		mark() // whatever happened while not watching
		for resp := range r.st.Watch(ctx, "", rev) {
			if resp.Err != nil {
				if ctx.Err() == nil {
					r.log.Warn("store watch ended; watching again", "err", resp.Err.Error())
				}
				break
			}
			if relevant(resp.Events) {
				mark()
			}
		}
		sleep(ctx, 100*time.Millisecond)
	}
}

// relevant reports whether events touch what snapshots are built from.
func relevant(evs []store.Event) bool {
	for _, ev := range evs {
		k := ev.KV.Key
		if strings.HasPrefix(k, resource.Prefix) || strings.HasPrefix(k, registry.Prefix) || strings.HasPrefix(k, "ca/") {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// generator serves every gateway the shared snapshot, and each sidecar its
// own.
type generator struct{ snap *snapshotter }

func (g generator) Generate(ctx context.Context, n push.Node) (push.Snapshot, error) {
	if n.Kind == push.KindSidecar {
		id, err := spiffeid.FromString(n.Identity)
		if err != nil {
			return push.Snapshot{}, fmt.Errorf("sidecar identity: %w", err)
		}
		return g.snap.sidecar(ctx, id, n.Wants)
	}
	v, err := g.snap.current(ctx)
	if err != nil {
		return push.Snapshot{}, err
	}
	return v.gateway, nil
}

// redeemer adapts the token store to what enrollment needs.
type redeemer struct{ tokens *jointoken.Manager }

func (t redeemer) RedeemJoin(ctx context.Context, secret string) (string, string, error) {
	tok, err := t.tokens.Redeem(ctx, secret, jointoken.Join)
	if err != nil {
		return "", "", err
	}
	return tok.Namespace, tok.Service, nil
}

// leaderFlag says whether this replica leads.
type leaderFlag struct {
	mu sync.Mutex
	v  bool
}

func (f *leaderFlag) set(v bool) { f.mu.Lock(); f.v = v; f.mu.Unlock() }
func (f *leaderFlag) get() bool  { f.mu.Lock(); defer f.mu.Unlock(); return f.v }

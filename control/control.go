// Package control runs `pylon control`: the control plane that holds the
// config resources, the registry of instances and the certificate
// authority in a store, and serves data planes (certificate signing and the
// config push stream, gRPC over mutual TLS) and operators (the admin API).
//
// Several replicas can share one etcd store: each serves the data planes
// connected to it, all of them read and write the same resources, and the
// one elected leader does the housekeeping only one may do.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pylon-mesh/pylon/adminapi"
	"github.com/pylon-mesh/pylon/ca"
	"github.com/pylon-mesh/pylon/jointoken"
	"github.com/pylon-mesh/pylon/registry"
)

// Options configure a control plane replica.
type Options struct {
	// DataDir holds the local files: the embedded store (unless Store
	// names etcd), the key that encrypts the CA's keys, and admin.token.
	DataDir string
	// Store is "" (a bbolt file in DataDir), "bolt:///path/file.db" or
	// "etcd://host:port,host:port".
	Store string
	// ControlAddr is where data planes connect (gRPC over mTLS).
	ControlAddr string
	// AdminAddr is the admin API's address. A non-loopback one needs
	// AdminTLSCert and AdminTLSKey.
	AdminAddr                 string
	AdminTLSCert, AdminTLSKey string
	// TrustDomain of the workload identities; default pylon.local.
	TrustDomain string
	// CertTTL is how long workload certificates live; default 12h.
	CertTTL time.Duration
	// CAPropagation is how long after a CA rotation the new CA starts
	// issuing, so that every data plane has its root first; default 1m.
	CAPropagation time.Duration
	// CAGiven is a root and intermediate to start the CA with instead of
	// minting them (used at first start only).
	CAGiven *ca.Given
	// CAKeyFile is the key that seals the CA's private key in the store;
	// default DataDir/ca.key, made at first start. Replicas sharing an
	// etcd store must all be given the same file.
	CAKeyFile string
	// Hosts are extra DNS names or IPs data planes use to reach
	// ControlAddr, added to its serving certificate.
	Hosts []string
	// App, when set, is the app `pylon up` runs under this control plane,
	// served at /v1/app.
	App adminapi.App
	// Logger gets the control plane's log lines.
	Logger *slog.Logger
}

// Default addresses.
const (
	DefaultControlAddr = "127.0.0.1:15010"
	DefaultAdminAddr   = "127.0.0.1:15000"
)

// AdminTokenFile is the name of the file in DataDir holding the admin
// token made at first start.
const AdminTokenFile = "admin.token"

func (o *Options) defaults() {
	if o.ControlAddr == "" {
		o.ControlAddr = DefaultControlAddr
	}
	if o.AdminAddr == "" {
		o.AdminAddr = DefaultAdminAddr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Run starts a replica and serves until ctx ends, then stops gracefully.
func Run(ctx context.Context, opts Options) error {
	opts.defaults()
	if err := checkAdminAddr(opts); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := OpenStore(ctx, opts.Store, opts.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.CAKeyFile == "" {
		opts.CAKeyFile = filepath.Join(opts.DataDir, "ca.key")
	}
	authority, err := ca.Open(ctx, st, ca.Options{TrustDomain: opts.TrustDomain, KeyFile: opts.CAKeyFile,
		LeafTTL: opts.CertTTL, Propagation: opts.CAPropagation, Given: opts.CAGiven})
	if err != nil {
		return fmt.Errorf("certificate authority: %w", err)
	}
	tokens := jointoken.New(st, time.Now)
	if err := ensureAdminToken(ctx, tokens, filepath.Join(opts.DataDir, AdminTokenFile), opts.Logger); err != nil {
		return err
	}
	r := &replica{opts: opts, st: st, ca: authority, tokens: tokens, reg: registry.New(st), log: opts.Logger}
	return r.serve(ctx, cancel)
}

// checkAdminAddr refuses a non-loopback admin address without TLS.
func checkAdminAddr(o Options) error {
	host, _, err := net.SplitHostPort(o.AdminAddr)
	if err != nil {
		return fmt.Errorf("--admin %q: %w", o.AdminAddr, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if !loopback && (o.AdminTLSCert == "" || o.AdminTLSKey == "") {
		return fmt.Errorf("--admin %s is not a loopback address: the admin API then needs --admin-tls-cert and --admin-tls-key", o.AdminAddr)
	}
	return nil
}

// ensureAdminToken makes the first admin token when path holds none that
// still works, and writes it there readable only by this user.
func ensureAdminToken(ctx context.Context, tokens *jointoken.Manager, path string, log *slog.Logger) error {
	if b, err := os.ReadFile(path); err == nil {
		if _, err := tokens.Check(ctx, strings.TrimSpace(string(b)), jointoken.Admin); err == nil {
			return nil
		}
		log.Warn("the admin token file holds no valid token; making a new one", "file", path)
	}
	secret, t, err := tokens.Create(ctx, jointoken.Token{Kind: jointoken.Admin, Description: "made at first start for the local operator"})
	if err != nil {
		return fmt.Errorf("create admin token: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	log.Info("admin token created", "file", path, "id", t.ID)
	return nil
}

// serveAdmin runs the admin API until ctx ends.
func (r *replica) serveAdmin(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	var err error
	if r.opts.AdminTLSCert != "" {
		err = srv.ServeTLS(ln, r.opts.AdminTLSCert, r.opts.AdminTLSKey)
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

var _ adminapi.CA = (*ca.Authority)(nil)

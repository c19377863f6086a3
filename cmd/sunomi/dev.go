package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/sunomi/sunomi/agent"
	"github.com/sunomi/sunomi/api"
	"github.com/sunomi/sunomi/api/store"
	"github.com/sunomi/sunomi/cluster"
	"github.com/sunomi/sunomi/cluster/client"
	"github.com/sunomi/sunomi/cluster/pki"
	"github.com/sunomi/sunomi/cmd/internal/apicmd"
	"github.com/sunomi/sunomi/encoder"
	"github.com/sunomi/sunomi/internal/avx"
	"github.com/sunomi/sunomi/internal/cli"
	"github.com/sunomi/sunomi/internal/postgres"
	"github.com/sunomi/sunomi/storage"
)

// devDatabase is the database `sunomi dev` creates on its private PostgreSQL cluster.
const devDatabase = "sunomi"

// devStartTimeout bounds each start-up step that waits on another part: PostgreSQL accepting
// connections (crash recovery after an unclean stop included), the coordinator electing itself.
const devStartTimeout = 2 * time.Minute

// devFlags are the API's flags (apicmd) and what `sunomi dev` adds: where it keeps
// everything, and its agents.
type devFlags struct {
	api          apicmd.Flags
	dataDir      string
	agents       int
	drainTimeout time.Duration
}

func newDevCmd() *cobra.Command {
	var f devFlags
	cmd := &cobra.Command{
		Use:   "dev [--http localhost:8080] [--data-dir ./.sunomi]",
		Short: "Run the whole platform in one process for development: PostgreSQL, a coordinator, agents and the API",
		Long: `Run the whole platform in one process: a single-node coordinator, one agent per two cores
(tasks run as child processes of this binary), the API on --http, local blob storage under
DATA-DIR/blobs, and PostgreSQL from --database-url ($DATABASE_URL) or else a private cluster
under DATA-DIR/postgres started from the system's PostgreSQL binaries (it listens on a unix
socket there only, and asks for the password kept in DATA-DIR/secrets.json).

Everything lives in DATA-DIR and survives restarts, secrets included (DATA-DIR/secrets.json),
so accounts, videos and sign-ins stay. Ctrl-C stops everything cleanly; delete DATA-DIR to start
afresh.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cli.ApplyEnv(cmd.Flags()); err != nil {
				return err
			}
			return runDev(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	fl := cmd.Flags()
	// The API's flags, with the defaults and help of a development machine where they differ:
	// the storage, the farm and the secrets are made here, so those flags are left out.
	f.api.AddFlags(fl, "localhost:8080")
	fl.Lookup("http").Usage = "HOST:PORT the API and media are served on (:8080 for every interface) (or $SUNOMI_HTTP)"
	fl.Lookup("public-url").Usage = "URL browsers reach --http at (or $SUNOMI_PUBLIC_URL; default http://HOST:PORT of --http, localhost for every interface)"
	fl.Lookup("database-url").Usage = "PostgreSQL URL to use instead of a private cluster (or $DATABASE_URL)"
	// On by default, on loopback: a port of the kernel's choosing, printed at start, so that
	// several dev platforms and the tests never fight over one.
	metrics := fl.Lookup("metrics-addr")
	metrics.Usage = "HOST:PORT to serve the API's Prometheus metrics on at /metrics (or $SUNOMI_METRICS_ADDR; \"\" turns them off)"
	metrics.DefValue = "127.0.0.1:0"
	_ = metrics.Value.Set(metrics.DefValue)
	fl.StringVar(&f.dataDir, "data-dir", ".sunomi", "directory for everything the platform keeps: database, blobs, Raft log, secrets")
	fl.IntVar(&f.agents, "agents", max(1, runtime.NumCPU()/2), "in-process agents, one task each (one per two cores unless set)")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", 10*time.Second, "how long Ctrl-C lets running tasks finish (the rest resume at the next start)")
	return cmd
}

// shutdowns are the stop functions of the parts started so far, run last first.
type shutdowns []func(context.Context) error

func (s *shutdowns) push(f func(context.Context) error) { *s = append(*s, f) }

func (s shutdowns) run(ctx context.Context) error {
	var errs []error
	for i := len(s) - 1; i >= 0; i-- {
		errs = append(errs, s[i](ctx))
	}
	return errors.Join(errs...)
}

func runDev(ctx context.Context, out io.Writer, f devFlags) (err error) {
	settings, err := f.api.Settings()
	if err != nil {
		return err
	}
	if f.agents < 1 {
		return errors.New("--agents must be at least 1")
	}
	metricsAddr, stopMetrics, err := settings.ServeMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics()
	cfg, level, base := settings.Config, settings.Level, settings.Log
	log := base.With("component", "dev")
	dataDir, err := filepath.Abs(f.dataDir)
	if err != nil {
		return err
	}
	// 0755: under root PostgreSQL runs as its own user, which must reach DATA-DIR/postgres.
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create the data directory: %w", err)
	}
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return err
	}
	defer unlock()
	secrets, err := loadDevSecrets(filepath.Join(dataDir, "secrets.json"))
	if err != nil {
		return err
	}
	// Listening first makes a taken port the first error, and gives the URL for port 0.
	ln, err := net.Listen("tcp", settings.HTTP)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", settings.HTTP, err)
	}
	defer ln.Close()
	if cfg.PublicURL == "" {
		cfg.PublicURL = devURL(settings.HTTP, ln.Addr())
	}
	publicURL := cfg.PublicURL

	var stop shutdowns
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), f.drainTimeout+time.Minute)
		defer cancel()
		if stopErr := stop.run(stopCtx); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		if err != nil && ctx.Err() != nil {
			err = nil // interrupted while starting: what failed is what Ctrl-C stopped
		}
		if err == nil {
			log.Info("stopped")
		}
	}()

	db, err := startDevDatabase(ctx, &stop, settings.DatabaseURL, dataDir, secrets.PostgresPassword, base, level)
	if err != nil {
		return err
	}
	blobDir := filepath.Join(dataDir, "blobs")
	farmPKI, err := loadDevPKI(filepath.Join(dataDir, "tls"), f.agents)
	if err != nil {
		return err
	}
	farm, err := startDevCoordinator(ctx, &stop, dataDir, blobDir, secrets, farmPKI, base)
	if err != nil {
		return err
	}
	if err := startDevAgents(&stop, f, dataDir, farm.URLs(), farmPKI, base); err != nil {
		return err
	}
	cfg.Store, cfg.Farm = db, farm
	served, err := startDevAPI(ctx, &stop, ln, cfg, blobDir, secrets)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "\nSunomi is running:\n  open      %s/\n  API docs  %s/api/docs\n", publicURL, publicURL)
	if metricsAddr != "" {
		fmt.Fprintf(out, "  metrics   http://%s/metrics\n", metricsAddr)
	}
	fmt.Fprintf(out, "  data      %s\nPress Ctrl-C to stop.\n\n", dataDir)
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	}
	// A second Ctrl-C stops at once: PostgreSQL and the task processes die with this one.
	signal.Reset(os.Interrupt, syscall.SIGTERM)
	log.Info("shutting down: API, agents (draining), coordinator, database; Ctrl-C again stops at once")
	return nil
}

// startDevDatabase opens the API's database, on the private cluster unless url names one, and
// migrates it.
func startDevDatabase(ctx context.Context, stop *shutdowns, url, dataDir, password string, base *slog.Logger, level slog.Level) (*store.Store, error) {
	if url == "" {
		// The server's own lines are noise unless something goes wrong or we debug.
		pgLevel := max(level, slog.LevelWarn)
		if level <= slog.LevelDebug {
			pgLevel = level
		}
		pgLog := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: pgLevel}))
		startCtx, cancel := context.WithTimeout(ctx, devStartTimeout)
		defer cancel()
		pg, err := postgres.Start(startCtx, postgres.Options{Dir: filepath.Join(dataDir, "postgres"), Password: password, Logger: pgLog})
		if err != nil {
			return nil, err
		}
		stop.push(pg.Stop)
		if err := ensureDatabase(startCtx, pg, devDatabase); err != nil {
			return nil, err
		}
		url = pg.URL(devDatabase)
		// The password is in DATA-DIR/secrets.json, never in the log.
		base.Info("postgres ready", "component", "dev", "url", pg.RedactedURL(devDatabase))
	}
	db, err := store.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	stop.push(func(context.Context) error { db.Close(); return nil })
	if err := db.Migrate(ctx, base.With("component", "migrate")); err != nil {
		return nil, err
	}
	return db, nil
}

// ensureDatabase creates the database name on pg unless it exists: asking first keeps a
// "database already exists" error out of the server's log at every start.
func ensureDatabase(ctx context.Context, pg *postgres.Server, name string) error {
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	return pg.CreateDatabase(ctx, name)
}

// startDevCoordinator starts a single-node coordinator on loopback ports of the kernel's
// choosing (Raft keeps its identity by node ID, so new ports at every start are fine) and
// waits until it leads.
func startDevCoordinator(ctx context.Context, stop *shutdowns, dataDir, blobDir string, secrets devSecrets, farmPKI devPKI, base *slog.Logger) (*client.Client, error) {
	addrs, err := freeLoopbackAddrs(3)
	if err != nil {
		return nil, err
	}
	httpAddr := addrs[0]
	// The coordinator signs the URLs it gives agents with a key of its own, as cmd/coordinator
	// does; the API signs the browsers' with the storage secret.
	gossipKey, err := base64.StdEncoding.DecodeString(secrets.GossipKey)
	if err != nil {
		return nil, fmt.Errorf("the gossip key in secrets.json is damaged: %w", err)
	}
	blobs, err := storage.NewLocal(blobDir, storage.Options{PublicURL: "https://" + httpAddr,
		Secret: []byte(secrets.CoordinatorBlobSecret), Logger: base})
	if err != nil {
		return nil, err
	}
	node, err := cluster.New(cluster.Config{
		NodeID: "dev", DataDir: filepath.Join(dataDir, "coordinator"),
		HTTPAddr: httpAddr, RaftAddr: addrs[1], GossipAddr: addrs[2],
		BootstrapExpect: 1, Store: blobs, TLS: farmPKI.server, GossipKey: gossipKey, Logger: base,
		// Loopback only, and no other coordinator to wait for: no reason for slow elections.
		Fast: true,
	})
	if err != nil {
		return nil, err
	}
	if err := node.Start(ctx); err != nil {
		_ = node.Close(context.Background())
		return nil, fmt.Errorf("start the coordinator: %w", err)
	}
	stop.push(node.Close)
	farm := client.New([]string{"https://" + httpAddr}, farmPKI.client, nil)
	if err := waitForLeader(ctx, farm); err != nil {
		return nil, err
	}
	base.Info("coordinator ready", "component", "dev", "http", httpAddr, "raft", addrs[1], "gossip", addrs[2])
	return farm, nil
}

// waitForLeader polls the coordinator until it leads.
func waitForLeader(ctx context.Context, farm *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, devStartTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		cl, err := farm.Cluster(ctx)
		if err == nil && cl.State == raft.Leader.String() {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("it is %s", cl.State)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the coordinator did not become leader in time: %w", err)
		case <-tick.C:
		}
	}
}

// startDevAgents runs the agents until the platform stops; their tasks run as `sunomi
// run-task` child processes.
func startDevAgents(stop *shutdowns, f devFlags, dataDir string, coordinators []string, farmPKI devPKI, base *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary for the task processes: %w", err)
	}
	avx.Quiet()
	// The AV1 encoder too, where libavcodec has it: the coordinator gives AV1 tasks only to
	// agents that advertise it, and --av1 all or popular would otherwise wait for one.
	encoders := encoder.WithAV1Encoder(encoder.AvailableEncoders())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stop.push(func(stopCtx context.Context) error {
		cancel() // every agent drains
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-stopCtx.Done():
			return errors.New("the agents did not finish draining in time")
		}
	})
	for i := 1; i <= f.agents; i++ {
		a, err := agent.New(agent.Config{
			NodeID:       "dev-a" + strconv.Itoa(i),
			DataDir:      filepath.Join(dataDir, "agents", "a"+strconv.Itoa(i)),
			Slots:        1,
			Encoders:     encoders,
			Coordinators: coordinators,
			TLS:          farmPKI.agents[i-1],
			Version:      cli.Version(),
			MemoryLimit:  6 << 30, // as cmd/agent's default
			DrainTimeout: f.drainTimeout,
			Executable:   exe,
			Logger:       base,
		})
		if err != nil {
			return err
		}
		wg.Go(func() {
			if err := a.Run(ctx); err != nil {
				base.Error("agent failed", "component", "dev", "error", err)
			}
		})
	}
	base.Info("agents started", "component", "dev", "agents", f.agents, "encoders", encoders)
	return nil
}

// startDevAPI serves the API of cfg on ln, with local blob storage whose URLs point at it and
// the keys of secrets.
func startDevAPI(ctx context.Context, stop *shutdowns, ln net.Listener, cfg api.Config, blobDir string, secrets devSecrets) (<-chan error, error) {
	base := cfg.Logger
	blobs, err := storage.NewLocal(blobDir, storage.Options{PublicURL: cfg.PublicURL, Secret: []byte(secrets.StorageSecret), Logger: base})
	if err != nil {
		return nil, err
	}
	cfg.Blobs = blobs
	cfg.Auth.SigningKeys = []api.SigningKey{{ID: secrets.JWTKeyID, Secret: []byte(secrets.JWTSecret)}}
	cfg.MediaSecret = []byte(secrets.MediaSecret)
	srv, err := apicmd.Start(ctx, ln, cfg, nil)
	if err != nil {
		return nil, err
	}
	stop.push(srv.Close)
	base.Info("api listening", "component", "dev", "addr", ln.Addr().String(), "public_url", cfg.PublicURL)
	return srv.Failed(), nil
}

// devURL is the URL of the listener for a browser on this machine: the host as given, or
// localhost when it listens on every interface.
func devURL(flag string, addr net.Addr) string {
	host, _, err := net.SplitHostPort(flag)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	port := strconv.Itoa(addr.(*net.TCPAddr).Port)
	return "http://" + net.JoinHostPort(host, port)
}

// freeLoopbackAddrs returns n distinct loopback HOST:PORTs nothing listens on now: held open
// together, so the kernel cannot hand out one port twice.
func freeLoopbackAddrs(n int) ([]string, error) {
	var addrs []string
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		held = append(held, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// lockDataDir keeps a second `sunomi dev` off the same data directory until unlock (or exit).
func lockDataDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another sunomi dev is running on %s: stop it, or pass another --data-dir", dir)
		}
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	return func() { f.Close() }, nil
}

// devSecrets are generated at the first start and kept in DATA-DIR/secrets.json (mode 0600),
// so that access tokens and signed URLs stay valid across restarts.
type devSecrets struct {
	JWTKeyID      string `json:"jwtKeyId"`
	JWTSecret     string `json:"jwtSecret"`
	MediaSecret   string `json:"mediaSecret"`
	StorageSecret string `json:"storageSecret"`
	// CoordinatorBlobSecret signs the URLs the coordinator gives agents.
	CoordinatorBlobSecret string `json:"coordinatorBlobSecret"`
	// GossipKey encrypts the coordinator's gossip (base64).
	GossipKey string `json:"gossipKey"`
	// PostgresPassword is the private PostgreSQL's superuser password (its only way in:
	// it listens on a unix socket in DATA-DIR/postgres, with password authentication).
	PostgresPassword string `json:"postgresPassword"`
}

// loadDevSecrets reads the secrets at path, generating and saving the missing ones.
func loadDevSecrets(path string) (devSecrets, error) {
	var s devSecrets
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &s); err != nil {
			return s, fmt.Errorf("%s is damaged (%v): delete it to make new secrets (everyone is then signed out)", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return s, fmt.Errorf("read the secrets: %w", err)
	}
	changed := false
	if s.JWTKeyID == "" || s.JWTSecret == "" {
		k := api.RandomSigningKey()
		s.JWTKeyID, s.JWTSecret, changed = k.ID, string(k.Secret), true
	}
	for _, v := range []*string{&s.MediaSecret, &s.StorageSecret, &s.CoordinatorBlobSecret, &s.PostgresPassword} {
		if *v == "" {
			*v, changed = randomHex(32), true
		}
	}
	if s.GossipKey == "" {
		s.GossipKey, changed = pki.NewGossipKey(), true
	}
	if !changed {
		return s, nil
	}
	b, err = json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, err
	}
	if err := writeFilePrivate(path, append(b, '\n')); err != nil {
		return s, fmt.Errorf("save the secrets: %w", err)
	}
	return s, nil
}

// writeFilePrivate replaces path with data, readable by its owner only, atomically.
func writeFilePrivate(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".secrets-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

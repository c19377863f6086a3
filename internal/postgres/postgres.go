// Package postgres owns running a private PostgreSQL cluster from the system's server binaries
// (see FindBinDir), without Docker: `sunomi dev` keeps a persistent one under its data
// directory, and internal/pgtest starts a throwaway one per test binary.
//
// A cluster lives in one directory:
//
//	<Dir>/data          the data directory (PGDATA), made by initdb on first start
//	<Dir>/.s.PGSQL.N    the unix socket, reachable only by the server's OS user (and root)
//
// The server listens on that unix socket only, never on TCP, and asks every connection for the
// superuser's password (scram-sha-256), which the caller chooses and Start sets at every start:
// other users of a shared machine can neither reach the socket nor, should they reach it, sign
// in. It is for development and tests on this machine, never for exposure to a network.
//
// PostgreSQL refuses to run as root, and CI and `make dev` run as root: then initdb and
// postgres run as the `postgres` system user (else `nobody`), Dir is given to that user, and
// every directory above Dir must be searchable by it (os.MkdirTemp and t.TempDir make 0700
// ones that are not: create the parent yourself with mode 0755, or chmod it).
package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ReadyTimeout bounds how long Start waits for a started server to accept connections; crash
// recovery after an unclean stop is what can take a while.
const ReadyTimeout = 60 * time.Second

// Superuser is the role initdb creates and URL connects as; initdb is told its name so that it
// does not depend on which OS user ran it.
const Superuser = "postgres"

// maxSocketPath is the longest unix socket path the kernel takes (sun_path less its NUL: 107
// on Linux, 103 on the BSDs and macOS, the smaller of the two here).
const maxSocketPath = 103

// DefaultPort names the socket (.s.PGSQL.5432) when Options.Port is 0; nothing listens on TCP,
// and each cluster has a directory of its own, so clusters never compete for it.
const DefaultPort = 5432

// hbaConf is the whole of pg_hba.conf, written at every start, so a cluster made by an older
// version (which trusted every local connection over TCP) is closed as well as a new one.
const hbaConf = `# Written by sunomi at every start (internal/postgres): the unix socket only, with a password.
local all all scram-sha-256
`

// Options configure Start.
type Options struct {
	// Dir holds the cluster (see the package comment); it is created if missing.
	Dir string
	// BinDir holds initdb and postgres; empty means FindBinDir.
	BinDir string
	// Password is the superuser's password, set at every start; required.
	Password string
	// Port only names the unix socket (.s.PGSQL.Port); 0 means DefaultPort.
	Port int
	// Ephemeral trades durability for speed, for tests: no fsync, asynchronous commits, no
	// full-page writes. A crash of the machine may then lose or corrupt the cluster.
	Ephemeral bool
	// SharedBuffers sets shared_buffers ("2GB"); empty keeps the server's default (128MB),
	// which suits tests and a laptop but not a catalogue of a million videos.
	SharedBuffers string
	// Logger receives the server's output, a record a line; nil discards it.
	Logger *slog.Logger
}

// Server is a running PostgreSQL server. It runs as our child process rather than daemonised
// by pg_ctl, so it cannot outlive us unnoticed: we hold its exit status and its output, and
// the kernel stops it if we die (see sysProcAttr).
type Server struct {
	dir      string
	dataDir  string
	port     int
	password string
	logger   *slog.Logger
	cmd      *exec.Cmd
	output   *logWriter
	exited   chan struct{} // closed once cmd has been waited for
	waitErr  error         // cmd.Wait's result, written before exited is closed
}

// Start initialises the cluster in opts.Dir if it has none, starts the server and waits until
// it accepts connections. A postmaster.pid left by a server that died is no obstacle; a server
// still running on the directory is: then the error wraps ErrAlreadyRunning.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("start postgres: no cluster directory given")
	}
	if opts.Password == "" {
		return nil, errors.New("start postgres: no superuser password given")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "postgres")
	binDir := opts.BinDir
	if binDir == "" {
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	u, err := serverUser()
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, u); err != nil {
		return nil, err
	}

	dataDir := filepath.Join(dir, "data")
	switch _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); {
	case errors.Is(err, fs.ErrNotExist):
		logger.Info("initialising cluster", "data_dir", dataDir, "bin_dir", binDir)
		if err := initdb(ctx, binDir, dataDir, u, opts.Ephemeral); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("start postgres: %w", err)
	case u != nil:
		if err := chownTree(dataDir, u); err != nil {
			return nil, fmt.Errorf("give %s to user %s: %w", dataDir, u.name, err)
		}
	}
	if err := checkPIDFile(dataDir, logger); err != nil {
		return nil, fmt.Errorf("start postgres in %s: %w", dir, err)
	}

	port := cmp.Or(opts.Port, DefaultPort)
	if sock := socketPath(dir, port); len(sock) > maxSocketPath {
		return nil, fmt.Errorf("start postgres: the cluster directory %s is too long for its unix socket %s (%d bytes, at most %d): choose a shorter one",
			dir, filepath.Base(sock), len(sock), maxSocketPath)
	}
	if err := writeHBA(dataDir, u); err != nil {
		return nil, err
	}
	if err := setPassword(ctx, binDir, dataDir, u, opts.Password); err != nil {
		return nil, err
	}
	s := &Server{dir: dir, dataDir: dataDir, port: port, password: opts.Password, logger: logger, output: newLogWriter(logger), exited: make(chan struct{})}
	if err := s.run(binDir, u, opts); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(stopCtx)
		return nil, fmt.Errorf("start postgres in %s: %w; last server output:\n%s", dir, err, s.output.Tail())
	}
	logger.Info("postgres ready", "socket", socketPath(dir, port), "data_dir", dataDir)
	return s, nil
}

// prepareDir creates dir and, when we are root, gives it to the server's user, which creates
// its socket there. Parents it creates are 0755, so that user can reach dir through them.
func prepareDir(dir string, u *osUser) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create cluster directory: %w", err)
	}
	if u == nil {
		return nil
	}
	if err := os.Chown(dir, int(u.uid), int(u.gid)); err != nil {
		return fmt.Errorf("give %s to user %s: %w", dir, u.name, err)
	}
	return checkReachable(dir, u)
}

// initdb creates the cluster beside dataDir and renames it into place, so a data directory
// with PG_VERSION is always a complete one even if initdb is killed half-way.
func initdb(ctx context.Context, binDir, dataDir string, u *osUser, ephemeral bool) error {
	tmp := dataDir + ".initdb"
	if err := os.RemoveAll(tmp); err != nil { // left by an initdb that was killed
		return fmt.Errorf("remove unfinished cluster: %w", err)
	}
	args := []string{
		"--pgdata=" + tmp,
		"--username=" + Superuser,
		"--auth=trust", // for the moment before Start writes pg_hba.conf, with no server running
		"--encoding=UTF8",
		"--locale=C", // byte-order collation: fast, and the same on every machine
		"--no-instructions",
	}
	if ephemeral {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
	cmd.Dir = filepath.Dir(dataDir) // ours is not necessarily searchable by the server's user
	cmd.SysProcAttr = sysProcAttr(u)
	if out, err := cmd.CombinedOutput(); err != nil {
		if len(bytes.TrimSpace(out)) > 0 {
			err = fmt.Errorf("%w; its output:\n%s", err, bytes.TrimSpace(out))
		}
		return fmt.Errorf("initdb %s: %w", dataDir, err)
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		return fmt.Errorf("move the new cluster into place: %w", err)
	}
	return nil
}

// run starts the postmaster.
func (s *Server) run(binDir string, u *osUser, opts Options) error {
	args := []string{
		"-D", s.dataDir,
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=", // no TCP at all
		"-c", "unix_socket_directories=" + `"` + s.dir + `"`, // quoted: the setting is a list
		"-c", "unix_socket_permissions=0700",
		"-c", "log_line_prefix=", // slog stamps the time; logWriter reads the severity first
	}
	if opts.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	if opts.SharedBuffers != "" {
		args = append(args, "-c", "shared_buffers="+opts.SharedBuffers)
	}
	s.cmd = exec.Command(filepath.Join(binDir, "postgres"), args...) // not tied to Start's ctx: it outlives Start
	s.cmd.Dir = s.dir
	s.cmd.Stdout = s.output
	s.cmd.Stderr = s.output
	s.cmd.SysProcAttr = sysProcAttr(u)
	// Backends share the postmaster's stderr and outlive it by a moment; do not wait on them.
	s.cmd.WaitDelay = 5 * time.Second
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	return nil
}

// waitReady polls with a real connection until the server accepts one, it exits, or
// ReadyTimeout or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		err := s.ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited before accepting connections (%v)", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("postgres accepted no connection in time (%w); last attempt: %v", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (s *Server) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

// Stop shuts the server down fast (clients are disconnected, the cluster is checkpointed) and
// waits for it to exit. If ctx ends first it forces an immediate shutdown, after which the next
// start runs crash recovery. Stop may be called again; it then returns what it returned first.
func (s *Server) Stop(ctx context.Context) error {
	_ = s.cmd.Process.Signal(syscall.SIGINT) // fails only if it has exited already
	select {
	case <-s.exited:
		if s.waitErr != nil {
			return fmt.Errorf("postgres exited with an error: %w", s.waitErr)
		}
		return nil
	case <-ctx.Done():
	}
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return fmt.Errorf("postgres did not finish a fast shutdown in time, so it was stopped immediately: %w", ctx.Err())
}

// Port returns the number in the name of the server's unix socket.
func (s *Server) Port() int { return s.port }

// SocketDir is the directory of the server's unix socket (the cluster directory).
func (s *Server) SocketDir() string { return s.dir }

func socketPath(dir string, port int) string {
	return filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
}

// URL returns the postgres:// URL of database on this server, as the superuser, password
// included: keep it out of logs (RedactedURL is for them).
func (s *Server) URL(database string) string {
	return s.url(database, url.UserPassword(Superuser, s.password))
}

// RedactedURL is URL with the password left out, to show.
func (s *Server) RedactedURL(database string) string {
	return s.url(database, url.UserPassword(Superuser, "xxxxx"))
}

func (s *Server) url(database string, user *url.Userinfo) string {
	// Spaces as %20: pgx reads the query without turning + into a space.
	query := "host=" + strings.ReplaceAll(url.QueryEscape(s.dir), "+", "%20") + "&port=" + strconv.Itoa(s.port) + "&sslmode=disable"
	u := url.URL{Scheme: "postgres", User: user, Path: "/" + database, RawQuery: query}
	return u.String()
}

// CreateDatabase creates the database name unless it exists.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	err := s.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// DropDatabase drops the database name if it exists, disconnecting whoever uses it.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if err := s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %q: %w", name, err)
	}
	return nil
}

// admin runs one statement in the postgres maintenance database on a connection of its own:
// creating databases is rare, and a Server holds no connections between calls.
func (s *Server) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

package postgres

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// clusterDir returns a fresh directory for a cluster, removed after the test. Not t.TempDir:
// its parent is 0700, which the server's user cannot search when the tests run as root.
func clusterDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testPassword is the superuser's password of the tests' clusters.
const testPassword = "test-password-with-a-quote-'-in-it"

// start starts a server on dir and stops it when the test ends.
func start(t *testing.T, dir string, ephemeral bool) *Server {
	t.Helper()
	return startWith(t, Options{Dir: dir, Ephemeral: ephemeral, Password: testPassword})
}

func startWith(t *testing.T, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	s, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { stop(t, s) })
	return s
}

func stop(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestStartServesQueries(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(clusterDir(t), "made", "by", "start") // under root, reachable as well
	s := start(t, dir, true)
	conn := connect(t, s.URL("postgres"))

	var userName, fsync, encoding, collate string
	err := conn.QueryRow(t.Context(), `SELECT current_user, current_setting('fsync'),
		current_setting('server_encoding'), current_setting('lc_collate')`).Scan(&userName, &fsync, &encoding, &collate)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"current_user", userName, Superuser},
		{"fsync", fsync, "off"},
		{"server_encoding", encoding, "UTF8"},
		{"lc_collate", collate, "C"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}

	sock := filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(s.Port()))
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		t.Errorf("no unix socket at %s (%v)", sock, err)
	}
	u, err := serverUser()
	if err != nil {
		t.Fatal(err)
	}
	if u != nil { // root: the server's user owns the cluster
		fi, err := os.Stat(filepath.Join(dir, "data"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Sys().(*syscall.Stat_t).Uid, u.uid; got != want {
			t.Errorf("data directory owner uid = %d, want %d (%s)", got, want, u.name)
		}
	}
}

func TestRestartKeepsDataAndPort(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	s := start(t, dir, false)
	conn := connect(t, s.URL("postgres"))
	if _, err := conn.Exec(t.Context(), `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`); err != nil {
		t.Fatalf("write: %v", err)
	}
	_ = conn.Close(t.Context())
	port := s.Port()
	stop(t, s)
	stop(t, s) // a second Stop is harmless

	s = start(t, dir, false)
	if got, want := s.Port(), port; got != want {
		t.Errorf("port after restart = %d, want %d", got, want)
	}
	var v, fsync string
	err := connect(t, s.URL("postgres")).QueryRow(t.Context(), `SELECT v, current_setting('fsync') FROM kept`).Scan(&v, &fsync)
	if err != nil {
		t.Fatalf("read after restart: %v", err)
	}
	if got, want := v, "still here"; got != want {
		t.Errorf("row = %q, want %q", got, want)
	}
	if got, want := fsync, "on"; got != want {
		t.Errorf("fsync = %q, want %q for a cluster that is not ephemeral", got, want)
	}
}

func TestStartRefusesRunningDataDir(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	s := start(t, dir, true)
	_, err := Start(t.Context(), Options{Dir: dir, Ephemeral: true, Password: testPassword})
	if !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second Start err = %v, want ErrAlreadyRunning", err)
	}
	if err := s.ping(t.Context()); err != nil {
		t.Errorf("first server after the refused start: %v", err)
	}
}

func TestStartRecoversStalePIDFile(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	s := start(t, dir, true)
	crashed, err := os.ReadFile(pidFile) // what a server that died would have left behind
	if err != nil {
		t.Fatal(err)
	}
	stop(t, s)
	fi, err := os.Stat(filepath.Dir(pidFile))
	if err != nil {
		t.Fatal(err)
	}
	owner := fi.Sys().(*syscall.Stat_t)

	// A live process that is not a postmaster: its pid stands for one that was reused. It runs
	// as the server's user: PostgreSQL itself takes another user's process for no postmaster.
	u, err := serverUser()
	if err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "300")
	sleep.SysProcAttr = &syscall.SysProcAttr{Credential: u.credential()}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	_, rest, _ := strings.Cut(string(crashed), "\n")

	for _, c := range []struct {
		name      string
		content   string
		linuxOnly bool // only /proc tells a reused pid from a running server
	}{
		{"dead postmaster", string(crashed), false},
		{"pid reused by another process", strconv.Itoa(sleep.Process.Pid) + "\n" + rest, true},
		{"empty file", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.linuxOnly && runtime.GOOS != "linux" {
				t.Skip("needs /proc")
			}
			if err := os.WriteFile(pidFile, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Lchown(pidFile, int(owner.Uid), int(owner.Gid)); err != nil { // as the server would have
				t.Fatal(err)
			}
			s := start(t, dir, true)
			if err := s.ping(t.Context()); err != nil {
				t.Errorf("ping: %v", err)
			}
		})
	}
}

func TestDatabases(t *testing.T) {
	t.Parallel()
	s := start(t, clusterDir(t), true)
	const name = `Odd "db" name; DROP`
	for range 2 { // the second create finds it there
		if err := s.CreateDatabase(t.Context(), name); err != nil {
			t.Fatalf("CreateDatabase: %v", err)
		}
	}
	conn := connect(t, s.URL(name))
	var got string
	if err := conn.QueryRow(t.Context(), `SELECT current_database()`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != name {
		t.Errorf("current_database() = %q, want %q", got, name)
	}

	// The open connection does not keep it alive.
	for range 2 {
		if err := s.DropDatabase(t.Context(), name); err != nil {
			t.Fatalf("DropDatabase: %v", err)
		}
	}
	_, err := pgx.Connect(t.Context(), s.URL(name))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		t.Errorf("connect after drop err = %v, want invalid_catalog_name (3D000)", err)
	}
}

func TestURLParses(t *testing.T) {
	s := &Server{dir: "/run/a dir/pg", port: 54321, password: "p@ss:w/rd?'"}
	for _, db := range []string{"app", "with space", "q?x#y", "100%", "a/b"} {
		t.Run(db, func(t *testing.T) {
			cfg, err := pgx.ParseConfig(s.URL(db))
			if err != nil {
				t.Fatalf("ParseConfig(%q): %v", s.URL(db), err)
			}
			if cfg.Host != s.dir || cfg.Port != 54321 || cfg.User != Superuser || cfg.Password != s.password || cfg.Database != db || cfg.TLSConfig != nil {
				t.Errorf("ParseConfig(%q) = host %q port %d user %q password %q database %q tls %v, want %q 54321 %s %q %q none",
					s.URL(db), cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database, cfg.TLSConfig != nil, s.dir, Superuser, s.password, db)
			}
			if strings.Contains(s.RedactedURL(db), s.password) {
				t.Errorf("RedactedURL(%q) = %q shows the password", db, s.RedactedURL(db))
			}
		})
	}
}

// The cluster is reachable through its unix socket only, and only with the password: no
// other local user can sign in as the superuser (and make themselves admin of the platform).
func TestOnlyTheSocketAndOnlyWithThePassword(t *testing.T) {
	t.Parallel()
	dir := clusterDir(t)
	s := start(t, dir, true)
	var listen string
	if err := connect(t, s.URL("postgres")).QueryRow(t.Context(), `SELECT current_setting('listen_addresses')`).Scan(&listen); err != nil {
		t.Fatal(err)
	}
	if listen != "" {
		t.Errorf("listen_addresses = %q, want none: no TCP listener", listen)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())), time.Second); err == nil {
		conn.Close()
		t.Errorf("something listens on 127.0.0.1:%d", s.Port())
	}

	without := "postgres://" + Superuser + "@/postgres?host=" + url.QueryEscape(dir) + "&port=" + strconv.Itoa(s.Port()) + "&sslmode=disable"
	wrong := "postgres://" + Superuser + ":guess@/postgres?host=" + url.QueryEscape(dir) + "&port=" + strconv.Itoa(s.Port()) + "&sslmode=disable"
	for name, u := range map[string]string{"no password": without, "a wrong password": wrong} {
		conn, err := pgx.Connect(t.Context(), u)
		if err == nil {
			conn.Close(t.Context())
			t.Errorf("%s: connected, want refused", name)
		}
	}

	// A restart with another password (a new secrets file) changes it.
	stop(t, s)
	s = startWith(t, Options{Dir: dir, Ephemeral: true, Password: "another-password"})
	connect(t, s.URL("postgres"))
	old := strings.Replace(s.URL("postgres"), "another-password", url.QueryEscape(testPassword), 1)
	if conn, err := pgx.Connect(t.Context(), old); err == nil {
		conn.Close(t.Context())
		t.Error("the old password still works after a restart with a new one")
	}
}

func TestStartNeedsAPassword(t *testing.T) {
	_, err := Start(t.Context(), Options{Dir: clusterDir(t)})
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("Start without a password: err = %v, want one asking for it", err)
	}
}

func TestStartAsRootNeedsReachableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the server to another user")
	}
	dir := filepath.Join(t.TempDir(), "cluster") // t.TempDir's parent is 0700
	_, err := Start(t.Context(), Options{Dir: dir, Password: testPassword})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("Start err = %v, want one saying the server's user cannot reach %s", err, dir)
	}
}

func TestCheckReachable(t *testing.T) {
	base := clusterDir(t)
	for _, d := range []struct {
		name string
		perm os.FileMode
	}{{"closed", 0o700}, {"open", 0o711}} {
		if err := os.MkdirAll(filepath.Join(base, d.name, "cluster"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(base, d.name), d.perm); err != nil {
			t.Fatal(err)
		}
	}
	stranger := &osUser{name: "stranger", uid: 54321, gid: 54321, gids: []uint32{54321}}
	if err := checkReachable(filepath.Join(base, "open", "cluster"), stranger); err != nil {
		t.Errorf("open: %v, want nil", err)
	}
	err := checkReachable(filepath.Join(base, "closed", "cluster"), stranger)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(base, "closed")+" ") {
		t.Errorf("closed: %v, want an error naming %s", err, filepath.Join(base, "closed"))
	}
}

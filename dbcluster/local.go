package dbcluster

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ErrNotInstalled is returned by StartLocal when no MariaDB server program
// is installed; the error's text names the package to install.
var ErrNotInstalled = errors.New("mariadbd not found: install the mariadb-server package (apt-get install mariadb-server)")

// LocalServer is a private MariaDB server run by this process: its own data
// directory, loopback port, socket, pid file, binary log and server id. It
// exists for tests and for `orchard demo --mysql`; it is never a system
// service. The account root@127.0.0.1 has no password.
type LocalServer struct {
	dir      string
	sock     string
	sockDir  string // a short temporary directory holding sock, removed on Close; "" if sock is in dir
	port     int
	serverID int
	logger   *slog.Logger

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	waitErr error

	closeOnce sync.Once
	closeErr  error
}

// startTimeout bounds how long a fresh server may take to answer.
const startTimeout = 60 * time.Second

// StartLocal initialises a MariaDB data directory in dir/data (unless one is
// already there), starts mariadbd on a free port of 127.0.0.1 with
// dir/binlog, dir/error.log and the given server id (1 or more), and returns
// when the server answers queries. Close stops it. When mariadbd is not
// installed it returns an error wrapping ErrNotInstalled.
func StartLocal(ctx context.Context, dir string, serverID int, logger *slog.Logger) (*LocalServer, error) {
	if serverID < 1 {
		return nil, fmt.Errorf("start local mariadb: server id %d must be 1 or more", serverID)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mariadbd, installDB, err := findMariaDB(searchDirs)
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("start local mariadb: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start local mariadb: %w", err)
	}
	s := &LocalServer{dir: dir, serverID: serverID, logger: logger.With("component", "mariadb", "server_id", serverID)}
	if err := s.install(ctx, installDB); err != nil {
		return nil, err
	}
	s.sock = filepath.Join(dir, "mysql.sock")
	if len(s.sock) > 100 { // sun_path holds 108 bytes
		if s.sockDir, err = os.MkdirTemp("", "orchard-mariadb-"); err != nil {
			return nil, fmt.Errorf("start local mariadb: %w", err)
		}
		s.sock = filepath.Join(s.sockDir, "sock")
	}
	// The free port is found by listening on :0 and closing; another
	// process may take it in between, so a failed bind is retried.
	for attempt := 1; ; attempt++ {
		err = s.start(ctx, mariadbd)
		if err == nil {
			return s, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "Bind on TCP/IP port") {
			s.removeSockDir()
			return nil, err
		}
	}
}

// searchDirs are looked in after PATH: a user's PATH often lacks sbin.
var searchDirs = []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"}

// findMariaDB looks for the server and install programs in PATH and dirs.
func findMariaDB(dirs []string) (server, install string, err error) {
	look := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
			for _, d := range dirs {
				p := filepath.Join(d, n)
				if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
					return p
				}
			}
		}
		return ""
	}
	server = look("mariadbd", "mysqld")
	install = look("mariadb-install-db", "mysql_install_db")
	if server == "" || install == "" {
		return "", "", ErrNotInstalled
	}
	return server, install, nil
}

// runAsRoot reports whether the server must be told which user to run as
// (mariadbd refuses to run as root without --user).
func runAsRoot() (string, bool) {
	if os.Geteuid() != 0 {
		return "", false
	}
	u, err := user.Current()
	if err != nil {
		return "root", true
	}
	return u.Username, true
}

func (s *LocalServer) dataDir() string { return filepath.Join(s.dir, "data") }

func (s *LocalServer) tmpDir() string { return filepath.Join(s.dir, "tmp") }

// install runs mariadb-install-db once; a data directory that already holds
// the system tables is reused, so a demo keeps its data across restarts.
func (s *LocalServer) install(ctx context.Context, installDB string) error {
	if _, err := os.Stat(filepath.Join(s.dataDir(), "mysql")); err == nil {
		return nil
	}
	if err := os.MkdirAll(s.tmpDir(), 0o700); err != nil {
		return fmt.Errorf("start local mariadb: %w", err)
	}
	// Its own tmpdir: bootstraps sharing /tmp collide on temporary table
	// names ("Unknown table 'mysql.tmp_user_sys'").
	args := []string{"--no-defaults", "--datadir=" + s.dataDir(), "--tmpdir=" + s.tmpDir(),
		"--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"}
	if name, ok := runAsRoot(); ok {
		args = append(args, "--user="+name)
	}
	cmd := exec.CommandContext(ctx, installDB, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mariadb-install-db into %s: %w\n%s", s.dataDir(), err, tail(out.Bytes(), 2000))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *LocalServer) errorLog() string { return filepath.Join(s.dir, "error.log") }

func (s *LocalServer) start(ctx context.Context, mariadbd string) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("start local mariadb: free port: %w", err)
	}
	s.port = port
	_ = os.Remove(s.errorLog())
	args := []string{
		"--no-defaults",
		"--datadir=" + s.dataDir(),
		"--tmpdir=" + s.tmpDir(),
		"--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1",
		"--socket=" + s.sock,
		"--pid-file=" + filepath.Join(s.dir, "mariadbd.pid"),
		"--log-error=" + s.errorLog(),
		"--log-bin=" + filepath.Join(s.dir, "binlog"),
		"--server-id=" + strconv.Itoa(s.serverID),
		"--log-slave-updates", // a replica keeps every GTID, so it can be promoted
		"--binlog-format=ROW",
		"--skip-name-resolve",
		"--skip-slave-start", // replication starts when orchard db says so
		"--character-set-server=utf8mb4",
		"--collation-server=utf8mb4_bin",
		"--max-allowed-packet=64M", // room for a 16 MiB asset
		"--innodb-buffer-pool-size=64M",
		"--innodb-log-file-size=32M",
	}
	if name, ok := runAsRoot(); ok {
		args = append(args, "--user="+name)
	}
	cmd := exec.Command(mariadbd, args...)
	// The server outlives no one: it gets SIGTERM if this process dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", mariadbd, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	s.logger.Debug("mariadbd started", "pid", cmd.Process.Pid, "port", port, "dir", s.dir)
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		log, _ := os.ReadFile(s.errorLog())
		return fmt.Errorf("start local mariadb in %s: %w\n%s", s.dir, err, tail(log, 2000))
	}
	return nil
}

// waitReady polls the socket until the server answers a query, the process
// exits, ctx ends or startTimeout passes.
func (s *LocalServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.Timeout = "root", "unix", s.sock, time.Second
	cfg.Logger = nopLogger{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var one int
		err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("mariadbd exited: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("mariadbd did not answer on %s: %w (last error: %v)", s.sock, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// Addr returns the server's TCP address, "127.0.0.1:PORT".
func (s *LocalServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Socket returns the path of the server's Unix socket.
func (s *LocalServer) Socket() string { return s.sock }

// Dir returns the directory that holds the server's data and logs.
func (s *LocalServer) Dir() string { return s.dir }

// ServerID returns the server's replication id.
func (s *LocalServer) ServerID() int { return s.serverID }

// DSN returns a go-sql-driver/mysql DSN that reaches the server over TCP as
// user (with pass, which may be empty) and selects database db (may be "").
func (s *LocalServer) DSN(user, pass, db string) string {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, pass, "tcp", s.Addr(), db
	return cfg.FormatDSN()
}

// Close stops the server: SIGTERM, then SIGKILL if it has not exited after
// 30 seconds. It is idempotent and safe to call from several goroutines.
func (s *LocalServer) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.stop()
		s.removeSockDir()
	})
	return s.closeErr
}

func (s *LocalServer) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		s.logger.Debug("mariadbd stopped", "pid", s.cmd.Process.Pid)
		return nil
	case <-time.After(30 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	return fmt.Errorf("mariadbd (pid %d) ignored SIGTERM for 30s and was killed", s.cmd.Process.Pid)
}

func (s *LocalServer) removeSockDir() {
	if s.sockDir != "" {
		_ = os.RemoveAll(s.sockDir)
	}
}

// tail returns at most the last n bytes of b, for error messages.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// nopLogger silences the driver's own logging ("[mysql] ... unexpected EOF")
// on connections the code retries anyway.
type nopLogger struct{}

func (nopLogger) Print(...any) {}

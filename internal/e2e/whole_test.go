package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/bench"
	"github.com/orchardhq/orchard/config"
	"github.com/orchardhq/orchard/internal/proctest"
	"github.com/orchardhq/orchard/internal/sample"
	"github.com/orchardhq/orchard/internal/testnet"
)

// TestWholeCluster runs `orchard demo` (master, three nodes and the balancer
// as separate processes), edits a page from the command line, builds and
// publishes it, reads it through the balancer and from every node; then,
// under load, kills a node, restarts it, publishes again and drains a node
// from the manager, with zero failed requests and no response mixing
// releases; a broken cluster file sent to the balancer with SIGHUP under load
// is refused and changes nothing.
func TestWholeCluster(t *testing.T) {
	testWholeCluster(t, false)
}

// TestWholeClusterMariaDB is the same scenario with the CMS on a private
// MariaDB primary and two replicas (orchard demo --mysql).
func TestWholeClusterMariaDB(t *testing.T) {
	if _, err := exec.LookPath("mariadbd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mariadbd is not installed (apt-get install mariadb-server)")
		}
		t.Skip("mariadbd is not installed")
	}
	testWholeCluster(t, true)
}

func testWholeCluster(t *testing.T, mysql bool) {
	if testing.Short() {
		t.Skip("whole-cluster test")
	}
	bin := orchardBin(t)
	d := startDemo(t, bin, mysql)
	cfg, err := config.Load(d.file)
	if err != nil {
		t.Fatal(err)
	}
	const host = sample.AlphaHost
	const page = "/news/e2e-check/"

	// Edit, build, publish, read back through the balancer and every node.
	d.run(t, "", "category", "-s", host, "put", "/news/", "--title", "News")
	edit := func(version int) {
		d.run(t, fmt.Sprintf("Checked end to end: version-%d.\n", version),
			"page", "-s", host, "put", page, "--title", "E2E check", "--category", "/news/")
		d.run(t, "", "publish", "-s", host, "--build", "-q")
	}
	edit(1)
	body, _ := get(t, "http://"+cfg.Balancer.Listen+page, host)
	if !strings.Contains(body, "version-1") {
		t.Fatalf("balancer does not serve the edited page:\n%.500s", body)
	}
	for _, n := range cfg.Nodes {
		if body, _ := get(t, "http://"+n.Listen+page, host); !strings.Contains(body, "version-1") {
			t.Errorf("node %s does not serve the edited page", n.Name)
		}
	}

	// Load: every published page of the site, through the balancer.
	var urls []bench.Target
	for _, p := range sample.Sites()[0].Pages {
		urls = append(urls, bench.Target{URL: "http://" + cfg.Balancer.Listen + p.Path})
	}
	urls = append(urls, bench.Target{URL: "http://" + cfg.Balancer.Listen + page})
	loadCtx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	var res *bench.Result
	var loadErr error
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		res, loadErr = bench.Run(loadCtx, bench.Config{URLs: urls, Concurrency: 64, Duration: 2 * time.Minute,
			Random: true, Headers: []bench.Header{{Name: "Host", Value: host}}, Timeout: 10 * time.Second}, nil)
	}()
	mix := startMixChecker(cfg.Balancer.Listen, host, page)
	defer mix.stop()
	testnet.WaitFor(t, "checker sees version-1", func() bool { return mix.seen("version-1") })

	// Kill node1 under load, then bring it back: it catches up and rejoins.
	node1 := d.pid(t, "node", "node1")
	if err := syscall.Kill(node1, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, "node1 is gone", func() bool { return syscall.Kill(node1, 0) != nil })
	time.Sleep(2 * time.Second) // load runs against the cluster with a member down
	restarted := d.start(t, "node", "node1")
	n1, _ := cfg.Node("node1")
	testnet.WaitFor(t, "node1 serves again", func() bool { return healthy(n1.Control) })

	// Publish again under load.
	edit(2)
	newest := activeOn(t, cfg.Nodes[0].Control, host)
	testnet.WaitFor(t, "restarted node1 has the newest release", func() bool {
		h := health(n1.Control)
		return h != nil && h.Releases[host] == newest
	})
	testnet.WaitFor(t, "checker sees version-2", func() bool { return mix.seen("version-2") })

	// A broken cluster file and SIGHUP under load: refused, old one kept.
	good, err := os.ReadFile(d.file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.file, append(append([]byte{}, good...), "\n[[balancer.pool]]\nname = 42\n"...), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(d.pid(t, "balancer"), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testnet.WaitFor(t, "the balancer refuses the broken file", func() bool {
		b, _ := os.ReadFile(filepath.Join(d.dir, "logs", "balancer.log"))
		return bytes.Contains(b, []byte("reload refused"))
	})
	if err := os.WriteFile(d.file, good, 0o640); err != nil {
		t.Fatal(err)
	}

	// Drain node0 from the manager under load.
	drain(t, "http://"+cfg.Balancer.Listen+cfg.Balancer.Manager, "web", "node0")
	time.Sleep(2 * time.Second)

	stopLoad()
	<-loadDone
	mix.stop()
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	if res.Transactions < 100 || res.Failed != 0 || res.Errors.Refused+res.Errors.Reset+res.Errors.Timeout+res.Errors.Other+res.Errors.Status != 0 {
		var b bytes.Buffer
		res.WriteSiege(&b)
		t.Errorf("load through kill, restart, publish and drain had failures:\n%s\nfirst errors: %v", b.String(), res.FirstErrors)
	}
	t.Logf("load: %d transactions, %d failed, %.0f trans/s", res.Transactions, res.Failed, res.TransactionRate())
	if err := mix.verdict(); err != nil {
		t.Error(err)
	}
	restarted.stop()
}

// startSQLiteDemo starts `orchard demo` on SQLite for a whole-cluster test
// (skipped with -short) and returns it with its cluster file.
func startSQLiteDemo(t *testing.T) (*demoProc, *config.Config) {
	t.Helper()
	if testing.Short() {
		t.Skip("whole-cluster test")
	}
	d := startDemo(t, orchardBin(t), false)
	cfg, err := config.Load(d.file)
	if err != nil {
		t.Fatal(err)
	}
	return d, cfg
}

// demoProc is a running `orchard demo` and the processes the test added.
type demoProc struct {
	bin, dir, file string
	cmd            *exec.Cmd
	out            *os.File
}

func startDemo(t *testing.T, bin string, mysql bool) *demoProc {
	t.Helper()
	if mysql {
		return startDemoWith(t, bin, "--mysql")
	}
	return startDemoWith(t, bin)
}

// startDemoWith starts `orchard demo` with extra flags and waits until it
// is ready. The demo picks free ports and its roles bind them a moment
// later; another test's connection can take one in between (CI runs
// packages side by side), so a start whose role found its address in use
// is made again, once.
func startDemoWith(t *testing.T, bin string, flags ...string) *demoProc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		d, clash := launchDemo(t, bin, flags...)
		if !clash {
			return d
		}
		if attempt == 2 {
			t.Fatal("orchard demo: a role's port was taken before it bound it, twice")
		}
		t.Log("orchard demo: a role's port was taken before it bound it (another test's connection); starting again")
	}
}

// launchDemo is one start of startDemoWith; clash reports a demo that
// exited because a role's address was in use.
func launchDemo(t *testing.T, bin string, flags ...string) (d *demoProc, clash bool) {
	t.Helper()
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "demo.out"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"demo", "--dir", filepath.Join(dir, "demo"), "--listen", testnet.FreeAddr(t)}, flags...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d = &demoProc{bin: bin, dir: filepath.Join(dir, "demo"), file: filepath.Join(dir, "demo", "orchard.toml"), cmd: cmd, out: out}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		proctest.Stop(cmd.Process, exited, 30*time.Second)
		killUnder(d.dir) // whatever a failed test left behind
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("demo output:\n%s", b)
			for _, role := range []string{"balancer", "node0", "node1", "master"} {
				b, _ := os.ReadFile(filepath.Join(d.dir, "logs", role+".log"))
				t.Logf("%s log (tail):\n%s", role, tail(b, 2000))
			}
		}
		out.Close()
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		b, _ := os.ReadFile(out.Name())
		if bytes.Contains(b, []byte("Ready in")) {
			return d, false
		}
		select {
		case <-exited:
			logs, _ := filepath.Glob(filepath.Join(d.dir, "logs", "*.log"))
			for _, f := range logs {
				if l, _ := os.ReadFile(f); bytes.Contains(l, []byte("address already in use")) {
					return nil, true
				}
			}
			t.Fatalf("orchard demo exited before it was ready:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("orchard demo not ready within 90s:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs `orchard ARGS --config FILE` with stdin and fails the test on error.
func (d *demoProc) run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(d.bin, append(args, "--config", d.file)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("orchard %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// started is a role the test itself started.
type started struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (s *started) stop() { proctest.Stop(s.cmd.Process, s.done, 10*time.Second) }

func (d *demoProc) start(t *testing.T, args ...string) *started {
	t.Helper()
	cmd := exec.Command(d.bin, append(args, "--config", d.file)...)
	logf, err := os.Create(filepath.Join(d.dir, "logs", strings.Join(args, "-")+"-restarted.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &started{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(s.done) }()
	t.Cleanup(s.stop)
	return s
}

// pid finds the process running `orchard ARGS... --config FILE`.
func (d *demoProc) pid(t *testing.T, args ...string) int {
	t.Helper()
	want := append(args, "--config", d.file)
	for _, p := range proctest.List() {
		if len(p.Args) >= len(want) && slices.Equal(p.Args[len(p.Args)-len(want):], want) {
			return p.PID
		}
	}
	t.Fatalf("no process runs orchard %s", strings.Join(args, " "))
	return 0
}

// killUnder kills every process whose command line names dir: the roles
// and database servers of a demo that did not stop by itself.
func killUnder(dir string) {
	for _, p := range proctest.List() {
		if p.PID != os.Getpid() && strings.Contains(strings.Join(p.Args, "\x00"), dir) {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func get(t *testing.T, u, host string) (string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s (Host %s): %s", u, host, resp.Status)
	}
	return string(b), resp.Header
}

func health(control string) *orchard.Health {
	c := &http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + control + orchard.HealthPath)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var h orchard.Health
	if resp.StatusCode != 200 || jsonDecode(resp.Body, &h) != nil {
		return nil
	}
	return &h
}

func healthy(control string) bool { return health(control) != nil }

func activeOn(t *testing.T, control, host string) string {
	t.Helper()
	h := health(control)
	if h == nil || h.Releases[host] == "" {
		t.Fatalf("no active release of %s on %s", host, control)
	}
	return h.Releases[host]
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// drain sets member to draining through the manager's form, as a person would.
func drain(t *testing.T, manager, pool, member string) {
	t.Helper()
	body, _ := get(t, manager, "")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the manager page")
	}
	form := url.Values{"csrf": {m[1]}, "pool": {pool}, "member": {member}, "action": {"drain"}}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(manager+"/action", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		t.Fatalf("drain %s: %s", member, resp.Status)
	}
}

// mixChecker reads one page over and over and records which version of its
// body came with which release header.
type mixChecker struct {
	mu       sync.Mutex
	byID     map[string]map[string]int // release -> version -> count
	order    []string                  // versions in the order seen
	failures []string
	cancel   context.CancelFunc
	done     chan struct{}
	once     sync.Once
}

var versionRE = regexp.MustCompile(`version-\d+`)

func startMixChecker(addr, host, page string) *mixChecker {
	ctx, cancel := context.WithCancel(context.Background())
	m := &mixChecker{byID: map[string]map[string]int{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		c := &http.Client{Timeout: 10 * time.Second}
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+page, nil)
			req.Host = host
			resp, err := c.Do(req)
			if err != nil {
				if ctx.Err() == nil {
					m.fail(err.Error())
				}
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				m.fail(resp.Status)
				continue
			}
			v := versionRE.FindString(string(b))
			id := resp.Header.Get(orchard.ReleaseHeader)
			m.mu.Lock()
			if m.byID[id] == nil {
				m.byID[id] = map[string]int{}
			}
			m.byID[id][v]++
			if len(m.order) == 0 || m.order[len(m.order)-1] != v {
				m.order = append(m.order, v)
			}
			m.mu.Unlock()
		}
	}()
	return m
}

func (m *mixChecker) fail(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.failures) < 10 {
		m.failures = append(m.failures, s)
	}
}

func (m *mixChecker) seen(v string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.order {
		if o == v {
			return true
		}
	}
	return false
}

func (m *mixChecker) stop() {
	m.once.Do(func() { m.cancel(); <-m.done })
}

// verdict: no failed read, each release header always came with the same
// body, and once the new version was seen the old one never came back.
func (m *mixChecker) verdict() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var problems []string
	if len(m.failures) > 0 {
		problems = append(problems, fmt.Sprintf("failed reads: %v", m.failures))
	}
	for id, vs := range m.byID {
		if len(vs) != 1 {
			problems = append(problems, fmt.Sprintf("release %s came with bodies %v", id, vs))
		}
	}
	if fmt.Sprint(m.order) != "[version-1 version-2]" {
		problems = append(problems, fmt.Sprintf("versions alternated: %v", m.order))
	}
	if len(problems) > 0 {
		return fmt.Errorf("page reads during the scenario: %s", strings.Join(problems, "; "))
	}
	return nil
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(io.LimitReader(r, 1<<20)).Decode(v) }

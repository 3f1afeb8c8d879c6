package balancer_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/balancer"
	"github.com/orchardhq/orchard/internal/proctest"
	"github.com/orchardhq/orchard/internal/testnet"
)

func managerGet(t *testing.T, b *balancer.Balancer, path string) (int, string) {
	t.Helper()
	resp, body := get(t, newClient(), b.Addr(), path)
	return resp.StatusCode, body
}

func managerPost(t *testing.T, b *balancer.Balancer, form url.Values, hdr map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+b.Addr()+"/orchard-manager/action", strings.NewReader(form.Encode()))
	req.Host = siteHost
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestManager(t *testing.T) {
	dir := t.TempDir()
	b0, b1 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef")
	o := onePool("", b0.member(1), b1.member(1))
	o.DataDir = dir
	b := mustOpen(t, o)

	code, page := managerGet(t, b, "/orchard-manager/")
	if code != 200 || !strings.Contains(page, "n0") || !strings.Contains(page, "Pool web") {
		t.Fatalf("page: %d\n%s", code, page)
	}
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token in the page")
	}
	token := m[1]
	code, js := managerGet(t, b, "/orchard-manager/json")
	var st balancer.Status
	if err := json.Unmarshal([]byte(js), &st); code != 200 || err != nil || len(st.Pools) != 1 || len(st.Pools[0].Members) != 2 {
		t.Fatalf("json: %d %v\n%s", code, err, js)
	}

	form := url.Values{"pool": {"web"}, "member": {"n0"}, "action": {"disable"}}
	if code := managerPost(t, b, form, nil); code != http.StatusForbidden {
		t.Errorf("POST without token: %d, want 403", code)
	}
	form.Set("csrf", "1."+strings.Repeat("0", 64))
	if code := managerPost(t, b, form, nil); code != http.StatusForbidden {
		t.Errorf("POST with a forged token: %d, want 403", code)
	}
	form.Set("csrf", token)
	if code := managerPost(t, b, form, map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", code)
	}
	if s := memberStatus(b, "n0").State; s != orchard.MemberOK {
		t.Fatalf("refused actions changed the state to %q", s)
	}
	if code := managerPost(t, b, form, nil); code != http.StatusSeeOther {
		t.Fatalf("POST: %d, want 303", code)
	}
	if s := memberStatus(b, "n0").State; s != orchard.MemberDisabled {
		t.Fatalf("state %q after disable", s)
	}
	form.Set("member", "n1")
	form.Set("action", "weight")
	form.Set("weight", "7")
	if code := managerPost(t, b, form, nil); code != http.StatusSeeOther {
		t.Fatalf("weight POST: %d", code)
	}
	data, err := os.ReadFile(filepath.Join(dir, balancer.StateFile))
	if err != nil || !bytes.Contains(data, []byte(`"disabled"`)) {
		t.Fatalf("state file: %v\n%s", err, data)
	}

	// Reload keeps the changes; so does a restart.
	if _, err := b.Reload(o); err != nil {
		t.Fatal(err)
	}
	if s := memberStatus(b, "n0").State; s != orchard.MemberDisabled {
		t.Errorf("after reload: %q", s)
	}
	b.Close()
	b2 := mustOpen(t, o)
	if s, w := memberStatus(b2, "n0").State, memberStatus(b2, "n1").Weight; s != orchard.MemberDisabled || w != 7 {
		t.Errorf("after restart: n0 %q, n1 weight %d", s, w)
	}
}

func TestReload(t *testing.T) {
	b0, b1 := newBackend(t, "n0", "0123456789abcdef"), newBackend(t, "n1", "0123456789abcdef")
	o := onePool("", b0.member(1))
	b := mustOpen(t, o)
	shares(t, b, 5)
	bad := o
	bad.Pools = []balancer.Pool{{Name: "web", Method: "random", Members: o.Pools[0].Members}}
	if _, err := b.Reload(bad); orchard.ErrorCode(err) != orchard.EINVALID {
		t.Fatalf("bad reload: %v", err)
	}
	if got := shares(t, b, 5); got["n0"] != 5 {
		t.Fatalf("after bad reload %v", got)
	}
	o2 := onePool("", b0.member(1), b1.member(1))
	if _, err := b.Reload(o2); err != nil {
		t.Fatal(err)
	}
	// A new member takes a site's requests once its health check has
	// told which release it holds.
	testnet.WaitFor(t, "n1's releases", func() bool { return len(memberStatus(b, "n1").Releases) > 0 })
	if got := shares(t, b, 10); got["n0"] != 5 || got["n1"] != 5 {
		t.Errorf("after reload %v", got)
	}
	if r := memberStatus(b, "n0").Requests; r != 15 {
		t.Errorf("n0 counted %d requests, want 15 (kept over reloads)", r)
	}
}

var combinedRE = regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /x\?y HTTP/1\.1" 200 \d+ "http://ref\.test/" "agent \\"q\\" \\xff"$`)

type syncBuf struct {
	bytes.Buffer
}

func TestAccessLog(t *testing.T) {
	b0 := newBackend(t, "n0", "0123456789abcdef")
	var buf syncBuf
	o := onePool("", b0.member(1))
	o.AccessLog = &buf
	b := mustOpen(t, o)
	raw(t, b.Addr(), nilAddr, "GET /x?y HTTP/1.1\r\nHost: a.test\r\nReferer: http://ref.test/\r\nUser-Agent: agent \"q\" \xff\r\n\r\n")
	b.Close()
	line := strings.TrimSuffix(buf.String(), "\n")
	if !combinedRE.MatchString(line) {
		t.Errorf("log line %q is not combined format", line)
	}
}

// TestManagerActionLog checks that the log line of a manager action names
// who asked (the client address) and what changed (pool, member, action),
// for a refused action too.
func TestManagerActionLog(t *testing.T) {
	var logs proctest.Buffer
	b0 := newBackend(t, "n0", "0123456789abcdef")
	o := onePool("", b0.member(1))
	o.DataDir = t.TempDir()
	o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	b := mustOpen(t, o)
	_, page := managerGet(t, b, "/orchard-manager/")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token in the page")
	}
	for _, tc := range []struct {
		member, msg string
		status      int
	}{{"n0", "manager action", http.StatusSeeOther}, {"n9", "manager action refused", http.StatusNotFound}} {
		form := url.Values{"pool": {"web"}, "member": {tc.member}, "action": {"drain"}, "csrf": {m[1]}}
		if code := managerPost(t, b, form, nil); code != tc.status {
			t.Fatalf("POST drain %s: %d, want %d", tc.member, code, tc.status)
		}
		var found bool
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != tc.msg || rec["member"] != tc.member {
				continue
			}
			found = true
			addr, _ := rec["addr"].(string)
			if !strings.HasPrefix(addr, "127.0.0.1:") || rec["pool"] != "web" || rec["action"] != "drain" {
				t.Errorf("log line %s: want addr 127.0.0.1:PORT, pool web, action drain", line)
			}
		}
		if !found {
			t.Errorf("no %q line for member %s in the log:\n%s", tc.msg, tc.member, logs.String())
		}
	}
}

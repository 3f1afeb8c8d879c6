package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/admin"
	"github.com/orchardhq/orchard/internal/sample"
)

// waitJob polls a job's status until it finishes.
func waitJob(t *testing.T, c *client, jobURL string) admin.JobStatus {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := c.get(jobURL + "/status")
		wantStatus(t, "job status", r, 200)
		var st admin.JobStatus
		if err := json.Unmarshal([]byte(r.body), &st); err != nil {
			t.Fatal(err)
		}
		if st.Finished {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still running: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJobs(t *testing.T) {
	release := make(chan struct{})
	var rolledBack string
	b := &fakeBuilder{build: func(ctx context.Context, host string, progress func(int, int)) (orchard.Release, error) {
		progress(1, 2)
		select {
		case <-release:
		case <-ctx.Done():
			return orchard.Release{}, ctx.Err()
		}
		progress(2, 2)
		return orchard.Release{ID: "00112233445566aa", Site: host, Files: 2}, nil
	}}
	p := &fakePublisher{
		publish: func(ctx context.Context, host string, progress func(string)) (admin.PublishResult, error) {
			progress("node0: activated")
			return admin.PublishResult{Release: "00112233445566aa", Nodes: []admin.NodeResult{
				{Name: "node0", State: "activated"}, {Name: "node1", State: "down", Note: "will catch up"}}}, nil
		},
		rollback: func(ctx context.Context, host, id string, progress func(string)) (admin.PublishResult, error) {
			rolledBack = id
			return admin.PublishResult{Release: id, Nodes: []admin.NodeResult{{Name: "node0", State: "failed", Note: "disk full"}}}, nil
		},
		releases: func(ctx context.Context, host string) ([]orchard.Release, string, error) {
			return []orchard.Release{{ID: "00112233445566aa", Site: host, Files: 2}, {ID: "ffeeddccbbaa9988", Site: host}}, "00112233445566aa", nil
		},
		nodes: func(context.Context) []admin.NodeInfo {
			return []admin.NodeInfo{{Name: "node0", Addr: "127.0.0.1:1", Up: true, Releases: map[string]string{sample.AlphaHost: "00112233445566aa"}}, {Name: "node1", Err: "connection refused"}}
		},
	}
	u := newUI(t, admin.Options{Builder: b, Publisher: p})
	c := u.client()
	c.login(sample.AlphaHost, siteName, sitePass)

	r := c.post(alpha+"/buildpublish", url.Values{})
	wantStatus(t, "build & publish", r, http.StatusSeeOther)
	jobURL := r.header.Get("Location")
	if !strings.HasPrefix(jobURL, "/jobs/") {
		t.Fatalf("Location %q", jobURL)
	}
	// The build reports its first progress from its own goroutine: wait
	// for it (a busy machine may not have run it yet), then the page shows it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st admin.JobStatus
		if err := json.Unmarshal([]byte(c.get(jobURL+"/status").body), &st); err != nil {
			t.Fatal(err)
		}
		if st.Total == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress reported: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r = c.get(jobURL)
	wantBody(t, "running job page", r, `http-equiv="refresh"`, "Running", "<progress")
	r2 := c.post(alpha+"/build", url.Values{})
	if loc := r2.header.Get("Location"); loc != jobURL {
		t.Errorf("second job while one runs went to %q, want the running %q", loc, jobURL)
	}
	other := u.client()
	other.login("", rootName, rootPass)
	close(release)
	st := waitJob(t, c, jobURL)
	if st.State != "done" || st.Release != "00112233445566aa" || len(st.Nodes) != 2 || st.Nodes[0].State != "activated" {
		t.Fatalf("job %+v", st)
	}
	r = c.get(jobURL)
	wantBody(t, "finished job page", r, "Done", "node0", "activated", "node1", "will catch up")
	if strings.Contains(r.body, `http-equiv="refresh"`) {
		t.Error("a finished job page still refreshes")
	}

	r = c.get(alpha + "/releases")
	wantBody(t, "releases", r, "ffeeddccbbaa9988", "active")
	r = c.post(alpha+"/rollback", url.Values{"release": {"ffeeddccbbaa9988"}})
	wantStatus(t, "rollback", r, http.StatusSeeOther)
	st = waitJob(t, c, r.header.Get("Location"))
	if rolledBack != "ffeeddccbbaa9988" || st.State != "failed" || !strings.Contains(c.get(r.header.Get("Location")).body, "disk full") {
		t.Fatalf("rollback job %+v (rolled back %q)", st, rolledBack)
	}
	wantStatus(t, "rollback without id", c.post(alpha+"/rollback", url.Values{"release": {"../x"}}), http.StatusBadRequest)

	t.Run("NodesPage", func(t *testing.T) {
		r := other.get("/nodes")
		wantBody(t, "nodes", r, "node0", "up", "node1", "connection refused")
	})
	t.Run("UnknownJob", func(t *testing.T) {
		wantStatus(t, "unknown job", c.get("/jobs/999-nope"), http.StatusNotFound)
	})
}

// fakeDashboard is a DashboardView that names the range it was asked for.
type fakeDashboard struct{}

func (fakeDashboard) Content(q url.Values) (template.CSS, template.HTML, int, error) {
	if r := q.Get("range"); r != "" && r != "day" {
		return "", "", 0, errors.New("range must be hour, day or week")
	}
	return ".dash{color:red}", template.HTML("<div class=\"dash\">graphs of " + template.HTMLEscapeString(q.Get("range")) + "</div>"), 7, nil
}

func TestDashboard(t *testing.T) {
	u := newUI(t, admin.Options{Dashboard: fakeDashboard{}})
	c := u.client()
	wantStatus(t, "logged out", c.get("/dashboard/"), http.StatusSeeOther)
	c.login(sample.AlphaHost, siteName, sitePass)
	wantStatus(t, "site admin", c.get("/dashboard/"), http.StatusForbidden)
	root := u.client()
	root.login("", rootName, rootPass)
	r := root.get("/dashboard/?range=day")
	wantStatus(t, "cluster admin", r, 200)
	// In the admin's layout, with its navigation, the dashboard's style
	// and its reload.
	wantBody(t, "cluster admin", r, `<div class="dash">graphs of day</div>`, `href="/nodes"`, `aria-current="page">Dashboard`,
		`.dash{color:red}`, `http-equiv="refresh" content="7"`, "Log out")
	wantStatus(t, "bad range", root.get("/dashboard/?range=year"), http.StatusBadRequest)
}

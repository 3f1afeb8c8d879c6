package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// Kinds of job.
const (
	jobBuild        = "build"
	jobPublish      = "publish"
	jobBuildPublish = "build & publish"
	jobRollback     = "rollback"
)

// Job states.
const (
	stateRunning = "running"
	stateDone    = "done"
	stateFailed  = "failed"
)

// maxJobs is how many finished jobs are remembered.
const maxJobs = 200

// job is a build, publish or rollback running in the background.
type job struct {
	ID   string
	Host string
	Kind string

	mu       sync.Mutex
	state    string
	phase    string
	done     int
	total    int
	lines    []string
	release  string
	result   *PublishResult
	err      string
	started  time.Time
	finished time.Time
}

// JobStatus is a job's state as the job page and GET /jobs/{id}/status
// show it.
type JobStatus struct {
	ID       string        `json:"id"`
	Site     string        `json:"site"`
	Kind     string        `json:"kind"`
	State    string        `json:"state"` // running, done, failed
	Phase    string        `json:"phase"`
	Done     int           `json:"done"`
	Total    int           `json:"total"`
	Lines    []string      `json:"lines"`
	Release  string        `json:"release,omitempty"`
	Nodes    []NodeResult  `json:"nodes,omitempty"`
	Error    string        `json:"error,omitempty"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Finished bool          `json:"finished"`
}

func (j *job) status(now time.Time) JobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := JobStatus{ID: j.ID, Site: j.Host, Kind: j.Kind, State: j.state, Phase: j.phase, Done: j.done, Total: j.total,
		Lines: append([]string(nil), j.lines...), Release: j.release, Error: j.err, Finished: j.state != stateRunning}
	if j.result != nil {
		st.Nodes = j.result.Nodes
	}
	end := now
	if !j.finished.IsZero() {
		end = j.finished
	}
	st.Elapsed = end.Sub(j.started)
	return st
}

func (j *job) logf(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.lines) < 1000 {
		j.lines = append(j.lines, fmt.Sprintf(format, args...))
	}
}

// jobs is the table of jobs; one job at a time per site.
type jobs struct {
	mu      sync.Mutex
	next    int
	byID    map[string]*job
	order   []string
	running map[string]*job // by host
}

func newJobs() *jobs {
	return &jobs{byID: map[string]*job{}, running: map[string]*job{}}
}

// add registers a job for host, or returns the one already running there.
func (js *jobs) add(host, kind string, now time.Time) (*job, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if j := js.running[host]; j != nil {
		return j, false
	}
	js.next++
	j := &job{ID: strconv.Itoa(js.next) + "-" + randomToken()[:8], Host: host, Kind: kind, state: stateRunning, started: now}
	js.byID[j.ID] = j
	js.order = append(js.order, j.ID)
	js.running[host] = j
	for len(js.order) > maxJobs {
		old := js.byID[js.order[0]]
		if old.state == stateRunning {
			break
		}
		delete(js.byID, js.order[0])
		js.order = js.order[1:]
	}
	return j, true
}

func (js *jobs) get(id string) *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.byID[id]
}

func (js *jobs) finish(j *job) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if js.running[j.Host] == j {
		delete(js.running, j.Host)
	}
}

// startJob starts a build, publish, build & publish or rollback of the site
// and redirects to its page (or to the job already running on the site).
func (h *Handler) startJob(kind string) func(http.ResponseWriter, *http.Request, *session, *orchard.Site) {
	return func(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
		if (kind != jobPublish && kind != jobRollback && h.opt.Builder == nil) || (kind != jobBuild && h.opt.Publisher == nil) {
			h.fail(w, r, s, orchard.Errorf(orchard.EUNAVAILABLE, "This master cannot %s (no nodes or release store configured).", kind))
			return
		}
		target := r.PostFormValue("release")
		if kind == jobRollback && !orchard.ValidReleaseID(target) {
			h.fail(w, r, s, orchard.Errorf(orchard.EINVALID, "No release to roll back to was given."))
			return
		}
		j, isNew := h.jobs.add(site.Host, kind, h.opt.Now())
		if isNew {
			h.log.Info("job started", "site", site.Host, "kind", kind, "job", j.ID, "by", s.user.Name)
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				defer h.jobs.finish(j)
				h.run(h.ctx, j, target)
			}()
		}
		http.Redirect(w, r, "/jobs/"+j.ID, http.StatusSeeOther)
	}
}

// run does the work of a job and records how it went.
func (h *Handler) run(ctx context.Context, j *job, target string) {
	var err error
	defer func() {
		j.mu.Lock()
		j.state = stateDone
		if err != nil {
			j.state = stateFailed
			j.err = orchard.ErrorMessage(err)
			if orchard.ErrorCode(err) == orchard.EINTERNAL {
				j.err = err.Error()
			}
		} else if j.result != nil && !j.result.OK() {
			j.state = stateFailed
			j.err = "Some nodes failed; see the table."
		}
		j.phase = ""
		j.finished = h.opt.Now()
		state := j.state
		j.mu.Unlock()
		h.log.Info("job finished", "site", j.Host, "kind", j.Kind, "job", j.ID, "state", state, "err", err)
	}()
	progressLine := func(line string) { j.logf("%s", line) }
	if j.Kind == jobBuild || j.Kind == jobBuildPublish {
		j.mu.Lock()
		j.phase = "building"
		j.mu.Unlock()
		j.logf("building %s", j.Host)
		var rel orchard.Release
		rel, err = h.opt.Builder.Build(ctx, j.Host, func(done, total int) {
			j.mu.Lock()
			j.done, j.total = done, total
			j.mu.Unlock()
		}, progressLine)
		if err != nil {
			return
		}
		j.mu.Lock()
		j.release = rel.ID
		j.mu.Unlock()
		j.logf("built release %s: %d files, %s", rel.ID, rel.Files, orchard.FormatBytes(rel.Bytes))
	}
	var res PublishResult
	switch j.Kind {
	case jobPublish, jobBuildPublish:
		j.mu.Lock()
		j.phase = "publishing"
		j.mu.Unlock()
		res, err = h.opt.Publisher.Publish(ctx, j.Host, progressLine)
	case jobRollback:
		j.mu.Lock()
		j.phase = "rolling back"
		j.mu.Unlock()
		res, err = h.opt.Publisher.Rollback(ctx, j.Host, target, progressLine)
	default:
		return
	}
	j.mu.Lock()
	j.result = &res
	if res.Release != "" {
		j.release = res.Release
	}
	j.mu.Unlock()
}

// visibleJob returns the job of the request if the user may see it.
func (h *Handler) visibleJob(w http.ResponseWriter, r *http.Request, s *session) *job {
	j := h.jobs.get(r.PathValue("id"))
	if j == nil || !s.may(j.Host) {
		h.fail(w, r, s, orchard.Errorf(orchard.ENOTFOUND, "No such job."))
		return nil
	}
	return j
}

// jobPage shows a job; while it runs the page refreshes itself every
// second (no JavaScript needed).
func (h *Handler) jobPage(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.visibleJob(w, r, s)
	if j == nil {
		return
	}
	st := j.status(h.opt.Now())
	site, err := h.opt.Store.Site(r.Context(), j.Host)
	if err != nil {
		site = &orchard.Site{Host: j.Host}
	}
	h.page(w, r, http.StatusOK, "job", &view{Title: st.Site, S: s, Site: site, Nav: "site", Data: st})
}

// jobStatus returns a job's state as JSON, for scripts that poll.
func (h *Handler) jobStatus(w http.ResponseWriter, r *http.Request, s *session) {
	j := h.visibleJob(w, r, s)
	if j == nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(j.status(h.opt.Now()))
}

// releasesData is the release history page.
type releasesData struct {
	List       []orchard.Release
	Active     string
	CanPublish bool
}

// releases shows the release history with a rollback button per release.
func (h *Handler) releases(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	d := releasesData{CanPublish: h.opt.Publisher != nil}
	if h.opt.Publisher != nil {
		list, active, err := h.opt.Publisher.Releases(r.Context(), site.Host)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		d.List, d.Active = list, active
	}
	h.page(w, r, http.StatusOK, "releases", &view{Title: "Releases", S: s, Site: site, Nav: "releases", Data: d})
}

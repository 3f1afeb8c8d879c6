package balancer

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/orchardhq/orchard"
)

// The manager: a live page per pool, its JSON form, and POST actions
// (enable, disable, drain, weight) with a CSRF token. Only clients in
// ManagerAllow reach it; it is never proxied.

// Status is the manager's JSON document (GET <manager>/json).
type Status struct {
	Version  string            `json:"version,omitempty"`
	Requests uint64            `json:"requests"`
	Rejected uint64            `json:"rejected"`
	Failed   uint64            `json:"failed"`
	Retries  uint64            `json:"retries"`
	Cache    *CacheStatus      `json:"cache,omitempty"`
	Sites    map[string]string `json:"sites"` // site -> newest release
	Pools    []PoolStatus      `json:"pools"`
}

// CacheStatus describes the edge cache.
type CacheStatus struct {
	MaxBytes  int64  `json:"max_bytes"`
	Bytes     int64  `json:"bytes"`
	Entries   int64  `json:"entries"`
	Hits      uint64 `json:"hits"`
	Misses    uint64 `json:"misses"`
	Evictions uint64 `json:"evictions"`
}

// PoolStatus describes one pool.
type PoolStatus struct {
	Name        string         `json:"name"`
	Method      string         `json:"method"`
	Queued      int64          `json:"queued"`
	QueueRefuse uint64         `json:"queue_refused"`
	Members     []MemberStatus `json:"members"`
}

// MemberStatus describes one member.
type MemberStatus struct {
	Name      string            `json:"name"`
	Addr      string            `json:"addr"`
	State     string            `json:"state"` // orchard.MemberOK, ...
	Weight    int               `json:"weight"`
	Standby   bool              `json:"standby"`
	Requests  uint64            `json:"requests"`
	BytesIn   uint64            `json:"bytes_in"`
	BytesOut  uint64            `json:"bytes_out"`
	Errors    uint64            `json:"errors"`
	InFlight  int64             `json:"in_flight"`
	P50       float64           `json:"p50_ms"`
	P99       float64           `json:"p99_ms"`
	Releases  map[string]string `json:"releases"`
	LastError string            `json:"last_error,omitempty"`
	Health    []check           `json:"health"`
}

// Status returns the state of every pool and member.
func (b *Balancer) Status() Status {
	st := Status{
		Version:  b.opts.Version,
		Requests: b.stats.requests.Load(),
		Rejected: b.stats.rejected.Load(),
		Failed:   b.stats.failed.Load(),
		Retries:  b.stats.retries.Load(),
		Sites:    b.targets.Load().all(),
	}
	t := b.table.Load()
	if t == nil {
		return st
	}
	if c := t.cache; c != nil {
		st.Cache = &CacheStatus{MaxBytes: c.max.Load(), Bytes: c.size.Load(), Entries: c.count.Load(),
			Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load()}
	}
	now := time.Now().UnixNano()
	for _, p := range t.pools {
		ps := PoolStatus{Name: p.Name, Method: p.Method, Queued: p.nwaiting.Load(), QueueRefuse: p.queueFull.Load()}
		for _, m := range p.members {
			ms := MemberStatus{
				Name: m.cfg.Name, Addr: m.cfg.Addr, State: m.state(now), Weight: int(m.weight.Load()),
				Standby: m.standby.Load(), Requests: m.requests.Load(), BytesIn: m.bytesIn.Load(),
				BytesOut: m.bytesOut.Load(), Errors: m.errors.Load(), InFlight: m.inflight.Load(),
				P50: millis(m.lat.quantile(0.5)), P99: millis(m.lat.quantile(0.99)), Releases: map[string]string{},
			}
			if r := m.releases.Load(); r != nil {
				ms.Releases = r.all()
			}
			m.hmu.Lock()
			ms.Health = slices.Clone(m.history)
			ms.LastError = m.lastErr
			m.hmu.Unlock()
			ps.Members = append(ps.Members, ms)
		}
		st.Pools = append(st.Pools, ps)
	}
	return st
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// SetMember applies a manager action to pool/member on this balancer
// only: action is "enable", "disable", "drain" or "weight" (with weight
// 1-100). The change takes effect at once and is persisted. It returns
// ENOTFOUND or EINVALID *Errors. SetMemberTier reaches the peers too.
func (b *Balancer) SetMember(pool, name, action string, weight int) error {
	_, err := b.setMember(pool, name, orchard.MemberAction{Action: action, Weight: weight, At: b.now()}, "")
	return err
}

// setMember applies a to pool/member, asked by the client at addr ("" when
// not asked over HTTP), which its log line records. An action older than
// the member's newest one is refused with ECONFLICT: across a tier the
// newest action wins, whatever order they arrive in.
func (b *Balancer) setMember(pool, name string, a orchard.MemberAction, addr string) (orchard.MemberSetting, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := pool + "/" + name
	m := b.members[key]
	if m == nil {
		return orchard.MemberSetting{}, orchard.Errorf(orchard.ENOTFOUND, "No member %s in pool %s.", name, pool)
	}
	s := b.state.Members[key]
	switch a.Action {
	case orchard.ActionEnable:
		s.State = ""
	case orchard.ActionDisable:
		s.State = orchard.MemberDisabled
	case orchard.ActionDrain:
		s.State = orchard.MemberDraining
	case orchard.ActionWeight:
		if a.Weight < 1 || a.Weight > orchard.MaxMemberWeight {
			return orchard.MemberSetting{}, orchard.Errorf(orchard.EINVALID, "Weight must be between 1 and %d.", orchard.MaxMemberWeight)
		}
		s.Weight = a.Weight
	default:
		return orchard.MemberSetting{}, orchard.Errorf(orchard.EINVALID, "Unknown action %q.", a.Action)
	}
	if a.At.IsZero() {
		a.At = b.now()
	}
	if old := b.state.Members[key].Changed; a.At.Before(old) {
		return orchard.MemberSetting{}, orchard.Errorf(orchard.ECONFLICT, "A newer action on %s in pool %s (at %s) is already applied.", name, pool, old.UTC().Format(time.RFC3339))
	}
	s.Changed = a.At
	err := b.putStateLocked(m, s)
	b.log.Info("manager action", "addr", addr, "pool", pool, "member", name, "action", a.Action, "weight", a.Weight, "at", a.At)
	return b.settingLocked(m, b.now().UnixNano()), err
}

// putStateLocked makes s the operator state of m, applies and persists
// it. b.mu must be held.
func (b *Balancer) putStateLocked(m *member, s memberState) error {
	key := m.pool + "/" + m.cfg.Name
	if s == (memberState{}) {
		delete(b.state.Members, key)
	} else {
		b.state.Members[key] = s
	}
	b.applyStateLocked(m)
	err := b.saveStateLocked()
	if t := b.table.Load(); t != nil && t.byName[m.pool] != nil {
		go t.byName[m.pool].wakeAll()
	}
	return err
}

// settingLocked is this balancer's view of m. b.mu must be held.
func (b *Balancer) settingLocked(m *member, now int64) orchard.MemberSetting {
	s := b.state.Members[m.pool+"/"+m.cfg.Name]
	admin := s.State
	if admin == "" {
		admin = orchard.MemberOK
	}
	return orchard.MemberSetting{Pool: m.pool, Member: m.cfg.Name, Admin: admin, State: m.state(now),
		Weight: int(m.weight.Load()), Set: s.Weight, Changed: s.Changed}
}

// Members returns this balancer's view of every member, by pool then name.
func (b *Balancer) Members() []orchard.MemberSetting {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now().UnixNano()
	out := make([]orchard.MemberSetting, 0, len(b.members))
	for _, m := range b.members {
		out = append(out, b.settingLocked(m, now))
	}
	slices.SortFunc(out, func(x, y orchard.MemberSetting) int {
		return cmp.Or(strings.Compare(x.Pool, y.Pool), strings.Compare(x.Member, y.Member))
	})
	return out
}

// isManagerPath reports whether a clean path is the manager's or under it.
func (t *table) isManagerPath(p []byte) bool {
	mp := t.opts.ManagerPath
	if mp == "-" || len(p) < len(mp) || string(p[:len(mp)]) != mp {
		return false
	}
	return len(p) == len(mp) || p[len(mp)] == '/'
}

// managerAllowed reports whether a client may use the manager.
func (t *table) managerAllowed(a netip.Addr) bool {
	for _, p := range t.opts.ManagerAllow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// csrfToken returns a token valid for 12 hours: a time and its HMAC with a
// key made at New.
func (b *Balancer) csrfToken(now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, b.csrfKey)
	mac.Write([]byte("orchard-manager\x00" + ts))
	return ts + "." + hex.EncodeToString(mac.Sum(nil))
}

func (b *Balancer) csrfValid(tok string, now time.Time) bool {
	ts, sig, ok := strings.Cut(tok, ".")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || now.Unix()-n > 12*3600 || n > now.Unix()+60 {
		return false
	}
	want := b.csrfToken(time.Unix(n, 0))
	_, wsig, _ := strings.Cut(want, ".")
	return hmac.Equal([]byte(sig), []byte(wsig))
}

// managerHandler serves the manager at mp, as a fasthttp handler.
func (b *Balancer) managerHandler(mp string) fasthttp.RequestHandler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+mp, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, mp+"/", http.StatusFound)
	})
	mux.HandleFunc("GET "+mp+"/{$}", func(w http.ResponseWriter, r *http.Request) { b.managerPage(w, r, mp) })
	mux.HandleFunc("GET "+mp+"/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(b.Status())
	})
	mux.HandleFunc("POST "+mp+"/action", func(w http.ResponseWriter, r *http.Request) { b.managerAction(w, r, mp) })
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		mux.ServeHTTP(w, r)
	})
	h = http.NewCrossOriginProtection().Handler(h)
	return fasthttpadaptor.NewFastHTTPHandler(h)
}

func (b *Balancer) managerAction(w http.ResponseWriter, r *http.Request, mp string) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad form.", http.StatusBadRequest)
		return
	}
	if !b.csrfValid(r.PostForm.Get("csrf"), time.Now()) {
		http.Error(w, "The form has expired or did not come from this page; reload it and try again.", http.StatusForbidden)
		return
	}
	weight, _ := strconv.Atoi(r.PostForm.Get("weight"))
	pool, member, action := r.PostForm.Get("pool"), r.PostForm.Get("member"), r.PostForm.Get("action")
	peers, err := b.setMemberTier(r.Context(), pool, member, orchard.MemberAction{Action: action, Weight: weight, At: b.now()}, r.RemoteAddr)
	if err != nil {
		b.log.Warn("manager action refused", "addr", r.RemoteAddr, "pool", pool, "member", member, "action", action, "err", err)
		code := orchard.ErrorCode(err)
		http.Error(w, orchard.ErrorMessage(err), orchard.StatusCode(code))
		return
	}
	notReached := map[string]string{}
	for _, p := range peers {
		if p.Err != nil {
			notReached[p.Name] = p.Err.Error()
		}
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(struct {
			OK         bool              `json:"ok"`
			NotReached map[string]string `json:"not_reached,omitempty"` // peer -> why
		}{true, notReached})
		return
	}
	if len(notReached) == 0 {
		http.Redirect(w, r, mp+"/", http.StatusSeeOther)
		return
	}
	// Applied here, but the operator must learn that some balancers did
	// not take it: a redirect would hide that.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	notReachedTmpl().Execute(w, struct {
		Path, Action, Pool, Member string
		Peers                      map[string]string
	}{mp, action, pool, member, notReached})
}

func (b *Balancer) managerPage(w http.ResponseWriter, r *http.Request, mp string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	managerTmpl().Execute(w, struct {
		Status
		Path, CSRF string
		Now        string
		Peers      []PeerResult
	}{b.Status(), mp, b.csrfToken(time.Now()), time.Now().Format(time.RFC1123), b.PeerViews(r.Context())})
}

var notReachedTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("notreached").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>orchard balancer manager</title></head><body>
<h1>Applied here, not on every balancer</h1>
<p>{{.Action}} {{.Member}} in pool {{.Pool}} is applied on this balancer. These balancers could not be reached and did not apply it (each adopts the newest actions from the others when it starts again):</p>
<ul>{{range $n, $e := .Peers}}<li class="error"><b>{{$n}}</b>: {{$e}}</li>{{end}}</ul>
<p><a href="{{.Path}}/">Back to the manager</a></p>
</body></html>
`))
})

var managerTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("manager").Funcs(template.FuncMap{
		"ago":  func(t time.Time) string { return time.Since(t).Round(time.Second).String() },
		"dur":  func(d time.Duration) string { return d.Round(time.Microsecond).String() },
		"list": func(s ...string) []string { return s },
	}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>orchard balancer manager</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#080}.error{color:#c00}.disabled,.draining{color:#a60}.standby{color:#06a}
form{display:inline;margin:0}input[type=number]{width:4em}.h span{display:inline-block;width:.6em;height:1em;margin-right:1px}
.h .p{background:#4a4}.h .f{background:#c33}small{color:#666}
</style></head><body>
<h1>orchard balancer</h1>
<p><small>{{.Now}} · {{.Version}} · requests {{.Requests}} · refused {{.Rejected}} · failed {{.Failed}} · retries {{.Retries}}</small></p>
{{with .Cache}}<p>Edge cache: {{.Bytes}} of {{.MaxBytes}} bytes, {{.Entries}} entries, {{.Hits}} hits, {{.Misses}} misses, {{.Evictions}} evictions</p>{{end}}
{{range $p := .Pools}}
<h2>Pool {{$p.Name}} <small>{{$p.Method}} · queued {{$p.Queued}} · refused by queue {{$p.QueueRefuse}}</small></h2>
<table><tr><th>member</th><th>state</th><th>weight</th><th>requests</th><th>bytes in/out</th><th>errors</th><th>in flight</th><th>p50 / p99 ms</th><th>releases</th><th>health (oldest → newest)</th><th>actions</th></tr>
{{range $m := $p.Members}}<tr>
<td>{{$m.Name}}<br><small>{{$m.Addr}}</small></td>
<td class="{{$m.State}}">{{$m.State}}{{if $m.Standby}} (standby){{end}}</td>
<td>{{$m.Weight}}</td><td>{{$m.Requests}}</td><td>{{$m.BytesIn}} / {{$m.BytesOut}}</td><td>{{$m.Errors}}</td><td>{{$m.InFlight}}</td>
<td>{{printf "%.2f" $m.P50}} / {{printf "%.2f" $m.P99}}</td>
<td>{{range $s, $id := $m.Releases}}{{$s}}: <code>{{$id}}</code><br>{{end}}</td>
<td class="h">{{range $m.Health}}<span class="{{if .OK}}p{{else}}f{{end}}" title="{{ago .Time}} ago, {{dur .Latency}}{{if .Error}}: {{.Error}}{{end}}"></span>{{end}}{{with $m.LastError}}<br><small>{{.}}</small>{{end}}</td>
<td>{{range $a := (list "enable" "disable" "drain")}}<form method="post" action="{{$.Path}}/action"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="pool" value="{{$p.Name}}"><input type="hidden" name="member" value="{{$m.Name}}"><button name="action" value="{{$a}}">{{$a}}</button></form> {{end}}
<form method="post" action="{{$.Path}}/action"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="pool" value="{{$p.Name}}"><input type="hidden" name="member" value="{{$m.Name}}"><input type="number" name="weight" min="1" max="100" value="{{$m.Weight}}"><button name="action" value="weight">set weight</button></form></td>
</tr>{{end}}</table>
{{end}}
{{if .Peers}}<h2>Other balancers</h2>
{{range $b := .Peers}}<h3>{{$b.Name}}</h3>
{{if $b.Err}}<p class="error">{{$b.Name}} could not be reached: {{$b.Err}}</p>
{{else}}<table><tr><th>pool</th><th>member</th><th>set by operator</th><th>state</th><th>weight</th><th>last action</th></tr>
{{range $b.Members}}<tr><td>{{.Pool}}</td><td>{{.Member}}</td><td class="{{.Admin}}">{{.Admin}}</td><td class="{{.State}}">{{.State}}</td><td>{{.Weight}}</td><td>{{if not .Changed.IsZero}}{{.Changed.UTC.Format "2006-01-02 15:04:05 UTC"}}{{end}}</td></tr>
{{end}}</table>{{end}}{{end}}{{end}}
<h2>Sites</h2><table><tr><th>site</th><th>newest release</th></tr>{{range $s, $id := .Sites}}<tr><td>{{$s}}</td><td><code>{{$id}}</code></td></tr>{{end}}</table>
<p><a href="{{.Path}}/json">JSON</a></p>
</body></html>
`))
})

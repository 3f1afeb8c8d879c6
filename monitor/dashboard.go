package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// fieldInfo describes how a field is graphed.
var fieldInfo = [NumFields]struct{ title, unit string }{
	FieldRequests: {"requests/s", ""},
	FieldErrors:   {"errors/s", ""},
	FieldP99:      {"p99 latency, ms", ""},
	FieldCPU:      {"CPU busy, %", ""},
	FieldLoad:     {"load (1 min)", ""},
	FieldMemory:   {"memory used, %", ""},
	FieldNetIn:    {"network in, bytes/s", ""},
	FieldNetOut:   {"network out, bytes/s", ""},
}

// machineFields are the small graphs in each machine's row.
var machineFields = []int{FieldRequests, FieldP99, FieldCPU, FieldMemory, FieldNetIn, FieldNetOut}

// DashboardRefresh is how often the dashboard page reloads itself, seconds.
const DashboardRefresh = 10

// NewDashboard returns the cluster dashboard: aggregate graphs for the whole
// cluster and each group, and a row of small graphs per machine with its
// state and releases, over the last hour, day or week (?range=). As an
// http.Handler it is one HTML document with inline SVG (no scripts, no
// external resources) that reloads itself, for any path under its mount
// point; Content gives its parts for a page of another layout (the admin's).
func NewDashboard(s *Scraper) *Dashboard {
	return &Dashboard{s: s}
}

// Dashboard is the cluster dashboard; see NewDashboard.
type Dashboard struct{ s *Scraper }

type graphRow struct {
	Title  string
	Graphs []template.HTML
}

type machineRow struct {
	Machine
	StateClass string
	Releases   []string
	Seen       string
	Cert       string // the certificate that expires first, and when
	Graphs     []template.HTML
}

// dashboardStyle is scoped to .dash so that it can sit in another page.
const dashboardStyle = `.dash h1{font-size:1.3em;margin:.2em 0}.dash h2{font-size:1.05em;margin:1em 0 .3em}
.dash nav a{margin-right:1em}.dash nav a.on{font-weight:bold;text-decoration:none;color:inherit}
.dash .row{display:flex;flex-wrap:wrap;gap:6px}.dash .row svg{border:1px solid #e2e8f0;background:#fff}
.dash table{border-collapse:collapse;background:#fff}.dash td{padding:3px 6px;border-top:1px solid #e2e8f0;vertical-align:middle;font-size:.85em}
.dash .up{color:#2f855a;font-weight:bold}.dash .down{color:#c53030;font-weight:bold}.dash .waiting{color:#b7791f;font-weight:bold}
.dash .rel{font-family:monospace;font-size:.9em;color:#444}
.dash svg.graph{max-width:100%;height:auto}
@media (max-width:640px){.dash nav a{display:inline-block;margin:.2em .8em .2em 0}
.dash #machines,.dash #machines tbody,.dash #machines tr,.dash #machines td{display:block}.dash #machines tr{border-top:2px solid #cbd5e0;padding:.3em 0}.dash #machines td{border:0}}`

var dashboardTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("content").Parse(`<div class="dash">
<h1>orchard cluster</h1>
<nav>{{range .Ranges}}<a href="?range={{.Name}}"{{if eq .Name $.Range}} class="on"{{end}}>last {{.Name}}</a>{{end}}
<span>updated {{.Now}} · every {{.Every}} · refreshes every {{.Refresh}} s</span></nav>
{{range .Rows}}<h2>{{.Title}}</h2><div class="row">{{range .Graphs}}{{.}}{{end}}</div>{{end}}
<h2>Machines</h2>
<table id="machines">{{range .Machines}}<tr class="machine" data-state="{{.State}}">
<td><b>{{.Name}}</b><br>{{.Group}}</td>
<td><span class="{{.StateClass}}">{{.State}}</span>{{if .Member}}<br>balancer: {{.Member}}{{end}}{{if .LastErr}}<br><small>{{.LastErr}}</small>{{end}}<br><small>{{.Seen}}</small></td>
<td class="rel">{{range .Releases}}{{.}}<br>{{else}}no release{{end}}{{if .Version}}<small>version {{.Version}}</small>{{end}}{{with .Cert}}<br><small class="cert">{{.}}</small>{{end}}</td>
<td><div class="row">{{range .Graphs}}{{.}}{{end}}</div></td></tr>{{end}}</table>
</div>`))
})

var dashboardPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{{.Refresh}}">
<title>orchard cluster — {{.Range}}</title>
<style>
body{font-family:sans-serif;margin:1em 1.5em;color:#222;background:#f7fafc}
@media (max-width:640px){body{margin:.5em}}
{{.Style}}
</style></head><body>
{{.Body}}
</body></html>
`))
})

// ErrBadRange is returned by Content for a range that is not hour, day or week.
var ErrBadRange = errors.New("range must be hour, day or week")

// Content returns the dashboard's style sheet (its rules scoped to the
// class "dash") and its body for the query (?range=), and how often the page
// should reload itself, in seconds.
func (d *Dashboard) Content(query url.Values) (style template.CSS, body template.HTML, refresh int, err error) {
	rg := Ranges[0]
	if name := query.Get("range"); name != "" {
		found := false
		for _, x := range Ranges {
			if x.Name == name {
				rg, found = x, true
			}
		}
		if !found {
			return "", "", 0, ErrBadRange
		}
	}
	b, err := d.render(rg)
	if err != nil {
		return "", "", 0, err
	}
	return template.CSS(dashboardStyle), template.HTML(b), DashboardRefresh, nil // render escapes what it writes
}

// ServeHTTP serves the dashboard as a page of its own.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	style, body, refresh, err := d.Content(r.URL.Query())
	if errors.Is(err, ErrBadRange) {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var page bytes.Buffer
	if err == nil {
		err = dashboardPage().Execute(&page, map[string]any{"Refresh": refresh, "Range": r.URL.Query().Get("range"), "Style": style, "Body": body})
	}
	if err != nil {
		http.Error(w, "cannot render the dashboard", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(page.Bytes())
}

func (d *Dashboard) render(rg Range) ([]byte, error) {
	s := d.s
	now := s.opts.Now()
	from := now.Add(-rg.Span)
	graph := func(field int, match func(Target) bool, w, h int, title string) template.HTML {
		g := Graph{Title: title, Width: w, Height: h, From: from, To: now, Series: []Series{{Name: title, Points: s.Series(field, rg, match)}}}
		if field == FieldCPU || field == FieldMemory {
			g.Max = 100
		}
		return template.HTML(g.SVG()) // WriteSVG escapes every string it writes
	}
	all := func(Target) bool { return true }
	var rows []graphRow
	row := graphRow{Title: "Whole cluster"}
	for f := range NumFields {
		row.Graphs = append(row.Graphs, graph(f, all, 300, 130, fieldInfo[f].title))
	}
	rows = append(rows, row)
	for _, grp := range s.Groups() {
		row := graphRow{Title: "Group: " + grp}
		match := func(t Target) bool { return t.Group == grp }
		for f := range NumFields {
			row.Graphs = append(row.Graphs, graph(f, match, 300, 110, grp+" "+fieldInfo[f].title))
		}
		rows = append(rows, row)
	}
	var machines []machineRow
	for _, m := range s.Machines() {
		mr := machineRow{Machine: m, StateClass: m.State}
		sites := make([]string, 0, len(m.Releases))
		for site, id := range m.Releases {
			sites = append(sites, site+" "+shortID(id))
		}
		sort.Strings(sites)
		if len(sites) == 0 && m.Sites > 0 {
			sites = []string{fmt.Sprintf("%d sites, digest %012x", m.Sites, m.Digest)}
		}
		mr.Releases = sites
		if m.CertHost != "" {
			mr.Cert = "soonest certificate expiry: " + m.CertHost + " in " + roundDays(m.CertLeft)
		}
		if m.LastOK.IsZero() {
			mr.Seen = "never scraped"
		} else {
			mr.Seen = fmt.Sprintf("scraped %s ago", now.Sub(m.LastOK).Round(time.Second))
		}
		name := m.Name
		match := func(t Target) bool { return t.Name == name }
		for _, f := range machineFields {
			mr.Graphs = append(mr.Graphs, graph(f, match, 190, 80, fieldInfo[f].title))
		}
		machines = append(machines, mr)
	}
	var buf bytes.Buffer
	err := dashboardTmpl().Execute(&buf, map[string]any{
		"Range": rg.Name, "Ranges": Ranges, "Now": now.UTC().Format("2006-01-02 15:04:05Z"),
		"Every": s.opts.Every.String(), "Refresh": DashboardRefresh, "Rows": rows, "Machines": machines,
	})
	return buf.Bytes(), err
}

// roundDays says how long d is in days, or hours under two days.
func roundDays(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%.0f h", d.Hours())
	}
	return fmt.Sprintf("%.0f days", d.Hours()/24)
}

func shortID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

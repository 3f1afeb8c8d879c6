package monitor

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
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
// state and releases, over the last hour, day or week (?range=). The page is
// one HTML document with inline SVG (no scripts, no external resources)
// that reloads itself. Mount it behind the admin login; it serves GET and
// HEAD for any path under its mount point.
func NewDashboard(s *Scraper) http.Handler {
	return &dashboard{s: s}
}

type dashboard struct{ s *Scraper }

type graphRow struct {
	Title  string
	Graphs []template.HTML
}

type machineRow struct {
	Machine
	StateClass string
	Releases   []string
	Seen       string
	Graphs     []template.HTML
}

var dashboardTmpl = template.Must(template.New("dash").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{{.Refresh}}">
<title>orchard cluster — {{.Range}}</title>
<style>
body{font-family:sans-serif;margin:1em 1.5em;color:#222;background:#f7fafc}
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.05em;margin:1em 0 .3em}
nav a{margin-right:1em}nav a.on{font-weight:bold;text-decoration:none;color:#222}
.row{display:flex;flex-wrap:wrap;gap:6px}.row svg{border:1px solid #e2e8f0}
table{border-collapse:collapse;background:#fff}td{padding:3px 6px;border-top:1px solid #e2e8f0;vertical-align:middle;font-size:.85em}
.up{color:#2f855a;font-weight:bold}.down{color:#c53030;font-weight:bold}.waiting{color:#b7791f;font-weight:bold}
.rel{font-family:monospace;font-size:.9em;color:#444}
svg.graph{max-width:100%;height:auto}
@media (max-width:640px){body{margin:.5em}nav a{display:inline-block;margin:.2em .8em .2em 0}
#machines,#machines tbody,#machines tr,#machines td{display:block}#machines tr{border-top:2px solid #cbd5e0;padding:.3em 0}#machines td{border:0}}
</style></head><body>
<h1>orchard cluster</h1>
<nav>{{range .Ranges}}<a href="?range={{.Name}}"{{if eq .Name $.Range}} class="on"{{end}}>last {{.Name}}</a>{{end}}
<span>updated {{.Now}} · every {{.Every}} · refreshes every {{.Refresh}} s</span></nav>
{{range .Rows}}<h2>{{.Title}}</h2><div class="row">{{range .Graphs}}{{.}}{{end}}</div>{{end}}
<h2>Machines</h2>
<table id="machines">{{range .Machines}}<tr class="machine" data-state="{{.State}}">
<td><b>{{.Name}}</b><br>{{.Group}}</td>
<td><span class="{{.StateClass}}">{{.State}}</span>{{if .Member}}<br>balancer: {{.Member}}{{end}}{{if .LastErr}}<br><small>{{.LastErr}}</small>{{end}}<br><small>{{.Seen}}</small></td>
<td class="rel">{{range .Releases}}{{.}}<br>{{else}}no release{{end}}{{if .Version}}<small>version {{.Version}}</small>{{end}}</td>
<td><div class="row">{{range .Graphs}}{{.}}{{end}}</div></td></tr>{{end}}</table>
</body></html>
`))

func (d *dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rg := Ranges[0]
	if name := r.URL.Query().Get("range"); name != "" {
		found := false
		for _, x := range Ranges {
			if x.Name == name {
				rg, found = x, true
			}
		}
		if !found {
			http.Error(w, "range must be hour, day or week", http.StatusBadRequest)
			return
		}
	}
	page, err := d.render(rg)
	if err != nil {
		http.Error(w, "cannot render the dashboard", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(page)
}

func (d *dashboard) render(rg Range) ([]byte, error) {
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
		mr.Releases = sites
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
	err := dashboardTmpl.Execute(&buf, map[string]any{
		"Range": rg.Name, "Ranges": Ranges, "Now": now.UTC().Format("2006-01-02 15:04:05Z"),
		"Every": s.opts.Every.String(), "Refresh": DashboardRefresh, "Rows": rows, "Machines": machines,
	})
	return buf.Bytes(), err
}

func shortID(id string) string {
	id = strings.TrimSpace(id)
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

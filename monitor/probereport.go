package monitor

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"
)

// URLSummary is what a report shows for one URL.
type URLSummary struct {
	URL      string
	Up       bool   // the last result was OK
	Last     Result // the newest result
	Checks   int    // results in the graphed period
	Uptime   []Uptime
	P50, P95 time.Duration // of total time, successful checks in the graphed period
	Graph    template.HTML // SVG of response times
	Failures []Result      // newest first, at most 10
}

// Uptime is the share of OK results over a window.
type Uptime struct {
	Label   string  // "24 h", "7 d", "recorded period"
	Percent float64 // NaN when there were no checks
	Checks  int
}

// ReportOptions chooses what a probe report covers.
type ReportOptions struct {
	Title   string
	Now     time.Time       // default time.Now()
	Period  time.Duration   // graphed period back from Now; 0 = everything recorded
	Windows []time.Duration // extra uptime windows, e.g. 24h and 7d
	Refresh int             // seconds between page reloads; 0 = none
}

// Summaries reads the results of every URL in db and summarises them.
func Summaries(ctx context.Context, db *ProbeDB, o ReportOptions) ([]URLSummary, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	urls, err := db.URLs(ctx)
	if err != nil {
		return nil, err
	}
	since := time.Time{}
	if o.Period > 0 {
		since = o.Now.Add(-o.Period)
	}
	for _, w := range o.Windows {
		if o.Period > 0 && o.Now.Add(-w).Before(since) {
			since = o.Now.Add(-w)
		}
	}
	var out []URLSummary
	for _, u := range urls {
		rs, err := db.Results(ctx, u, since)
		if err != nil {
			return nil, err
		}
		if len(rs) == 0 {
			continue
		}
		out = append(out, summarise(u, rs, o))
	}
	return out, nil
}

func summarise(u string, rs []Result, o ReportOptions) URLSummary {
	s := URLSummary{URL: u, Last: rs[len(rs)-1]}
	s.Up = s.Last.OK()
	from := rs[0].At
	if o.Period > 0 {
		from = o.Now.Add(-o.Period)
	}
	var graphed []Result
	for _, r := range rs {
		if !r.At.Before(from) {
			graphed = append(graphed, r)
		}
	}
	s.Checks = len(graphed)
	for _, w := range o.Windows {
		s.Uptime = append(s.Uptime, uptime(rs, o.Now.Add(-w), labelDuration(w)))
	}
	label := "recorded period"
	if o.Period > 0 {
		label = labelDuration(o.Period)
	}
	if len(o.Windows) == 0 {
		s.Uptime = append(s.Uptime, uptime(graphed, from, label))
	}
	var totals []time.Duration
	var total, first []Point
	for _, r := range graphed {
		if r.OK() {
			totals = append(totals, r.Total)
			total = append(total, Point{r.At, float64(r.Total.Microseconds()) / 1000})
			first = append(first, Point{r.At, float64(r.FirstByte.Microseconds()) / 1000})
		} else {
			total = append(total, Point{r.At, math.NaN()})
			first = append(first, Point{r.At, math.NaN()})
		}
	}
	slices.Sort(totals)
	if len(totals) > 0 {
		s.P50 = totals[len(totals)/2]
		s.P95 = totals[min(len(totals)-1, len(totals)*95/100)]
	}
	to := o.Now
	if len(graphed) > 0 && graphed[len(graphed)-1].At.After(to) {
		to = graphed[len(graphed)-1].At
	}
	g := Graph{Title: "response time, ms", Unit: "", Width: 720, Height: 180, From: from, To: to,
		Series: []Series{{Name: "total", Points: downsample(total, 600)}, {Name: "first byte", Points: downsample(first, 600)}}}
	s.Graph = template.HTML(g.SVG()) // #nosec: WriteSVG escapes every string it writes
	for i := len(rs) - 1; i >= 0 && len(s.Failures) < 10; i-- {
		if !rs[i].OK() {
			s.Failures = append(s.Failures, rs[i])
		}
	}
	return s
}

func uptime(rs []Result, since time.Time, label string) Uptime {
	u := Uptime{Label: label, Percent: math.NaN()}
	ok := 0
	for _, r := range rs {
		if r.At.Before(since) {
			continue
		}
		u.Checks++
		if r.OK() {
			ok++
		}
	}
	if u.Checks > 0 {
		u.Percent = 100 * float64(ok) / float64(u.Checks)
	}
	return u
}

func labelDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d d", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	default:
		return d.String()
	}
}

// downsample averages points into at most n buckets (NaNs are skipped; a
// bucket of only NaNs stays a gap).
func downsample(ps []Point, n int) []Point {
	if len(ps) <= n {
		return ps
	}
	out := make([]Point, 0, n)
	per := float64(len(ps)) / float64(n)
	for i := range n {
		lo, hi := int(float64(i)*per), int(float64(i+1)*per)
		sum, c := 0.0, 0
		for _, p := range ps[lo:hi] {
			if !math.IsNaN(p.V) {
				sum += p.V
				c++
			}
		}
		v := math.NaN()
		if c > 0 {
			v = sum / float64(c)
		}
		out = append(out, Point{ps[lo].T, v})
	}
	return out
}

var reportTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"pct": func(v float64) string {
			if math.IsNaN(v) {
				return "–"
			}
			return fmt.Sprintf("%.2f%%", v)
		},
		"ms":   ms,
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}
<title>{{.Title}}</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
.url{border:1px solid #cbd5e0;border-radius:6px;padding:1em;margin-bottom:1.5em}
.up{color:#2f855a;font-weight:bold}.down{color:#c53030;font-weight:bold}
table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;font-size:.9em}
</style></head><body>
<h1>{{.Title}}</h1>
<p>Generated {{when .Now}}.</p>
{{range .URLs}}<div class="url">
<h2>{{if .Up}}<span class="up">UP</span>{{else}}<span class="down">DOWN</span>{{end}} {{.URL}}</h2>
<p>Last check {{when .Last.At}}: {{if .Last.Err}}{{.Last.Err}}{{else}}status {{.Last.Status}}, {{ms .Last.Total}}{{end}}.
{{.Checks}} checks; median {{ms .P50}}, 95th percentile {{ms .P95}}.</p>
<p>Uptime: {{range .Uptime}}<b class="uptime">{{pct .Percent}}</b> over {{.Label}} ({{.Checks}} checks) &nbsp; {{end}}</p>
{{.Graph}}
{{if .Failures}}<h3>Last failures</h3><table><tr><th>time</th><th>status</th><th>error</th></tr>
{{range .Failures}}<tr><td>{{when .At}}</td><td>{{.Status}}</td><td>{{.Err}}</td></tr>{{end}}</table>{{end}}
</div>{{else}}<p>No results recorded yet.</p>{{end}}
</body></html>
`))
})

// WriteReport writes an HTML page summarising every URL in db: up or down,
// uptime, response-time graph (SVG, inline) and the last failures.
func WriteReport(ctx context.Context, w io.Writer, db *ProbeDB, o ReportOptions) error {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Title == "" {
		o.Title = "orchard probe"
	}
	urls, err := Summaries(ctx, db, o)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := reportTmpl().Execute(&buf, struct {
		ReportOptions
		URLs []URLSummary
	}{o, urls}); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// StatusHandler serves the live status page of orchard probe --serve: per
// URL up or down, uptime over 24 h and 7 d, the last day's response times
// and the last failures; the page reloads itself every refresh seconds.
// now is the clock the windows are measured from (nil: time.Now).
func StatusHandler(db *ProbeDB, refresh int, now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		err := WriteReport(r.Context(), w, db, ReportOptions{
			Title: "orchard probe — live status", Now: now(), Period: 24 * time.Hour,
			Windows: []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}, Refresh: refresh,
		})
		if err != nil {
			http.Error(w, "cannot read results", http.StatusInternalServerError)
		}
	})
}

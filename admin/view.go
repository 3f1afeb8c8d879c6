package admin

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	orchard "github.com/orchardhq/orchard"
)

// view is what every page template is executed with.
type view struct {
	Title string
	S     *session
	Site  *orchard.Site
	Nav   string // which tab is current
	Flash string
	Form  *form
	Data  any
	// Dashboard is whether /dashboard/ is served.
	Dashboard bool
	// HTTPS is whether the sites' HTTPS settings are shown.
	HTTPS bool
}

// User returns the logged-in user, for templates.
func (v *view) User() *orchard.User {
	if v.S == nil {
		return nil
	}
	return &v.S.user
}

// CSRF returns the session's form token.
func (v *view) CSRF() string {
	if v.S == nil {
		return ""
	}
	return v.S.csrf
}

// form holds what was typed into a form and a message per field.
type form struct {
	Values map[string]string
	Errors map[string]string
	Error  string // for the form as a whole
}

func newForm() *form { return &form{Values: map[string]string{}, Errors: map[string]string{}} }

// V returns a typed value.
func (f *form) V(name string) string {
	if f == nil {
		return ""
	}
	return f.Values[name]
}

// E returns the message of a field.
func (f *form) E(name string) string {
	if f == nil {
		return ""
	}
	return f.Errors[name]
}

// ok reports whether no message was set.
func (f *form) ok() bool { return len(f.Errors) == 0 && f.Error == "" }

// set puts err next to field, or next to the field its message names
// (orchard messages start with the field: "Title is required.").
func (f *form) set(field string, err error) {
	msg := orchard.ErrorMessage(err)
	if field == "" {
		word, _, _ := strings.Cut(msg, " ")
		word = strings.ToLower(strings.TrimSuffix(word, ":"))
		if _, ok := f.Values[word]; ok {
			field = word
		}
	}
	if field == "" {
		f.Error = msg
		return
	}
	if f.Errors[field] == "" {
		f.Errors[field] = msg
	}
}

// fromRequest copies the named fields from a parsed form.
func fromRequest(r *http.Request, names ...string) *form {
	f := newForm()
	for _, n := range names {
		f.Values[n] = r.PostFormValue(n)
	}
	return f
}

// flashes are the only messages a redirect may show (?ok=KEY).
var flashes = map[string]string{
	"saved":     "Saved.",
	"deleted":   "Deleted.",
	"moved":     "Moved.",
	"uploaded":  "Uploaded.",
	"created":   "Created.",
	"loggedout": "You are logged out.",
}

var funcs = template.FuncMap{
	"time":  func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") },
	"size":  func(n int) string { return orchard.FormatBytes(int64(n)) },
	"bytes": orchard.FormatBytes,
	"pct": func(done, total int) int {
		if total <= 0 {
			return 0
		}
		return done * 100 / total
	},
	"editable": editable,
	"dur":      func(d time.Duration) string { return d.Round(time.Second).String() },
	"elapsed":  func(d time.Duration) string { return d.Round(100 * time.Millisecond).String() },
	"kind": func(k string) string {
		switch k {
		case jobBuild:
			return "Build cache"
		case jobPublish:
			return "Publish"
		case jobBuildPublish:
			return "Build & publish"
		}
		return "Rollback"
	},
}

// parsePages parses every page template with the layout; the templates are
// embedded and tested, so a failure is a programming error.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(uiFS, "ui/layout.html"))
	names, err := fs.Glob(uiFS, "ui/pages/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		t := template.Must(template.Must(layout.Clone()).ParseFS(uiFS, n))
		out[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return out
}

// page writes a page with status.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	v.Dashboard = h.opt.Dashboard != nil
	v.HTTPS = h.opt.HTTPS != nil
	if v.Flash == "" {
		v.Flash = flashes[r.URL.Query().Get("ok")]
	}
	var b bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&b, "layout.html", v); err != nil {
		h.log.Error("template", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// fail shows an error page with the status of its orchard code; internal
// errors are logged and shown without detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	code := orchard.ErrorCode(err)
	if code == orchard.EINTERNAL {
		h.log.Error("request", "path", r.URL.Path, "err", err)
	}
	h.page(w, r, orchard.StatusCode(code), "error", &view{Title: "Error", S: s, Data: orchard.ErrorMessage(err)})
}

// back redirects (303) to a page of the UI with a flash key.
func back(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		if strings.Contains(to, "?") {
			to += "&ok=" + flash
		} else {
			to += "?ok=" + flash
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

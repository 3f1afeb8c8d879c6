package render

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strings"
	"text/template/parse"

	orchard "github.com/orchardhq/orchard"
)

// templateSet is a site's parsed templates and what each template name
// reaches, for dependency tracking.
type templateSet struct {
	tmpl *template.Template
	// files maps each effective template file name to its body.
	files map[string]string
	// definers maps a template name ("partials/navbar.html", or a name
	// given to {{define}}) to every file that defines it.
	definers map[string][]string
	// trees holds every parse tree defined under a name, in any file.
	trees map[string][]*parse.Tree
}

// effectiveTemplates merges the defaults with the site's own templates: a
// site's template replaces the default of the same name. Sorted by name.
func effectiveTemplates(own []orchard.Template) map[string]string {
	files := make(map[string]string)
	for _, t := range DefaultTemplates() {
		files[t.Name] = t.Body
	}
	for _, t := range own {
		files[t.Name] = t.Body
	}
	return files
}

// parseTemplates parses every file into one html/template set, in name
// order, and records which file defines which name. A file that does not
// parse is an EINVALID *orchard.Error naming it and the line.
func parseTemplates(files map[string]string) (ts *templateSet, err error) {
	defer func() {
		if p := recover(); p != nil {
			ts, err = nil, orchard.Errorf(orchard.EINVALID, "Templates could not be parsed: %v", p)
		}
	}()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	ts = &templateSet{
		tmpl:     template.New("").Option("missingkey=error"),
		files:    files,
		definers: make(map[string][]string),
		trees:    make(map[string][]*parse.Tree),
	}
	for _, n := range names {
		t := orchard.Template{Name: n, Body: files[n]}
		if err := t.Validate(); err != nil {
			return nil, err
		}
		if _, err := ts.tmpl.New(n).Parse(files[n]); err != nil {
			return nil, templateError(n, err)
		}
		// Parse the file alone too, to learn which names it defines
		// (html/template keeps only the last definition of a name).
		tr := parse.New(n)
		tr.Mode = parse.SkipFuncCheck
		set := make(map[string]*parse.Tree)
		if _, err := tr.Parse(files[n], "", "", set); err != nil {
			return nil, templateError(n, err)
		}
		if _, ok := set[n]; !ok {
			set[n] = &parse.Tree{Name: n, Root: &parse.ListNode{}}
		}
		for name, tree := range set {
			ts.definers[name] = append(ts.definers[name], n)
			ts.trees[name] = append(ts.trees[name], tree)
		}
	}
	return ts, nil
}

// checkEscaping runs html/template's contextual escaper over every layout
// that reaches the template file name (by executing it with empty data and
// ignoring errors of data), so a template that breaks HTML structure or
// calls a missing template is refused before it is saved.
func (ts *templateSet) checkEscaping(name string) error {
	var layouts []string
	for n := range ts.files {
		if strings.HasPrefix(n, "layouts/") && slices.Contains(ts.deps(n), "template:"+name) {
			layouts = append(layouts, n)
		}
	}
	sort.Strings(layouts)
	for _, n := range layouts {
		err := ts.execute(io.Discard, n, &Data{Page: &Page{}, Category: &Category{}})
		var he *template.Error
		if errors.As(err, &he) {
			return templateError(n, err)
		}
	}
	return nil
}

// execute runs one template, turning a panic into an error.
func (ts *templateSet) execute(w io.Writer, name string, d *Data) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("template %s panicked: %v", name, p)
		}
	}()
	return ts.tmpl.ExecuteTemplate(w, name, d)
}

// has reports whether a template of that name is defined.
func (ts *templateSet) has(name string) bool {
	return len(ts.definers[name]) > 0
}

// deps returns the input keys of every template file that name can reach
// through {{template}} calls: the files defining each reachable name, plus
// "template:X" for a reachable name X that nothing defines (so adding it
// later changes the deps). Sorted.
func (ts *templateSet) deps(name string) []string {
	seen := map[string]bool{}
	files := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		defs := ts.definers[n]
		if len(defs) == 0 {
			files[n] = true
			return
		}
		for _, f := range defs {
			files[f] = true
		}
		for _, tr := range ts.trees[n] {
			walkTemplateCalls(tr.Root, visit)
		}
	}
	visit(name)
	out := make([]string, 0, len(files))
	for f := range files {
		out = append(out, "template:"+f)
	}
	sort.Strings(out)
	return out
}

// walkTemplateCalls calls fn with the name of every {{template}} (and
// {{block}}) call under node.
func walkTemplateCalls(node parse.Node, fn func(string)) {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkTemplateCalls(c, fn)
		}
	case *parse.TemplateNode:
		fn(n.Name)
	case *parse.IfNode:
		walkTemplateCalls(n.List, fn)
		walkTemplateCalls(n.ElseList, fn)
	case *parse.RangeNode:
		walkTemplateCalls(n.List, fn)
		walkTemplateCalls(n.ElseList, fn)
	case *parse.WithNode:
		walkTemplateCalls(n.List, fn)
		walkTemplateCalls(n.ElseList, fn)
	}
}

// templateError turns a parse or escape error into an EINVALID error that
// names the template and, as Go's message does, the line.
func templateError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "template: ")
	msg = strings.TrimPrefix(msg, "html/template:")
	if strings.HasPrefix(msg, name+":") {
		return orchard.Errorf(orchard.EINVALID, "Template %s", msg)
	}
	return orchard.Errorf(orchard.EINVALID, "Template %s: %s", name, msg)
}

// ValidateTemplate reports whether t parses together with the site's other
// templates (and the defaults for those the site lacks), and whether the
// layouts still pass html/template's escaper with it. It returns an
// EINVALID *orchard.Error naming the template and line. The admin UI and
// the XML import call it before saving a template.
func ValidateTemplate(c *orchard.SiteContent, t orchard.Template) error {
	if err := t.Validate(); err != nil {
		return err
	}
	var own []orchard.Template
	if c != nil {
		own = c.Templates
	}
	files := effectiveTemplates(own)
	files[t.Name] = t.Body
	ts, err := parseTemplates(files)
	if err != nil {
		return err
	}
	return ts.checkEscaping(t.Name)
}

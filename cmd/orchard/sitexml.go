package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/xmlio"
)

// runSiteExport writes a site as XML to path ("-" for out). A file is
// written to a temporary name and renamed into place, so a failed export
// never leaves half a file; with secrets it is readable by its owner only.
func runSiteExport(ctx context.Context, st orchard.Store, host, path string, withSecrets bool, out io.Writer) error {
	c, err := st.LoadSite(ctx, host)
	if err != nil {
		return xmlShownError("export "+host, err)
	}
	opts := xmlio.ExportOptions{WithSecrets: withSecrets}
	if path == "-" {
		return xmlShownError("export "+host, xmlio.Export(ctx, out, c, opts))
	}
	mode := os.FileMode(0o644)
	if withSecrets {
		mode = 0o600
	}
	n, err := writeFileAtomic(path, mode, func(w io.Writer) error { return xmlio.Export(ctx, w, c, opts) })
	if err != nil {
		return xmlShownError("export "+host, err)
	}
	fmt.Fprintf(out, "Exported %s to %s (%s: %d categories, %d pages, %d templates, %d assets, %d users%s)\n",
		host, path, xmlByteSize(n), len(c.Categories), len(c.Pages), len(c.Templates), len(c.Assets), len(c.Users),
		map[bool]string{true: " with password hashes", false: " without password hashes"}[withSecrets])
	return nil
}

// siteImportMode says what an import may do to the store.
type siteImportMode struct {
	create      bool // the site may be created (-c)
	replace     bool // an existing site may be replaced (--replace)
	keepAliases bool // a file of another host keeps its aliases (--keep-aliases)
}

// runSiteImport reads a site from the XML file at path ("-" for in) into st
// as host, creating it (mode.create) or replacing it (mode.replace) in one
// transaction.
//
// A file of another host is imported under host: its absolute links follow
// the new name and its aliases are dropped unless mode.keepAliases (they
// belong to the site it came from), and a step line says what was renamed
// (see xmlio.Rehost). A site that does not exist needs create; one that
// does needs replace, whatever host the file holds. Nothing is written
// until the whole file has been read and validated, and then everything is
// written in one transaction.
func runSiteImport(ctx context.Context, st orchard.Store, host, path string, mode siteImportMode, in io.Reader, progress io.Writer) error {
	say := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	say("Setting up")
	var size int64 = -1
	name := "standard input"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("import %s: %w", host, err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		in, name = f, path
	}

	exists := true
	if _, err := st.Site(ctx, host); orchard.ErrorCode(err) == orchard.ENOTFOUND {
		exists = false
	} else if err != nil {
		return xmlShownError("import "+host, err)
	}
	say("Connected to database")
	switch {
	case !exists && !mode.create:
		return usagef("import %s: the site does not exist; add -c to create it", host)
	case exists && !mode.replace:
		return usagef("import %s: the site already exists; add --replace to replace all of its content", host)
	}

	bar := newImportProgress(progress, name, size)
	c, err := xmlio.Decode(ctx, in, xmlio.Limits{}, bar.update)
	bar.done(err == nil)
	if err != nil {
		return xmlShownError("import "+name, err)
	}
	say("Read %d categories, %d pages, %d templates, %d assets, %d users", len(c.Categories), len(c.Pages), len(c.Templates), len(c.Assets), len(c.Users))
	if c.Site.Host != host {
		rep := xmlio.Rehost(c, host, mode.keepAliases)
		say("%s holds the site %s: importing it as %s", name, rep.From, host)
		say("%s", strings.ToUpper(rep.Summary()[:1])+rep.Summary()[1:])
		if len(rep.DroppedAliases) > 0 {
			say("Dropped the aliases %s (they belong to %s; --keep-aliases keeps them)", strings.Join(rep.DroppedAliases, ", "), rep.From)
		}
	}
	if exists {
		say("Replacing all content of %s (one transaction)", host)
	} else {
		say("Creating site %s (one transaction)", host)
	}
	say("importing data")
	if err := st.ReplaceSite(ctx, c, mode.replace); err != nil {
		return xmlShownError("import "+host, err)
	}
	if !exists {
		say("Created site")
	}
	say("Committed site")
	say("done importing data")
	for _, u := range c.Users {
		if u.PasswordHash == xmlio.LockedPasswordHash {
			say("User %q has no password in the file and cannot log in until one is set (-p sets admin's)", u.Name)
		}
	}
	return nil
}

// xmlShownErr prints an orchard.Error as its message, not its code, and keeps
// it in the chain for errors.As and exit codes.
type xmlShownErr struct {
	prefix string
	err    error
}

func (e xmlShownErr) Error() string { return e.prefix + ": " + orchard.ErrorMessage(e.err) }
func (e xmlShownErr) Unwrap() error { return e.err }

// xmlShownError wraps err for the user: orchard errors by their message,
// anything else as it is.
func xmlShownError(prefix string, err error) error {
	var oe *orchard.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &oe):
		return xmlShownErr{prefix, err}
	default:
		return fmt.Errorf("%s: %w", prefix, err)
	}
}

// importProgress draws "Reading FILE  42% (12.3 MB of 29.0 MB)" on a terminal,
// redrawn in place at most ten times a second; elsewhere it stays silent.
type importProgress struct {
	w     io.Writer
	name  string
	size  int64 // -1 when unknown
	last  time.Time
	drawn bool
}

func newImportProgress(w io.Writer, name string, size int64) *importProgress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &importProgress{}
	}
	return &importProgress{w: w, name: name, size: size}
}

func (p *importProgress) update(n int64) {
	if p.w == nil || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.drawn = true
	if p.size > 0 {
		pct := min(100, n*100/p.size)
		const width = 30
		bar := strings.Repeat("#", int(pct*width/100)) + strings.Repeat(".", width-int(pct*width/100))
		fmt.Fprintf(p.w, "\rReading %s [%s] %3d%% (%s of %s)\x1b[K", p.name, bar, pct, xmlByteSize(n), xmlByteSize(p.size))
	} else {
		fmt.Fprintf(p.w, "\rReading %s: %s\x1b[K", p.name, xmlByteSize(n))
	}
}

// done ends the line: a full bar on success, a cleared line otherwise.
func (p *importProgress) done(ok bool) {
	if p.w == nil || !p.drawn {
		return
	}
	if ok && p.size > 0 {
		p.last = time.Time{}
		p.update(p.size)
		fmt.Fprintln(p.w)
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
}

// xmlByteSize formats n bytes for people.
func xmlByteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

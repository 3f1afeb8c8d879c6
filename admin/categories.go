package admin

import (
	"net/http"
	"strconv"
	"strings"

	orchard "github.com/orchardhq/orchard"
)

// siteHomeData is the overview of one site.
type siteHomeData struct {
	Pages, Drafts, Categories, Assets int
	Releases                          []orchard.Release
	Active                            string
	CanBuild, CanPublish              bool
}

// siteHome shows a site's overview and its build and publish buttons.
func (h *Handler) siteHome(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	ctx := r.Context()
	d := siteHomeData{CanBuild: h.opt.Builder != nil, CanPublish: h.opt.Publisher != nil}
	pages, err := h.opt.Store.Pages(ctx, site.Host, orchard.PageFilter{})
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	for _, p := range pages {
		if p.Published {
			d.Pages++
		} else {
			d.Drafts++
		}
	}
	cats, err := h.opt.Store.Categories(ctx, site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	d.Categories = len(cats)
	assets, err := h.opt.Store.Assets(ctx, site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	d.Assets = len(assets)
	if h.opt.Publisher != nil {
		rels, active, err := h.opt.Publisher.Releases(ctx, site.Host)
		if err == nil {
			if len(rels) > 5 {
				rels = rels[:5]
			}
			d.Releases, d.Active = rels, active
		}
	}
	h.page(w, r, http.StatusOK, "site", &view{Title: site.Host, S: s, Site: site, Nav: "site", Data: d})
}

// categoriesData is the categories page: the list, and the category being
// edited (or a new one).
type categoriesData struct {
	List []*orchard.Category
	Edit *orchard.Category // nil: the form creates one
	Move *form
}

// categories lists the categories with a form to create one, or to edit,
// move or delete the one given by ?path=.
func (h *Handler) categories(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	f := newForm()
	var edit *orchard.Category
	if p := r.URL.Query().Get("path"); p != "" {
		c, err := h.opt.Store.Category(r.Context(), site.Host, p)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		edit = c
		f.Values = map[string]string{"orig": c.Path, "path": c.Path, "title": c.Title, "description": c.Description, "sort": strconv.Itoa(c.Sort)}
	}
	h.showCategories(w, r, s, site, http.StatusOK, edit, f, nil)
}

func (h *Handler) showCategories(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site, status int, edit *orchard.Category, f, move *form) {
	list, err := h.opt.Store.Categories(r.Context(), site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	if move == nil {
		move = newForm()
		if edit != nil {
			move.Values["to"] = edit.Path
		}
	}
	h.page(w, r, status, "categories", &view{Title: "Categories", S: s, Site: site, Nav: "categories", Form: f,
		Data: categoriesData{List: list, Edit: edit, Move: move}})
}

// saveCategory creates a category (orig "") or saves the title,
// description and order of an existing one.
func (h *Handler) saveCategory(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	ctx := r.Context()
	f := fromRequest(r, "orig", "path", "title", "description", "sort")
	var edit *orchard.Category
	c := &orchard.Category{Path: strings.TrimSpace(f.Values["path"]), Title: strings.TrimSpace(f.Values["title"]), Description: strings.TrimSpace(f.Values["description"])}
	if orig := f.Values["orig"]; orig != "" {
		old, err := h.opt.Store.Category(ctx, site.Host, orig)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		edit, c.Path, c.Created = old, old.Path, old.Created
	} else if _, err := h.opt.Store.Category(ctx, site.Host, c.Path); err == nil {
		f.Errors["path"] = "A category with this path already exists."
	}
	if v := strings.TrimSpace(f.Values["sort"]); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < -1000000 || n > 1000000 {
			f.Errors["sort"] = "Order must be a whole number."
		}
		c.Sort = n
	}
	if len(c.Description) > 1000 {
		f.Errors["description"] = "Description is longer than 1000 bytes."
	}
	if err := c.Validate(); err != nil {
		f.set("", err)
	}
	if f.ok() {
		err := h.opt.Store.PutCategory(ctx, site.Host, c)
		switch orchard.ErrorCode(err) {
		case "":
			back(w, r, "/sites/"+site.Host+"/categories?path="+c.Path, "saved")
			return
		case orchard.ENOTFOUND:
			f.Errors["path"] = "Its parent category " + orchard.ParentDir(c.Path) + " does not exist: create it first."
		case orchard.EINVALID, orchard.ECONFLICT:
			f.set("", err)
		default:
			h.fail(w, r, s, err)
			return
		}
	}
	h.showCategories(w, r, s, site, http.StatusBadRequest, edit, f, nil)
}

// categoryInUse returns a message when category p holds pages or
// sub-categories: the rule for moving and deleting.
func (h *Handler) categoryInUse(r *http.Request, host, p string) (string, error) {
	pages, err := h.opt.Store.Pages(r.Context(), host, orchard.PageFilter{Category: p})
	if err != nil {
		return "", err
	}
	cats, err := h.opt.Store.Categories(r.Context(), host)
	if err != nil {
		return "", err
	}
	children := 0
	for _, c := range cats {
		if c.Parent() == p {
			children++
		}
	}
	if len(pages) > 0 || children > 0 {
		return "It still holds " + strconv.Itoa(len(pages)) + " pages and " + strconv.Itoa(children) +
			" sub-categories: move or delete them first.", nil
	}
	return "", nil
}

// moveCategory changes the path of an empty category.
func (h *Handler) moveCategory(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	ctx := r.Context()
	move := fromRequest(r, "from", "to")
	old, err := h.opt.Store.Category(ctx, site.Host, move.Values["from"])
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	to := strings.TrimSpace(move.Values["to"])
	nc := *old
	nc.Path = to
	if err := nc.Validate(); err != nil {
		move.set("to", err)
	} else if to == old.Path {
		move.Errors["to"] = "Give a new path."
	} else if _, err := h.opt.Store.Category(ctx, site.Host, to); err == nil {
		move.Errors["to"] = "A category with this path already exists."
	} else if strings.HasPrefix(to, old.Path) {
		move.Errors["to"] = "A category cannot move inside itself."
	}
	if move.ok() {
		msg, err := h.categoryInUse(r, site.Host, old.Path)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		if msg != "" {
			move.Errors["to"] = "Cannot move " + old.Path + ". " + msg
		}
	}
	if move.ok() {
		err := h.opt.Store.PutCategory(ctx, site.Host, &nc)
		switch orchard.ErrorCode(err) {
		case "":
			if err := h.opt.Store.DeleteCategory(ctx, site.Host, old.Path); err != nil {
				_ = h.opt.Store.DeleteCategory(ctx, site.Host, nc.Path)
				move.set("to", err)
				break
			}
			back(w, r, "/sites/"+site.Host+"/categories?path="+nc.Path, "moved")
			return
		case orchard.ENOTFOUND:
			move.Errors["to"] = "Its parent category " + orchard.ParentDir(to) + " does not exist: create it first."
		default:
			move.set("to", err)
		}
	}
	f := newForm()
	f.Values = map[string]string{"orig": old.Path, "path": old.Path, "title": old.Title, "description": old.Description, "sort": strconv.Itoa(old.Sort)}
	h.showCategories(w, r, s, site, http.StatusBadRequest, old, f, move)
}

// deleteCategory deletes an empty category.
func (h *Handler) deleteCategory(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	ctx := r.Context()
	old, err := h.opt.Store.Category(ctx, site.Host, r.PostFormValue("path"))
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	msg, err := h.categoryInUse(r, site.Host, old.Path)
	if err == nil && msg == "" {
		err = h.opt.Store.DeleteCategory(ctx, site.Host, old.Path)
		if err == nil {
			back(w, r, "/sites/"+site.Host+"/categories", "deleted")
			return
		}
	}
	if err != nil && orchard.ErrorCode(err) != orchard.ECONFLICT {
		h.fail(w, r, s, err)
		return
	}
	if msg == "" {
		msg = orchard.ErrorMessage(err)
	}
	f := newForm()
	f.Values = map[string]string{"orig": old.Path, "path": old.Path, "title": old.Title, "description": old.Description, "sort": strconv.Itoa(old.Sort)}
	f.Error = "Cannot delete " + old.Path + ". " + msg
	h.showCategories(w, r, s, site, http.StatusConflict, old, f, nil)
}

package admin

import (
	"io"
	"net/http"
	"path"
	"strings"

	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// assetTypes are the file types an upload may have, by extension; sniff
// says the content must look like the type (images, icons, fonts: a
// browser may run HTML stored under any of these names).
var assetTypes = map[string]struct {
	typ   string
	sniff string
	text  bool
}{
	".css":   {typ: "text/css; charset=utf-8", text: true},
	".js":    {typ: "text/javascript; charset=utf-8", text: true},
	".txt":   {typ: "text/plain; charset=utf-8", text: true},
	".json":  {typ: "application/json", text: true},
	".png":   {typ: "image/png", sniff: "image/png"},
	".jpg":   {typ: "image/jpeg", sniff: "image/jpeg"},
	".jpeg":  {typ: "image/jpeg", sniff: "image/jpeg"},
	".gif":   {typ: "image/gif", sniff: "image/gif"},
	".webp":  {typ: "image/webp", sniff: "image/webp"},
	".ico":   {typ: "image/x-icon", sniff: "image/x-icon"},
	".pdf":   {typ: "application/pdf", sniff: "application/pdf"},
	".woff":  {typ: "font/woff", sniff: "font/woff"},
	".woff2": {typ: "font/woff2", sniff: "font/woff2"},
}

// assetTypeList names the accepted extensions, for the form.
const assetTypeList = "css, js, txt, json, png, jpg, gif, webp, ico, pdf, woff, woff2"

// assetsData is the assets page.
type assetsData struct {
	List  []*orchard.Asset
	Types string
	Max   string
}

// editable reports whether an asset is text and may be edited in a form.
func editable(p string) bool { return assetTypes[strings.ToLower(path.Ext(p))].text }

// assets lists a site's assets with the upload form.
func (h *Handler) assets(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	f := newForm()
	f.Values["path"] = "/files/"
	h.showAssets(w, r, s, site, http.StatusOK, f)
}

func (h *Handler) showAssets(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site, status int, f *form) {
	list, err := h.opt.Store.Assets(r.Context(), site.Host)
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	h.page(w, r, status, "assets", &view{Title: "Assets", S: s, Site: site, Nav: "assets", Form: f,
		Data: assetsData{List: list, Types: assetTypeList, Max: orchard.FormatBytes(orchard.MaxAssetLen)}})
}

// checkAsset validates an asset's path and type; it returns the content type.
func checkAsset(p string, data []byte) (string, error) {
	if err := orchard.ValidateContentPath(p, false); err != nil {
		return "", err
	}
	if reservedAsset(p) {
		return "", orchard.Errorf(orchard.EINVALID, "Path %s is reserved for a generated file.", p)
	}
	t, ok := assetTypes[strings.ToLower(path.Ext(p))]
	if !ok {
		return "", orchard.Errorf(orchard.EINVALID, "Files of this type are not accepted; accepted: %s.", assetTypeList)
	}
	if t.sniff != "" && http.DetectContentType(data) != t.sniff {
		return "", orchard.Errorf(orchard.EINVALID, "The file's content is not %s.", t.sniff)
	}
	if len(data) > orchard.MaxAssetLen {
		return "", orchard.Errorf(orchard.EINVALID, "The file is larger than %s.", orchard.FormatBytes(orchard.MaxAssetLen))
	}
	return t.typ, nil
}

// uploadAsset stores an uploaded file at the path given, or under the
// directory given (ending in "/") with the file's own name in lower case.
func (h *Handler) uploadAsset(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	f := fromRequest(r, "path")
	p := strings.TrimSpace(f.Values["path"])
	file, hdr, err := r.FormFile("file")
	if err != nil {
		f.Errors["file"] = "Choose a file."
		h.showAssets(w, r, s, site, http.StatusBadRequest, f)
		return
	}
	defer file.Close()
	p = uploadPath(p, hdr.Filename)
	data, err := io.ReadAll(io.LimitReader(file, orchard.MaxAssetLen+1))
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	typ, err := checkAsset(p, data)
	if err != nil {
		field := "path"
		if strings.HasPrefix(orchard.ErrorMessage(err), "The file") {
			field = "file"
		}
		f.set(field, err)
		h.showAssets(w, r, s, site, http.StatusBadRequest, f)
		return
	}
	if err := h.opt.Store.PutAsset(r.Context(), site.Host, &orchard.Asset{Path: p, ContentType: typ, Data: data}); err != nil {
		if orchard.ErrorCode(err) == orchard.EINVALID {
			f.set("path", err)
			h.showAssets(w, r, s, site, http.StatusBadRequest, f)
			return
		}
		h.fail(w, r, s, err)
		return
	}
	h.log.Info("asset uploaded", "site", site.Host, "path", p, "bytes", len(data), "by", s.user.Name)
	back(w, r, "/sites/"+site.Host+"/assets", "uploaded")
}

// editAsset shows a text asset (the theme's CSS, say) in a form.
func (h *Handler) editAsset(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	p := r.URL.Query().Get("path")
	f := newForm()
	f.Values["path"] = p
	if p != "" {
		a, err := h.opt.Store.Asset(r.Context(), site.Host, p)
		if err != nil {
			h.fail(w, r, s, err)
			return
		}
		if !editable(p) {
			h.fail(w, r, s, orchard.Errorf(orchard.EINVALID, "Only text files can be edited here."))
			return
		}
		f.Values["body"] = string(a.Data)
		f.Values["orig"] = p
	}
	h.page(w, r, http.StatusOK, "asset", &view{Title: "Edit " + p, S: s, Site: site, Nav: "assets", Form: f})
}

// saveAssetText saves a text asset from its form.
func (h *Handler) saveAssetText(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	f := fromRequest(r, "orig", "path", "body")
	p := strings.TrimSpace(f.Values["path"])
	data := []byte(strings.ReplaceAll(f.Values["body"], "\r\n", "\n"))
	typ, err := checkAsset(p, data)
	if err == nil && !editable(p) {
		err = orchard.Errorf(orchard.EINVALID, "Only text files (css, js, txt, json) can be edited here.")
	}
	if err == nil {
		err = h.opt.Store.PutAsset(r.Context(), site.Host, &orchard.Asset{Path: p, ContentType: typ, Data: data})
		if err == nil {
			back(w, r, "/sites/"+site.Host+"/assets/edit?path="+p, "saved")
			return
		}
		if orchard.ErrorCode(err) != orchard.EINVALID {
			h.fail(w, r, s, err)
			return
		}
	}
	f.set("path", err)
	h.page(w, r, http.StatusBadRequest, "asset", &view{Title: "Edit " + p, S: s, Site: site, Nav: "assets", Form: f})
}

// deleteAsset deletes an asset.
func (h *Handler) deleteAsset(w http.ResponseWriter, r *http.Request, s *session, site *orchard.Site) {
	if r.PostFormValue("confirm") != "yes" {
		// One click on a list must not unstyle a site: ask first.
		f := fromRequest(r, "path")
		if _, err := h.opt.Store.Asset(r.Context(), site.Host, f.Values["path"]); err != nil {
			h.fail(w, r, s, err)
			return
		}
		stylesheet := strings.HasSuffix(f.Values["path"], ".css")
		h.page(w, r, http.StatusOK, "assetdelete", &view{Title: "Delete " + f.Values["path"], S: s, Site: site, Nav: "assets", Form: f, Data: stylesheet})
		return
	}
	err := h.opt.Store.DeleteAsset(r.Context(), site.Host, r.PostFormValue("path"))
	if err != nil {
		h.fail(w, r, s, err)
		return
	}
	back(w, r, "/sites/"+site.Host+"/assets", "deleted")
}

// reservedAsset reports whether p is a path the build generates or orchard
// keeps for itself, which an asset may not take.
func reservedAsset(p string) bool {
	switch p {
	case render.HomeKey, render.NotFoundKey, render.SitemapKey, render.FeedKey:
		return true
	}
	return strings.HasPrefix(p, "/_orchard/") || strings.HasSuffix(p, "/index.html")
}

// uploadPath is where an upload goes: p itself, or when p is empty or a
// directory (ending in "/"), the directory ("/files/" by default) joined
// with the last element of the browser-supplied file name in lower case.
// The result is validated by checkAsset like any typed path.
func uploadPath(p, filename string) string {
	if p == "" {
		p = "/files/"
	}
	if !strings.HasSuffix(p, "/") {
		return p
	}
	name := filename
	if i := strings.LastIndexAny(name, "/\\"); i >= 0 {
		name = name[i+1:]
	}
	return p + strings.ToLower(name)
}

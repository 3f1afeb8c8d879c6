package xmlio

import (
	orchard "github.com/orchardhq/orchard"
	"github.com/orchardhq/orchard/render"
)

// validateTemplate checks that t parses with the site's other templates
// (and the defaults for those it lacks), as the admin UI does before saving.
func validateTemplate(c *orchard.SiteContent, t orchard.Template) error {
	return render.ValidateTemplate(c, t)
}

package xmlio

import orchard "github.com/orchardhq/orchard"

// validateTemplate checks that t parses with the site's other templates.
func validateTemplate(c *orchard.SiteContent, t orchard.Template) error {
	return nil // TODO: render.ValidateTemplate(c, t) once render lands
}

package xmlio_test

// badTemplateError is what testdata/broken/bad-template.xml must give; ""
// until render.ValidateTemplate is wired into Decode.
const badTemplateError = ""

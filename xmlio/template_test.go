package xmlio_test

const badTemplateError = "TODO"

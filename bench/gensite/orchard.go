package main

import "errors"

// writeOrchard and editOrchard fill orchard's database; they need the
// render package and the store, wired when those land.
func writeOrchard(s *site, db string) error { return errors.New("-orchard is not built yet") }

func editOrchard(s *site, db string, page int) error { return errors.New("-edit is not built yet") }

package orchard

// Setting is a number an options struct holds: a count, a size, a ratio or
// a duration.
type Setting interface {
	~int | ~int32 | ~int64 | ~float64
}

// OrDefault returns v, or def when v is zero or negative: in the options
// structs of every package (see the package doc), a setting that is not
// positive means its default.
func OrDefault[T Setting](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

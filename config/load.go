package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	toml "github.com/pelletier/go-toml/v2"
)

// MaxFileSize bounds the cluster file; anything larger is surely a mistake.
const MaxFileSize = 1 << 20

// Error is one mistake in the cluster file.
type Error struct {
	File string
	Line int    // 0 when unknown
	Key  string // dotted key, e.g. "node[1].listen"; "" for the whole file
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
}

// Errors is every mistake found in one file.
type Errors []*Error

func (es Errors) Error() string {
	var b bytes.Buffer
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Load reads, defaults and validates the cluster file at path, and reads
// (or creates) the cluster secret. The error, if any, is an Errors listing
// every mistake with its line, or a plain error for an unreadable file.
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("cluster file %s: %w", path, err)
	}
	data, err := readLimited(abs)
	if err != nil {
		return nil, err
	}
	c, err := Parse(abs, data)
	if err != nil {
		return nil, err
	}
	if c.Secret, err = loadSecret(c.SecretFile); err != nil {
		return nil, Errors{{File: abs, Line: keyLines(data)["secret_file"], Key: "secret_file", Msg: err.Error()}}
	}
	return c, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no cluster file at %s (give one with --config FILE or $ORCHARD_CONFIG; `orchard demo` writes an example)", path)
	} else if err != nil {
		return nil, fmt.Errorf("cluster file: %w", err)
	}
	defer f.Close()
	var b bytes.Buffer
	n, err := b.ReadFrom(&limitedReader{f, MaxFileSize + 1})
	if err != nil {
		return nil, fmt.Errorf("read cluster file %s: %w", path, err)
	}
	if n > MaxFileSize {
		return nil, fmt.Errorf("cluster file %s is larger than %d bytes", path, MaxFileSize)
	}
	return b.Bytes(), nil
}

type limitedReader struct {
	f *os.File
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errEOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

var errEOF = errors.New("EOF") // only ends ReadFrom; never returned

// Parse decodes, defaults and validates a cluster file held in memory. path
// names the file in messages and anchors relative paths. It does not touch
// the secret.
func Parse(path string, data []byte) (*Config, error) {
	c := &Config{Path: path, Dir: filepath.Dir(path)}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return nil, decodeErrors(path, err)
	}
	lines := keyLines(data)
	v := &validator{file: path, lines: lines}
	c.setDefaults()
	c.setACMEDefaults()
	v.validate(c)
	v.validateACME(c)
	if len(v.errs) > 0 {
		return nil, v.errs
	}
	return c, nil
}

func decodeErrors(path string, err error) error {
	var strict *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &strict):
		var es Errors
		for i := range strict.Errors {
			e := &strict.Errors[i]
			row, _ := e.Position()
			es = append(es, &Error{File: path, Line: row, Key: joinKey(e.Key()), Msg: "unknown key"})
		}
		return es
	case errors.As(err, &de):
		row, _ := de.Position()
		return Errors{{File: path, Line: row, Key: joinKey(de.Key()), Msg: de.Error()}}
	default:
		return Errors{{File: path, Msg: err.Error()}}
	}
}

func joinKey(k toml.Key) string {
	var b bytes.Buffer
	for i, p := range k {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

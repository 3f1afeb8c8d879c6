package release

import (
	"reflect"
	"strings"
	"testing"

	"github.com/orchardhq/orchard"
)

func testRecord() *record {
	return &record{Outputs: []recordOutput{
		{Path: "/", Key: "/index.html", ContentType: "text/html; charset=utf-8", Sum: strings.Repeat("0f", 16),
			Entry: orchard.ManifestEntry{SHA256: strings.Repeat("ab", 32), Size: 8123, ContentType: "text/html; charset=utf-8",
				Gzip: strings.Repeat("cd", 32), GzipSize: 2100}},
		{Path: "/theme/logo.png", Key: "/theme/logo.png", ContentType: "image/png", Sum: strings.Repeat("11", 16),
			Entry: orchard.ManifestEntry{SHA256: strings.Repeat("ef", 32), Size: 1 << 40, ContentType: "image/png"}},
	}}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []*record{testRecord(), {Outputs: []recordOutput{}}} {
		got, err := decodeRecord(r.encode())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}

func TestDecodeRecordRefuses(t *testing.T) {
	good := testRecord().encode()
	bad := testRecord()
	bad.Outputs[0].Entry.SHA256 = "not hex"
	dup := testRecord()
	dup.Outputs[1].Path = "/"
	for name, data := range map[string][]byte{
		"empty":     nil,
		"json":      []byte(`{"outputs":{}}`),
		"truncated": good[:len(good)-3],
		"trailing":  append(append([]byte{}, good...), 0),
		"bad hash":  bad.encode(),
		"dup path":  dup.encode(),
	} {
		if _, err := decodeRecord(data); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(testRecord().encode())
	f.Add([]byte(recordMagic + "\x01\x00\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := decodeRecord(data)
		if err != nil {
			return
		}
		again, err := decodeRecord(r.encode())
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoding a decoded record: %v", err)
		}
	})
}

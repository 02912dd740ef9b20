package queue

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// entryDiff describes how a and b differ, "" if they are the same entry:
// times compare as instants, and a nil Header, Vars, header value list or
// Body equals an empty one.
func entryDiff(a, b *Entry) string {
	var d []string
	if a.ID != b.ID {
		d = append(d, fmt.Sprintf("ID %q != %q", a.ID, b.ID))
	}
	if a.Method != b.Method || a.URI != b.URI {
		d = append(d, fmt.Sprintf("request line %q %q != %q %q", a.Method, a.URI, b.Method, b.URI))
	}
	if len(a.Header) != len(b.Header) {
		d = append(d, fmt.Sprintf("header %v != %v", a.Header, b.Header))
	} else {
		for k, va := range a.Header {
			vb, ok := b.Header[k]
			if !ok || strings.Join(va, "\x00") != strings.Join(vb, "\x00") || len(va) != len(vb) {
				d = append(d, fmt.Sprintf("header %q: %q != %q", k, va, vb))
			}
		}
	}
	if !bytes.Equal(a.Body, b.Body) {
		d = append(d, fmt.Sprintf("body %d bytes != %d bytes", len(a.Body), len(b.Body)))
	}
	if len(a.Vars) != len(b.Vars) {
		d = append(d, fmt.Sprintf("vars %v != %v", a.Vars, b.Vars))
	} else {
		for k, va := range a.Vars {
			if vb, ok := b.Vars[k]; !ok || va != vb {
				d = append(d, fmt.Sprintf("var %q: %q != %q", k, va, vb))
			}
		}
	}
	if !a.Created.Equal(b.Created) || a.Created.IsZero() != b.Created.IsZero() {
		d = append(d, fmt.Sprintf("created %v != %v", a.Created, b.Created))
	}
	if !a.NextAt.Equal(b.NextAt) || a.NextAt.IsZero() != b.NextAt.IsZero() {
		d = append(d, fmt.Sprintf("next %v != %v", a.NextAt, b.NextAt))
	}
	if a.Attempts != b.Attempts || a.LastStatus != b.LastStatus || a.LastError != b.LastError {
		d = append(d, fmt.Sprintf("state %d/%d/%q != %d/%d/%q", a.Attempts, a.LastStatus, a.LastError, b.Attempts, b.LastStatus, b.LastError))
	}
	return strings.Join(d, "; ")
}

func sampleEntries() map[string]*Entry {
	now := time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.FixedZone("x", 3600))
	return map[string]*Entry{
		"zero": {},
		"full": {
			ID: "0000018f2e6b1c00a1b2c3d4e5f60718", Method: "POST", URI: "/hooks/stripe?x=1&y=%20",
			Header:  http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "", "c"}, "lower-case": {"kept"}},
			Body:    []byte(`{"id":"evt_1","object":"event"}`),
			Vars:    map[string]string{"provider": "stripe", "id": "evt_1", "verified": "true", "empty": ""},
			Created: now, Attempts: 3, NextAt: now.Add(90 * time.Second), LastStatus: 503, LastError: "upstream: connection refused",
		},
		"binary body": {Method: "PUT", URI: "/", Body: []byte{0, 1, 2, 0xff, 0xfe, '\n', 0}},
		"negative ints and old time": {
			Attempts: -1, LastStatus: -500,
			Created: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), NextAt: time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		},
		"far future":          {Created: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), NextAt: time.Unix(1<<40, 5)},
		"empty header values": {Header: http.Header{"X-Empty": {}, "X-Nil": nil}},
		"utf8 and nul":        {URI: "/é?q=\x00", Vars: map[string]string{"ké\x00y": "vä\x00l"}, LastError: "ошибка"},
		"large body":          {Body: bytes.Repeat([]byte("0123456789abcdef"), 1<<16)},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	for name, e := range sampleEntries() {
		t.Run(name, func(t *testing.T) {
			b := Encode(e)
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(Encode(e)): %v", err)
			}
			if d := entryDiff(e, got); d != "" {
				t.Fatalf("round trip differs: %s", d)
			}
			if !bytes.Equal(Encode(got), b) {
				t.Fatalf("Encode is not stable across a round trip")
			}
			if len(b) > encodedSizeHint(e) {
				t.Fatalf("encoded %d bytes, hint %d", len(b), encodedSizeHint(e))
			}
			// The decoded entry must not alias the input.
			if len(got.Body) > 0 {
				for i := range b {
					b[i] = 0
				}
				if !bytes.Equal(got.Body, e.Body) {
					t.Fatalf("decoded body aliases the encoded bytes")
				}
			}
		})
	}
}

func TestEntryEncodeDeterministic(t *testing.T) {
	e := sampleEntries()["full"]
	first := Encode(e)
	for range 20 { // map iteration order varies between calls
		if !bytes.Equal(Encode(e), first) {
			t.Fatal("Encode of the same entry gave different bytes")
		}
	}
}

// uv is a uvarint as bytes.
func uv(v uint64) []byte { return binary.AppendUvarint(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeRejects(t *testing.T) {
	good := Encode(sampleEntries()["full"])
	zero := []byte{0, 0, 0} // empty ID, method, URI
	// tail is everything after the header count of an entry with an empty
	// header: empty body, no vars, zero times, zero ints, empty error.
	tail := Encode(&Entry{})[1+3+1:]
	cases := map[string][]byte{
		"empty":                     nil,
		"version 0":                 {0},
		"version 2":                 append([]byte{2}, good[1:]...),
		"only version":              {entryVersion},
		"truncated by one":          good[:len(good)-1],
		"truncated in half":         good[:len(good)/2],
		"trailing byte":             append(append([]byte(nil), good...), 0),
		"id length beyond buffer":   cat([]byte{entryVersion}, uv(1<<40)),
		"id length max uint64":      cat([]byte{entryVersion}, uv(^uint64(0))),
		"varint overflow":           {entryVersion, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"header count beyond":       cat([]byte{entryVersion}, zero, uv(1<<30)),
		"header value count beyond": cat([]byte{entryVersion}, zero, uv(1), uv(1), []byte("k"), uv(1<<30)),
		"header count above limit":  cat([]byte{entryVersion}, zero, uv(maxHeaderValues+1), make([]byte, maxHeaderValues+10)),
		"repeated header key": cat([]byte{entryVersion}, zero, uv(2),
			uv(1), []byte("k"), uv(0), uv(1), []byte("k"), uv(0), tail),
		"body length beyond": cat([]byte{entryVersion}, zero, uv(0), uv(100), []byte("short")),
		"vars count beyond":  cat([]byte{entryVersion}, zero, uv(0), uv(0), uv(1000)),
		"repeated var": cat([]byte{entryVersion}, zero, uv(0), uv(0), uv(2),
			uv(1), []byte("k"), uv(0), uv(1), []byte("k"), uv(0)),
		"nanoseconds 1e9": cat([]byte{entryVersion}, zero, uv(0), uv(0), uv(0),
			binary.AppendVarint(nil, 0), uv(1e9)),
		"seconds beyond range": cat([]byte{entryVersion}, zero, uv(0), uv(0), uv(0),
			binary.AppendVarint(nil, maxTimeSec+1), uv(0)),
	}
	// The "tail" construction must itself be valid, or the repeated-key case
	// would fail for another reason.
	if _, err := Decode(cat([]byte{entryVersion}, zero, uv(0), tail)); err != nil {
		t.Fatalf("valid construction refused: %v", err)
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := Decode(b)
			if err == nil {
				t.Fatalf("Decode accepted %x as %+v", b, e)
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
		})
	}
}

// fuzzEntry builds an entry from arbitrary bytes, so the fuzzer also
// explores the Encode side of the round trip.
func fuzzEntry(data []byte) *Entry {
	next := func(n int) []byte {
		if n > len(data) {
			n = len(data)
		}
		s := data[:n]
		data = data[n:]
		return s
	}
	num := func() int {
		b := next(1)
		if len(b) == 0 {
			return 0
		}
		return int(b[0])
	}
	e := &Entry{ID: string(next(num() % 40)), Method: string(next(num() % 8)), URI: string(next(num()))}
	for range num() % 5 {
		if e.Header == nil {
			e.Header = http.Header{}
		}
		k := string(next(num() % 16))
		for range num() % 3 {
			e.Header[k] = append(e.Header[k], string(next(num()%32)))
		}
	}
	for range num() % 4 {
		if e.Vars == nil {
			e.Vars = map[string]string{}
		}
		e.Vars[string(next(num()%12))] = string(next(num() % 12))
	}
	e.Attempts = num() - 128
	e.LastStatus = num() * 3
	sec := int64(binary.BigEndian.Uint32(append(next(4), 0, 0, 0, 0)[:4]))
	e.Created = time.Unix(sec, int64(num())*1e6)
	e.NextAt = e.Created.Add(time.Duration(num()) * time.Second)
	e.LastError = string(next(num() % 20))
	e.Body = next(len(data))
	return e
}

// FuzzDecode checks that Decode never panics and never accepts what it
// cannot give back: whatever it decodes re-encodes to an equal entry, and
// an entry built from the input survives Encode then Decode.
func FuzzDecode(f *testing.F) {
	for _, e := range sampleEntries() {
		if len(e.Body) < 4096 {
			f.Add(Encode(e))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := Decode(b); err == nil {
			e2, err := Decode(Encode(e))
			if err != nil {
				t.Fatalf("re-encoding a decoded entry is refused: %v", err)
			}
			if d := entryDiff(e, e2); d != "" {
				t.Fatalf("decode/encode/decode differs: %s", d)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		e := fuzzEntry(b)
		got, err := Decode(Encode(e))
		if err != nil {
			t.Fatalf("Decode(Encode(e)): %v", err)
		}
		if d := entryDiff(e, got); d != "" {
			t.Fatalf("round trip differs: %s", d)
		}
	})
}

// TestWriteFuzzSeeds rewrites the checked-in seed corpus of FuzzDecode
// (testdata/fuzz/FuzzDecode) from sampleEntries when QUEUE_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("QUEUE_WRITE_SEEDS") != "1" {
		t.Skip("set QUEUE_WRITE_SEEDS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, e := range sampleEntries() {
		if len(e.Body) < 4096 {
			write("entry-"+strings.ReplaceAll(name, " ", "-"), Encode(e))
		}
	}
	full := Encode(sampleEntries()["full"])
	write("truncated", full[:len(full)/2])
	write("huge-length", cat([]byte{entryVersion}, uv(1<<62)))
	write("huge-header-count", cat([]byte{entryVersion}, []byte{0, 0, 0}, uv(1<<30)))
}

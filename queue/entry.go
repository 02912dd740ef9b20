package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"
)

// entryVersion is the first byte of every encoded entry. A decoder refuses
// any other value, so a later format can be told apart.
const entryVersion = 1

// Bounds Decode enforces besides the length of its input. They are far above
// what a request Go's HTTP server accepts can carry (1 MiB of header by
// default, so at most 2^18 header lines), so Encode never produces an entry
// Decode refuses for a real request.
const (
	maxHeaderValues = 1 << 18 // header values, all keys together
	maxVars         = 1 << 16 // placeholders
)

// Check reports whether e can be stored and read back as it is: it
// returns an error wrapping ErrInvalid for more header values or Vars than
// Decode accepts (possible behind a server whose max_header_size was
// raised far above Go's 1 MiB default). Both stores' Append call it, so
// such a request is refused before it is acknowledged, instead of being
// acknowledged and then moved aside as corrupt.
func Check(e *Entry) error {
	n := 0
	for _, vs := range e.Header {
		n += max(len(vs), 1)
	}
	if n > maxHeaderValues || len(e.Header) > maxHeaderValues {
		return fmt.Errorf("%w: %d header values (at most %d)", ErrInvalid, n, maxHeaderValues)
	}
	if len(e.Vars) > maxVars {
		return fmt.Errorf("%w: %d placeholders (at most %d)", ErrInvalid, len(e.Vars), maxVars)
	}
	return nil
}

// zeroUnix is the Unix second of the zero time.Time, which Encode writes
// with 0 nanoseconds so that Decode gives back time.Time{} exactly.
var zeroUnix = time.Time{}.Unix()

// maxTimeSec bounds the Unix seconds Decode accepts (about 1.5e11 years
// either way), so time.Unix cannot overflow and Encode gives the same
// seconds back.
const maxTimeSec = 1 << 62

// Encode returns the binary encoding of e: a version byte, then every field
// of e in a fixed order, strings and the body prefixed with their length as
// an unsigned varint, integers as varints, times as Unix seconds (varint) and
// nanoseconds (uvarint). Header keys and Vars are written in sorted order, so
// equal entries encode to equal bytes. Header keys are kept as they are (not
// canonicalised). Times keep their instant, not their location or monotonic
// reading: Decode returns them in UTC.
func Encode(e *Entry) []byte {
	return appendEntry(make([]byte, 0, encodedSizeHint(e)), e)
}

// encodedSizeHint is a close upper bound of the encoding of e, to allocate
// once.
func encodedSizeHint(e *Entry) int {
	n := 1 + 7*binary.MaxVarintLen64 + len(e.ID) + len(e.Method) + len(e.URI) +
		len(e.Body) + len(e.LastError) + 3*binary.MaxVarintLen64 + 3*(2*binary.MaxVarintLen64)
	for k, vs := range e.Header {
		n += 2*binary.MaxVarintLen64 + len(k)
		for _, v := range vs {
			n += binary.MaxVarintLen64 + len(v)
		}
	}
	for k, v := range e.Vars {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	return n
}

// appendEntry appends the encoding of e to dst (see Encode).
func appendEntry(dst []byte, e *Entry) []byte {
	dst = append(dst, entryVersion)
	dst = appendString(dst, e.ID)
	dst = appendString(dst, e.Method)
	dst = appendString(dst, e.URI)

	keys := make([]string, 0, len(e.Header))
	for k := range e.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendString(dst, k)
		vs := e.Header[k]
		dst = binary.AppendUvarint(dst, uint64(len(vs)))
		for _, v := range vs {
			dst = appendString(dst, v)
		}
	}

	dst = binary.AppendUvarint(dst, uint64(len(e.Body)))
	dst = append(dst, e.Body...)

	keys = keys[:0]
	for k := range e.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = binary.AppendUvarint(dst, uint64(len(keys)))
	for _, k := range keys {
		dst = appendString(dst, k)
		dst = appendString(dst, e.Vars[k])
	}

	dst = appendTime(dst, e.Created)
	dst = binary.AppendVarint(dst, int64(e.Attempts))
	dst = appendTime(dst, e.NextAt)
	dst = binary.AppendVarint(dst, int64(e.LastStatus))
	dst = appendString(dst, e.LastError)
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		dst = binary.AppendVarint(dst, zeroUnix)
		return binary.AppendUvarint(dst, 0)
	}
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// Decode parses an entry written by Encode. It never reads past b, refuses
// a length or count larger than what is left of b (so a corrupt length
// cannot make it allocate more than len(b)), more than 2^18 header values
// or 2^16 Vars, a repeated header key or Var, an unknown version and trailing
// bytes; every such error wraps ErrCorrupt. The result shares no memory with
// b. An empty body and an empty Header or Vars decode as nil.
func Decode(b []byte) (*Entry, error) {
	return decodeEntry(b, true)
}

// decodeEntry is Decode, leaving the body out (nil) unless withBody; the
// body is checked all the same.
func decodeEntry(b []byte, withBody bool) (*Entry, error) {
	d := decoder{b: b}
	e, err := d.entry(withBody)
	if err != nil {
		return nil, fmt.Errorf("%w: at byte %d: %w", ErrCorrupt, d.off, err)
	}
	return e, nil
}

type decoder struct {
	b   []byte
	off int
}

var errShort = errors.New("truncated")

func (d *decoder) entry(withBody bool) (*Entry, error) {
	if len(d.b) == 0 {
		return nil, errShort
	}
	if v := d.b[0]; v != entryVersion {
		return nil, fmt.Errorf("unsupported version %d", v)
	}
	d.off = 1
	e := &Entry{}
	var err error
	if e.ID, err = d.string(); err != nil {
		return nil, err
	}
	if e.Method, err = d.string(); err != nil {
		return nil, err
	}
	if e.URI, err = d.string(); err != nil {
		return nil, err
	}

	nkeys, err := d.count(maxHeaderValues)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if nkeys > 0 {
		e.Header = make(http.Header, nkeys)
	}
	total := 0
	for range nkeys {
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if _, dup := e.Header[k]; dup {
			return nil, errors.New("repeated header key")
		}
		nv, err := d.count(maxHeaderValues - total)
		if err != nil {
			return nil, fmt.Errorf("header values: %w", err)
		}
		total += nv
		vs := make([]string, nv)
		for i := range vs {
			if vs[i], err = d.string(); err != nil {
				return nil, err
			}
		}
		e.Header[k] = vs
	}

	body, err := d.bytes()
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	if len(body) > 0 && withBody {
		e.Body = append([]byte(nil), body...)
	}

	nvars, err := d.count(maxVars)
	if err != nil {
		return nil, fmt.Errorf("vars: %w", err)
	}
	if nvars > 0 {
		e.Vars = make(map[string]string, nvars)
	}
	for range nvars {
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		if _, dup := e.Vars[k]; dup {
			return nil, errors.New("repeated var")
		}
		if e.Vars[k], err = d.string(); err != nil {
			return nil, err
		}
	}

	if e.Created, err = d.time(); err != nil {
		return nil, fmt.Errorf("created: %w", err)
	}
	if e.Attempts, err = d.int(); err != nil {
		return nil, fmt.Errorf("attempts: %w", err)
	}
	if e.NextAt, err = d.time(); err != nil {
		return nil, fmt.Errorf("next: %w", err)
	}
	if e.LastStatus, err = d.int(); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if e.LastError, err = d.string(); err != nil {
		return nil, err
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%d trailing bytes", len(d.b)-d.off)
	}
	return e, nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.b[d.off:])
	return v, d.advance(n)
}

func (d *decoder) varint() (int64, error) {
	v, n := binary.Varint(d.b[d.off:])
	return v, d.advance(n)
}

// advance moves past a varint of n bytes, as binary.Uvarint reports it.
func (d *decoder) advance(n int) error {
	switch {
	case n > 0:
		d.off += n
		return nil
	case n == 0:
		return errShort
	default:
		return errors.New("varint overflow")
	}
}

// count reads a number of items, each of which takes at least one byte, so
// it can be no more than what is left (nor more than max).
func (d *decoder) count(max int) (int, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if v > uint64(len(d.b)-d.off) {
		return 0, fmt.Errorf("count %d beyond the %d bytes left", v, len(d.b)-d.off)
	}
	if v > uint64(max) {
		return 0, fmt.Errorf("count %d above the limit %d", v, max)
	}
	return int(v), nil
}

func (d *decoder) bytes() ([]byte, error) {
	v, err := d.uvarint()
	if err != nil {
		return nil, err
	}
	if v > uint64(len(d.b)-d.off) {
		return nil, fmt.Errorf("length %d beyond the %d bytes left", v, len(d.b)-d.off)
	}
	s := d.b[d.off : d.off+int(v)]
	d.off += int(v)
	return s, nil
}

func (d *decoder) string() (string, error) {
	b, err := d.bytes()
	return string(b), err
}

func (d *decoder) int() (int, error) {
	v, err := d.varint()
	if err != nil {
		return 0, err
	}
	if v < math.MinInt || v > math.MaxInt {
		return 0, errors.New("integer out of range")
	}
	return int(v), nil
}

func (d *decoder) time() (time.Time, error) {
	sec, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	nsec, err := d.uvarint()
	if err != nil {
		return time.Time{}, err
	}
	if nsec >= 1e9 {
		return time.Time{}, errors.New("nanoseconds out of range")
	}
	if sec > maxTimeSec || sec < -maxTimeSec {
		return time.Time{}, errors.New("seconds out of range")
	}
	if sec == zeroUnix && nsec == 0 {
		return time.Time{}, nil
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

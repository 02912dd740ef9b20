package verifiers

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The recipe engine's signed-content template: its parts, their parsing,
// and the rules that keep it unambiguous (the signed string can be cut into
// its parts in one way only).

// recipePartKind is the kind of one piece of the signed-content template.
type recipePartKind uint8

const (
	recipeLiteral recipePartKind = iota
	recipeBody
	recipeTimestamp
	recipeID
	recipeMethod
	recipePath
	recipeURL
	recipeHeader
)

// recipePart is one piece of the precompiled signed-content template.
type recipePart struct {
	kind recipePartKind
	lit  []byte // the literal text; for recipeHeader the header name
	// For variable parts (timestamp, id, method, path, header): the bytes a
	// value may hold (the kind's charset, less the delimiting byte).
	allowed *[256]bool
}

// recipeParseContent compiles a content template made of literal text and
// the placeholders of HMACRecipe.Content. Any other {...}, or an unclosed
// {, is an error; a lone } is literal text.
func recipeParseContent(s string) ([]recipePart, error) {
	var (
		parts []recipePart
		lit   []byte
	)
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, recipePart{kind: recipeLiteral, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '{' {
			lit = append(lit, s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed { at offset %d", i)
		}
		name := s[i+1 : i+end]
		part := recipePart{}
		switch name {
		case "body":
			part.kind = recipeBody
		case "timestamp":
			part.kind = recipeTimestamp
		case "id":
			part.kind = recipeID
		case "method":
			part.kind = recipeMethod
		case "path":
			part.kind = recipePath
		case "url":
			part.kind = recipeURL
		default:
			h, ok := strings.CutPrefix(name, "header:")
			if !ok {
				return nil, fmt.Errorf("unknown placeholder {%s} (known: {body}, {timestamp}, {id}, {method}, {path}, {url}, {header:Name})", name)
			}
			if !recipeValidHeaderName(h) {
				return nil, fmt.Errorf("{header:%s}: not a valid header name", h)
			}
			part.kind, part.lit = recipeHeader, []byte(h)
		}
		flush()
		parts = append(parts, part)
		i += end + 1
	}
	flush()
	return parts, nil
}

// recipeValidHeaderName reports whether s is an HTTP field name (an RFC 9110
// token).
func recipeValidHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// Charsets of the variable parts, before the delimiter is taken out.
var (
	recipeDigits    = recipeCharset("0123456789")
	recipeISOChars  = recipeCharset("0123456789-:.+TZ")
	recipeMethodSet = recipeCharset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	recipePathSet   = recipeCharset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:@/")
	recipeIDSet     = recipeRange(0x21, 0x7e) // printable ASCII, no space
	recipeValueSet  = recipeRange(0x20, 0x7e) // printable ASCII and space
)

func recipeCharset(s string) [256]bool {
	var set [256]bool
	for i := 0; i < len(s); i++ {
		set[s[i]] = true
	}
	return set
}

func recipeRange(lo, hi byte) [256]bool {
	var set [256]bool
	for c := int(lo); c <= int(hi); c++ {
		set[c] = true
	}
	return set
}

// recipeMaxTolerance bounds the tolerance of templates whose timestamp of
// digits touches the body with no literal between ({body}{timestamp}):
// moving a digit across that boundary changes the timestamp by at least
// 10^8 seconds, which only a bounded tolerance check refuses.
const recipeMaxTolerance = 365 * 24 * time.Hour

// recipeDelimit gives every variable part of the template its charset and makes
// sure the signed string can be cut into its parts in one way only.
//
// Left of {body} the string is read from the start: each variable part
// must be followed by fixed text (a literal or {url}) whose first byte it
// cannot contain; ids, paths and header values refuse that byte, while a
// timestamp or a method whose charset holds it makes the template
// ambiguous (refused), unless the timestamp is RFC 3339 (no valid value is
// a prefix of another). Right of {body} the same holds mirrored, from the
// end. Two variable parts side by side are refused, except a Unix
// timestamp of a pinned unit (s or ms) right next to {body}: moving a digit
// across multiplies or divides it by about 10, which puts it decades away
// from now, where the (required, bounded) tolerance check refuses it. With
// unit auto the length is not pinned (13 digits of ms and 10 of seconds
// are the same instant, whatever the tolerance), so that exception does
// not hold: refused.
func recipeDelimit(parts []recipePart, url, tsUnit string, c Config) error {
	bi := 0
	for i, p := range parts {
		if p.kind == recipeBody {
			bi = i
		}
	}
	// fixedEdge returns the first (or last) byte of a fixed part.
	fixedEdge := func(p recipePart, last bool) (byte, bool) {
		var s []byte
		switch p.kind {
		case recipeLiteral:
			s = p.lit
		case recipeURL:
			s = []byte(url)
		default:
			return 0, false
		}
		if last {
			return s[len(s)-1], true
		}
		return s[0], true
	}
	for i := range parts {
		p := &parts[i]
		var base [256]bool
		adaptive := false // the value refuses its delimiter
		switch p.kind {
		case recipeLiteral, recipeURL, recipeBody:
			continue
		case recipeTimestamp:
			if tsUnit == "rfc3339" || tsUnit == "iso8601" {
				base = recipeISOChars
			} else {
				base = recipeDigits
			}
		case recipeMethod:
			base = recipeMethodSet
		case recipePath:
			base, adaptive = recipePathSet, true
		case recipeID:
			base, adaptive = recipeIDSet, true
		case recipeHeader:
			base, adaptive = recipeValueSet, true
		}
		set := base
		p.allowed = &set
		name := recipePartName(*p)
		var nb int // the neighbour that delimits it
		if i < bi {
			nb = i + 1
		} else {
			nb = i - 1
		}
		if p.kind == recipeTimestamp && tsUnit == "rfc3339" {
			continue // prefix-free and suffix-free: delimits itself
		}
		if p.kind == recipeTimestamp && tsUnit == "iso8601" && i < bi {
			// Read from the start, a valid ISO 8601 value can only be
			// continued into a longer valid one by a fraction or a zone
			// (".", digits, "Z", "+", "-"): any other delimiting byte, even
			// one the value holds (Orb's ":"), ends it in one place only.
			if e, ok := fixedEdge(parts[nb], false); ok && strings.IndexByte("0123456789.Z+-", e) < 0 {
				continue
			}
		}
		edge, fixed := fixedEdge(parts[nb], i > bi)
		switch {
		case fixed && adaptive:
			set[edge] = false
		case fixed && !base[edge]:
		case fixed:
			return fmt.Errorf("%s can contain %q, the text that delimits it, so the parts can be cut in two ways", name, edge)
		case parts[nb].kind == recipeBody && p.kind == recipeTimestamp && tsUnit == "auto":
			// 13 digits of ms, or 10 of seconds and 3 moved across: the
			// same instant, so no tolerance tells the two cuts apart.
			return fmt.Errorf("%s touches {body} with no text between, and timestamp_unit auto lets its length vary (13 digits of ms or 10 of seconds at the same instant), so the parts can be cut in two ways: set timestamp_unit s or ms", name)
		case parts[nb].kind == recipeBody && p.kind == recipeTimestamp && tsUnit != "iso8601":
			tol, on := c.EffectiveTolerance()
			if !on {
				return fmt.Errorf("%s touches {body} with no text between: only the tolerance check tells them apart, so it cannot be off here: remove tolerance off (the default is 5m)", name)
			}
			if tol > recipeMaxTolerance {
				return fmt.Errorf("%s touches {body} with no text between: only a tolerance check (at most %s) tells them apart", name, recipeMaxTolerance)
			}
		default:
			return fmt.Errorf("%s and %s are side by side with no text between, so the parts can be cut in two ways", name, recipePartName(parts[nb]))
		}
	}
	return nil
}

func recipePartName(p recipePart) string {
	switch p.kind {
	case recipeBody:
		return "{body}"
	case recipeTimestamp:
		return "{timestamp}"
	case recipeID:
		return "{id}"
	case recipeMethod:
		return "{method}"
	case recipePath:
		return "{path}"
	case recipeURL:
		return "{url}"
	case recipeHeader:
		return "{header:" + string(p.lit) + "}"
	}
	return strconv.Quote(string(p.lit))
}

// Package sfv parses Structured Field Values for HTTP (RFC 8941): the Dictionary,
// List and Item field types with inner lists, parameters, integers,
// decimals, strings, tokens, byte sequences and booleans. It follows the
// parsing algorithms of RFC 8941 §4.2 step by step, and fails on anything
// they reject. It is used for RFC 9421 (HTTP Message Signatures) and
// RFC 9530 (Content-Digest).
//
// Two additions serve signature verification:
//   - every Dictionary member records Raw, the exact text of its value
//     (item or inner list, with its parameters) as it appeared in the
//     field, because RFC 9421's @signature-params is that text;
//   - duplicated keys, which RFC 8941 resolves by letting the last one win,
//     are reported (Dictionary.Dup) so that a caller can fail closed instead.
//
// The input is bounded by the caller (the verifiers parse header values of
// at most 8 KiB); parsing is linear in it and does not recurse
// (inner lists cannot nest).
package sfv

import (
	"encoding/base64"
	"errors"
	"strconv"
)

// ErrInvalid is returned for any input RFC 8941 says to fail on.
var ErrInvalid = errors.New("invalid structured field")

// Token is a Token bare item (distinct from a String).
type Token string

// Decimal is a Decimal bare item (distinct from an Integer, which is int64).
type Decimal float64

// InnerList is the value of an Item that is an Inner List.
type InnerList []Item

// Item is an Item or an Inner List with its parameters. Value holds an
// int64, Decimal, string, Token, []byte, bool or InnerList.
type Item struct {
	Value  any
	Params []Param
}

// Param is one parameter; Value is a bare item (never an InnerList).
type Param struct {
	Key   string
	Value any
}

// Member is one Dictionary member.
type Member struct {
	Key string
	Item
	// Raw is the member's value exactly as it appeared in the field, from
	// the character after "=" to the end of its parameters (for a member
	// without "=", its parameters only).
	Raw string
}

// Dictionary is a parsed Dictionary, members in field order.
type Dictionary struct {
	Members []Member
	// Dup is set when a key occurred more than once, in the dictionary or
	// in any parameter list within it.
	Dup bool
}

// get returns the member named key.
func (d *Dictionary) Get(key string) (*Member, bool) {
	for i := range d.Members {
		if d.Members[i].Key == key {
			return &d.Members[i], true
		}
	}
	return nil, false
}

// param returns the parameter named key.
func (it Item) Param(key string) (any, bool) {
	for _, p := range it.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return nil, false
}

type parser struct {
	s   string
	i   int
	dup bool
}

// ParseDictionary parses a Dictionary field value. Several field lines
// must be joined with ", " by the caller.
func ParseDictionary(s string) (*Dictionary, error) {
	p := &parser{s: s}
	p.discardSP()
	d := &Dictionary{}
	pos := map[string]int{}
	for !p.eof() {
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		var m Member
		m.Key = key
		if p.peek() == '=' {
			p.i++
			start := p.i
			if m.Item, err = p.parseItemOrInnerList(); err != nil {
				return nil, err
			}
			m.Raw = p.s[start:p.i]
		} else {
			start := p.i
			m.Value = true
			if m.Params, err = p.parseParameters(); err != nil {
				return nil, err
			}
			m.Raw = p.s[start:p.i]
		}
		if j, ok := pos[key]; ok {
			// RFC 8941 §4.2.2: overwrite the value, keep the position.
			d.Members[j] = m
			p.dup = true
		} else {
			pos[key] = len(d.Members)
			d.Members = append(d.Members, m)
		}
		if err := p.nextMember(); err != nil {
			return nil, err
		}
	}
	p.discardSP()
	d.Dup = p.dup
	return d, nil
}

// ParseList parses a List field value.
func ParseList(s string) ([]Item, error) {
	p := &parser{s: s}
	p.discardSP()
	var list []Item
	for !p.eof() {
		it, err := p.parseItemOrInnerList()
		if err != nil {
			return nil, err
		}
		list = append(list, it)
		if err := p.nextMember(); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// ParseItem parses an Item field value.
func ParseItem(s string) (Item, error) {
	p := &parser{s: s}
	p.discardSP()
	it, err := p.parseItem()
	if err != nil {
		return Item{}, err
	}
	p.discardSP()
	if !p.eof() {
		return Item{}, ErrInvalid
	}
	return it, nil
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

func (p *parser) peek() byte {
	if p.eof() {
		return 0
	}
	return p.s[p.i]
}

func (p *parser) discardSP() {
	for !p.eof() && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *parser) discardOWS() {
	for !p.eof() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// nextMember consumes the separator after a list or dictionary member:
// OWS, then either the end of input or "," OWS and another member (a
// trailing comma fails).
func (p *parser) nextMember() error {
	p.discardOWS()
	if p.eof() {
		return nil
	}
	if p.s[p.i] != ',' {
		return ErrInvalid
	}
	p.i++
	p.discardOWS()
	if p.eof() {
		return ErrInvalid
	}
	return nil
}

func (p *parser) parseItemOrInnerList() (Item, error) {
	if p.peek() == '(' {
		return p.parseInnerList()
	}
	return p.parseItem()
}

func (p *parser) parseInnerList() (Item, error) {
	p.i++ // "("
	list := InnerList{}
	for !p.eof() {
		p.discardSP()
		if p.peek() == ')' {
			p.i++
			params, err := p.parseParameters()
			if err != nil {
				return Item{}, err
			}
			return Item{Value: list, Params: params}, nil
		}
		it, err := p.parseItem()
		if err != nil {
			return Item{}, err
		}
		list = append(list, it)
		if c := p.peek(); c != ' ' && c != ')' {
			return Item{}, ErrInvalid
		}
	}
	return Item{}, ErrInvalid // no closing parenthesis
}

func (p *parser) parseItem() (Item, error) {
	v, err := p.parseBareItem()
	if err != nil {
		return Item{}, err
	}
	params, err := p.parseParameters()
	if err != nil {
		return Item{}, err
	}
	return Item{Value: v, Params: params}, nil
}

func (p *parser) parseParameters() ([]Param, error) {
	var params []Param
	for p.peek() == ';' {
		p.i++
		p.discardSP()
		key, err := p.parseKey()
		if err != nil {
			return nil, err
		}
		var v any = true
		if p.peek() == '=' {
			p.i++
			if v, err = p.parseBareItem(); err != nil {
				return nil, err
			}
		}
		replaced := false
		for j := range params {
			if params[j].Key == key {
				params[j].Value = v
				replaced, p.dup = true, true
			}
		}
		if !replaced {
			params = append(params, Param{Key: key, Value: v})
		}
	}
	return params, nil
}

func (p *parser) parseKey() (string, error) {
	c := p.peek()
	if !(c >= 'a' && c <= 'z') && c != '*' {
		return "", ErrInvalid
	}
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		if !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '_' && c != '-' && c != '.' && c != '*' {
			break
		}
		p.i++
	}
	return p.s[start:p.i], nil
}

func (p *parser) parseBareItem() (any, error) {
	c := p.peek()
	switch {
	case c == '-' || (c >= '0' && c <= '9'):
		return p.parseNumber()
	case c == '"':
		return p.parseString()
	case c == '*' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		return p.parseToken(), nil
	case c == ':':
		return p.parseByteSequence()
	case c == '?':
		return p.parseBoolean()
	}
	return nil, ErrInvalid
}

// parseNumber is RFC 8941 §4.2.4.
func (p *parser) parseNumber() (any, error) {
	neg := false
	if p.peek() == '-' {
		neg = true
		p.i++
	}
	if c := p.peek(); c < '0' || c > '9' {
		return nil, ErrInvalid
	}
	start := p.i
	decimal := false
	for !p.eof() {
		c := p.s[p.i]
		switch {
		case c >= '0' && c <= '9':
			p.i++
		case c == '.' && !decimal:
			if p.i-start > 12 {
				return nil, ErrInvalid
			}
			decimal = true
			p.i++
		default:
			goto done
		}
		if !decimal && p.i-start > 15 {
			return nil, ErrInvalid
		}
		if decimal && p.i-start > 16 {
			return nil, ErrInvalid
		}
	}
done:
	num := p.s[start:p.i]
	if !decimal {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, ErrInvalid
		}
		if neg {
			n = -n
		}
		return n, nil
	}
	if num[len(num)-1] == '.' {
		return nil, ErrInvalid
	}
	dot := 0
	for dot < len(num) && num[dot] != '.' {
		dot++
	}
	if len(num)-dot-1 > 3 {
		return nil, ErrInvalid
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil, ErrInvalid
	}
	if neg {
		f = -f
	}
	return Decimal(f), nil
}

// parseString is RFC 8941 §4.2.5.
func (p *parser) parseString() (any, error) {
	p.i++ // opening DQUOTE
	var out []byte
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.eof() {
				return nil, ErrInvalid
			}
			n := p.s[p.i]
			p.i++
			if n != '"' && n != '\\' {
				return nil, ErrInvalid
			}
			out = append(out, n)
		case c == '"':
			return string(out), nil
		case c < 0x20 || c > 0x7e:
			return nil, ErrInvalid
		default:
			out = append(out, c)
		}
	}
	return nil, ErrInvalid // unterminated
}

// parseToken is RFC 8941 §4.2.6 (the first character is checked by the caller).
func (p *parser) parseToken() Token {
	start := p.i
	p.i++
	for !p.eof() && (IsTchar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
		p.i++
	}
	return Token(p.s[start:p.i])
}

func IsTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// parseByteSequence is RFC 8941 §4.2.7. Missing "=" padding and non-zero
// pad bits are tolerated, as that section recommends.
func (p *parser) parseByteSequence() (any, error) {
	p.i++ // opening ":"
	start := p.i
	for !p.eof() && p.s[p.i] != ':' {
		c := p.s[p.i]
		if !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '+' && c != '/' && c != '=' {
			return nil, ErrInvalid
		}
		p.i++
	}
	if p.eof() {
		return nil, ErrInvalid
	}
	b64 := p.s[start:p.i]
	p.i++ // closing ":"
	enc := base64.StdEncoding
	if len(b64)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(b64)
	if err != nil {
		return nil, ErrInvalid
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// parseBoolean is RFC 8941 §4.2.8.
func (p *parser) parseBoolean() (any, error) {
	p.i++ // "?"
	switch p.peek() {
	case '1':
		p.i++
		return true, nil
	case '0':
		p.i++
		return false, nil
	}
	return nil, ErrInvalid
}

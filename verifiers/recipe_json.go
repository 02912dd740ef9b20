package verifiers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// recipeMaxPointer bounds the reference tokens of a timestamp_field pointer.
const recipeMaxPointer = 8

// recipeParsePointer splits an RFC 6901 JSON pointer into its reference
// tokens (~1 is "/", ~0 is "~"). The empty pointer (the whole document) is
// refused: a timestamp is a member.
func recipeParsePointer(p string) ([]string, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("%q is not a JSON pointer (it must start with /)", p)
	}
	toks := strings.Split(p[1:], "/")
	if len(toks) > recipeMaxPointer {
		return nil, fmt.Errorf("pointer %q is deeper than %d", p, recipeMaxPointer)
	}
	for i, t := range toks {
		for j := 0; j < len(t); j++ {
			if t[j] == '~' && (j+1 == len(t) || (t[j+1] != '0' && t[j+1] != '1')) {
				return nil, fmt.Errorf("pointer %q has a bad ~ escape", p)
			}
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// recipeJSONField returns the text of the JSON number or string at the
// pointer toks in body. Objects on the path must hold the member once and
// no member that differs from it only in letter case (Go's decoder folds
// case, so such a twin could be what the upstream reads); anything else
// is ErrMalformed.
func recipeJSONField(body []byte, toks []string) (string, error) {
	bad := func(what string) error {
		return fmt.Errorf("%w: timestamp field: %s", ErrMalformed, what)
	}
	raw := json.RawMessage(body)
	for _, tok := range toks {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		t, err := dec.Token()
		if err != nil {
			return "", bad("the body is not JSON")
		}
		var found json.RawMessage
		switch t {
		case json.Delim('{'):
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return "", bad("the body is not JSON")
				}
				k, _ := kt.(string)
				var val json.RawMessage
				if err := dec.Decode(&val); err != nil {
					return "", bad("the body is not JSON")
				}
				if !strings.EqualFold(k, tok) {
					continue
				}
				if k != tok || found != nil {
					return "", bad("member repeated or in another letter case")
				}
				found = val
			}
		case json.Delim('['):
			idx, err := strconv.Atoi(tok)
			if err != nil || idx < 0 || (len(tok) > 1 && tok[0] == '0') {
				return "", bad("not found")
			}
			for i := 0; dec.More(); i++ {
				var val json.RawMessage
				if err := dec.Decode(&val); err != nil {
					return "", bad("the body is not JSON")
				}
				if i == idx {
					found = val
				}
			}
		default:
			return "", bad("not found")
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return "", bad("the body is not JSON")
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return "", bad("the body is not one JSON value")
		}
		if found == nil {
			return "", bad("not found")
		}
		raw = found
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return "", bad("the body is not JSON")
	}
	switch x := t.(type) {
	case json.Number:
		return string(x), nil
	case string:
		return x, nil
	}
	return "", bad("not a number or a string")
}

package verifiers

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Form bodies: shared by the schemes that sign decoded form fields (Twilio,
// Mandrill) and by Mailgun, whose legacy webhooks carry the signature as
// form fields.

// formsigMaxFields bounds the number of fields parsed from a form body. Real
// deliveries carry a few dozen at most (Twilio) or one (Mandrill).
const formsigMaxFields = 1000

// formsigField is one decoded name=value pair of a form body, in body order.
type formsigField struct {
	name, value string
}

// formsigParse decodes an application/x-www-form-urlencoded body into its
// fields, in order, keeping repeated names. Empty pairs ("a=1&&b=2") are
// skipped and a pair without "=" has an empty value, as in net/url. Only
// "&" separates pairs. An invalid escape or more than formsigMaxFields fields
// is ErrMalformed; the error never quotes the body.
func formsigParse(body string) ([]formsigField, error) {
	var fields []formsigField
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" {
			continue
		}
		if len(fields) == formsigMaxFields {
			return nil, fmt.Errorf("%w: more than %d form fields", ErrMalformed, formsigMaxFields)
		}
		k, v, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("%w: invalid form encoding", ErrMalformed)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%w: invalid form encoding", ErrMalformed)
		}
		fields = append(fields, formsigField{name, value})
	}
	return fields, nil
}

// formsigUnique returns ErrMalformed if a name occurs more than once:
// for schemes whose reference implementations read the form into a map, a
// repeated name is ambiguous.
func formsigUnique(fields []formsigField) error {
	seen := make(map[string]struct{}, len(fields))
	for _, f := range fields {
		if _, dup := seen[f.name]; dup {
			return fmt.Errorf("%w: duplicated form field", ErrMalformed)
		}
		seen[f.name] = struct{}{}
	}
	return nil
}

// formsigSorted is the parameter part of the URL-signed schemes: the
// fields sorted by name (byte order, that is case-sensitive, "Unix-style"),
// repeated names by value, each appended as name+value with no delimiter.
// This is twilio-python's compute_signature (sorted names, then the sorted
// values of each name) and the Mandrill docs' algorithm.
func formsigSorted(fields []formsigField) string {
	sorted := make([]formsigField, len(fields))
	copy(sorted, fields)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].name != sorted[j].name {
			return sorted[i].name < sorted[j].name
		}
		return sorted[i].value < sorted[j].value
	})
	var b strings.Builder
	for _, f := range sorted {
		b.WriteString(f.name)
		b.WriteString(f.value)
	}
	return b.String()
}

// formsigMediaType returns the media type (lowercase) and parameters of the
// request's Content-Type, or "" when there is none. A duplicated or
// unparsable Content-Type is ErrMalformed.
func formsigMediaType(h http.Header) (string, map[string]string, error) {
	v, err := OptionalHeader(h, "Content-Type")
	if err != nil || v == "" {
		return "", nil, err
	}
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return "", nil, fmt.Errorf("%w: invalid Content-Type", ErrMalformed)
	}
	return mt, params, nil
}

const formsigFormType = "application/x-www-form-urlencoded"

package verifiers

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
)

// Mailgun puts its signature in the body, not in a header:
//
//	JSON webhooks:  {"signature": {"timestamp": "1403645220", "token": "<50 chars>",
//	                 "signature": "<hex>", "parent-signature": "<hex>"}, "event-data": {...}}
//	legacy webhooks and inbound routes: form fields timestamp, token and
//	signature (application/x-www-form-urlencoded or multipart/form-data)
//
// signature = hex(HMAC-SHA256(signing key, timestamp + token)), the signing
// key used verbatim. Sources: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks ,
// github:mailgun/mailgun-go webhooks.go (VerifyWebhookSignature).
//
// The signature covers neither the event data nor the rest of the form: the
// token, which is signed, is the replay key (Result.SignedID), mailgun is
// not a BodySigner, so the handler binds the body to the token (a copy of
// the token with other event data is refused), and replay protection must
// stay on for this provider to mean much.
//
// parent-signature: events of a subaccount also carry "parent-signature",
// the same HMAC keyed with the primary (parent) account's signing key, so
// one receiver can verify every subaccount with the parent key. Both values
// are checked against every configured secret; Result.Key tells which secret
// matched. It is read from JSON bodies only (the docs show it there).
//
// Multipart bodies (inbound routes with attachments) are read part by part
// to the end, at most mailgunMaxParts parts (more is ErrMalformed), each
// wanted field at most mailgunMaxField bytes. Any repeat of timestamp,
// token or signature, wherever it comes, is ErrMalformed, as in form and
// JSON bodies: frameworks disagree on which copy they keep. So is a name
// that a loose reader would take for one of them ("Token", "ſignature":
// see looseEqual; in JSON, any non-ASCII member name of the two
// objects), and a multipart part with a Content-Transfer-Encoding or two
// Content-Disposition headers.

func init() {
	Register("mailgun", newMailgun)
	RegisterSigner("mailgun", signMailgun)
}

const (
	mailgunMaxParts = 1000
	mailgunMaxField = 1024
	mailgunMaxToken = 256
	mailgunMaxID    = 256
)

type mailgun struct {
	cfg  Config
	keys [][]byte
}

func newMailgun(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	return &mailgun{cfg: c, keys: keys}, nil
}

// HasTimestamp: the signed timestamp is checked against the tolerance.
func (v *mailgun) HasTimestamp() bool { return true }

// mailgunFields is the signing material found in a body.
type mailgunFields struct {
	timestamp, token string
	signatures       []string // signature, then parent-signature if present
	eventData        []byte   // the raw event-data member (JSON only), unsigned
}

func (v *mailgun) Verify(r *Request) (*Result, error) {
	f, err := mailgunParse(r)
	if err != nil {
		return nil, err
	}
	if f.token == "" || len(f.token) > mailgunMaxToken {
		return nil, fmt.Errorf("%w: missing or oversized token", ErrMalformed)
	}
	ts, err := ParseUnix(f.timestamp)
	if err != nil {
		return nil, err
	}
	candidates := make([][]byte, 0, len(f.signatures))
	for _, s := range f.signatures {
		b, ok := DecodeHex(s)
		if !ok {
			return nil, fmt.Errorf("%w: signature is not hex", ErrMalformed)
		}
		candidates = append(candidates, b)
	}
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}
	msg := []byte(f.timestamp + f.token)
	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		expected[i] = MAC(sha256.New, k, msg)
	}
	key, _, ok := MatchMAC(expected, candidates)
	if !ok {
		return nil, fmt.Errorf("%w: mailgun signature", ErrSignature)
	}
	// event-data.id is only a label for logs, read once the request is
	// authentic so that forged bodies cost no second parse.
	id := mailgunEventLabel(f.eventData)
	if id == "" {
		id = f.token
	}
	// The signature material (replay { key signature }) is the MAC under
	// the first secret, the same for every copy whichever of signature and
	// parent-signature it carries.
	return &Result{ID: id, SignedID: f.token, Signature: expected[0], Timestamp: ts, Key: key}, nil
}

// mailgunParse reads the signing fields from the body according to its
// Content-Type. It never modifies r.Body.
func mailgunParse(r *Request) (mailgunFields, error) {
	mt, params, err := formsigMediaType(r.Header)
	if err != nil {
		return mailgunFields{}, err
	}
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return mailgunJSON(r.Body)
	case mt == formsigFormType:
		return mailgunForm(r.Body)
	case mt == "multipart/form-data":
		return mailgunMultipart(r.Body, params["boundary"])
	case mt == "":
		return mailgunFields{}, fmt.Errorf("%w: missing Content-Type", ErrMalformed)
	default:
		return mailgunFields{}, fmt.Errorf("%w: unsupported Content-Type %q", ErrMalformed, mt)
	}
}

func mailgunJSON(body []byte) (mailgunFields, error) {
	var f mailgunFields
	top, err := jsonMembers(body, true, "signature", "event-data")
	if err != nil {
		return f, err
	}
	raw, ok := top["signature"]
	if !ok {
		return f, fmt.Errorf("%w: missing signature object", ErrMalformed)
	}
	sig, err := jsonMembers(raw, true, "timestamp", "token", "signature", "parent-signature")
	if err != nil {
		return f, err
	}
	// The timestamp is a string in Mailgun's payloads; the docs' table calls
	// it an int, so a JSON number is accepted too (its literal digits are
	// what is signed; ParseUnix rejects anything but digits).
	if ts, ok := sig["timestamp"]; ok {
		if len(ts) > 0 && ts[0] == '"' {
			if f.timestamp, err = mailgunJSONString(ts, "timestamp"); err != nil {
				return f, err
			}
		} else {
			f.timestamp = string(ts)
		}
	}
	if f.token, err = mailgunJSONString(sig["token"], "token"); err != nil {
		return f, err
	}
	s, err := mailgunJSONString(sig["signature"], "signature")
	if err != nil {
		return f, err
	}
	f.signatures = append(f.signatures, s)
	if p, ok := sig["parent-signature"]; ok {
		ps, err := mailgunJSONString(p, "parent-signature")
		if err != nil {
			return f, err
		}
		if ps != "" {
			f.signatures = append(f.signatures, ps)
		}
	}
	f.eventData = top["event-data"]
	return f, nil
}

// mailgunEventLabel returns event-data.id, or "" if it is not there or not a
// short string.
func mailgunEventLabel(ev []byte) string {
	if len(ev) == 0 {
		return ""
	}
	evf, err := jsonMembers(ev, false, "id")
	if err != nil {
		return ""
	}
	var id string
	if json.Unmarshal(evf["id"], &id) != nil || len(id) > mailgunMaxID {
		return ""
	}
	return id
}

func mailgunForm(body []byte) (mailgunFields, error) {
	var f mailgunFields
	fields, err := formsigParse(string(body))
	if err != nil {
		return f, err
	}
	got := map[string]string{}
	for _, ff := range fields {
		name, ok, err := mailgunFieldName(ff.name)
		if err != nil {
			return f, err
		}
		if !ok {
			continue
		}
		if _, dup := got[name]; dup {
			return f, fmt.Errorf("%w: duplicated form field %s", ErrMalformed, name)
		}
		got[name] = ff.value
	}
	return mailgunFromMap(got)
}

func mailgunMultipart(body []byte, boundary string) (mailgunFields, error) {
	if boundary == "" {
		return mailgunFields{}, fmt.Errorf("%w: multipart body without boundary", ErrMalformed)
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	got := map[string]string{}
	// Every part is looked at, up to the limit, even once the three fields
	// are in: a later part of the same name would be what a framework that
	// keeps the last value hands the upstream.
	for parts := 0; ; parts++ {
		// NextRawPart: NextPart would decode a quoted-printable part
		// and hide its Content-Transfer-Encoding.
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return mailgunFields{}, fmt.Errorf("%w: invalid multipart body", ErrMalformed)
		}
		if parts == mailgunMaxParts {
			return mailgunFields{}, fmt.Errorf("%w: more than %d multipart parts", ErrMalformed, mailgunMaxParts)
		}
		if len(p.Header["Content-Transfer-Encoding"]) > 0 {
			// RFC 7578 §4.7: senders must not use it; readers disagree on
			// whether they decode it.
			return mailgunFields{}, fmt.Errorf("%w: multipart part with a Content-Transfer-Encoding", ErrMalformed)
		}
		if len(p.Header["Content-Disposition"]) > 1 {
			return mailgunFields{}, fmt.Errorf("%w: multipart part with two Content-Disposition headers", ErrMalformed)
		}
		name, ok, err := mailgunFieldName(p.FormName())
		if err != nil {
			return mailgunFields{}, err
		}
		if !ok {
			continue
		}
		if _, dup := got[name]; dup {
			return mailgunFields{}, fmt.Errorf("%w: duplicated form field %s", ErrMalformed, name)
		}
		if p.FileName() != "" {
			// A file part under a signing field's name: frameworks that
			// merge files into the parameters (Rails) would see it.
			return mailgunFields{}, fmt.Errorf("%w: form field %s sent as a file", ErrMalformed, name)
		}
		b, err := io.ReadAll(io.LimitReader(p, mailgunMaxField+1))
		if err != nil {
			return mailgunFields{}, fmt.Errorf("%w: invalid multipart body", ErrMalformed)
		}
		if len(b) > mailgunMaxField {
			return mailgunFields{}, fmt.Errorf("%w: form field %s too long", ErrMalformed, name)
		}
		got[name] = string(b)
	}
	return mailgunFromMap(got)
}

func mailgunFromMap(got map[string]string) (mailgunFields, error) {
	for _, n := range []string{"timestamp", "token", "signature"} {
		if got[n] == "" {
			return mailgunFields{}, fmt.Errorf("%w: missing form field %s", ErrMalformed, n)
		}
	}
	return mailgunFields{
		timestamp:  got["timestamp"],
		token:      got["token"],
		signatures: []string{got["signature"]},
	}, nil
}

// mailgunSigningFields are the form fields of the signature.
var mailgunSigningFields = []string{"timestamp", "token", "signature"}

// mailgunFieldName sorts a form field name: ok for a signing field, an
// ErrMalformed error for a name a loose reader would take for one.
func mailgunFieldName(n string) (name string, ok bool, err error) {
	for _, f := range mailgunSigningFields {
		if n == f {
			return f, true, nil
		}
		if looseEqual(n, f) {
			return "", false, fmt.Errorf("%w: form field %s in another spelling", ErrMalformed, f)
		}
	}
	return "", false, nil
}

// mailgunJSONString decodes a required JSON string member.
func mailgunJSONString(raw json.RawMessage, name string) (string, error) {
	if raw == nil {
		return "", fmt.Errorf("%w: missing %s", ErrMalformed, name)
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%w: %s is not a string", ErrMalformed, name)
	}
	if len(s) > mailgunMaxField {
		return "", fmt.Errorf("%w: %s too long", ErrMalformed, name)
	}
	return s, nil
}

// signMailgun wraps the body (the event data, JSON; or a whole Mailgun
// payload, whose event-data is kept) in a JSON webhook body with a fresh
// signature block: hex HMAC-SHA256(key, timestamp + token).
func signMailgun(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	event := bytes.TrimSpace(r.Body)
	if len(event) == 0 {
		event = []byte("{}")
	}
	if !json.Valid(event) {
		return nil, fmt.Errorf("body (the event data) is not JSON")
	}
	if m, err := jsonMembers(event, false, "event-data"); err == nil && m["event-data"] != nil {
		event = m["event-data"]
	}
	token := r.ID
	if token == "" {
		b := make([]byte, 25)
		rand.Read(b)
		token = hex.EncodeToString(b) // 50 characters, like Mailgun's
	}
	if len(token) > mailgunMaxToken {
		return nil, fmt.Errorf("id (the token) is longer than %d bytes", mailgunMaxToken)
	}
	ts := unixString(r)
	sig := hex.EncodeToString(MAC(sha256.New, key, []byte(ts+token)))
	tok, err := jsonString(token)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, `{"signature":{"timestamp":"%s","token":%s,"signature":"%s"},"event-data":`, ts, tok, sig)
	body.Write(event)
	body.WriteString("}")
	s := newSigned(body.Bytes(), contentType(r, "application/json"))
	s.BodyRewritten = true
	return s, nil
}

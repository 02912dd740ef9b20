package verifiers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Adyen standard (payments) webhooks, JSON format
// (https://docs.adyen.com/development-resources/webhooks/verify-hmac-signatures/):
// the signature is inside the body. Each
// notificationItems[].NotificationRequestItem carries
// additionalData.hmacSignature = base64(HMAC-SHA256(hex-decoded HMAC key,
// pspReference:originalReference:merchantAccountCode:merchantReference:
// value:currency:eventCode:success)), the fields joined with ':' and not
// escaped, an absent field as "" (an absent amount as value 0 and currency
// ""), as in Adyen's Go, Node and Java libraries. Every item must verify;
// the HMAC key is configured as the Customer Area shows it (hex).
//
// Only those fields are signed: the rest of the body (live, eventDate,
// reason, paymentMethod, the rest of additionalData) is not, so an
// application must trust only the signed fields of what it receives.
//
// So that the signed string names one set of fields, value must be an
// integer, and pspReference, originalReference, merchantAccountCode,
// currency, eventCode and success must not contain ':' (only
// merchantReference, between them, may). So that the application reads
// the values that were verified, the objects on the path to the signed
// fields (the body, each item, NotificationRequestItem, amount,
// additionalData) must not repeat a key, compared without case, nor
// spell a signed field's name in another case, and keys must be ASCII.
//
// No timestamp and no delivery id: each item is its own replay key
// (Result.Items: a digest of the item's expected MAC under the first key,
// the same whatever unsigned field a copy changes), so a batch is new only
// if all its items are, and neither a subset nor a superset of an accepted
// batch is forwarded. A batch that repeats an item (the same signed
// fields, so the same signature, whatever unsigned fields differ) is
// ErrMalformed. Since the unsigned fields are not covered, the handler
// binds the body to each item's key (adyen is not a BodySigner): a copy of
// an item in another body is refused for the replay TTL.

func init() {
	Register("adyen", newAdyen)
	RegisterSigner("adyen", signAdyen)
}

// adyenMaxItems bounds the notification items of one body.
const adyenMaxItems = 1000

type adyen struct {
	keys [][]byte
}

func newAdyen(c Config) (Verifier, error) {
	if err := c.Allow("secret"); err != nil {
		return nil, err
	}
	if len(c.Secrets) == 0 {
		return nil, fmt.Errorf("provider %s needs at least one secret (the HMAC key, hex)", c.Provider)
	}
	keys := make([][]byte, len(c.Secrets))
	for i, s := range c.Secrets {
		k, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil || len(k) == 0 {
			return nil, fmt.Errorf("provider %s: secret %d is not a hex HMAC key", c.Provider, i+1)
		}
		keys[i] = k
	}
	return &adyen{keys: keys}, nil
}

// HasTimestamp: Adyen notifications carry no signed timestamp.
func (v *adyen) HasTimestamp() bool { return false }

// adyenItem is what is signed of one notification item, and its signature.
type adyenItem struct {
	signed string
	sig    []byte
	psp    string
}

func (v *adyen) Verify(r *Request) (*Result, error) {
	items, err := adyenParse(r.Body)
	if err != nil {
		return nil, err
	}
	digest := sha256.New()
	key := -1
	materials := make([][]byte, len(items))
	seen := make(map[string]int, len(items))
	for i, it := range items {
		if j, dup := seen[it.signed]; dup {
			return nil, fmt.Errorf("%w: notification item %d repeats item %d", ErrMalformed, i+1, j+1)
		}
		seen[it.signed] = i
		expected := make([][]byte, len(v.keys))
		for j, k := range v.keys {
			expected[j] = MAC(sha256.New, k, []byte(it.signed))
		}
		k, _, ok := MatchMAC(expected, [][]byte{it.sig})
		if !ok {
			return nil, fmt.Errorf("%w: hmacSignature of notification item %d does not match", ErrSignature, i+1)
		}
		if key < 0 {
			key = k
		}
		digest.Write(expected[0])
		// The item's replay material; for a batch of one it is also the
		// Signature below, so the key is what it was before items were
		// keyed one by one.
		m := sha256.Sum256(expected[0])
		materials[i] = m[:]
	}
	return &Result{ID: items[0].psp, Signature: digest.Sum(nil), Items: materials, Key: key}, nil
}

// adyenParse reads the notification items of a JSON body strictly.
func adyenParse(body []byte) ([]adyenItem, error) {
	top, err := adyenObject(body, "notificationItems", "live")
	if err != nil {
		return nil, err
	}
	raw, ok := top["notificationItems"]
	if !ok {
		return nil, fmt.Errorf("%w: no notificationItems", ErrMalformed)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
		return nil, fmt.Errorf("%w: notificationItems is not a non-empty array", ErrMalformed)
	}
	if len(list) > adyenMaxItems {
		return nil, fmt.Errorf("%w: more than %d notification items", ErrMalformed, adyenMaxItems)
	}
	items := make([]adyenItem, len(list))
	for i, el := range list {
		wrap, err := adyenObject(el, "NotificationRequestItem")
		if err != nil {
			return nil, fmt.Errorf("notification item %d: %w", i+1, err)
		}
		it, ok := wrap["NotificationRequestItem"]
		if !ok {
			return nil, fmt.Errorf("%w: notification item %d has no NotificationRequestItem", ErrMalformed, i+1)
		}
		if items[i], err = adyenReadItem(it); err != nil {
			return nil, fmt.Errorf("notification item %d: %w", i+1, err)
		}
	}
	return items, nil
}

// adyenSigned are the signed string fields of an item, in signing order
// around the amount.
var adyenSigned = []string{"pspReference", "originalReference", "merchantAccountCode", "merchantReference", "eventCode", "success"}

func adyenReadItem(raw json.RawMessage) (adyenItem, error) {
	m, err := adyenObject(raw, append([]string{"amount", "additionalData"}, adyenSigned...)...)
	if err != nil {
		return adyenItem{}, err
	}
	f := make(map[string]string, len(adyenSigned))
	for _, name := range adyenSigned {
		s, err := adyenString(m, name)
		if err != nil {
			return adyenItem{}, err
		}
		if name != "merchantReference" && strings.IndexByte(s, ':') >= 0 {
			return adyenItem{}, fmt.Errorf("%w: %s contains ':'", ErrMalformed, name)
		}
		f[name] = s
	}
	value, currency := "0", ""
	if a, ok := m["amount"]; ok && !adyenNull(a) {
		am, err := adyenObject(a, "value", "currency")
		if err != nil {
			return adyenItem{}, fmt.Errorf("amount: %w", err)
		}
		if currency, err = adyenString(am, "currency"); err != nil {
			return adyenItem{}, err
		}
		if strings.IndexByte(currency, ':') >= 0 {
			return adyenItem{}, fmt.Errorf("%w: currency contains ':'", ErrMalformed)
		}
		if vr, ok := am["value"]; ok && !adyenNull(vr) {
			if !adyenInteger(vr) {
				return adyenItem{}, fmt.Errorf("%w: amount value is not an integer", ErrMalformed)
			}
			value = string(vr)
		}
	}
	ad, ok := m["additionalData"]
	if !ok || adyenNull(ad) {
		return adyenItem{}, fmt.Errorf("%w: no additionalData.hmacSignature", ErrMalformed)
	}
	adm, err := adyenObject(ad, "hmacSignature")
	if err != nil {
		return adyenItem{}, fmt.Errorf("additionalData: %w", err)
	}
	s, err := adyenString(adm, "hmacSignature")
	if err != nil {
		return adyenItem{}, err
	}
	sig, ok := recipeDecodeBase64(s)
	if !ok || len(sig) != sha256.Size {
		return adyenItem{}, fmt.Errorf("%w: hmacSignature is not a base64 HMAC-SHA256", ErrMalformed)
	}
	signed := strings.Join([]string{f["pspReference"], f["originalReference"], f["merchantAccountCode"],
		f["merchantReference"], value, currency, f["eventCode"], f["success"]}, ":")
	return adyenItem{signed: signed, sig: sig, psp: f["pspReference"]}, nil
}

// adyenObject decodes one JSON object into its members. Keys must be
// ASCII and unique without regard to case, a key equal to one of known
// without regard to case must be spelled exactly so, and nothing may
// follow the object.
func adyenObject(raw []byte, known ...string) (map[string]json.RawMessage, error) {
	if !utf8.Valid(raw) {
		return nil, fmt.Errorf("%w: body is not utf-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%w: not a json object", ErrMalformed)
	}
	m := make(map[string]json.RawMessage)
	seen := make(map[string]bool)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid json", ErrMalformed)
		}
		k, _ := t.(string)
		for i := 0; i < len(k); i++ {
			if k[i] >= utf8.RuneSelf {
				return nil, fmt.Errorf("%w: field name is not ascii", ErrMalformed)
			}
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%w: invalid json", ErrMalformed)
		}
		lk := strings.ToLower(k)
		if seen[lk] {
			return nil, fmt.Errorf("%w: duplicated field", ErrMalformed)
		}
		seen[lk] = true
		for _, name := range known {
			if lk == strings.ToLower(name) && k != name {
				return nil, fmt.Errorf("%w: field %s misspelled", ErrMalformed, name)
			}
		}
		m[k] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, fmt.Errorf("%w: invalid json", ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the json object", ErrMalformed)
	}
	return m, nil
}

// adyenString returns a string member; absent or null is "".
func adyenString(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok || adyenNull(raw) {
		return "", nil
	}
	var s string
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%w: %s is not a string", ErrMalformed, name)
	}
	return s, nil
}

func adyenNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// adyenInteger reports whether a JSON number is an integer written with
// digits only (an optional minus sign, no fraction or exponent).
func adyenInteger(raw json.RawMessage) bool {
	s := string(bytes.TrimSpace(raw))
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// adyenPlaceholder stands in for the signatures while the signed strings
// are read back with the verifier's own parser.
var adyenPlaceholder = base64.StdEncoding.EncodeToString(make([]byte, sha256.Size))

// signAdyen: the body is an Adyen notification ({"live": ...,
// "notificationItems": [{"NotificationRequestItem": {...}}, ...]}); each
// item gets additionalData.hmacSignature, base64 HMAC-SHA256 (the hex
// secret) of its eight fields, read back by the verifier's parser so that
// the signer signs exactly what the verifier checks. The body is
// re-encoded (members sorted, numbers kept as written).
func signAdyen(_ string, r SignRequest) (*Signed, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("needs a secret (the HMAC key, hex)")
	}
	key, err := hex.DecodeString(strings.TrimSpace(r.Secret))
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("secret is not a hex HMAC key")
	}
	var top map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, fmt.Errorf("body is not an adyen notification (a json object)")
	}
	if dec.More() {
		return nil, fmt.Errorf("body has data after the json object")
	}
	list, _ := top["notificationItems"].([]any)
	if len(list) == 0 {
		return nil, fmt.Errorf("body has no notificationItems array")
	}
	ads := make([]map[string]any, len(list))
	for i, el := range list {
		wrap, _ := el.(map[string]any)
		item, _ := wrap["NotificationRequestItem"].(map[string]any)
		if item == nil {
			return nil, fmt.Errorf("notification item %d has no NotificationRequestItem object", i+1)
		}
		ad, _ := item["additionalData"].(map[string]any)
		if ad == nil {
			if v, ok := item["additionalData"]; ok && v != nil {
				return nil, fmt.Errorf("notification item %d: additionalData is not an object", i+1)
			}
			ad = map[string]any{}
			item["additionalData"] = ad
		}
		ad["hmacSignature"] = adyenPlaceholder
		ads[i] = ad
	}
	body, err := adyenEncode(top)
	if err != nil {
		return nil, err
	}
	items, err := adyenParse(body)
	if err != nil {
		return nil, err
	}
	if len(items) != len(ads) {
		return nil, fmt.Errorf("notification items do not read back")
	}
	for i, it := range items {
		ads[i]["hmacSignature"] = base64.StdEncoding.EncodeToString(MAC(sha256.New, key, []byte(it.signed)))
	}
	if body, err = adyenEncode(top); err != nil {
		return nil, err
	}
	s := newSigned(body, contentType(r, "application/json"))
	s.BodyRewritten = !bytes.Equal(body, r.Body)
	return s, nil
}

// adyenEncode is json.Marshal without HTML escaping or a trailing newline.
func adyenEncode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("body does not re-encode")
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

var _ Timestamped = (*adyen)(nil)

package verifiers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Vector: github:mailgun/mailgun-php tests/Api/WebhookTest.php
// @1835bc28d703a89c1cc947bfc25eda3ace77e421 (testVerifyWebhookGood /
// testVerifyWebhookBad). Mailgun publishes no vector for parent-signature;
// mailgunParentSig was computed with an independent implementation:
//
//	printf '%s' '14036452205egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6' |
//	  openssl dgst -sha256 -hmac 'parent-signing-key-for-tests' -hex
const (
	mailgunKey       = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
	mailgunTimestamp = "1403645220"
	mailgunToken     = "5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6"
	mailgunBadToken  = "owyldpe6nxhmrn78epljl6bj0orrki1u3d2v5e6cnlmmuox8jr"
	mailgunSig       = "9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33"
	mailgunParentKey = "parent-signing-key-for-tests"
	mailgunParentSig = "63311b44861eac2cc2d91d5445eeb44528abc70eeb6fe84598281775efec6fc9"
	mailgunEventID   = "CPgfbmQMTCKtHW6uIWtuVe"
)

var mailgunNow = time.Unix(1403645220+60, 0)

// mailgunJSONBody builds a JSON webhook body; timestamp is inserted as raw
// JSON (quote it for a string).
func mailgunJSONBody(timestamp, token, sig, extra string) []byte {
	return []byte(fmt.Sprintf(`{"signature":{"timestamp":%s,"token":%q,"signature":%q%s},`+
		`"event-data":{"event":"delivered","id":%q,"timestamp":1403645220.0}}`,
		timestamp, token, sig, extra, mailgunEventID))
}

func mailgunJSONHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}}
}

func mailgunFormBody(fields ...string) []byte {
	v := url.Values{}
	for i := 0; i+1 < len(fields); i += 2 {
		v.Add(fields[i], fields[i+1])
	}
	return []byte(v.Encode())
}

// mailgunMultipartBody builds an inbound-route style multipart body: some
// message fields and an attachment before the signature fields.
func mailgunMultipartBody(t *testing.T, fields ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteField("recipient", "bob@example.com"))
	must(w.WriteField("body-plain", "Hi Bob"))
	fw, err := w.CreateFormFile("attachment-1", "token")
	must(err)
	_, err = fw.Write([]byte("not the token"))
	must(err)
	for i := 0; i+1 < len(fields); i += 2 {
		must(w.WriteField(fields[i], fields[i+1]))
	}
	must(w.WriteField("stripped-text", "after the signature"))
	must(w.Close())
	return buf.Bytes(), w.FormDataContentType()
}

// mailgunMultipartParts builds a multipart body of the given fields
// (a name starting with "@" is sent as a file part of that name) followed
// by filler parts named "filler".
func mailgunMultipartParts(t *testing.T, filler int, fields ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		var err error
		if name, ok := strings.CutPrefix(fields[i], "@"); ok {
			var fw io.Writer
			if fw, err = w.CreateFormFile(name, "f.txt"); err == nil {
				_, err = io.WriteString(fw, fields[i+1])
			}
		} else {
			err = w.WriteField(fields[i], fields[i+1])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < filler; i++ {
		if err := w.WriteField("filler", "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

func newTestMailgun(t *testing.T, c Config) Verifier {
	t.Helper()
	v, err := New("mailgun", c)
	if err != nil {
		t.Fatalf("New(mailgun): %v", err)
	}
	return v
}

func TestMailgunVectors(t *testing.T) {
	sigBytes, _ := hex.DecodeString(mailgunSig)
	parentBytes, _ := hex.DecodeString(mailgunParentSig)
	wantTS := time.Unix(1403645220, 0)
	multi, multiCT := mailgunMultipartBody(t, "timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig)
	upper, upperCT := mailgunMultipartBody(t, "signature", strings.ToUpper(mailgunSig), "token", mailgunToken, "timestamp", mailgunTimestamp)
	// Exactly mailgunMaxParts parts, the fields first: all are read.
	full, fullCT := mailgunMultipartParts(t, mailgunMaxParts-3, "timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig)

	tests := []struct {
		name    string
		secrets []string
		ct      string
		body    []byte
		wantID  string
		wantSig []byte
		wantKey int
	}{
		{
			name: "json, timestamp as string", secrets: []string{mailgunKey},
			ct:     "application/json",
			body:   mailgunJSONBody(`"`+mailgunTimestamp+`"`, mailgunToken, mailgunSig, ""),
			wantID: mailgunEventID, wantSig: sigBytes,
		},
		{
			name: "json, timestamp as number, charset", secrets: []string{mailgunKey},
			ct:     "application/json; charset=utf-8",
			body:   mailgunJSONBody(mailgunTimestamp, mailgunToken, mailgunSig, ""),
			wantID: mailgunEventID, wantSig: sigBytes,
		},
		{
			name: "json, no event-data: id falls back to the token", secrets: []string{mailgunKey},
			ct:     "application/json",
			body:   []byte(`{"signature":{"token":"` + mailgunToken + `","timestamp":"` + mailgunTimestamp + `","signature":"` + mailgunSig + `"}}`),
			wantID: mailgunToken, wantSig: sigBytes,
		},
		{
			name: "rotation: second secret matches", secrets: []string{"key-old", mailgunKey},
			ct:   "application/json",
			body: mailgunJSONBody(`"`+mailgunTimestamp+`"`, mailgunToken, mailgunSig, ""),
			// The replay material is the MAC under the first secret,
			// whichever signature matched.
			wantID: mailgunEventID, wantSig: MAC(sha256.New, []byte("key-old"), []byte(mailgunTimestamp+mailgunToken)), wantKey: 1,
		},
		{
			name: "subaccount: parent-signature with the parent key", secrets: []string{mailgunParentKey},
			ct:     "application/json",
			body:   mailgunJSONBody(`"`+mailgunTimestamp+`"`, mailgunToken, strings.Repeat("ab", 32), `,"parent-signature":"`+mailgunParentSig+`"`),
			wantID: mailgunEventID, wantSig: parentBytes,
		},
		{
			name: "subaccount: own signature still verifies with the subaccount key", secrets: []string{mailgunParentKey, mailgunKey},
			ct:     "application/json",
			body:   mailgunJSONBody(`"`+mailgunTimestamp+`"`, mailgunToken, mailgunSig, `,"parent-signature":"`+strings.Repeat("ab", 32)+`"`),
			wantID: mailgunEventID, wantSig: parentBytes, wantKey: 1,
		},
		{
			name: "legacy form fields", secrets: []string{mailgunKey},
			ct:     "application/x-www-form-urlencoded",
			body:   mailgunFormBody("event", "delivered", "timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig, "Message-Id", "<x@y>"),
			wantID: mailgunToken, wantSig: sigBytes,
		},
		{
			name: "inbound route multipart", secrets: []string{mailgunKey},
			ct: multiCT, body: multi,
			wantID: mailgunToken, wantSig: sigBytes,
		},
		{
			name: "multipart, fields in another order, upper-case hex", secrets: []string{mailgunKey},
			ct: upperCT, body: upper,
			wantID: mailgunToken, wantSig: sigBytes,
		},
		{
			name: "multipart, fields first, parts up to the limit", secrets: []string{mailgunKey},
			ct: fullCT, body: full,
			wantID: mailgunToken, wantSig: sigBytes,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestMailgun(t, Config{Secrets: tt.secrets})
			h := http.Header{"Content-Type": {tt.ct}}
			res := formsigCheck(t, v, formsigRequest(t, "POST", "https://example.com/hooks/mailgun", h, tt.body, mailgunNow), nil)
			if res.ID != tt.wantID || res.SignedID != mailgunToken || !bytes.Equal(res.Signature, tt.wantSig) ||
				!res.Timestamp.Equal(wantTS) || res.Key != tt.wantKey || res.Act != nil {
				t.Errorf("result = %+v, want ID %q SignedID %q Signature %x Timestamp %v Key %d",
					res, tt.wantID, mailgunToken, tt.wantSig, wantTS, tt.wantKey)
			}
		})
	}
}

func TestMailgunRejects(t *testing.T) {
	str := func(s string) string { return `"` + s + `"` }
	good := mailgunJSONBody(str(mailgunTimestamp), mailgunToken, mailgunSig, "")
	multi, multiCT := mailgunMultipartBody(t, "timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig)
	dupMulti, dupMultiCT := mailgunMultipartBody(t, "timestamp", mailgunTimestamp, "token", mailgunToken, "token", mailgunToken, "signature", mailgunSig)
	noSigMulti, noSigMultiCT := mailgunMultipartBody(t, "timestamp", mailgunTimestamp, "token", mailgunToken)

	var many bytes.Buffer
	mw := multipart.NewWriter(&many)
	for i := 0; i < mailgunMaxParts; i++ {
		_ = mw.WriteField("filler", "x")
	}
	_ = mw.WriteField("timestamp", mailgunTimestamp)
	_ = mw.WriteField("token", mailgunToken)
	_ = mw.WriteField("signature", mailgunSig)
	_ = mw.Close()

	// Repeats after all three fields are in: frameworks that keep the last
	// value (PHP $_POST, Rails params) would read the second copy.
	lateTok, lateTokCT := mailgunMultipartBody(t, "timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig, "token", "attacker-token")
	lateSig, lateSigCT := mailgunMultipartBody(t, "timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig, "signature", mailgunSig)
	lateTS, lateTSCT := mailgunMultipartBody(t, "signature", mailgunSig, "token", mailgunToken, "timestamp", mailgunTimestamp, "timestamp", "1403645221")
	fileTok, fileTokCT := mailgunMultipartParts(t, 0, "timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig, "@token", "attacker-token")
	fileOnly, fileOnlyCT := mailgunMultipartParts(t, 0, "timestamp", mailgunTimestamp, "@token", mailgunToken, "signature", mailgunSig)
	// The three fields first, then filler up to one part over the limit.
	tooMany, tooManyCT := mailgunMultipartParts(t, mailgunMaxParts-2, "timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig)

	var long bytes.Buffer
	lw := multipart.NewWriter(&long)
	_ = lw.WriteField("timestamp", mailgunTimestamp)
	_ = lw.WriteField("token", strings.Repeat("t", mailgunMaxField+1))
	_ = lw.WriteField("signature", mailgunSig)
	_ = lw.Close()

	const ctJSON = "application/json"
	tests := []struct {
		name    string
		secrets []string
		tol     time.Duration
		ct      []string
		body    []byte
		now     time.Time
		want    error
	}{
		// mailgun-php testVerifyWebhookBad: same signature, other token.
		{name: "php bad vector (other token)", body: mailgunJSONBody(str(mailgunTimestamp), mailgunBadToken, mailgunSig, ""), want: ErrSignature},
		{name: "wrong secret", secrets: []string{"key-wrong"}, body: good, want: ErrSignature},
		{name: "parent-signature present but neither matches", secrets: []string{"key-wrong"},
			body: mailgunJSONBody(str(mailgunTimestamp), mailgunToken, mailgunSig, `,"parent-signature":"`+mailgunParentSig+`"`), want: ErrSignature},
		{name: "tampered timestamp", body: mailgunJSONBody(str("1403645221"), mailgunToken, mailgunSig, ""), now: time.Unix(1403645221, 0), want: ErrSignature},
		{name: "truncated signature", body: mailgunJSONBody(str(mailgunTimestamp), mailgunToken, mailgunSig[:62], ""), want: ErrSignature},
		{name: "signature with extra bytes", body: mailgunJSONBody(str(mailgunTimestamp), mailgunToken, mailgunSig+"00", ""), want: ErrSignature},
		{name: "stale", body: good, now: time.Unix(1403645220+301, 0), want: ErrTimestamp},
		{name: "future", body: good, now: time.Unix(1403645220-301, 0), want: ErrTimestamp},
		{name: "stale with custom tolerance", tol: time.Minute, body: good, now: time.Unix(1403645220+61, 0), want: ErrTimestamp},
		{name: "stale in form", ct: []string{formsigFormType}, now: time.Unix(1403645220+3600, 0),
			body: mailgunFormBody("timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig), want: ErrTimestamp},
		{name: "signature not hex", body: mailgunJSONBody(str(mailgunTimestamp), mailgunToken, "zz"+mailgunSig[2:], ""), want: ErrMalformed},
		{name: "signature base64", body: mailgunJSONBody(str(mailgunTimestamp), mailgunToken, "nPxcQVguUSRuc8iNNNs68KOiaSp2+6uBSShC8AAlbTM=", ""), want: ErrMalformed},
		{name: "empty signature", body: mailgunJSONBody(str(mailgunTimestamp), mailgunToken, "", ""), want: ErrMalformed},
		{name: "parent-signature not hex", body: mailgunJSONBody(str(mailgunTimestamp), mailgunToken, mailgunSig, `,"parent-signature":"xyz"`), want: ErrMalformed},
		{name: "parent-signature not a string", body: mailgunJSONBody(str(mailgunTimestamp), mailgunToken, mailgunSig, `,"parent-signature":1`), want: ErrMalformed},
		{name: "empty token", body: mailgunJSONBody(str(mailgunTimestamp), "", mailgunSig, ""), want: ErrMalformed},
		{name: "oversized token", body: mailgunJSONBody(str(mailgunTimestamp), strings.Repeat("t", mailgunMaxToken+1), mailgunSig, ""), want: ErrMalformed},
		{name: "timestamp not digits", body: mailgunJSONBody(str("1403645220.5"), mailgunToken, mailgunSig, ""), want: ErrMalformed},
		{name: "timestamp negative number", body: mailgunJSONBody("-1403645220", mailgunToken, mailgunSig, ""), want: ErrMalformed},
		{name: "timestamp null", body: mailgunJSONBody("null", mailgunToken, mailgunSig, ""), want: ErrMalformed},
		{name: "missing timestamp", body: []byte(`{"signature":{"token":"` + mailgunToken + `","signature":"` + mailgunSig + `"}}`), want: ErrMalformed},
		{name: "missing token", body: []byte(`{"signature":{"timestamp":"` + mailgunTimestamp + `","signature":"` + mailgunSig + `"}}`), want: ErrMalformed},
		{name: "token not a string", body: []byte(`{"signature":{"timestamp":"` + mailgunTimestamp + `","token":5,"signature":"` + mailgunSig + `"}}`), want: ErrMalformed},
		{name: "missing signature object", body: []byte(`{"event-data":{"id":"x"}}`), want: ErrMalformed},
		{name: "signature object is a string", body: []byte(`{"signature":"` + mailgunSig + `"}`), want: ErrMalformed},
		{name: "signature member in other case only", body: []byte(`{"Signature":{"timestamp":"` + mailgunTimestamp + `","token":"` + mailgunToken + `","signature":"` + mailgunSig + `"}}`), want: ErrMalformed},
		{name: "duplicated signature object", body: append(append([]byte(`{"signature":{"timestamp":"1","token":"a","signature":"00"},`), good[1:len(good)-1]...), '}'), want: ErrMalformed},
		{name: "duplicated token member", body: []byte(`{"signature":{"timestamp":"` + mailgunTimestamp + `","token":"x","token":"` + mailgunToken + `","signature":"` + mailgunSig + `"}}`), want: ErrMalformed},
		{name: "invalid json", body: good[:len(good)-1], want: ErrMalformed},
		{name: "trailing data after json", body: append(bytes.Clone(good), []byte(" {}")...), want: ErrMalformed},
		{name: "json array", body: []byte(`[` + string(good) + `]`), want: ErrMalformed},
		{name: "empty body", body: nil, want: ErrMalformed},
		{name: "missing Content-Type", ct: []string{}, body: good, want: ErrMalformed},
		{name: "duplicated Content-Type", ct: []string{ctJSON, ctJSON}, body: good, want: ErrMalformed},
		{name: "unsupported Content-Type", ct: []string{"text/plain"}, body: good, want: ErrMalformed},
		{name: "form: duplicated token", ct: []string{formsigFormType},
			body: mailgunFormBody("timestamp", mailgunTimestamp, "token", mailgunToken, "token", mailgunBadToken, "signature", mailgunSig), want: ErrMalformed},
		{name: "form: missing signature", ct: []string{formsigFormType},
			body: mailgunFormBody("timestamp", mailgunTimestamp, "token", mailgunToken), want: ErrMalformed},
		{name: "form: invalid escape", ct: []string{formsigFormType},
			body: []byte("timestamp=" + mailgunTimestamp + "&token=" + mailgunToken + "&signature=" + mailgunSig + "&x=%zz"), want: ErrMalformed},
		{name: "form: wrong token", ct: []string{formsigFormType},
			body: mailgunFormBody("timestamp", mailgunTimestamp, "token", mailgunBadToken, "signature", mailgunSig), want: ErrSignature},
		{name: "multipart: wrong secret", secrets: []string{"key-wrong"}, ct: []string{multiCT}, body: multi, want: ErrSignature},
		{name: "multipart: duplicated token", ct: []string{dupMultiCT}, body: dupMulti, want: ErrMalformed},
		{name: "multipart: token repeated after all three fields", ct: []string{lateTokCT}, body: lateTok, want: ErrMalformed},
		{name: "multipart: signature repeated after all three fields", ct: []string{lateSigCT}, body: lateSig, want: ErrMalformed},
		{name: "multipart: timestamp repeated after all three fields", ct: []string{lateTSCT}, body: lateTS, want: ErrMalformed},
		{name: "multipart: token repeated as a file part", ct: []string{fileTokCT}, body: fileTok, want: ErrMalformed},
		{name: "multipart: token only as a file part", ct: []string{fileOnlyCT}, body: fileOnly, want: ErrMalformed},
		{name: "multipart: fields first, parts over the limit after them", ct: []string{tooManyCT}, body: tooMany, want: ErrMalformed},
		{name: "multipart: missing signature", ct: []string{noSigMultiCT}, body: noSigMulti, want: ErrMalformed},
		{name: "multipart: no boundary", ct: []string{"multipart/form-data"}, body: multi, want: ErrMalformed},
		{name: "multipart: wrong boundary", ct: []string{"multipart/form-data; boundary=nope"}, body: multi, want: ErrMalformed},
		{name: "multipart: truncated", ct: []string{multiCT}, body: multi[:len(multi)/2], want: ErrMalformed},
		{name: "multipart: too many parts before the fields", ct: []string{mw.FormDataContentType()}, body: many.Bytes(), want: ErrMalformed},
		{name: "multipart: oversized field", ct: []string{lw.FormDataContentType()}, body: long.Bytes(), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{mailgunKey}
			}
			v := newTestMailgun(t, Config{Secrets: secrets, Tolerance: tt.tol})
			h := http.Header{"Content-Type": {ctJSON}}
			if tt.ct != nil {
				h = http.Header{"Content-Type": tt.ct}
			}
			now := tt.now
			if now.IsZero() {
				now = mailgunNow
			}
			formsigCheck(t, v, formsigRequest(t, "POST", "", h, tt.body, now), tt.want,
				mailgunKey, "key-wrong", mailgunSig, mailgunParentSig, mailgunToken)
		})
	}
}

func TestMailgunTolerance(t *testing.T) {
	body := mailgunJSONBody(`"`+mailgunTimestamp+`"`, mailgunToken, mailgunSig, "")
	ts := time.Unix(1403645220, 0)
	for _, tc := range []struct {
		tol  time.Duration
		now  time.Time
		want error
	}{
		{0, ts.Add(5 * time.Minute), nil},
		{0, ts.Add(-5 * time.Minute), nil},
		{0, ts.Add(5*time.Minute + time.Second), ErrTimestamp},
		{time.Hour, ts.Add(59 * time.Minute), nil},
		{-1, ts.Add(24 * 365 * time.Hour), nil}, // tolerance off
	} {
		v := newTestMailgun(t, Config{Secrets: []string{mailgunKey}, Tolerance: tc.tol})
		formsigCheck(t, v, formsigRequest(t, "POST", "", mailgunJSONHeader(), body, tc.now), tc.want)
	}
	// A timestamp in the year 33658, signed (independently:
	//   printf '%s' '9999999999995egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6' |
	//     openssl dgst -sha256 -hmac 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0' -hex
	// ): now.Sub saturated and passed it as within the tolerance.
	far := mailgunJSONBody(`"999999999999"`, mailgunToken,
		"dfecf192dd8740473c3abf03c98e536c4516cae4afb2223e0f16d7c4914170a4", "")
	for _, tol := range []time.Duration{0, time.Hour, -1} {
		v := newTestMailgun(t, Config{Secrets: []string{mailgunKey}, Tolerance: tol})
		formsigCheck(t, v, formsigRequest(t, "POST", "", mailgunJSONHeader(), far, mailgunNow), ErrTimestamp)
	}
	v := newTestMailgun(t, Config{Secrets: []string{mailgunKey}})
	if ts, ok := v.(Timestamped); !ok || !ts.HasTimestamp() {
		t.Errorf("mailgun must report a checked timestamp")
	}
}

// The signature covers timestamp+token only: changing the event data does
// not break it. This test pins that documented property (replay protection
// keyed on the signed token is what stops a captured triple from being
// reused), so that nobody mistakes the verifier for a body-integrity check.
func TestMailgunEventDataNotSigned(t *testing.T) {
	v := newTestMailgun(t, Config{Secrets: []string{mailgunKey}})
	body := []byte(`{"signature":{"timestamp":"` + mailgunTimestamp + `","token":"` + mailgunToken +
		`","signature":"` + mailgunSig + `"},"event-data":{"event":"failed","id":"other"}}`)
	res := formsigCheck(t, v, formsigRequest(t, "POST", "", mailgunJSONHeader(), body, mailgunNow), nil)
	if res.SignedID != mailgunToken || res.ID != "other" {
		t.Errorf("result = %+v", res)
	}
}

func TestMailgunConfig(t *testing.T) {
	tests := []struct {
		name string
		c    Config
	}{
		{"no secret", Config{}},
		{"empty secret", Config{Secrets: []string{mailgunKey, ""}}},
		{"url", Config{Secrets: []string{mailgunKey}, URL: "https://example.com/"}},
		{"public_key", Config{Secrets: []string{mailgunKey}, PublicKeys: []PublicKey{{Key: "x"}}}},
		{"hmac", Config{Secrets: []string{mailgunKey}, HMAC: &HMACRecipe{}}},
		{"username", Config{Secrets: []string{mailgunKey}, Username: "u"}},
		{"password", Config{Secrets: []string{mailgunKey}, Password: "p"}},
		{"header", Config{Secrets: []string{mailgunKey}, Header: "X-Token"}},
		{"topic_arn", Config{Secrets: []string{mailgunKey}, TopicARNs: []string{"arn"}}},
		{"certificate", Config{Secrets: []string{mailgunKey}, Certificates: []string{"pem"}}},
		{"auto_confirm", Config{Secrets: []string{mailgunKey}, AutoConfirm: true}},
	}
	for _, tt := range tests {
		v, err := New("mailgun", tt.c)
		if err == nil || v != nil {
			t.Errorf("%s: New = %v, %v; want an error", tt.name, v, err)
			continue
		}
		if strings.Contains(err.Error(), mailgunKey) || err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
			t.Errorf("%s: error text %q", tt.name, err)
		}
	}
	if _, err := New("mailgun", Config{Secrets: []string{mailgunKey}, Tolerance: time.Minute}); err != nil {
		t.Errorf("tolerance must be accepted: %v", err)
	}
	if Canonical("mailgun") != "mailgun" {
		t.Errorf("mailgun not registered")
	}
}

// mailgunRawParts builds a multipart body of hand-made parts, each given
// as its header lines and its content.
func mailgunRawParts(t *testing.T, parts ...[2]string) ([]byte, string) {
	t.Helper()
	const boundary = "b0undary"
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n" + p[0] + "\r\n\r\n" + p[1] + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return []byte(b.String()), "multipart/form-data; boundary=" + boundary
}

// Members and fields that differ from the signing fields' names only by
// case or by Unicode case folding are refused, like exact duplicates: an
// upstream that matches names loosely (Go's encoding/json folds case and
// maps "ſ" to "s" and "K" to "k"; ASP.NET forms ignore case) would read
// them instead of the checked ones. So are multipart parts with a
// Content-Transfer-Encoding (Go's multipart reader silently decodes
// quoted-printable; RFC 7578 §4.7: senders must not send one) or two
// Content-Disposition headers.
func TestMailgunFoldedDuplicates(t *testing.T) {
	sig := func(members string) []byte {
		return []byte(`{"signature":{"timestamp":"` + mailgunTimestamp + `","token":"` + mailgunToken +
			`","signature":"` + mailgunSig + `"` + members + `},"event-data":{"id":"` + mailgunEventID + `"}}`)
	}
	top := func(members string) []byte {
		return []byte(`{"signature":{"timestamp":"` + mailgunTimestamp + `","token":"` + mailgunToken +
			`","signature":"` + mailgunSig + `"},"event-data":{"id":"` + mailgunEventID + `"}` + members + `}`)
	}
	form := func(extra string) []byte {
		return []byte(string(mailgunFormBody("timestamp", mailgunTimestamp, "token", mailgunToken, "signature", mailgunSig)) + extra)
	}
	field := func(name, value string) [2]string {
		return [2]string{`Content-Disposition: form-data; name="` + name + `"`, value}
	}
	good := [][2]string{field("timestamp", mailgunTimestamp), field("token", mailgunToken), field("signature", mailgunSig)}
	multi := func(extra ...[2]string) ([]byte, string) {
		return mailgunRawParts(t, append(append([][2]string{}, good...), extra...)...)
	}
	type tc struct {
		name string
		ct   string
		body []byte
	}
	tests := []tc{
		{"json: Signature object beside signature", "application/json", top(`,"Signature":{"timestamp":"1","token":"x","signature":"00"}`)},
		{"json: long s signature object", "application/json", top(`,"\u017fignature":{}`)},
		{"json: Event-Data beside event-data", "application/json", top(`,"Event-Data":{"id":"other"}`)},
		{"json: EVENT-DATA beside event-data", "application/json", top(`,"EVENT-DATA":{"id":"other"}`)},
		{"json: non-ascii top-level member", "application/json", top(`,"\u00e9vent":1`)},
		{"json: Token beside token", "application/json", sig(`,"Token":"attacker"`)},
		{"json: TIMESTAMP beside timestamp", "application/json", sig(`,"TIMESTAMP":"1"`)},
		{"json: long s signature member", "application/json", sig(`,"\u017fignature":"00"`)},
		{"json: long s timestamp member", "application/json", sig(`,"time\u017ftamp":"1"`)},
		{"json: Parent-Signature", "application/json", sig(`,"Parent-Signature":"00"`)},
		{"json: non-ascii signature member", "application/json", sig(`,"\u212aey":"1"`)},
		{"form: Signature beside signature", formsigFormType, form("&Signature=00")},
		{"form: TOKEN beside token", formsigFormType, form("&TOKEN=attacker")},
		{"form: long s signature", formsigFormType, form("&%C5%BFignature=00")},
		{"form: Kelvin sign token", formsigFormType, form("&to%E2%84%AAen=attacker")},
	}
	for _, extra := range []struct {
		name string
		part [2]string
	}{
		{"Token part", field("Token", "attacker")},
		{"long s signature part", field("\u017fignature", "00")},
		{"quoted-printable part", [2]string{"Content-Disposition: form-data; name=\"body-plain\"\r\nContent-Transfer-Encoding: quoted-printable", "Hi=20Bob"}},
		{"base64 part", [2]string{"Content-Disposition: form-data; name=\"body-plain\"\r\nContent-Transfer-Encoding: base64", "SGkgQm9i"}},
		{"two Content-Disposition headers", [2]string{"Content-Disposition: form-data; name=\"x\"\r\nContent-Disposition: form-data; name=\"token\"", "attacker"}},
	} {
		b, ct := multi(extra.part)
		tests = append(tests, tc{"multipart: " + extra.name, ct, b})
	}
	// A quoted-printable signing field: Go decodes it, other readers may not.
	qp, qpCT := mailgunRawParts(t, field("timestamp", mailgunTimestamp),
		[2]string{"Content-Disposition: form-data; name=\"token\"\r\nContent-Transfer-Encoding: quoted-printable", mailgunToken},
		field("signature", mailgunSig))
	tests = append(tests, tc{"multipart: quoted-printable token", qpCT, qp})

	v := newTestMailgun(t, Config{Secrets: []string{mailgunKey}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {tt.ct}}
			formsigCheck(t, v, formsigRequest(t, "POST", "", h, tt.body, mailgunNow), ErrMalformed)
		})
	}
	// The hand-made multipart body without extras verifies, and so do
	// unrelated members and fields whatever their case.
	b, ct := multi(field("Recipient", "bob@example.com"))
	formsigCheck(t, v, formsigRequest(t, "POST", "", http.Header{"Content-Type": {ct}}, b, mailgunNow), nil)
	formsigCheck(t, v, formsigRequest(t, "POST", "", mailgunJSONHeader(), top(`,"Other":1`), mailgunNow), nil)
	formsigCheck(t, v, formsigRequest(t, "POST", "", http.Header{"Content-Type": {formsigFormType}}, form("&Recipient=x&%C3%A9=1"), mailgunNow), nil)
}

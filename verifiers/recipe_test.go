package verifiers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"testing"
	"time"
)

// Tests of the recipe engine's features beyond the original ones. The
// expected signatures are computed here with the standard library's
// crypto/hmac over the signed string spelled out by hand, not by the
// engine's template code.

func rcHex(secret string, s string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

func rcB64(secret string, s string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestRecipeAmbiguousID is the defect of issue 10: with content
// "{id}.{body}", moving the body's prefix into the id header kept the
// signed string, so a truncated body verified as a new delivery (the
// signed id is the replay key). The id now refuses the "." that delimits it.
func TestRecipeAmbiguousID(t *testing.T) {
	const secret = "id-dot-secret"
	r := HMACRecipe{SignatureHeader: "X-Sig", IDHeader: "X-Id", Content: "{id}.{body}"}
	v := newRecipeForTest(t, r, 0, secret)
	sig := rcHex(secret, "evt_1.part.rest")
	now := time.Now()
	res, err := v.Verify(recipeTestReq("part.rest", now, "X-Sig", sig, "X-Id", "evt_1"))
	if err != nil {
		t.Fatalf("genuine delivery: %v", err)
	}
	if res.SignedID != "evt_1" {
		t.Fatalf("SignedID = %q", res.SignedID)
	}
	for _, tc := range []struct{ id, body string }{
		{"evt_1.part", "rest"},
		{"evt_1.part.rest", ""},
	} {
		_, err := v.Verify(recipeTestReq(tc.body, now, "X-Sig", sig, "X-Id", tc.id))
		recipeTestErr(t, err, ErrMalformed, secret, sig)
	}

	// Standard Webhooks' shape keeps working, and refuses ids with a ".".
	sw := newRecipeForTest(t, recipeStandard, -1, rcSwSecret)
	ts := "1614265330"
	if _, err := sw.Verify(recipeTestReq(rcSwBody, time.Now(), "webhook-id", rcSwID, "webhook-timestamp", ts,
		"webhook-signature", "v1,"+rcSwSig)); err != nil {
		t.Fatalf("standard webhooks: %v", err)
	}
	_, err = sw.Verify(recipeTestReq(rcSwBody, time.Now(), "webhook-id", "a.b", "webhook-timestamp", ts,
		"webhook-signature", "v1,"+rcSwSig))
	recipeTestErr(t, err, ErrMalformed)
}

// TestRecipeTimestampLeadingZero: "0" + a timestamp is the same instant; a
// leading zero would let a digit move between the timestamp and the body
// in "{body}{timestamp}".
func TestRecipeTimestampLeadingZero(t *testing.T) {
	const secret = "lz"
	now := time.Unix(1700000000, 0)
	r := HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", Content: "{body}{timestamp}"}
	v := newRecipeForTest(t, r, 0, secret)
	sig := rcHex(secret, "abc01700000000")
	if _, err := v.Verify(recipeTestReq("abc0", now, "X-Sig", sig, "X-Ts", "1700000000")); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	_, err := v.Verify(recipeTestReq("abc", now, "X-Sig", sig, "X-Ts", "01700000000"))
	recipeTestErr(t, err, ErrMalformed)
	// Moving the first digit of the timestamp into the body lands decades away.
	_, err = v.Verify(recipeTestReq("abc01", now, "X-Sig", sig, "X-Ts", "700000000"))
	recipeTestErr(t, err, ErrTimestamp)
}

// TestRecipeLoadAmbiguity: templates that stay ambiguous after the values'
// charsets are refused at load; the others load.
func TestRecipeLoadAmbiguity(t *testing.T) {
	base := HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", IDHeader: "X-Id"}
	tests := []struct {
		content string
		unit    string
		tol     time.Duration
		url     string
		ok      bool
	}{
		{"{id}.{timestamp}.{body}", "", 0, "", true},
		{"{timestamp}.{body}", "", 0, "", true},
		{"v0:{timestamp}:{body}", "", 0, "", true},
		{"{timestamp}1{body}", "", 0, "", false}, // a digit delimits a digit string
		{"{timestamp}{id}.{body}", "", 0, "", false},
		{"{id}{body}", "", 0, "", false},
		{"{body}{id}", "", 0, "", false},
		{"{body}.{id}", "", 0, "", true},
		{"{timestamp}{body}", "", 0, "", true},
		{"{timestamp}{body}", "", -1, "", false},                   // tolerance off
		{"{timestamp}{body}", "", 400 * 24 * time.Hour, "", false}, // too wide
		{"{body}{timestamp}", "ms", 0, "", true},
		{"{timestamp}{body}", "s", 0, "", true},
		{"{timestamp}{body}", "ms", 0, "", true},
		{"{timestamp}{body}", "auto", 0, "", false}, // 13 digits or 10 and 3 moved (issue 13)
		{"{body}{timestamp}", "auto", 0, "", false},
		{"{method}{url}{body}{timestamp}", "auto", 0, "https://example.com/hook", false},
		{"{timestamp}.{body}", "auto", 0, "", true},
		{"{body}.{timestamp}", "auto", 0, "", true},
		{"{timestamp}{body}", "iso8601", 0, "", false},
		{"{timestamp}{body}", "rfc3339", 0, "", true},
		{"{body}{timestamp}", "iso8601", 0, "", false},
		{"{body}{timestamp}", "rfc3339", -1, "", true},  // RFC 3339 delimits itself
		{"{timestamp}.{body}", "iso8601", 0, "", false}, // fractions hold "."
		{"{timestamp}|{body}", "iso8601", 0, "", true},
		{"{timestamp}.{body}", "rfc3339", 0, "", true},
		{"{method}{url}{body}{timestamp}", "ms", 0, "https://example.com/hook", true},
		{"{url}{body}", "", 0, "https://example.com/hook", true},
		{"{body}{url}", "", 0, "https://example.com/hook", true},
		{"{method}{path}{body}", "", 0, "", false},
		{"{method} {path}\n{body}", "", 0, "", true},
		{"{header:X-A}{header:X-B}.{body}", "", 0, "", false},
		{"{header:X-A}.{body}", "", 0, "", true},
		{"{header:X-Sig}.{body}", "", 0, "", false}, // the signature itself
		{"{body}{body}", "", 0, "", false},
		{"{timestamp}", "", 0, "", false},
		{"{url}{body}", "", 0, "", false},                // no url configured
		{"{body}", "", 0, "https://example.com/", false}, // url not used
	}
	for _, tt := range tests {
		r := base
		r.Content, r.TimestampUnit = tt.content, tt.unit
		_, err := New("hmac", Config{Secrets: []string{"k"}, HMAC: &r, Tolerance: tt.tol, URL: tt.url})
		if (err == nil) != tt.ok {
			t.Errorf("content %q unit %q tolerance %v: error %v, want ok=%v", tt.content, tt.unit, tt.tol, err, tt.ok)
		}
		if err := CheckRecipe(r, tt.url, tt.tol); (err == nil) != tt.ok {
			t.Errorf("CheckRecipe(%q): %v, want ok=%v", tt.content, err, tt.ok)
		}
	}
}

func TestRecipeParseISO(t *testing.T) {
	tests := []struct {
		in      string
		zoneReq bool
		want    string // RFC 3339 Nano in UTC, "" = invalid
	}{
		{"2020-01-01T00:00:00Z", true, "2020-01-01T00:00:00Z"},
		{"2020-01-01T00:00:00-07:00", true, "2020-01-01T07:00:00Z"},
		{"2020-01-01T00:00:00.123456789+01:30", true, "2019-12-31T22:30:00.123456789Z"},
		{"2020-01-01T00:00:00.5Z", true, "2020-01-01T00:00:00.5Z"},
		{"2020-01-01T00:00:00", true, ""},
		{"2020-01-01T00:00:00", false, "2020-01-01T00:00:00Z"},
		{"2020-01-01T00:00:00.25", false, "2020-01-01T00:00:00.25Z"},
		{"2020-01-01t00:00:00Z", false, ""},
		{"2020-01-01T00:00:00z", false, ""},
		{"2020-01-01 00:00:00Z", false, ""},
		{"2020-01-01T00:00:00.Z", false, ""},
		{"2020-01-01T00:00:00.1234567890Z", false, ""},
		{"2020-01-01T00:00:00+0100", false, ""},
		{"2020-13-01T00:00:00Z", false, ""},
		{"2020-01-01T00:00:00Z ", false, ""},
		{"+2020-01-01T00:00:00Z", false, ""},
	}
	for _, tt := range tests {
		got, err := recipeParseISO(tt.in, tt.zoneReq)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%q: parsed as %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.UTC().Format(time.RFC3339Nano) != tt.want {
			t.Errorf("%q: %v, %v; want %s", tt.in, got.UTC().Format(time.RFC3339Nano), err, tt.want)
		}
	}
}

// TestRecipeFeatures exercises each new field on a genuine and a changed
// request.
func TestRecipeFeatures(t *testing.T) {
	const secret = "feature-secret"
	now := time.Unix(1700000000, 0)
	iso := "2023-11-14T22:13:20.5+00:00"
	isoNow, _ := time.Parse(time.RFC3339Nano, iso)
	body := `{"id":"evt_9","ts":1700000000123}`
	u := &url.URL{Scheme: "http", Host: "127.0.0.1:8080", Path: "/in/hook", RawQuery: "a=1"}
	req := func(body string, now time.Time, kv ...string) *Request {
		r := recipeTestReq(body, now, kv...)
		r.URL = u
		return r
	}
	hashHex := func(s string) string {
		h := sha256.Sum256([]byte(s))
		return hex.EncodeToString(h[:])
	}
	sha1B64 := func(k, s string) string {
		m := hmac.New(sha1.New, []byte(k))
		m.Write([]byte(s))
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name    string
		recipe  HMACRecipe
		cfg     Config
		good    *Request
		bad     []*Request
		wantErr []error
	}{
		{
			name:   "rfc3339 timestamp signed as received",
			recipe: HMACRecipe{SignatureHeader: "X-Sig", Encoding: "base64", TimestampHeader: "X-Ts", TimestampUnit: "rfc3339", Content: "{body}{timestamp}"},
			good:   req(body, isoNow, "X-Sig", rcB64(secret, body+iso), "X-Ts", iso),
			bad: []*Request{
				req(body, isoNow, "X-Sig", rcB64(secret, body+iso), "X-Ts", "2023-11-14T22:13:20.50+00:00"),
				req(body, isoNow.Add(time.Hour), "X-Sig", rcB64(secret, body+iso), "X-Ts", iso),
				req(body, isoNow, "X-Sig", rcB64(secret, body+iso), "X-Ts", "2023-11-14T22:13:20.5"),
			},
			wantErr: []error{ErrSignature, ErrTimestamp, ErrMalformed},
		},
		{
			name:   "method, url and header",
			recipe: HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", TimestampUnit: "ms", Content: "{method}{url}|{header:X-Account}|{body}{timestamp}"},
			cfg:    Config{URL: "https://example.com/hook?a=1", URLPath: "/in/hook"}, // a proxy in front moves the path
			good:   req(body, now, "X-Sig", rcHex(secret, "POSThttps://example.com/hook?a=1|acct 7|"+body+"1700000000000"), "X-Ts", "1700000000000", "X-Account", "acct 7"),
			bad: []*Request{
				req(body, now, "X-Sig", rcHex(secret, "POSThttps://example.com/hook?a=1|acct 7|"+body+"1700000000000"), "X-Ts", "1700000000000", "X-Account", "acct 8"),
				req(body, now, "X-Sig", rcHex(secret, "POSThttps://example.com/hook?a=1|acct|7|"+body+"1700000000000"), "X-Ts", "1700000000000", "X-Account", "acct|7"),
				req(body, now, "X-Sig", rcHex(secret, "POSThttps://example.com/hook?a=1|acct 7|"+body+"1700000000000"), "X-Ts", "1700000000000"),
			},
			wantErr: []error{ErrSignature, ErrMalformed, ErrMalformed},
		},
		{
			name:    "path",
			recipe:  HMACRecipe{SignatureHeader: "X-Sig", Content: "{method} {path}\n{body}"},
			good:    req(body, now, "X-Sig", rcHex(secret, "POST /in/hook\n"+body)),
			bad:     []*Request{req(body+" ", now, "X-Sig", rcHex(secret, "POST /in/hook\n"+body))},
			wantErr: []error{ErrSignature},
		},
		{
			name:   "several headers, numbered",
			recipe: HMACRecipe{SignatureHeader: "X-Sig-*", SignatureHeaders: []string{"X-Other"}, Encoding: "base64"},
			cfg:    Config{Secrets: []string{"old", secret}},
			good:   req(body, now, "X-Sig-1", rcB64("old", "x"), "X-Sig-2", "garbage", "X-Sig-3", rcB64(secret, body)),
			bad: []*Request{
				req(body, now, "X-Sig-1", rcB64("old", "x")),
				req(body, now, "X-Sig-0", rcB64(secret, body)),
				req(body, now, "X-Sig-2", "garbage"),
				req(body, now, "X-Sig-1", rcB64(secret, body), "X-Sig-1", rcB64(secret, body)),
			},
			wantErr: []error{ErrSignature, ErrMalformed, ErrMalformed, ErrMalformed},
		},
		{
			name:   "untagged timestamp first in the list",
			recipe: HMACRecipe{SignatureHeader: "X-Sig", Separator: ",", TimestampFirst: true, TimestampUnit: "ms", Content: "{timestamp}.{body}"},
			good:   req(body, now, "X-Sig", "1700000000123,"+rcHex("x", "y")+","+rcHex(secret, "1700000000123."+body)),
			bad: []*Request{
				req(body, now, "X-Sig", rcHex(secret, "1700000000123."+body)),
				req(body, now, "X-Sig", "1700000000124,"+rcHex(secret, "1700000000123."+body)),
			},
			wantErr: []error{ErrMalformed, ErrSignature},
		},
		{
			name:   "timestamp from a JSON body field",
			recipe: HMACRecipe{SignatureHeader: "X-Sig", TimestampField: "/ts", TimestampUnit: "ms"},
			good:   req(body, now, "X-Sig", rcHex(secret, body)),
			bad: []*Request{
				req(body, now.Add(time.Hour), "X-Sig", rcHex(secret, body)),
				req(`{"id":"evt_9","ts":1700000000123,"TS":1}`, now, "X-Sig", rcHex(secret, `{"id":"evt_9","ts":1700000000123,"TS":1}`)),
				req(`{"id":"evt_9"}`, now, "X-Sig", rcHex(secret, `{"id":"evt_9"}`)),
			},
			wantErr: []error{ErrTimestamp, ErrMalformed, ErrMalformed},
		},
		{
			name:    "plain hash of secret and body",
			recipe:  HMACRecipe{SignatureHeader: "X-Sig", Scheme: "hash"},
			good:    req(body, now, "X-Sig", hashHex(secret+body)),
			bad:     []*Request{req(body, now, "X-Sig", rcHex(secret, body))},
			wantErr: []error{ErrSignature},
		},
		{
			name:    "hex secret with a prefix, sha1 base64",
			recipe:  HMACRecipe{SignatureHeader: "X-Sig", Hash: "sha1", Encoding: "base64", SecretEncoding: "hex", SecretPrefix: "key_"},
			cfg:     Config{Secrets: []string{"key_" + hex.EncodeToString([]byte(secret))}},
			good:    req(body, now, "X-Sig", sha1B64(secret, body)),
			bad:     []*Request{req(body, now, "X-Sig", sha1B64("key_"+hex.EncodeToString([]byte(secret)), body))},
			wantErr: []error{ErrSignature},
		},
		{
			name:   "token",
			recipe: HMACRecipe{SignatureHeader: "X-Token", Scheme: "token"},
			cfg:    Config{Secrets: []string{"other", secret}},
			good:   req(body, now, "X-Token", secret),
			bad: []*Request{
				req(body, now, "X-Token", secret+"x"),
				req(body, now),
			},
			wantErr: []error{ErrCredentials, ErrMalformed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.Secrets == nil {
				cfg.Secrets = []string{secret}
			}
			r := tt.recipe
			cfg.HMAC = &r
			v, err := New("hmac", cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(tt.good); err != nil {
				t.Fatalf("genuine request: %v", err)
			}
			for i, b := range tt.bad {
				res, err := v.Verify(b)
				if res != nil {
					t.Fatalf("changed request %d accepted", i)
				}
				recipeTestErr(t, err, tt.wantErr[i], secret)
			}
		})
	}
}

// TestRecipeURLQuery: {url} signs the configured URL; a request whose query
// or path differs from it is refused (the provider did not sign it).
func TestRecipeURLQuery(t *testing.T) {
	r := HMACRecipe{SignatureHeader: "X-Sig", Content: "{url}{body}"}
	v, err := New("hmac", Config{Secrets: []string{"k"}, HMAC: &r, URL: "https://example.com/hook"})
	if err != nil {
		t.Fatal(err)
	}
	sig := rcHex("k", "https://example.com/hook{}")
	req := recipeTestReq("{}", time.Now(), "X-Sig", sig)
	req.URL.Path = "/hook"
	if _, err := v.Verify(req); err != nil {
		t.Fatal(err)
	}
	req.URL.RawQuery = "x=1"
	_, err = v.Verify(req)
	recipeTestErr(t, err, ErrSignature)
	req.URL.RawQuery, req.URL.Path = "", "/admin/delete"
	_, err = v.Verify(req)
	recipeTestErr(t, err, ErrSignature)
	for _, bad := range []string{"ftp://example.com/", "/hook", "https://example.com/#f", "https://exa mple.com/"} {
		if _, err := New("hmac", Config{Secrets: []string{"k"}, HMAC: &r, URL: bad}); err == nil {
			t.Errorf("url %q accepted", bad)
		}
	}
}

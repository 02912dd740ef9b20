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

// Tests of the recipe's fields (HMACRecipe) beyond a header over the body.
// The expected signatures are computed here with the standard library's
// crypto/hmac over the signed string spelled out by hand, not by the
// engine's template code.

// TestRecipeFeatures exercises each of those fields on a genuine and a
// changed request.
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

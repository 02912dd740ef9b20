package verifiers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Vectors: github:plivo/plivo-go utils_test.go
// @273a8369467eeb2e2603d3916a0f6587dbde4ec4 (TestValidateSignatureV3Pass1
// to Pass4): one auth token, nonce and parameter set, POST and GET, with
// and without the query string "a=b&c=d". For GET, Plivo's parameters
// travel in the query string: plivo-go merges its params argument into the
// URL's query, so here they are the request's query.
const (
	plivoToken = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4"
	plivoNonce = "31627761595286130198"
	plivoBase  = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml"
)

var plivoParams = map[string]string{
	"Direction":       "outbound",
	"From":            "19792014278",
	"ALegUUID":        "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
	"CallStatus":      "in-progress",
	"BillRate":        "0.002",
	"ParentAuthID":    "MANWVLYTK4ZWU1YTY4QA",
	"To":              "sip:PlivoSignature382029104058171078704104@phone-qa.voice.plivodev.com",
	"ALegRequestUUID": "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
	"CallUUID":        "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
	"RequestUUID":     "3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36",
	"SIP-H-To":        "<sip:PlivoSignature382029104058171078704104@52.9.11.55;transport=udp>;tag=1",
	"SessionStart":    "2020-04-08 11:34:33.238707",
	"Event":           "StartApp",
}

func plivoForm() string {
	v := url.Values{}
	for k, val := range plivoParams {
		v.Set(k, val)
	}
	return v.Encode()
}

func plivoRequest(t *testing.T, method, rawURL, sig, nonce, body string) *Request {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	if sig != "" {
		h.Set("X-Plivo-Signature-V3", sig)
	}
	if nonce != "" {
		h.Set("X-Plivo-Signature-V3-Nonce", nonce)
	}
	if method == http.MethodPost && body != "" {
		h.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return &Request{Method: method, URL: u, Header: h, Body: []byte(body), Now: time.Unix(1767225600, 0)}
}

// plivoCases are the four published vectors as requests reaching Caddy on
// an internal address, on the configured url's path (the signed URL is the
// configured one; the path must be its path, or url_path).
func plivoCases() []struct{ name, method, url, body, sig, cfgURL string } {
	const at = "http://127.0.0.1:8080/api/v1/validate_signature03.xml"
	return []struct{ name, method, url, body, sig, cfgURL string }{
		{"post with query (Pass1)", "POST", at + "/?a=b&c=d", plivoForm(), "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c=", plivoBase + "/"},
		{"get with query (Pass2)", "GET", at + "/?a=b&c=d&" + plivoForm(), "", "UBq8jAtd32wR8EK9VgxbBn4n5rpI/l1H9iN4WfSEHFQ=", plivoBase + "/"},
		{"post (Pass3)", "POST", at, plivoForm(), "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0=", plivoBase},
		{"get (Pass4)", "GET", at + "?" + plivoForm(), "", "i/MQsaQSAd6fiKhOh2qeeeLHZ9faldADSb3/7+Akfbc=", plivoBase},
	}
}

// TestPlivoPathBinding: the signature covers the configured url's path,
// so a genuine callback on another path is refused (issue 13, item 8);
// url_path names the path when a proxy in front moves it.
func TestPlivoPathBinding(t *testing.T) {
	tc := plivoCases()[2]
	for _, tt := range []struct {
		name, urlPath, reqURL string
		want                  error
	}{
		{"another path", "", "http://127.0.0.1:8080/x", ErrSignature},
		{"url_path, request on it", "/x", "http://127.0.0.1:8080/x", nil},
		{"url_path, request on the url's path", "/x", tc.url, ErrSignature},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("plivo", Config{Secrets: []string{plivoToken}, URL: tc.cfgURL, URLPath: tt.urlPath})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(plivoRequest(t, tc.method, tt.reqURL, tc.sig, plivoNonce, tc.body)); !errors.Is(err, tt.want) {
				t.Errorf("%v, want %v", err, tt.want)
			}
		})
	}
}

func TestPlivoVectors(t *testing.T) {
	for _, tc := range plivoCases() {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("plivo", Config{Secrets: []string{"old-token", plivoToken}, URL: tc.cfgURL})
			if err != nil {
				t.Fatal(err)
			}
			// Plivo may send several signatures, comma-separated.
			for _, sig := range []string{tc.sig, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=," + tc.sig} {
				res, err := v.Verify(plivoRequest(t, tc.method, tc.url, sig, plivoNonce, tc.body))
				if err != nil {
					t.Fatal(err)
				}
				if res.Key != 1 || len(res.Signature) != 32 {
					t.Errorf("result %+v", res)
				}
			}
			if _, err := v.Verify(plivoRequest(t, tc.method, tc.url, tc.sig, plivoNonce+"1", tc.body)); !errors.Is(err, ErrSignature) {
				t.Errorf("other nonce: %v", err)
			}
		})
	}
}

func TestPlivoRejects(t *testing.T) {
	v, err := New("plivo", Config{Secrets: []string{plivoToken}, URL: plivoBase})
	if err != nil {
		t.Fatal(err)
	}
	const sig = "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="
	form := plivoForm()
	for _, tc := range []struct {
		name, method, url, sig, nonce, body string
		header                              http.Header
		want                                error
	}{
		{name: "tampered field", method: "POST", url: "http://h/x", sig: sig, nonce: plivoNonce, body: strings.Replace(form, "StartApp", "StopApp", 1), want: ErrSignature},
		{name: "extra field", method: "POST", url: "http://h/x", sig: sig, nonce: plivoNonce, body: form + "&X=1", want: ErrSignature},
		{name: "extra query", method: "POST", url: "http://h/x?z=1", sig: sig, nonce: plivoNonce, body: form, want: ErrSignature},
		{name: "as GET", method: "GET", url: "http://h/x?" + form, sig: sig, nonce: plivoNonce, want: ErrSignature},
		{name: "wrong token", method: "POST", url: "http://h/x", sig: "k7Pusd4OxCIjR5IfA9iedDNu/h/gbdYqdzG/MiYtd1c=", nonce: plivoNonce, body: form, want: ErrSignature},
		{name: "missing signature", method: "POST", url: "http://h/x", nonce: plivoNonce, body: form, want: ErrMalformed},
		{name: "missing nonce", method: "POST", url: "http://h/x", sig: sig, body: form, want: ErrMalformed},
		{name: "nonce with a dot", method: "POST", url: "http://h/x", sig: sig, nonce: "3162.7761595286130198", body: form, want: ErrMalformed},
		{name: "signature not base64", method: "POST", url: "http://h/x", sig: "not*base64", nonce: plivoNonce, body: form, want: ErrMalformed},
		{name: "repeated field", method: "POST", url: "http://h/x", sig: sig, nonce: plivoNonce, body: form + "&Event=StartApp", want: ErrMalformed},
		{name: "repeated query name", method: "POST", url: "http://h/x?a=1&a=2", sig: sig, nonce: plivoNonce, body: form, want: ErrMalformed},
		{name: "json body", method: "POST", url: "http://h/x", sig: sig, nonce: plivoNonce, body: `{"Event":"StartApp"}`,
			header: http.Header{"Content-Type": {"application/json"}}, want: ErrMalformed},
		{name: "PUT", method: "PUT", url: "http://h/x", sig: sig, nonce: plivoNonce, body: form, want: ErrMalformed},
		{name: "GET with body", method: "GET", url: "http://h/x", sig: sig, nonce: plivoNonce, body: form, want: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := plivoRequest(t, tc.method, tc.url, tc.sig, tc.nonce, tc.body)
			for k, vals := range tc.header {
				r.Header[k] = vals
			}
			_, err := v.Verify(r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), plivoToken) {
				t.Fatal("error names the token")
			}
		})
	}
}

func TestPlivoConfig(t *testing.T) {
	for _, c := range []Config{
		{Secrets: []string{plivoToken}},
		{Secrets: []string{plivoToken}, URL: plivoBase + "?a=b"},
		{Secrets: []string{plivoToken}, URL: "https://user:pw@example.com/x"},
		{Secrets: []string{plivoToken}, URL: "ftp://example.com/x"},
		{URL: plivoBase},
		{Secrets: []string{plivoToken}, URL: plivoBase, Tolerance: time.Minute},
	} {
		if _, err := New("plivo", c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

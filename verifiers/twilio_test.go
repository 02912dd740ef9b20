package verifiers

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Vectors (auth token "12345", URL https://mycompany.com/myapp.php?foo=1&bar=2):
//   - github:twilio/twilio-python tests/unit/test_request_validator.py
//     @e2df36ac5141ce5b540b2de72a520cd2b39e81cd (five params; the port
//     variants; the bodySHA256 case);
//   - github:twilio/twilio-go client/request_validator_test.go
//     @ae542037b13efec274d70189c81fcec48f648cdc (seven params including
//     Reason/ReasonConferenceEnded; the wrongly sorted signature; the
//     bodySHA256 cases).
//
// The cases marked "independent" were computed with this Python script
// (twilio-python's compute_signature algorithm, standard library only):
//
//	import base64, hashlib, hmac
//	def sig(uri, pairs, token=b"12345"):
//	    s = uri
//	    for n in sorted(set(n for n, _ in pairs)):
//	        for v in sorted(v for m, v in pairs if m == n):
//	            s += n + v
//	    return base64.b64encode(hmac.new(token, s.encode(), hashlib.sha1).digest()).decode()
//	u = "https://mycompany.com/myapp.php?foo=1&bar=2"
//	sig(u, [])                                                     # zYQTYrRWXE7LtzbG4PfP7/bkkGo=
//	sig("https://mycompany.com/myapp.php", [("MediaUrl", "b"), ("To", "+1"),
//	    ("MediaUrl", "a"), ("MediaUrl", "a")])                     # GRai8COhljqiZECz+AG4HPkjeYE=
//	sig("https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
//	    [("CallSid", "CA1234567890ABCDE")])                        # N6NTL1W+8P+UVKPnoAbJA5+3k2M=
//	sig(u, [("CallSid", "CA1234567890ABCDE")], b"second-token")    # zHhChrFHeMgh+gYpeyk+5A9NAj4=
const (
	twilioToken    = "12345"
	twilioURL      = "https://mycompany.com/myapp.php?foo=1&bar=2"
	twilioBody     = `{"property": "value", "boolean": true}`
	twilioBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
)

// twilioPyParams are the POST params of the twilio-python tests,
// twilioGoParams those of the twilio-go tests.
var (
	twilioPyParams = url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Digits": {"1234"}, "From": {"+14158675309"},
		"To": {"+18005551212"}, "Caller": {"+14158675309"},
	}
	twilioGoParams = url.Values{
		"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"},
		"ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
	}
)

func newTestTwilio(t *testing.T, c Config) Verifier {
	t.Helper()
	if c.Secrets == nil {
		c.Secrets = []string{twilioToken}
	}
	v, err := New("twilio", c)
	if err != nil {
		t.Fatalf("New(twilio): %v", err)
	}
	return v
}

func twilioHeader(sig, ct string) http.Header {
	h := http.Header{}
	if sig != "" {
		h.Set("X-Twilio-Signature", sig)
	}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	return h
}

func TestTwilioVectors(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	py, gp := []byte(twilioPyParams.Encode()), []byte(twilioGoParams.Encode())
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name    string
		cfgURL  string
		reqURL  string
		method  string
		ct      string
		body    []byte
		sig     string
		secrets []string
		wantKey int
	}{
		// twilio-python test_validation.
		{name: "python: https", reqURL: twilioURL, ct: form, body: py, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		// twilio-python test_validation_adds_port_on_https: signed with :443.
		{name: "python: signed with :443", reqURL: twilioURL, ct: form, body: py, sig: "kvajT1Ptam85bY51eRf/AJRuM3w="},
		// twilio-python test_validation_adds_port_on_http: signed with :80.
		{name: "python: http, signed with :80", reqURL: strings.Replace(twilioURL, "https", "http", 1), ct: form, body: py, sig: "0ZXoZLH/DfblKGATFgpif+LLRf4="},
		// twilio-python test_validation_removes_port_on_http: the URL and the
		// signature both carry :1234.
		{name: "python: http with :1234", reqURL: "http://mycompany.com:1234/myapp.php?foo=1&bar=2", ct: form, body: py, sig: "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="},
		// The request shows :443, Twilio signed without it.
		{name: "python: request with :443, signed without", reqURL: "https://mycompany.com:443/myapp.php?foo=1&bar=2", ct: form, body: py, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{name: "python: configured url", cfgURL: "https://mycompany.com/myapp.php", reqURL: "http://10.0.0.7:8080/myapp.php?foo=1&bar=2", ct: form, body: py, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{name: "python: configured url with :443", cfgURL: "https://mycompany.com:443/myapp.php", reqURL: "http://10.0.0.7:8080/myapp.php?foo=1&bar=2", ct: form, body: py, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{name: "python: form Content-Type with charset", reqURL: twilioURL, ct: form + "; charset=utf-8", body: py, sig: "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		// twilio-go "returns true when validation succeeds".
		{name: "go: https, Reason before ReasonConferenceEnded", reqURL: twilioURL, ct: form, body: gp, sig: "vOEb5UThFn24KEfnOFLQY2AE5FY="},
		// twilio-go "http ... signature is generated without [port]".
		{name: "go: http", reqURL: strings.Replace(twilioURL, "https", "http", 1), ct: form, body: gp, sig: "n2xBNyzSW7rfYStDtOFiFMv7qNo="},
		// twilio-go TestRequestValidator_ValidateBody / twilio-python
		// test_validation_of_body_succeeds.
		{name: "go/python: JSON body with bodySHA256", reqURL: twilioURL + "&bodySHA256=" + twilioBodyHash, ct: "application/json", body: []byte(twilioBody), sig: "a9nBmqA0ju/hNViExpshrM61xv4="},
		{name: "go: bodySHA256 only parameter", reqURL: "https://mycompany.com/myapp.php?bodySHA256=" + twilioBodyHash, ct: "application/json", body: []byte(twilioBody), sig: "y77kIzt2vzLz71DgmJGsen2scGs="},
		// Independent (script above).
		{name: "independent: GET, URL only", reqURL: twilioURL, method: "GET", sig: "zYQTYrRWXE7LtzbG4PfP7/bkkGo="},
		{name: "independent: repeated names", reqURL: "https://mycompany.com/myapp.php", ct: form, body: []byte("MediaUrl=b&To=%2B1&MediaUrl=a&MediaUrl=a"), sig: "GRai8COhljqiZECz+AG4HPkjeYE="},
		{name: "independent: configured url with credentials", cfgURL: "https://user:pass@mycompany.com/myapp.php", reqURL: "https://mycompany.com/myapp.php?foo=1&bar=2", ct: form, body: []byte("CallSid=CA1234567890ABCDE"), sig: "N6NTL1W+8P+UVKPnoAbJA5+3k2M="},
		{name: "independent: rotation, second token", secrets: []string{twilioToken, "second-token"}, reqURL: twilioURL, ct: form, body: []byte("CallSid=CA1234567890ABCDE"), sig: "zHhChrFHeMgh+gYpeyk+5A9NAj4=", wantKey: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestTwilio(t, Config{URL: tt.cfgURL, Secrets: tt.secrets})
			method := tt.method
			if method == "" {
				method = "POST"
			}
			h := twilioHeader(tt.sig, tt.ct)
			h.Set("I-Twilio-Idempotency-Token", "idem-1")
			res := formsigCheck(t, v, formsigRequest(t, method, tt.reqURL, h, tt.body, now), nil)
			want, _ := base64.StdEncoding.DecodeString(tt.sig)
			if !bytes.Equal(res.Signature, want) || res.Key != tt.wantKey || res.ID != "idem-1" ||
				res.SignedID != "" || !res.Timestamp.IsZero() || res.Act != nil {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestTwilioRejects(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	py := []byte(twilioPyParams.Encode())
	const good = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	goodBytes, _ := base64.StdEncoding.DecodeString(good)
	now := time.Unix(1700000000, 0)
	tampered := url.Values{}
	for k, v := range twilioPyParams {
		tampered[k] = v
	}
	tampered.Set("Digits", "9999")
	extra := url.Values{}
	for k, v := range twilioPyParams {
		extra[k] = v
	}
	extra.Set("Extra", "1")

	tests := []struct {
		name    string
		cfgURL  string
		reqURL  string
		h       http.Header
		body    []byte
		secrets []string
		want    error
	}{
		// twilio-go "return false when params are sorted incorrectly".
		{name: "go: ReasonConferenceEnded sorted before Reason", reqURL: twilioURL, h: twilioHeader("95+Bu0JVPi0r/SsESZCVf0dWAjw=", form), body: []byte(twilioGoParams.Encode()), want: ErrSignature},
		// twilio-go "returns false when validation fails" (ValidateBody with
		// the form signature): the JSON body is not covered without bodySHA256.
		{name: "go: JSON body without bodySHA256", reqURL: twilioURL, h: twilioHeader(good, "application/json"), body: []byte(twilioBody), want: ErrMalformed},
		// Deliberate difference from the SDKs (twilio-python
		// test_validation_removes_port_on_https, twilio-go "https and port is
		// specified but signature is generated without it"): a non-default
		// port is not removed.
		{name: "sdk leniency not copied: :1234 removed", reqURL: "https://mycompany.com:1234/myapp.php?foo=1&bar=2", h: twilioHeader(good, form), body: py, want: ErrSignature},
		{name: "sdk leniency not copied: configured :8443", cfgURL: "https://mycompany.com:8443/myapp.php", reqURL: twilioURL, h: twilioHeader(good, form), body: py, want: ErrSignature},
		{name: "http signature on https url", reqURL: twilioURL, h: twilioHeader("0ZXoZLH/DfblKGATFgpif+LLRf4=", form), body: py, want: ErrSignature},
		{name: "wrong token", secrets: []string{"54321"}, reqURL: twilioURL, h: twilioHeader(good, form), body: py, want: ErrSignature},
		{name: "tampered param", reqURL: twilioURL, h: twilioHeader(good, form), body: []byte(tampered.Encode()), want: ErrSignature},
		{name: "extra param", reqURL: twilioURL, h: twilioHeader(good, form), body: []byte(extra.Encode()), want: ErrSignature},
		{name: "other path", reqURL: "https://mycompany.com/other.php?foo=1&bar=2", h: twilioHeader(good, form), body: py, want: ErrSignature},
		{name: "query dropped", reqURL: "https://mycompany.com/myapp.php", h: twilioHeader(good, form), body: py, want: ErrSignature},
		{name: "configured url differs", cfgURL: "https://mycompany.com/myapp", reqURL: twilioURL, h: twilioHeader(good, form), body: py, want: ErrSignature},
		{name: "form params not signed when sent as JSON", reqURL: twilioURL, h: twilioHeader(good, "text/plain"), body: py, want: ErrMalformed},
		{name: "truncated signature", reqURL: twilioURL, h: twilioHeader(base64.StdEncoding.EncodeToString(goodBytes[:19]), form), body: py, want: ErrSignature},
		{name: "hex signature", reqURL: twilioURL, h: twilioHeader("44a4980ede13d5c51374ad4f0ddf77fd556bf01f", form), body: py, want: ErrSignature},
		{name: "signature not base64", reqURL: twilioURL, h: twilioHeader("RSOYDt4T1cUTdK1PDd93/VVr8B8=!", form), body: py, want: ErrMalformed},
		{name: "missing signature", reqURL: twilioURL, h: twilioHeader("", form), body: py, want: ErrMalformed},
		{name: "duplicated signature", reqURL: twilioURL, h: http.Header{"X-Twilio-Signature": {good, good}, "Content-Type": {form}}, body: py, want: ErrMalformed},
		{name: "duplicated idempotency token", reqURL: twilioURL, h: http.Header{"X-Twilio-Signature": {good}, "Content-Type": {form}, "I-Twilio-Idempotency-Token": {"a", "b"}}, body: py, want: ErrMalformed},
		{name: "duplicated Content-Type", reqURL: twilioURL, h: http.Header{"X-Twilio-Signature": {good}, "Content-Type": {form, form}}, body: py, want: ErrMalformed},
		{name: "invalid form escape", reqURL: twilioURL, h: twilioHeader(good, form), body: append(bytes.Clone(py), "&x=%zz"...), want: ErrMalformed},
		{name: "bodySHA256: tampered body", reqURL: twilioURL + "&bodySHA256=" + twilioBodyHash, h: twilioHeader("a9nBmqA0ju/hNViExpshrM61xv4=", "application/json"), body: []byte(twilioBody + " "), want: ErrSignature},
		{name: "bodySHA256: signature of the URL without it", reqURL: twilioURL + "&bodySHA256=" + twilioBodyHash, h: twilioHeader(good, "application/json"), body: []byte(twilioBody), want: ErrSignature},
		{name: "bodySHA256: duplicated", reqURL: twilioURL + "&bodySHA256=" + twilioBodyHash + "&bodySHA256=" + twilioBodyHash, h: twilioHeader("a9nBmqA0ju/hNViExpshrM61xv4=", "application/json"), body: []byte(twilioBody), want: ErrMalformed},
		{name: "bodySHA256: truncated", reqURL: twilioURL + "&bodySHA256=" + twilioBodyHash[:62], h: twilioHeader("a9nBmqA0ju/hNViExpshrM61xv4=", "application/json"), body: []byte(twilioBody), want: ErrMalformed},
		{name: "bodySHA256: not hex", reqURL: twilioURL + "&bodySHA256=" + strings.Repeat("z", 64), h: twilioHeader("a9nBmqA0ju/hNViExpshrM61xv4=", "application/json"), body: []byte(twilioBody), want: ErrMalformed},
		{name: "request url without host", reqURL: "/myapp.php?foo=1&bar=2", h: twilioHeader(good, form), body: py, want: ErrMalformed},
		{name: "no request url", h: twilioHeader(good, form), body: py, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestTwilio(t, Config{URL: tt.cfgURL, Secrets: tt.secrets})
			formsigCheck(t, v, formsigRequest(t, "POST", tt.reqURL, tt.h, tt.body, now), tt.want, twilioToken, "54321", good, twilioBodyHash)
		})
	}
}

func TestTwilioPortVariants(t *testing.T) {
	tests := []struct {
		scheme, hostport string
		want             []string
	}{
		{"https", "h.example", []string{"h.example", "h.example:443"}},
		{"https", "h.example:443", []string{"h.example:443", "h.example"}},
		{"https", "h.example:80", []string{"h.example:80"}},
		{"http", "h.example", []string{"h.example", "h.example:80"}},
		{"HTTP", "h.example:80", []string{"h.example:80", "h.example"}},
		{"https", "h.example:8443", []string{"h.example:8443"}},
		{"https", "[2001:db8::1]", []string{"[2001:db8::1]", "[2001:db8::1]:443"}},
		{"https", "[2001:db8::1]:443", []string{"[2001:db8::1]:443", "[2001:db8::1]"}},
		{"ftp", "h.example", []string{"h.example"}},
	}
	for _, tt := range tests {
		got := twilioPortVariants(tt.scheme, tt.hostport)
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("twilioPortVariants(%q, %q) = %q, want %q", tt.scheme, tt.hostport, got, tt.want)
		}
	}
}

func TestTwilioConfig(t *testing.T) {
	ok := []string{"", "https://mycompany.com/myapp.php", "http://mycompany.com:8080/x", "https://u:p@mycompany.com/", "https://mycompany.com"}
	for _, u := range ok {
		if _, err := New("twilio", Config{Secrets: []string{twilioToken}, URL: u}); err != nil {
			t.Errorf("url %q: %v", u, err)
		}
	}
	tests := []struct {
		name string
		c    Config
	}{
		{"no secret", Config{}},
		{"empty secret", Config{Secrets: []string{""}}},
		{"url with query", Config{Secrets: []string{twilioToken}, URL: "https://mycompany.com/myapp.php?foo=1"}},
		{"url with empty query", Config{Secrets: []string{twilioToken}, URL: "https://mycompany.com/myapp.php?"}},
		{"url with fragment", Config{Secrets: []string{twilioToken}, URL: "https://mycompany.com/myapp.php#x"}},
		{"relative url", Config{Secrets: []string{twilioToken}, URL: "/myapp.php"}},
		{"no host", Config{Secrets: []string{twilioToken}, URL: "https:///myapp.php"}},
		{"other scheme", Config{Secrets: []string{twilioToken}, URL: "ftp://mycompany.com/x"}},
		{"unparsable url", Config{Secrets: []string{twilioToken}, URL: "https://mycompany.com:port/"}},
		{"tolerance", Config{Secrets: []string{twilioToken}, Tolerance: time.Minute}},
		{"username", Config{Secrets: []string{twilioToken}, Username: "u"}},
		{"password", Config{Secrets: []string{twilioToken}, Password: "p"}},
		{"header", Config{Secrets: []string{twilioToken}, Header: "X-A"}},
		{"public_key", Config{Secrets: []string{twilioToken}, PublicKeys: []PublicKey{{Key: "k"}}}},
		{"hmac", Config{Secrets: []string{twilioToken}, HMAC: &HMACRecipe{}}},
		{"topic_arn", Config{Secrets: []string{twilioToken}, TopicARNs: []string{"a"}}},
		{"certificate", Config{Secrets: []string{twilioToken}, Certificates: []string{"c"}}},
		{"auto_confirm", Config{Secrets: []string{twilioToken}, AutoConfirm: true}},
	}
	for _, tt := range tests {
		v, err := New("twilio", tt.c)
		if err == nil || v != nil {
			t.Errorf("%s: New = %v, %v; want an error", tt.name, v, err)
			continue
		}
		if strings.Contains(err.Error(), twilioToken) {
			t.Errorf("%s: error text %q leaks the token", tt.name, err)
		}
	}
	v := newTestTwilio(t, Config{})
	if ts, ok := v.(Timestamped); !ok || ts.HasTimestamp() {
		t.Errorf("twilio must report no timestamp")
	}
}

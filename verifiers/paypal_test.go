package verifiers

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// PayPal publishes no signed example with its certificate's key. This
// fixture uses the header values of PayPal's verify-webhook-signature docs
// example (transmission id, time, webhook id) and a PAYMENT.SALE.COMPLETED
// body of the docs' shape (testdata/paypal/body.json, no final newline),
// signed by OpenSSL with a throwaway key whose self-signed certificate
// names messageverificationcerts.paypal.com (testdata/paypal/cert.pem):
//
//	openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 36500 \
//	  -subj "/CN=messageverificationcerts.paypal.com/O=webhook-verify test" \
//	  -addext "subjectAltName=DNS:messageverificationcerts.paypal.com" -addext "keyUsage=digitalSignature"
//	python3 -c "import zlib;print(zlib.crc32(open('body.json','rb').read()))"   # 2943906929
//	printf '%s' "69cd13f0-d67a-11e5-baa3-778b53f4ae55|2016-02-18T20:01:35Z|1JE4291016473214C|2943906929" \
//	  | openssl dgst -sha256 -sign key.pem | base64 -w0 > sig.b64
//
// testdata/paypal/other.pem is a certificate for example.com.
const (
	paypalTID         = "69cd13f0-d67a-11e5-baa3-778b53f4ae55"
	paypalTTime       = "2016-02-18T20:01:35Z"
	paypalWebhook     = "1JE4291016473214C"
	paypalTestCertURL = "https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
)

func paypalFixture(t testing.TB) (body, sig, cert, other string) {
	t.Helper()
	read := func(n string) string {
		b, err := os.ReadFile("testdata/paypal/" + n)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return read("body.json"), strings.TrimSpace(read("sig.b64")), read("cert.pem"), read("other.pem")
}

func paypalHeaders(sig string, kv ...string) []string {
	h := []string{"PAYPAL-TRANSMISSION-ID", paypalTID, "PAYPAL-TRANSMISSION-TIME", paypalTTime,
		"PAYPAL-TRANSMISSION-SIG", sig, "PAYPAL-CERT-URL", paypalTestCertURL, "PAYPAL-AUTH-ALGO", "SHA256withRSA"}
	for i := 0; i+1 < len(kv); i += 2 {
		for j := 0; j < len(h); j += 2 {
			if h[j] == kv[i] {
				h[j+1] = kv[i+1]
			}
		}
	}
	return h
}

func TestPayPalPinned(t *testing.T) {
	body, sig, cert, other := paypalFixture(t)
	now, _ := time.Parse(time.RFC3339, paypalTTime)
	tests := []struct {
		name    string
		certs   []string
		body    string
		headers []string
		now     time.Time
		wantErr error
		key     int
	}{
		{name: "signed", certs: []string{cert}, body: body, headers: paypalHeaders(sig), now: now},
		{name: "second certificate", certs: []string{other, cert}, body: body, headers: paypalHeaders(sig), now: now, key: 1},
		{name: "tampered body", certs: []string{cert}, body: strings.Replace(body, "0.48", "4.80", 1), headers: paypalHeaders(sig), now: now, wantErr: ErrSignature},
		{name: "tampered id", certs: []string{cert}, body: body, headers: paypalHeaders(sig, "PAYPAL-TRANSMISSION-ID", "69cd13f0-d67a-11e5-baa3-778b53f4ae56"), now: now, wantErr: ErrSignature},
		{name: "wrong certificate", certs: []string{other}, body: body, headers: paypalHeaders(sig), now: now, wantErr: ErrSignature},
		{name: "stale", certs: []string{cert}, body: body, headers: paypalHeaders(sig), now: now.Add(time.Hour), wantErr: ErrTimestamp},
		{name: "other algorithm", certs: []string{cert}, body: body, headers: paypalHeaders(sig, "PAYPAL-AUTH-ALGO", "SHA1withRSA"), now: now, wantErr: ErrMalformed},
		{name: "id with a pipe", certs: []string{cert}, body: body, headers: paypalHeaders(sig, "PAYPAL-TRANSMISSION-ID", "a|b"), now: now, wantErr: ErrMalformed},
		{name: "time not RFC 3339", certs: []string{cert}, body: body, headers: paypalHeaders(sig, "PAYPAL-TRANSMISSION-TIME", "1455825695"), now: now, wantErr: ErrMalformed},
		{name: "short signature", certs: []string{cert}, body: body, headers: paypalHeaders(sig[:40]), now: now, wantErr: ErrMalformed},
		{name: "certificate URL elsewhere", certs: []string{cert}, body: body, headers: paypalHeaders(sig, "PAYPAL-CERT-URL", "https://evil.example/v1/notifications/certs/CERT-1"), now: now, wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("paypal", Config{WebhookID: paypalWebhook, Certificates: tc.certs})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(slackRequest(tc.body, tc.now, tc.headers...))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res != nil {
					t.Fatalf("err %v, res %+v; want %v", err, res, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Key != tc.key || res.SignedID != paypalTID || !res.Timestamp.Equal(now) {
				t.Fatalf("result %+v", res)
			}
		})
	}
	// Another webhook id: the same delivery does not verify.
	v, err := New("paypal", Config{WebhookID: "OTHERWEBHOOK", Certificates: []string{cert}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(slackRequest(body, now, paypalHeaders(sig)...)); !errors.Is(err, ErrSignature) {
		t.Fatalf("other webhook id: %v, want ErrSignature", err)
	}
}

func TestPayPalCertURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{paypalTestCertURL, true},
		{"https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77", true},
		{"http://api.paypal.com/v1/notifications/certs/CERT-1", false},
		{"https://api.paypal.com:8443/v1/notifications/certs/CERT-1", false},
		{"https://user@api.paypal.com/v1/notifications/certs/CERT-1", false},
		{"https://api.paypal.com.evil.example/v1/notifications/certs/CERT-1", false},
		{"https://API.PAYPAL.COM/v1/notifications/certs/CERT-1", false},
		{"https://api.paypal.com/v1/notifications/certs/CERT-1?x=1", false},
		{"https://api.paypal.com/v1/notifications/certs/../../oauth2/token", false},
		{"https://api.paypal.com/v1/notifications/certs/CERT%2F1", false},
		{"https://api.paypal.com/v1/other/CERT-1", false},
	} {
		if _, err := paypalCertURL(tc.url); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.url, err, tc.ok)
		}
	}
}

// paypalTransport serves the certificate URLs from a map, counting calls.
type paypalTransport struct {
	calls atomic.Int32
	serve func(r *http.Request) *http.Response
}

func (p *paypalTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	p.calls.Add(1)
	return p.serve(r), nil
}

func paypalResp(status int, body string, h ...string) *http.Response {
	hd := http.Header{}
	for i := 0; i+1 < len(h); i += 2 {
		hd.Set(h[i], h[i+1])
	}
	return &http.Response{StatusCode: status, Header: hd, Body: io.NopCloser(strings.NewReader(body))}
}

func TestPayPalFetch(t *testing.T) {
	body, sig, cert, _ := paypalFixture(t)
	// The fixture certificate is valid from when it was made (2026), long
	// after the fixture's transmission time: these verifiers check the
	// certificate at the real clock, with the timestamp check off.
	now := time.Now()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(cert)) {
		t.Fatal("cert.pem")
	}
	newV := func(serve func(*http.Request) *http.Response) (*paypal, *paypalTransport) {
		tr := &paypalTransport{serve: serve}
		v, err := New("paypal", Config{WebhookID: paypalWebhook, Tolerance: -1, HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			t.Fatal(err)
		}
		pv := v.(*paypal)
		pv.roots = roots
		return pv, tr
	}
	req := func() *Request { return slackRequest(body, now, paypalHeaders(sig)...) }

	// Fetched once, then cached.
	v, tr := newV(func(r *http.Request) *http.Response {
		if r.URL.String() != paypalTestCertURL {
			t.Errorf("fetched %s", r.URL)
		}
		return paypalResp(200, cert)
	})
	for i := 0; i < 3; i++ {
		if res, err := v.Verify(req()); err != nil || res.SignedID != paypalTID {
			t.Fatalf("copy %d: %v", i+1, err)
		}
	}
	if n := tr.calls.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
	// Nothing is fetched for a refused URL or malformed metadata.
	bad := slackRequest(body, now, paypalHeaders(sig, "PAYPAL-CERT-URL", "https://127.0.0.1/v1/notifications/certs/CERT-1")...)
	if _, err := v.Verify(bad); !errors.Is(err, ErrMalformed) || tr.calls.Load() != 1 {
		t.Errorf("refused URL: %v, %d fetches", err, tr.calls.Load())
	}

	for _, tc := range []struct {
		name  string
		serve func(*http.Request) *http.Response
		want  error
	}{
		{"404", func(*http.Request) *http.Response { return paypalResp(404, "") }, ErrSignature},
		{"500", func(*http.Request) *http.Response { return paypalResp(500, "") }, ErrUnavailable},
		{"redirect not followed", func(*http.Request) *http.Response {
			return paypalResp(302, "", "Location", "https://evil.example/cert.pem")
		}, ErrUnavailable},
		{"too large", func(*http.Request) *http.Response { return paypalResp(200, cert+strings.Repeat(" ", 70<<10)) }, ErrUnavailable},
		{"not a certificate", func(*http.Request) *http.Response { return paypalResp(200, "hello") }, ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, tr := newV(tc.serve)
			for i := 0; i < 3; i++ {
				if _, err := v.Verify(req()); !errors.Is(err, tc.want) {
					t.Fatalf("copy %d: %v, want %v", i+1, err, tc.want)
				}
			}
			if n := tr.calls.Load(); n != 1 {
				t.Errorf("%d fetches, want 1 (the failure is remembered)", n)
			}
		})
	}

	// Untrusted (system roots) or misnamed certificates are refused.
	t.Run("untrusted", func(t *testing.T) {
		v, _ := newV(func(*http.Request) *http.Response { return paypalResp(200, cert) })
		v.roots = x509.NewCertPool()
		if _, err := v.Verify(req()); !errors.Is(err, ErrSignature) {
			t.Fatalf("%v, want ErrSignature", err)
		}
	})
	t.Run("sandbox name on the live host", func(t *testing.T) {
		v, _ := newV(func(*http.Request) *http.Response { return paypalResp(200, cert) })
		sb := slackRequest(body, now, paypalHeaders(sig, "PAYPAL-CERT-URL", "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-1")...)
		if _, err := v.Verify(sb); !errors.Is(err, ErrSignature) {
			t.Fatalf("%v, want ErrSignature (the certificate names the live host)", err)
		}
	})
	t.Run("cancelled request", func(t *testing.T) {
		v, _ := newV(func(*http.Request) *http.Response { return paypalResp(200, cert) })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := req()
		r.Context = ctx
		if _, err := v.Verify(r); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("%v, want ErrUnavailable", err)
		}
	})
}

func TestPayPalConfig(t *testing.T) {
	_, _, cert, _ := paypalFixture(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"webhook id", Config{WebhookID: paypalWebhook}, true},
		{"pinned", Config{WebhookID: paypalWebhook, Certificates: []string{cert}}, true},
		{"no webhook id", Config{}, false},
		{"webhook id with a pipe", Config{WebhookID: "a|b"}, false},
		{"bad certificate", Config{WebhookID: paypalWebhook, Certificates: []string{"x"}}, false},
		{"secret", Config{WebhookID: paypalWebhook, Secrets: []string{"s"}}, false},
	} {
		if _, err := New("paypal", tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

package verifiers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The sns verifier on the vectors and fixtures of sns_fixtures_test.go; the
// envelope's shape rules are in sns_parse_test.go, the certificate checks in
// sns_cert_test.go, their fetching in sns_fetch_test.go.

func TestSNSRegistered(t *testing.T) {
	for _, n := range []string{"sns", "ses"} {
		if !Known(n) || Canonical(n) != "sns" {
			t.Errorf("%s not registered as sns", n)
		}
	}
	v, err := New("ses", Config{})
	if err != nil {
		t.Fatalf("empty config: %v", err)
	}
	sv := v.(*snsVerifier)
	if sv.client.Timeout != 10*time.Second || sv.client.CheckRedirect == nil {
		t.Errorf("default client: timeout %v, redirects followed %v", sv.client.Timeout, sv.client.CheckRedirect == nil)
	}
	if sv.HasTimestamp() {
		t.Error("HasTimestamp with default tolerance")
	}
	own := &http.Client{Timeout: time.Second}
	v, _ = New("sns", Config{HTTPClient: own})
	if own.CheckRedirect != nil || v.(*snsVerifier).client.CheckRedirect == nil || v.(*snsVerifier).client.Timeout != time.Second {
		t.Error("configured client not copied with redirects off")
	}
}

// The official vectors, with the pinned fixture certificate (no fetch, no
// validity check: the certificate expired in 2022).
func TestSNSPHPVectorsPinned(t *testing.T) {
	v := newTestSNS(t, Config{Certificates: []string{snsPHPCert}}, nil)
	for i, vec := range snsPHPVectors {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			body := snsBody(t, vec)
			res, err := v.Verify(snsRequest(body, time.Now(), "x-amz-sns-message-type", "Notification",
				"x-amz-sns-message-id", vec["MessageId"], "x-amz-sns-topic-arn", vec["TopicArn"]))
			snsCheck(t, res, err, body, 0)
			if res.Act != nil {
				t.Error("notification answered instead of forwarded")
			}
		})
	}
}

func TestSNSPHPVectorsTampered(t *testing.T) {
	v := newTestSNS(t, Config{Certificates: []string{snsPHPCert}}, nil)
	edit := func(i int, f func(m map[string]string)) []byte {
		m := map[string]string{}
		for k, val := range snsPHPVectors[i] {
			m[k] = val
		}
		f(m)
		return snsBody(t, m)
	}
	resig := func(i int, f func(sig []byte) []byte) []byte {
		return edit(i, func(m map[string]string) {
			sig, err := base64.StdEncoding.DecodeString(m["Signature"])
			if err != nil || len(sig) != 256 {
				t.Fatalf("vector %d: signature of %d bytes, %v", i, len(sig), err)
			}
			m["Signature"] = base64.StdEncoding.EncodeToString(f(sig))
		})
	}
	cases := []struct {
		name string
		body []byte
		err  error
	}{
		{"message", edit(0, func(m map[string]string) { m["Message"] = "Hello world!" }), nil},
		{"message id", edit(1, func(m map[string]string) { m["MessageId"] = "17dea24b-55c2-540b-8362-f916557af766" }), nil},
		{"timestamp", edit(0, func(m map[string]string) { m["Timestamp"] = "2022-07-28T21:23:58.318Z" }), nil},
		{"topic", edit(1, func(m map[string]string) { m["TopicArn"] += "x" }), nil},
		{"subject added", edit(0, func(m map[string]string) { m["Subject"] = "Hello world" }), nil},
		{"subject removed", edit(2, func(m map[string]string) { delete(m, "Subject") }), nil},
		{"empty subject added", edit(1, func(m map[string]string) { m["Subject"] = "" }), nil},
		{"v2 labelled v1", edit(1, func(m map[string]string) { m["SignatureVersion"] = "1" }), nil},
		{"v1 labelled v2", edit(0, func(m map[string]string) { m["SignatureVersion"] = "2" }), nil},
		{"swapped signature", edit(0, func(m map[string]string) { m["Signature"] = snsPHPVectors[2]["Signature"] }), nil},
		{"one bit flipped", resig(0, func(sig []byte) []byte { sig[100] ^= 1; return sig }), nil},
		{"truncated to an rsa size", resig(0, func(sig []byte) []byte { return sig[:248] }), nil},
		{"zeros appended to an rsa size", resig(1, func(sig []byte) []byte { return append(sig, make([]byte, 8)...) }), nil},
		// Lengths no RSA key gives are refused before any key is used.
		{"truncated by 3 bytes", edit(0, func(m map[string]string) { m["Signature"] = m["Signature"][:len(m["Signature"])-4] }), ErrMalformed},
		{"one byte appended", resig(0, func(sig []byte) []byte { return append(sig, 0) }), ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.err
			if want == nil {
				want = ErrSignature
			}
			_, err := v.Verify(snsRequest(c.body, time.Now()))
			if !errors.Is(err, want) {
				t.Fatalf("got %v, want %v", err, want)
			}
		})
	}
	// A pinned certificate other than the signer's.
	w := newTestSNS(t, Config{Certificates: []string{string(snsFixture(t, "sns.pem"))}}, nil)
	if _, err := w.Verify(snsRequest(snsBody(t, snsPHPVectors[0]), time.Now())); !errors.Is(err, ErrSignature) {
		t.Fatalf("wrong pinned certificate: got %v, want ErrSignature", err)
	}
}

func TestSNSFixturesPinned(t *testing.T) {
	s := newSNSServer(t)
	cert := func(n string) string { return string(snsFixture(t, n+".pem")) }
	cases := []struct {
		name  string
		certs []string
		file  string
		key   int
		err   error
	}{
		{"v1", []string{cert("sns")}, "notification-v1.json", 0, nil},
		{"subscription", []string{cert("sns")}, "subscription-v1.json", 0, nil},
		{"unsubscribe", []string{cert("sns")}, "unsubscribe-v2.json", 0, nil},
		{"rotation", []string{cert("wrongname"), cert("sns")}, "notification-v2.json", 1, nil},
		{"bundle entry", []string{cert("sns"), cert("bundled")}, "notification-bundled.json", 1, nil},
		// Pinned certificates are trusted as given: name, usage and validity are not checked.
		{"expired pinned", []string{cert("expired")}, "notification-expired.json", 0, nil},
		{"any name pinned", []string{cert("wrongname")}, "notification-wrongname.json", 0, nil},
		{"other key", []string{cert("wrongname"), cert("expired")}, "notification-v2.json", 0, ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newTestSNS(t, Config{Certificates: c.certs, HTTPClient: s.client}, x509.NewCertPool())
			body := snsFixture(t, c.file)
			res, err := v.Verify(snsRequest(body, snsNow))
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, want %v", err, c.err)
				}
				return
			}
			snsCheck(t, res, err, body, c.key)
		})
	}
	if n := s.total(); n != 0 {
		t.Errorf("%d fetches with pinned certificates", n)
	}
	// The host rules still apply to SigningCertURL.
	v := newTestSNS(t, Config{Certificates: []string{cert("sns")}}, nil)
	body := snsEdit(t, snsFixture(t, "notification-v2.json"), "https://sns.us-east-1.amazonaws.com/", "https://example.com/")
	if _, err := v.Verify(snsRequest(body, snsNow)); !errors.Is(err, ErrMalformed) {
		t.Errorf("pinned, foreign SigningCertURL: got %v, want ErrMalformed", err)
	}
}

func TestSNSTopics(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	roots := snsPool(t, string(snsFixture(t, "ca.pem")))
	body := snsFixture(t, "notification-v2.json")
	ok := newTestSNS(t, Config{HTTPClient: s.client, TopicARNs: []string{"arn:aws:sns:us-east-1:123456789012:Other", "arn:aws:sns:us-east-1:123456789012:MyTopic"}}, roots)
	res, err := ok.Verify(snsRequest(body, snsNow))
	snsCheck(t, res, err, body, 0)

	s2 := newSNSServer(t)
	s2.serveFixtures(t)
	for _, topics := range [][]string{
		{"arn:aws:sns:us-east-1:123456789012:Other"},
		{"arn:aws:sns:us-east-1:123456789012:mytopic"},
		{"arn:aws:sns:us-east-1:123456789012:MyTopic2"},
	} {
		v := newTestSNS(t, Config{HTTPClient: s2.client, TopicARNs: topics}, roots)
		_, err := v.Verify(snsRequest(body, snsNow))
		if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "topic not allowed") {
			t.Errorf("%v: got %v, want ErrForbidden topic not allowed", topics, err)
		}
	}
	if n := s2.total(); n != 0 {
		t.Errorf("%d fetches for a topic not allowed", n)
	}
}

func TestSNSTolerance(t *testing.T) {
	pinned := []string{string(snsFixture(t, "sns.pem"))}
	body := snsFixture(t, "notification-v2.json")
	cases := []struct {
		name      string
		tolerance time.Duration
		now       time.Time
		err       error
	}{
		{"default: no check, a day late", 0, snsFixtureTime.Add(24 * time.Hour), nil},
		{"default: no check, a day early", 0, snsFixtureTime.Add(-24 * time.Hour), nil},
		{"off", -1, snsFixtureTime.Add(24 * time.Hour), nil},
		{"1h: on time", time.Hour, snsFixtureTime.Add(time.Minute), nil},
		{"1h: at the edge", time.Hour, snsFixtureTime.Add(time.Hour), nil},
		{"1h: stale", time.Hour, snsFixtureTime.Add(time.Hour + time.Millisecond), ErrTimestamp},
		{"1h: future", time.Hour, snsFixtureTime.Add(-time.Hour - time.Second), ErrTimestamp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newTestSNS(t, Config{Certificates: pinned, Tolerance: c.tolerance}, nil)
			if v.HasTimestamp() != (c.tolerance > 0) {
				t.Errorf("HasTimestamp %v with tolerance %v", v.HasTimestamp(), c.tolerance)
			}
			res, err := v.Verify(snsRequest(body, c.now))
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, want %v", err, c.err)
				}
				return
			}
			snsCheck(t, res, err, body, 0)
		})
	}
}

func TestSNSAutoConfirm(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	roots := snsPool(t, string(snsFixture(t, "ca.pem")))
	cfg := Config{HTTPClient: s.client, AutoConfirm: true, TopicARNs: []string{"arn:aws:sns:us-east-1:123456789012:MyTopic"}}
	v := newTestSNS(t, cfg, roots)
	confirms := func() int { return s.count("sns.us-east-1.amazonaws.com/") }

	for i, f := range []string{"subscription-v1.json", "subscription-v2.json"} {
		body := snsFixture(t, f)
		res, err := v.Verify(snsRequest(body, snsNow))
		snsCheck(t, res, err, body, 0)
		if res.Act == nil {
			t.Fatalf("%s: no action, want a confirmation", f)
		}
		if confirms() != i {
			t.Fatalf("%s: confirmed during Verify; it must wait for the handler's replay check", f)
		}
		resp, err := res.Act(context.Background())
		if err != nil || resp == nil || resp.Status != http.StatusOK || resp.Body != "subscription confirmed" {
			t.Fatalf("%s: Act = %+v, %v; want 200 subscription confirmed", f, resp, err)
		}
		if confirms() != i+1 {
			t.Fatalf("%s: %d confirmations, want %d", f, confirms(), i+1)
		}
	}
	if confirms() != 2 {
		t.Fatalf("%d confirmations, want 2", confirms())
	}
	q := s.queries[0]
	if !strings.Contains(q, "Action=ConfirmSubscription") || !strings.Contains(q, "Token=2336412f37fb687f") {
		t.Errorf("confirmation query %q", q)
	}
	// Notifications and unsubscribe confirmations are forwarded (visiting
	// an UnsubscribeConfirmation's SubscribeURL would subscribe again).
	for _, f := range []string{"notification-v2.json", "unsubscribe-v2.json"} {
		res, err := v.Verify(snsRequest(snsFixture(t, f), snsNow))
		if err != nil || res.Act != nil {
			t.Errorf("%s: %v %+v, want forwarded", f, err, res)
		}
	}
	// Without auto_confirm the confirmation is forwarded.
	res, err := newTestSNS(t, Config{HTTPClient: s.client}, roots).Verify(snsRequest(snsFixture(t, "subscription-v2.json"), snsNow))
	if err != nil || res.Act != nil {
		t.Errorf("no auto_confirm: %v %+v, want forwarded", err, res)
	}
	if confirms() != 2 {
		t.Fatalf("%d confirmations, want 2", confirms())
	}
	// Nothing is visited before the signature verifies.
	tampered := snsEdit(t, snsFixture(t, "subscription-v2.json"), "You have chosen", "You chose")
	if _, err := v.Verify(snsRequest(tampered, snsNow)); !errors.Is(err, ErrSignature) {
		t.Errorf("tampered: got %v, want ErrSignature", err)
	}
	// A SubscribeURL outside the host rules is refused and not visited.
	for _, u := range []string{"http://sns.us-east-1.amazonaws.com/?", "https://evil.example/?", "https://sns.us-east-1.amazonaws.com:8443/?", "https://u@sns.us-east-1.amazonaws.com/?"} {
		body := snsEdit(t, snsFixture(t, "subscription-v2.json"), `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/?`, `"SubscribeURL" : "`+u)
		if _, err := v.Verify(snsRequest(body, snsNow)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", u, err)
		}
	}
	if confirms() != 2 {
		t.Fatalf("%d confirmations, want 2", confirms())
	}
	// A failed confirmation is ErrUnavailable (SNS retries).
	s.fail("/", http.StatusInternalServerError)
	res, err = v.Verify(snsRequest(snsFixture(t, "subscription-v2.json"), snsNow))
	if err != nil || res.Act == nil {
		t.Fatalf("verify: %v %+v, want an action", err, res)
	}
	if resp, err := res.Act(context.Background()); !errors.Is(err, ErrUnavailable) || resp != nil {
		t.Errorf("failed confirmation: got %+v, %v, want ErrUnavailable", resp, err)
	}
}

func TestSNSConfig(t *testing.T) {
	ecCert := func() string {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
			NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}()
	good := string(snsFixture(t, "sns.pem"))
	cases := []struct {
		name string
		cfg  Config
	}{
		{"secret", Config{Secrets: []string{"x"}}},
		{"public_key", Config{PublicKeys: []PublicKey{{Key: "x"}}}},
		{"hmac", Config{HMAC: &HMACRecipe{}}},
		{"url", Config{URL: "https://example.com/"}},
		{"username", Config{Username: "u"}},
		{"password", Config{Password: "p"}},
		{"header", Config{Header: "X-Token"}},
		{"topic not an arn", Config{TopicARNs: []string{"MyTopic"}}},
		{"topic not sns", Config{TopicARNs: []string{"arn:aws:sqs:us-east-1:123456789012:q"}}},
		{"empty topic", Config{TopicARNs: []string{""}}},
		{"auto_confirm without topics", Config{AutoConfirm: true}},
		{"certificate not pem", Config{Certificates: []string{"not a certificate"}}},
		{"certificate empty", Config{Certificates: []string{""}}},
		{"certificate private key", Config{Certificates: []string{"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}}},
		{"certificate trailing junk", Config{Certificates: []string{good + "junk"}}},
		{"certificate bad der", Config{Certificates: []string{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}}},
		{"certificate not rsa", Config{Certificates: []string{ecCert}}},
		{"second certificate bad", Config{Certificates: []string{good, "x"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := New("sns", c.cfg)
			if err == nil {
				t.Fatalf("accepted: %+v", v)
			}
			if strings.Contains(err.Error(), "AAAA") {
				t.Errorf("error repeats the configuration: %v", err)
			}
		})
	}
	if _, err := New("sns", Config{Certificates: []string{good, snsPHPCert}, TopicARNs: []string{"arn:aws-cn:sns:cn-north-1:123456789012:T"},
		AutoConfirm: true, Tolerance: time.Hour}); err != nil {
		t.Fatalf("full config: %v", err)
	}
}

// Error texts carry no signature, URL or other body bytes.
func TestSNSErrorText(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	for _, f := range []string{"notification-wrongname.json", "notification-expired.json", "notification-selfsigned.json"} {
		body := snsFixture(t, f)
		tampered := snsEdit(t, snsFixture(t, "notification-v2.json"), `"Message" : "{`, `"Message" : "{ `)
		for _, b := range [][]byte{body, tampered} {
			_, err := v.Verify(snsRequest(b, snsNow))
			if err == nil {
				t.Fatal("accepted")
			}
			m := snsJSON(t, b)
			for _, k := range []string{"Signature", "SigningCertURL", "Message", "MessageId", "TopicArn"} {
				if strings.Contains(err.Error(), m[k].(string)) {
					t.Errorf("error %q contains %s", err, k)
				}
			}
		}
	}
}

// The signed messages of github:aws/aws-sdk-java-v2 sns-message-manager
// (testdata/sns/awsjava, see SOURCE.md there): the first published signed
// SubscriptionConfirmation and UnsubscribeConfirmation, from us-west-2.
func TestSNSJavaV2Vectors(t *testing.T) {
	const certPath = "/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"
	cert := snsFixture(t, "awsjava"+certPath)
	const topic = "arn:aws:sns:us-west-2:131990247566:dongie-standard-topic"
	files := []string{"test-notification-with-subject.json", "test-notification-no-subject.json",
		"test-notification-signature-v2.json", "test-subscription-confirmation.json", "test-unsubscribe-confirmation.json"}
	at := time.Date(2026, 3, 6, 21, 0, 0, 0, time.UTC)

	s := newSNSServer(t)
	s.serve(certPath, cert)
	// Amazon RSA 2048 M01, the issuer, is not published with the tests:
	// the leaf itself is the trust anchor here, so the fetch path runs
	// (URL rules, region, fetch, name, usage, validity) on a real AWS
	// certificate.
	pinned := newTestSNS(t, Config{Certificates: []string{string(cert)}}, nil)
	fetched := newTestSNS(t, Config{HTTPClient: s.client, TopicARNs: []string{topic}}, snsPool(t, string(cert)))
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			body := snsFixture(t, "awsjava/"+f)
			for name, v := range map[string]*snsVerifier{"pinned": pinned, "fetched": fetched} {
				res, err := v.Verify(snsRequest(body, at, "X-Amz-Sns-Topic-Arn", topic))
				snsCheck(t, res, err, body, 0)
				if res.Act != nil {
					t.Errorf("%s: answered instead of forwarded", name)
				}
				tampered := snsEdit(t, body, `"Timestamp" : "2026-03-06T`, `"Timestamp" : "2026-03-07T`)
				if _, err := v.Verify(snsRequest(tampered, at)); !errors.Is(err, ErrSignature) {
					t.Errorf("%s: tampered: got %v, want ErrSignature", name, err)
				}
			}
		})
	}
	if n := s.count("sns.us-west-2.amazonaws.com" + certPath); n != 1 {
		t.Errorf("certificate fetched %d times, want 1", n)
	}
	// After the certificate expired (2026-10-14) the fetched path refuses.
	if _, err := fetched.Verify(snsRequest(snsFixture(t, "awsjava/"+files[0]), time.Date(2026, 10, 15, 0, 0, 0, 0, time.UTC))); !errors.Is(err, ErrSignature) {
		t.Errorf("expired: got %v, want ErrSignature", err)
	}
	// auto_confirm on a genuine SubscriptionConfirmation: its SubscribeURL
	// is visited once the handler calls Act.
	v := newTestSNS(t, Config{HTTPClient: s.client, TopicARNs: []string{topic}, AutoConfirm: true}, snsPool(t, string(cert)))
	body := snsFixture(t, "awsjava/test-subscription-confirmation.json")
	res, err := v.Verify(snsRequest(body, at))
	snsCheck(t, res, err, body, 0)
	if res.Act == nil {
		t.Fatal("no confirmation action")
	}
	if resp, err := res.Act(context.Background()); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("Act: %+v %v", resp, err)
	}
	if n := s.count("sns.us-west-2.amazonaws.com/"); n != 1 || !strings.Contains(s.queries[0], "Action=ConfirmSubscription&TopicArn="+topic+"&Token=2336412f37fb687f5d51e6e2425929f52e8e3531") {
		t.Errorf("confirmation: %d requests, %q", n, s.queries)
	}
}

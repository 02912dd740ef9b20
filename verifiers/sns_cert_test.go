package verifiers

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// SNS signing certificates: fetched vectors and fixtures, the
// SigningCertURL rules (host, region, path) and the certificate names and
// issuers. The vectors and helpers are in sns_test.go.

// The official vectors through the fetch path, with the real chain: the
// leaf from SigningCertURL, the intermediate from the leaf's issuer URL
// (SNS serves the leaf alone), Amazon Root CA 1 as the root, at the
// message time.
func TestSNSPHPVectorsFetched(t *testing.T) {
	s := newSNSServer(t)
	s.serve("/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem", []byte(snsPHPCert))
	block, _ := pem.Decode([]byte(snsAmazonServerCA1B))
	s.serve("/sca1b.crt", block.Bytes) // DER, as Amazon Trust Services serves it
	roots := snsPool(t, snsAmazonRootCA1)
	v := newTestSNS(t, Config{HTTPClient: s.client}, roots)
	at := time.Date(2022, 7, 28, 23, 0, 0, 0, time.UTC)
	for i, vec := range snsPHPVectors {
		body := snsBody(t, vec)
		res, err := v.Verify(snsRequest(body, at))
		snsCheck(t, res, err, body, 0)
		if t.Failed() {
			t.Fatalf("vector %d", i)
		}
	}
	if n := s.count("sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"); n != 1 {
		t.Errorf("certificate fetched %d times, want 1 (cached)", n)
	}
	if n := s.count("crt.sca1b.amazontrust.com/sca1b.crt"); n != 1 {
		t.Errorf("issuer fetched %d times, want 1", n)
	}
	// The cached certificate is checked again at each verification.
	if _, err := v.Verify(snsRequest(snsBody(t, snsPHPVectors[0]), time.Date(2022, 8, 18, 0, 0, 0, 0, time.UTC))); !errors.Is(err, ErrSignature) {
		t.Errorf("expired certificate: got %v, want ErrSignature", err)
	}
	// Without the right root the chain does not verify.
	w := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	if _, err := w.Verify(snsRequest(snsBody(t, snsPHPVectors[0]), at)); !errors.Is(err, ErrSignature) {
		t.Errorf("untrusted root: got %v, want ErrSignature", err)
	}
	// Issuer certificate unavailable: 503, and nothing cached.
	s.fail("/sca1b.crt", http.StatusInternalServerError)
	u := newTestSNS(t, Config{HTTPClient: s.client}, roots)
	if _, err := u.Verify(snsRequest(snsBody(t, snsPHPVectors[0]), at)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("issuer unavailable: got %v, want ErrUnavailable", err)
	}
	if n, _ := u.chains.Len(); n != 0 {
		t.Error("chain cached after a failed issuer fetch")
	}
}

func TestSNSFixturesFetched(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	roots := snsPool(t, string(snsFixture(t, "ca.pem")))
	cases := []struct {
		file string
		err  error
	}{
		{"notification-v1.json", nil},
		{"notification-v2.json", nil},
		{"subscription-v1.json", nil},
		{"subscription-v2.json", nil},
		{"unsubscribe-v2.json", nil},
		{"notification-bundled.json", nil}, // intermediate served after the leaf
		{"notification-wrongname.json", ErrSignature},
		{"notification-nosig.json", ErrSignature},
		{"notification-expired.json", ErrSignature},
		{"notification-selfsigned.json", ErrSignature},
	}
	v := newTestSNS(t, Config{HTTPClient: s.client}, roots)
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			body := snsFixture(t, c.file)
			typ := snsJSON(t, body)["Type"].(string)
			res, err := v.Verify(snsRequest(body, snsNow, "X-Amz-Sns-Message-Type", typ))
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("got %v, want %v", err, c.err)
				}
				return
			}
			snsCheck(t, res, err, body, 0)
			if res.Act != nil {
				t.Error("answered instead of forwarded")
			}
		})
	}
	// An accepted certificate is cached; so is, for a while, the
	// rejection of one (TestSNSFailuresRemembered).
	if n := s.count("sns.us-east-1.amazonaws.com/SimpleNotificationService-sns.pem"); n != 1 {
		t.Errorf("good certificate fetched %d times, want 1", n)
	}
	if _, err := v.Verify(snsRequest(snsFixture(t, "notification-wrongname.json"), snsNow)); !errors.Is(err, ErrSignature) {
		t.Errorf("rejected certificate again: got %v, want ErrSignature", err)
	}
	if n := s.count("sns.us-east-1.amazonaws.com/SimpleNotificationService-wrongname.pem"); n != 1 {
		t.Errorf("rejected certificate fetched %d times, want 1", n)
	}
	// The signature must come from the certificate's key: the same message
	// signed by another (valid) certificate's key.
	body := snsEdit(t, snsFixture(t, "notification-bundled.json"), "SimpleNotificationService-bundled.pem", "SimpleNotificationService-sns.pem")
	if _, err := v.Verify(snsRequest(body, snsNow)); !errors.Is(err, ErrSignature) {
		t.Errorf("other certificate: got %v, want ErrSignature", err)
	}
}

// A leaf served alone gets its intermediate from its issuer URL, only on
// amazontrust.com.
func TestSNSIssuerFetch(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	s.serve("/inter.cer", snsFixture(t, "inter.pem"))
	v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	body := snsFixture(t, "notification-aia.json")
	res, err := v.Verify(snsRequest(body, snsNow))
	snsCheck(t, res, err, body, 0)
	if n := s.count("crt.test.amazontrust.com/inter.cer"); n != 1 {
		t.Errorf("issuer fetched %d times, want 1", n)
	}
	if _, err := v.Verify(snsRequest(snsFixture(t, "notification-aiaevil.json"), snsNow)); !errors.Is(err, ErrSignature) {
		t.Errorf("issuer url off amazontrust.com: got %v, want ErrSignature", err)
	}
	if n := s.count("crt.evil.example/inter.cer"); n != 0 {
		t.Errorf("issuer url off amazontrust.com fetched %d times", n)
	}
	for u, ok := range map[string]bool{
		"http://crt.sca1b.amazontrust.com/sca1b.crt":     true,
		"https://crt.r2m02.amazontrust.com/r2m02.cer":    true,
		"http://crt.evil.example/x.cer":                  false,
		"http://amazontrust.com.evil.example/x.cer":      false,
		"http://evilamazontrust.com/x.cer":               false,
		"http://crt.sca1b.amazontrust.com:8080/x.cer":    false,
		"http://u@crt.sca1b.amazontrust.com/x.cer":       false,
		"ftp://crt.sca1b.amazontrust.com/x.cer":          false,
		"http://crt.sca1b.amazontrust.com.:80/sca1b.crt": false,
	} {
		if snsIssuerURL(u) != ok {
			t.Errorf("snsIssuerURL(%s) = %v", u, !ok)
		}
	}
}

// SigningCertURL outside the AWS rules (host, path, region of the topic)
// is ErrMalformed and never fetched.
func TestSNSCertURLRules(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	for _, p := range []string{"/x.pem", "/bar", "/a/SimpleNotificationService-sns.pem", "/SimpleNotificationService-sns.pem/"} {
		s.serve(p, snsFixture(t, "sns.pem"))
	}
	v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	const good = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sns.pem"
	const path = "/SimpleNotificationService-sns.pem"
	base := snsFixture(t, "notification-v2.json")
	bad := []string{
		// Host rules.
		"http://sns.us-east-1.amazonaws.com" + path,
		"https://foo.amazonaws.com/bar.pem", // aws-php-sns-message-validator tests
		"https://sns.foo.amazonaws.com.evil.com" + path,
		"https://evil.com/sns.us-east-1.amazonaws.com" + path,
		"https://evilsns.us-east-1.amazonaws.com" + path,
		"https://sns.us-east-1.amazonaws.com.cn.evil.com" + path,
		"https://user@sns.us-east-1.amazonaws.com" + path,
		"https://sns.us-east-1.amazonaws.com@evil.com" + path,
		"https://sns.us-east-1.amazonaws.com:8443" + path,
		"https://sns.us-east-1.amazonaws.com:" + path,
		"https://sns.us-east-1.amazonaws.com." + path,
		"https://SNS.us-east-1.amazonaws.com" + path,
		"https://sns.US-EAST-1.amazonaws.com" + path,
		`https://sns.us-east-1.amazonaws.com\@evil.com` + path,
		"https://sns.s3.amazonaws.com" + path,           // S3 bucket "sns" (region part too short)
		"https://sns.s3-us-west-2.amazonaws.com" + path, // S3 bucket "sns", legacy regional host
		"https://sns.S3-external-1.amazonaws.com" + path,
		"https://[::1]" + path,
		"https://127.0.0.1" + path,
		"//sns.us-east-1.amazonaws.com" + path,
		"sns.us-east-1.amazonaws.com" + path,
		"https:sns.us-east-1.amazonaws.com" + path,
		"",
		// Query, fragment, escapes.
		good + "?x=1",
		good + "?",
		good + "#x",
		"https://sns.us-east-1.amazonaws.com/%53impleNotificationService-sns.pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sns%2Epem",
		// Path rules: /SimpleNotificationService-<letters and digits>.pem only.
		"https://sns.us-east-1.amazonaws.com/x.pem",
		"https://sns.us-east-1.amazonaws.com/bar",
		"https://sns.us-east-1.amazonaws.com/a/SimpleNotificationService-sns.pem",
		"https://sns.us-east-1.amazonaws.com/../SimpleNotificationService-sns.pem",
		"https://sns.us-east-1.amazonaws.com/./SimpleNotificationService-sns.pem",
		"https://sns.us-east-1.amazonaws.com//SimpleNotificationService-sns.pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sns.pem/",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-.pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-s_n.pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-s.n.pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sns.pem.pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sns.PEM",
		"https://sns.us-east-1.amazonaws.com/simplenotificationservice-sns.pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-" + strings.Repeat("a", 129) + ".pem",
		"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-sns .pem",
		// Region or partition other than the TopicArn's (us-east-1, aws).
		"https://sns.us-east-2.amazonaws.com" + path,
		"https://sns.us-gov-west-1.amazonaws.com" + path,
		"https://sns.cn-north-1.amazonaws.com.cn" + path,
		"https://sns.us-east-1.amazonaws.com.cn" + path,
	}
	for _, u := range bad {
		t.Run(u, func(t *testing.T) {
			body := snsEdit(t, base, good, u)
			_, err := v.Verify(snsRequest(body, snsNow))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if strings.Contains(err.Error(), u) && u != "" {
				t.Errorf("error repeats the url: %v", err)
			}
		})
	}
	if n := s.total(); n != 0 {
		t.Fatalf("%d fetches for urls outside the rules", n)
	}
	// Inside the rules (SigningCertURL is not signed, so the message still verifies).
	for _, u := range []string{good, "https://sns.us-east-1.amazonaws.com:443" + path} {
		if _, err := v.Verify(snsRequest(snsEdit(t, base, good, u), snsNow)); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// The region rule against every SigningCertURL/TopicArn pair found in
// published messages, and near misses. snsTopicHost gives the host the
// certificate must come from.
func TestSNSCertURLRegion(t *testing.T) {
	cases := []struct {
		url, topic string
		ok         bool
	}{
		// AWS SNS developer guide examples (github:awsdocs/amazon-sns-developer-guide
		// doc_source/sns-message-and-json-formats.md @155a049914242e57bdfcbfc4916ff66bf0dca51c).
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sns:us-west-2:123456789012:MyTopic", true},
		// github:aws/aws-php-sns-message-validator tests/FunctionalValidationsTest.php (snsPHPVectors).
		{snsPHPCertURL, snsPHPVectors[0]["TopicArn"], true},
		// github:aws/aws-sdk-java-v2 sns-message-manager test resources (testdata/sns/awsjava).
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem", "arn:aws:sns:us-west-2:131990247566:dongie-standard-topic", true},
		// Lambda SNS event fixture, docs.rs aws_lambda_events src/fixtures/example-sns-event-pascal-case.json.
		{"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-d6d679a1d18e95c2f9ffcf11f4f9e198.pem", "arn:aws:sns:us-east-1:246796806071:snsNetTest", true},
		// A China-region CloudWatch alarm delivered by SNS, published in a public
		// note (found with the code search corpus, file id 49443469270; the
		// index does not name the repository).
		{"https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-3250158c6506d40f628c21ed8dad1787.pem", "arn:aws-cn:sns:cn-north-1:377051238643:baojing", true},
		// GovCloud and a FIFO topic (no published message: the rule applied).
		{"https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:T", true},
		{"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", "arn:aws:sns:us-east-1:123456789012:T.fifo", true},
		// Other region, other partition, malformed ARNs.
		{"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sns:us-west-2:123456789012:MyTopic", false},
		{"https://sns.cn-north-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws-cn:sns:cn-north-1:123456789012:MyTopic", false},
		{"https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sns:cn-north-1:123456789012:MyTopic", false},
		{"https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws-us-gov:sns:us-gov-east-1:123456789012:T", false},
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sqs:us-west-2:123456789012:MyTopic", false},
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws-iso:sns:us-west-2:123456789012:MyTopic", false},
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sns:us-west-2:12345678901:MyTopic", false},
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sns:us-west-2:123456789012:", false},
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sns:us-west-2:123456789012:MyTopic:sub", false},
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sns:US-WEST-2:123456789012:MyTopic", false},
		{"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem", "arn:aws:sns::123456789012:MyTopic", false},
	}
	for _, c := range cases {
		u, err := snsURL(c.url, true)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		host, ok := snsTopicHost(c.topic)
		if got := ok && host == u.Hostname(); got != c.ok {
			t.Errorf("%s with %s: accepted %v, want %v", c.url, c.topic, got, c.ok)
		}
	}
	// Through Verify: a TopicArn that is no SNS topic ARN is malformed (the
	// signature covers it, so it cannot verify anyway), before any fetch.
	s := newSNSServer(t)
	s.serveFixtures(t)
	v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	for _, arn := range []string{"MyTopic", "arn:aws:sns:us-east-1:123456789012", "arn:aws:sqs:us-east-1:123456789012:MyTopic", "arn:aws-cn:sns:us-east-1:123456789012:MyTopic"} {
		body := snsEdit(t, snsFixture(t, "notification-v2.json"), "arn:aws:sns:us-east-1:123456789012:MyTopic", arn)
		if _, err := v.Verify(snsRequest(body, snsNow)); !errors.Is(err, ErrMalformed) {
			t.Errorf("TopicArn %s: got %v, want ErrMalformed", arn, err)
		}
	}
	if n := s.total(); n != 0 {
		t.Errorf("%d fetches", n)
	}
}

func TestSNSCertNames(t *testing.T) {
	mk := func(cn string, dns ...string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	}
	cases := []struct {
		cert *x509.Certificate
		host string
		ok   bool
	}{
		{mk("sns.amazonaws.com", "sns.amazonaws.com"), "sns.us-east-2.amazonaws.com", true}, // the AWS fixture
		{mk("x", "sns.us-west-2.amazonaws.com"), "sns.us-west-2.amazonaws.com", true},
		{mk("x", "sns-cn-north-1.amazonaws.com.cn"), "sns.cn-north-1.amazonaws.com.cn", true},
		{mk("x", "sns-us-gov-west-1.amazonaws.com"), "sns.us-gov-west-1.amazonaws.com", true},
		// aws-sdk-java-v2 sns-message-manager SnsHostProvider: opt-in
		// regions sign as sns-signing.<region>, us-gov-east-1 as
		// sns-us-gov-west-1.
		{mk("sns-signing.ap-east-1.amazonaws.com"), "sns.ap-east-1.amazonaws.com", true},
		{mk("x", "sns-signing.me-south-1.amazonaws.com"), "sns.me-south-1.amazonaws.com", true},
		{mk("x", "sns-us-gov-west-1.amazonaws.com"), "sns.us-gov-east-1.amazonaws.com", true},
		{mk("x", "sns-signing.me-south-1.amazonaws.com"), "sns.ap-east-1.amazonaws.com", false},
		{mk("x", "sns-us-gov-west-1.amazonaws.com"), "sns.us-east-1.amazonaws.com", false},
		{mk("x", "sns-signing.amazonaws.com"), "sns.us-east-1.amazonaws.com", false},
		{mk("sns.amazonaws.com"), "sns.us-east-1.amazonaws.com", true}, // no DNS names: common name
		{mk("x", "SNS.AMAZONAWS.COM"), "sns.us-east-1.amazonaws.com", true},
		{mk("x", "sns.us-west-2.amazonaws.com"), "sns.us-east-1.amazonaws.com", false},
		{mk("x", "sns-cn-north-1.amazonaws.com.cn"), "sns.cn-northwest-1.amazonaws.com.cn", false},
		{mk("x", "*.amazonaws.com"), "sns.us-east-1.amazonaws.com", false},
		{mk("sns.amazonaws.com", "example.com"), "sns.us-east-1.amazonaws.com", false},
		{mk("x", "sns.amazonaws.com.evil.com"), "sns.us-east-1.amazonaws.com", false},
	}
	for _, c := range cases {
		if got := snsCertNamed(c.cert, c.host); got != c.ok {
			t.Errorf("%v/%s on %s: %v, want %v", c.cert.DNSNames, c.cert.Subject.CommonName, c.host, got, c.ok)
		}
	}
}

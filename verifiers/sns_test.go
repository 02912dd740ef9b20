package verifiers

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/fetch"
)

// Vectors.
//
// 1. Official: the four HTTP fixtures (SignatureVersion 1 and 2, with and
//    without Subject) and the signing certificate of
//    github:aws/aws-php-sns-message-validator tests/FunctionalValidationsTest.php
//    @01f8e3193c27fb5a256fd094e90281a152c87684, copied verbatim. The
//    certificate (CN=sns.amazonaws.com, issued by Amazon "Server CA 1B") was
//    valid 2021-09-07..2022-08-17, so the chain test runs at the message
//    time. Its chain, checked independently with
//      openssl verify -attime 1659049200 -CAfile Amazon_Root_CA_1.pem -untrusted sca1b.pem leaf.pem   -> OK
//    uses the Amazon Server CA 1B intermediate (the certificate's AIA URL
//    http://crt.sca1b.amazontrust.com/sca1b.crt; also in Mozilla's
//    intermediate bundle) and Amazon Root CA 1 (Mozilla root store,
//    https://www.amazontrust.com/repository/AmazonRootCA1.pem), below.
// 2. Official: the signed messages of github:aws/aws-sdk-java-v2
//    services-custom/sns-message-manager test resources (two
//    notifications with SignatureVersion 1, one with 2, a
//    SubscriptionConfirmation and an UnsubscribeConfirmation) and their
//    signing certificate, copied verbatim to testdata/sns/awsjava (sources,
//    commits and the independent openssl check in SOURCE.md there).
// 3. No signed non-ASCII sample is published, and vectors 1 and 2 cannot
//    exercise the certificate checks, so testdata/sns also holds fixtures
//    made independently of this code by testdata/sns/gen.sh: certificates with
//    the openssl CLI (`openssl req -x509 ...`, `openssl x509 -req ...` for a
//    test root, an intermediate and leaves for sns.amazonaws.com, a wrong
//    name, no digitalSignature usage, a one-day validity and a self-signed
//    one), string to sign and JSON body with node, signatures with
//    `openssl dgst -sha1|-sha256 -sign leaf.key`. Run `sh gen.sh` there to
//    regenerate them all.

var snsPHPCert = string(mustReadTestdata("sns/awsphp/cert.pem"))

const snsAmazonServerCA1B = `-----BEGIN CERTIFICATE-----
MIIESTCCAzGgAwIBAgITBn+UV4WH6Kx33rJTMlu8mYtWDTANBgkqhkiG9w0BAQsF
ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6
b24gUm9vdCBDQSAxMB4XDTE1MTAyMjAwMDAwMFoXDTI1MTAxOTAwMDAwMFowRjEL
MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEVMBMGA1UECxMMU2VydmVyIENB
IDFCMQ8wDQYDVQQDEwZBbWF6b24wggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEK
AoIBAQDCThZn3c68asg3Wuw6MLAd5tES6BIoSMzoKcG5blPVo+sDORrMd4f2AbnZ
cMzPa43j4wNxhplty6aUKk4T1qe9BOwKFjwK6zmxxLVYo7bHViXsPlJ6qOMpFge5
blDP+18x+B26A0piiQOuPkfyDyeR4xQghfj66Yo19V+emU3nazfvpFA+ROz6WoVm
B5x+F2pV8xeKNR7u6azDdU5YVX1TawprmxRC1+WsAYmz6qP+z8ArDITC2FMVy2fw
0IjKOtEXc/VfmtTFch5+AfGYMGMqqvJ6LcXiAhqG5TI+Dr0RtM88k+8XUBCeQ8IG
KuANaL7TiItKZYxK1MMuTJtV9IblAgMBAAGjggE7MIIBNzASBgNVHRMBAf8ECDAG
AQH/AgEAMA4GA1UdDwEB/wQEAwIBhjAdBgNVHQ4EFgQUWaRmBlKge5WSPKOUByeW
dFv5PdAwHwYDVR0jBBgwFoAUhBjMhTTsvAyUlC4IWZzHshBOCggwewYIKwYBBQUH
AQEEbzBtMC8GCCsGAQUFBzABhiNodHRwOi8vb2NzcC5yb290Y2ExLmFtYXpvbnRy
dXN0LmNvbTA6BggrBgEFBQcwAoYuaHR0cDovL2NydC5yb290Y2ExLmFtYXpvbnRy
dXN0LmNvbS9yb290Y2ExLmNlcjA/BgNVHR8EODA2MDSgMqAwhi5odHRwOi8vY3Js
LnJvb3RjYTEuYW1hem9udHJ1c3QuY29tL3Jvb3RjYTEuY3JsMBMGA1UdIAQMMAow
CAYGZ4EMAQIBMA0GCSqGSIb3DQEBCwUAA4IBAQCFkr41u3nPo4FCHOTjY3NTOVI1
59Gt/a6ZiqyJEi+752+a1U5y6iAwYfmXss2lJwJFqMp2PphKg5625kXg8kP2CN5t
6G7bMQcT8C8xDZNtYTd7WPD8UZiRKAJPBXa30/AbwuZe0GaFEQ8ugcYQgSn+IGBI
8/LwhBNTZTUVEWuCUUBVV18YtbAiPq3yXqMB48Oz+ctBWuZSkbvkNodPLamkB2g1
upRyzQ7qDn1X8nn8N8V7YJ6y68AtkHcNSRAnpTitxBKjtKPISLMVCx7i4hncxHZS
yLyKQXhw2W2Xs0qLeC1etA+jTGDK4UfLeC0SF7FSi8o5LL21L8IzApar2pR/
-----END CERTIFICATE-----
`

const snsAmazonRootCA1 = `-----BEGIN CERTIFICATE-----
MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF
ADA5MQswCQYDVQQGEwJVUzEPMA0GA1UEChMGQW1hem9uMRkwFwYDVQQDExBBbWF6
b24gUm9vdCBDQSAxMB4XDTE1MDUyNjAwMDAwMFoXDTM4MDExNzAwMDAwMFowOTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoTBkFtYXpvbjEZMBcGA1UEAxMQQW1hem9uIFJv
b3QgQ0EgMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALJ4gHHKeNXj
ca9HgFB0fW7Y14h29Jlo91ghYPl0hAEvrAIthtOgQ3pOsqTQNroBvo3bSMgHFzZM
9O6II8c+6zf1tRn4SWiw3te5djgdYZ6k/oI2peVKVuRF4fn9tBb6dNqcmzU5L/qw
IFAGbHrQgLKm+a/sRxmPUDgH3KKHOVj4utWp+UhnMJbulHheb4mjUcAwhmahRWa6
VOujw5H5SNz/0egwLX0tdHA114gk957EWW67c4cX8jJGKLhD+rcdqsq08p8kDi1L
93FcXmn/6pUCyziKrlA4b9v7LWIbxcceVOF34GfID5yHI9Y/QCB/IIDEgEw+OyQm
jgSubJrIqg0CAwEAAaNCMEAwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMC
AYYwHQYDVR0OBBYEFIQYzIU07LwMlJQuCFmcx7IQTgoIMA0GCSqGSIb3DQEBCwUA
A4IBAQCY8jdaQZChGsV2USggNiMOruYou6r4lK5IpDB/G/wkjUu0yKGX9rbxenDI
U5PMCCjjmCXPI6T53iHTfIUJrU6adTrCC2qJeHZERxhlbI1Bjjt/msv0tadQ1wUs
N+gDS63pYaACbvXy8MWy7Vu33PqUXHeeE6V/Uq2V8viTO96LXFvKWlJbYK8U90vv
o/ufQJVtMVT8QtPHRh8jrdkPSHCa2XV4cdFyQzR1bldZwgJcJmApzyMZFo6IQ6XU
5MsI+yMRQ+hDKXJioaldXgjUkK642M4UwtBV8ob2xJNDd2ZhwLnoQdeXeGADbkpy
rqXRfboQnoZsG4q5WTP468SQvvG5
-----END CERTIFICATE-----
`

const snsPHPCertURL = "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"

// snsPHPVectors are the HTTP fixtures of FunctionalValidationsTest.php, in
// order, verbatim.
var snsPHPVectors = func() (v []map[string]string) {
	if err := json.Unmarshal(mustReadTestdata("sns/awsphp/vectors.json"), &v); err != nil {
		panic(err)
	}
	return v
}()

// snsNow is when the testdata/sns fixtures are verified: their Timestamp is
// 2030-01-01T00:00:00.000Z, the expired leaf is long expired, the others
// are valid until 2126.
var snsNow = time.Date(2030, 1, 1, 0, 1, 0, 0, time.UTC)

var snsFixtureTime = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func snsBody(t *testing.T, fields map[string]string) []byte {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func snsFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sns", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func snsJSON(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// snsEdit replaces old by new in body once, and fails if old is absent, so
// a mutation cannot silently not happen.
func snsEdit(t *testing.T, body []byte, old, new string) []byte {
	t.Helper()
	s := string(body)
	if !strings.Contains(s, old) {
		t.Fatalf("fixture does not contain %q", old)
	}
	return []byte(strings.Replace(s, old, new, 1))
}

func snsPool(t *testing.T, pems ...string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	for _, s := range pems {
		if !p.AppendCertsFromPEM([]byte(s)) {
			t.Fatal("bad pem")
		}
	}
	return p
}

// snsServer stands in for AWS: a TLS server answering for every https host
// (certificates by path, ConfirmSubscription on "/") and a plain server for
// every http host (issuer certificates). Its client dials them whatever the
// host, so nothing reaches the internet, and every request is counted.
type snsServer struct {
	tls, plain *httptest.Server
	client     *http.Client
	mu         sync.Mutex
	files      map[string][]byte        // path -> body
	status     map[string]int           // path -> status, when not 200
	hits       map[string]int           // host+path -> count
	queries    []string                 // raw queries of "/" requests
	hold       map[string]chan struct{} // path -> answered once closed
}

func newSNSServer(t *testing.T) *snsServer {
	s := &snsServer{files: map[string][]byte{}, status: map[string]int{}, hits: map[string]int{}, hold: map[string]chan struct{}{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.Host+r.URL.Path]++
		hold := s.hold[r.URL.Path]
		s.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if st, ok := s.status[r.URL.Path]; ok {
			if st == http.StatusFound {
				http.Redirect(w, r, "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-redirected.pem", st)
				return
			}
			w.WriteHeader(st)
			return
		}
		if r.URL.Path == "/" {
			s.queries = append(s.queries, r.URL.RawQuery)
			w.Write([]byte("<ConfirmSubscriptionResponse/>"))
			return
		}
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	s.tls = httptest.NewTLSServer(h)
	s.plain = httptest.NewServer(h)
	t.Cleanup(s.tls.Close)
	t.Cleanup(s.plain.Close)
	tr := s.tls.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com" // the test server's certificate name
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		target := s.plain.Listener.Addr().String()
		if strings.HasSuffix(addr, ":443") {
			target = s.tls.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}
	s.client = &http.Client{Transport: tr}
	return s
}

func (s *snsServer) serve(path string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = b
}

func (s *snsServer) fail(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[path] = status
}

// holdPath makes requests for path wait until the returned function is
// called, or the test ends (before the server is closed, which waits for
// them).
func (s *snsServer) holdPath(t *testing.T, path string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold[path] = ch
	s.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return release
}

// waitHits waits until hostPath was requested n times.
func (s *snsServer) waitHits(t *testing.T, hostPath string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.count(hostPath) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s requested %d times, want %d", hostPath, s.count(hostPath), n)
		}
	}
}

func (s *snsServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.hits {
		n += c
	}
	return n
}

func (s *snsServer) count(hostPath string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[hostPath]
}

// serveFixtures serves every testdata/sns certificate at the path its
// messages name (/SimpleNotificationService-<name>.pem).
func (s *snsServer) serveFixtures(t *testing.T) {
	for _, n := range []string{"sns", "bundled", "wrongname", "nosig", "expired", "selfsigned", "aia", "aiaevil"} {
		s.serve("/SimpleNotificationService-"+n+".pem", snsFixture(t, n+".pem"))
	}
}

func newTestSNS(t *testing.T, c Config, roots *x509.CertPool) *snsVerifier {
	t.Helper()
	v, err := New("sns", c)
	if err != nil {
		t.Fatal(err)
	}
	sv := v.(*snsVerifier)
	sv.roots = roots
	return sv
}

func snsRequest(body []byte, now time.Time, hdr ...string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	return &Request{Context: context.Background(), Method: http.MethodPost, Header: h, Body: body, Now: now}
}

func snsCheck(t *testing.T, res *Result, err error, body []byte, key int) {
	t.Helper()
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	f := snsJSON(t, body)
	id, _ := f["MessageId"].(string)
	if res.ID != id || res.SignedID != id || id == "" {
		t.Errorf("ID %q SignedID %q, want %q", res.ID, res.SignedID, id)
	}
	sig, _ := base64.StdEncoding.DecodeString(f["Signature"].(string))
	if len(sig) == 0 || string(res.Signature) != string(sig) {
		t.Errorf("Signature not the message's")
	}
	ts, _ := time.Parse(time.RFC3339Nano, f["Timestamp"].(string))
	if !res.Timestamp.Equal(ts) || ts.IsZero() {
		t.Errorf("Timestamp %v, want %v", res.Timestamp, ts)
	}
	if res.Key != key {
		t.Errorf("Key %d, want %d", res.Key, key)
	}
}

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

// Equivalent JSON spellings of the signed values verify: the signature
// covers the decoded strings, not the JSON text.
func TestSNSJSONEncodings(t *testing.T) {
	v := newTestSNS(t, Config{Certificates: []string{string(snsFixture(t, "sns.pem"))}}, nil)
	base := snsFixture(t, "notification-v1.json")
	cases := map[string][]byte{
		"escaped slash":   snsEdit(t, base, `slash / backslash`, `slash \/ backslash`),
		"unicode escapes": snsEdit(t, base, `and Ａ`, `and \uff21`),
		"compact":         []byte(strings.ReplaceAll(strings.ReplaceAll(string(base), "\n  ", ""), " : ", ":")),
		"null optional":   snsEdit(t, snsFixture(t, "notification-v2.json"), `"Type" :`, `"Subject" : null, "Type" :`),
		"extra fields":    snsEdit(t, base, `"Type" :`, `"Other" : [1, {"Message": 2}], "MessageAttributes2" : null, "Type" :`),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := v.Verify(snsRequest(body, snsNow))
			snsCheck(t, res, err, body, 0)
		})
	}
}

func TestSNSMalformed(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	n := snsFixture(t, "notification-v2.json")
	sub := snsFixture(t, "subscription-v2.json")
	many := `"Type" :`
	for i := 0; i < 70; i++ {
		many = fmt.Sprintf(`"x%d" : 1, %s`, i, many)
	}
	cases := []struct {
		name string
		body []byte
		hdr  []string
	}{
		{"empty", nil, nil},
		{"not json", []byte("Type=Notification"), nil},
		{"array", []byte("[" + string(n) + "]"), nil},
		{"trailing data", append(append([]byte{}, n...), " {}"...), nil},
		{"truncated", n[:len(n)-2], nil},
		{"invalid utf-8", snsEdit(t, n, `"Type" :`, "\"X\" : \"\xff\", \"Type\" :"), nil},
		{"duplicated field", snsEdit(t, n, `"Type" :`, `"Message" : "other", "Type" :`), nil},
		{"duplicated field other case", snsEdit(t, n, `"Type" :`, `"message" : "other", "Type" :`), nil},
		{"duplicated unknown field", snsEdit(t, n, `"Type" :`, `"x" : 1, "X" : 2, "Type" :`), nil},
		{"lambda spelling", snsEdit(t, n, `"SigningCertURL"`, `"SigningCertUrl"`), nil},
		{"non-ascii unknown field", snsEdit(t, n, `"Type" :`, `"Ünknown" : 1, "Type" :`), nil},
		{"non-ascii field escaped", snsEdit(t, n, `"Type" :`, `"\u00dcnknown" : 1, "Type" :`), nil},
		{"long s duplicate", snsEdit(t, n, `"Type" :`, `"Me\u017f\u017fage" : "other", "Type" :`), nil},
		{"number field", snsEdit(t, n, `"MessageId" : "da41e39f-ea4d-435a-b922-c6aae3915ebe"`, `"MessageId" : 12`), nil},
		{"object field", snsEdit(t, n, `"Message" : "`, `"Message" : {}, "M" : "`), nil},
		{"null required", snsEdit(t, n, `"SignatureVersion" : "2"`, `"SignatureVersion" : null`), nil},
		{"missing type", snsEdit(t, n, `"Type" : "Notification",`, ``), nil},
		{"unknown type", snsEdit(t, n, `"Type" : "Notification"`, `"Type" : "Notice"`), nil},
		{"missing signature", snsEdit(t, n, `"Signature" :`, `"Sig" :`), nil},
		{"missing cert url", snsEdit(t, n, `"SigningCertURL" :`, `"CertURL" :`), nil},
		{"empty message id", snsEdit(t, n, `"da41e39f-ea4d-435a-b922-c6aae3915ebe"`, `""`), nil},
		{"unknown signature version", snsEdit(t, n, `"SignatureVersion" : "2"`, `"SignatureVersion" : "3"`), nil},
		{"signature not base64", snsEdit(t, n, `"Signature" : "`, `"Signature" : "*`), nil},
		{"signature too long", snsEdit(t, n, `"Signature" : "`, `"Signature" : "`+strings.Repeat("A", 4000)), nil},
		{"signature not an rsa size", snsEdit(t, n, `"Signature" : "`, `"Signature" : "AAAA`), nil},
		{"cert url in another region", snsEdit(t, n, `sns.us-east-1.amazonaws.com/Simple`, `sns.eu-west-1.amazonaws.com/Simple`), nil},
		{"invalid timestamp", snsEdit(t, n, `2030-01-01T00:00:00.000Z`, `1893456000`), nil},
		{"notification with token", snsEdit(t, n, `"Type" :`, `"Token" : "abc", "Type" :`), nil},
		{"notification with subscribe url", snsEdit(t, n, `"Type" :`, `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/", "Type" :`), nil},
		{"confirmation with subject", snsEdit(t, sub, `"Type" :`, `"Subject" : "s", "Type" :`), nil},
		{"confirmation without token", snsEdit(t, sub, `"Token" :`, `"Tok" :`), nil},
		{"confirmation without subscribe url", snsEdit(t, sub, `"SubscribeURL" :`, `"URL" :`), nil},
		{"too many fields", snsEdit(t, n, `"Type" :`, many), nil},
		{"type header mismatch", n, []string{"X-Amz-Sns-Message-Type", "SubscriptionConfirmation"}},
		{"type header duplicated", n, []string{"X-Amz-Sns-Message-Type", "Notification", "X-Amz-Sns-Message-Type", "Notification"}},
		{"id header mismatch", n, []string{"X-Amz-Sns-Message-Id", "00000000-0000-0000-0000-000000000000"}},
		{"topic header mismatch", n, []string{"X-Amz-Sns-Topic-Arn", "arn:aws:sns:us-east-1:123456789012:Other"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(snsRequest(c.body, snsNow, c.hdr...))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	if n := s.total(); n != 0 {
		t.Errorf("%d fetches for malformed messages", n)
	}
	// Matching headers are fine.
	if _, err := v.Verify(snsRequest(n, snsNow, "X-Amz-Sns-Message-Type", "Notification",
		"X-Amz-Sns-Message-Id", "da41e39f-ea4d-435a-b922-c6aae3915ebe",
		"X-Amz-Sns-Topic-Arn", "arn:aws:sns:us-east-1:123456789012:MyTopic")); err != nil {
		t.Fatalf("matching headers: %v", err)
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

// A 404 for SigningCertURL means there is no such signing certificate
// (ErrSignature); any other failure to get a certificate is ErrUnavailable.
func TestSNSFetchFailures(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	roots := snsPool(t, string(snsFixture(t, "ca.pem")))
	base := snsFixture(t, "notification-v2.json")
	const good = "SimpleNotificationService-sns.pem"
	pem := func(n string) string { return "/SimpleNotificationService-" + n + ".pem" }
	s.fail(pem("forbidden"), http.StatusForbidden)
	s.fail(pem("gone"), http.StatusGone)
	s.fail(pem("error"), http.StatusInternalServerError)
	s.fail(pem("redirect"), http.StatusFound)
	s.serve(pem("big"), append(append([]byte{}, snsFixture(t, "sns.pem")...), strings.Repeat("\n", 64<<10)...))
	s.serve(pem("garbage"), []byte("<html>not a certificate</html>"))
	s.serve(pem("key"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	s.serve(pem("redirected"), snsFixture(t, "sns.pem"))
	cases := []struct {
		name string
		err  error
	}{
		{"missing", ErrSignature}, // 404
		{"forbidden", ErrUnavailable},
		{"gone", ErrUnavailable},
		{"error", ErrUnavailable},
		{"redirect", ErrUnavailable}, // not followed
		{"big", ErrUnavailable},
		{"garbage", ErrUnavailable},
		{"key", ErrUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newTestSNS(t, Config{HTTPClient: s.client}, roots)
			_, err := v.Verify(snsRequest(snsEdit(t, base, good, pem(c.name)[1:]), snsNow))
			if !errors.Is(err, c.err) {
				t.Fatalf("got %v, want %v", err, c.err)
			}
			if n := s.count("sns.us-east-1.amazonaws.com" + pem(c.name)); n != 1 {
				t.Errorf("fetched %d times, want 1", n)
			}
		})
	}
	if n := s.count("sns.us-east-1.amazonaws.com" + pem("redirected")); n != 0 {
		t.Errorf("redirect followed")
	}
	// Network failure (nothing listens) and a cancelled request.
	dead := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nil, errors.New("connection refused")
	}}}
	v := newTestSNS(t, Config{HTTPClient: dead}, roots)
	if _, err := v.Verify(snsRequest(base, snsNow)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("dial failure: got %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := snsRequest(base, snsNow)
	r.Context = ctx
	w := newTestSNS(t, Config{HTTPClient: s.client}, roots)
	if _, err := w.Verify(r); !errors.Is(err, ErrUnavailable) {
		t.Errorf("cancelled: got %v, want ErrUnavailable", err)
	}
	// A request that is already cancelled fetches nothing and leaves no failure behind.
	if n := s.count("sns.us-east-1.amazonaws.com/" + good); n != 0 {
		t.Errorf("cancelled request fetched %d times", n)
	}
	if _, err := w.Verify(snsRequest(base, snsNow)); err != nil {
		t.Errorf("after a cancelled request: %v", err)
	}
}

// The cache itself is tested in internal/fetch; here, its sizes.
func TestSNSCacheBounded(t *testing.T) {
	v := newTestSNS(t, Config{}, nil)
	if l := v.chains.Limits(); l.MaxEntries != 32 || l.MaxFailures != 256 || l.FailTTL != 5*time.Minute || l.MaxSize != 64<<10 {
		t.Errorf("limits %+v", l)
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
		if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "topic not allowed") {
			t.Errorf("%v: got %v, want ErrSignature topic not allowed", topics, err)
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

// snsApp is how a Go application reads the envelope: encoding/json
// matching keys to fields exactly or, failing that, with Unicode simple
// case folding.
type snsApp struct {
	Type, MessageId, Token, TopicArn, Subject, Message, Timestamp string
	SignatureVersion, Signature, SigningCertURL                   string
	SubscribeURL, UnsubscribeURL                                  string
}

func (a snsApp) field(name string) string {
	return reflect.ValueOf(a).FieldByName(name).String()
}

// snsFoldRunes returns the non-ASCII runes whose Unicode simple case
// folding orbit (what encoding/json uses to match field names) holds an
// ASCII letter, with that letter lowercased.
func snsFoldRunes() map[rune]rune {
	m := map[rune]rune{}
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				m[r] = unicode.ToLower(f)
				break
			}
		}
	}
	return m
}

// A signed body with an extra key that Go folds onto a signed field (the
// review's "Meſſage" forgery), or any other non-ASCII key, is refused:
// otherwise a Go application would read the unsigned value.
func TestSNSFieldSmuggling(t *testing.T) {
	folds := snsFoldRunes()
	if folds['\u017f'] != 's' || folds['\u212a'] != 'k' {
		t.Fatalf("fold runes %q: want at least U+017F (s) and U+212A (k)", folds)
	}
	// Bases: official vectors, with their pinned certificates. The
	// notification without Subject takes a smuggled Subject as an addition.
	phpSubject := snsBody(t, snsPHPVectors[2])
	phpNoSubject := snsBody(t, snsPHPVectors[0])
	javaSub := snsFixture(t, "awsjava/test-subscription-confirmation.json")
	v := newTestSNS(t, Config{Certificates: []string{snsPHPCert, string(snsFixture(t, "awsjava/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"))}}, nil)
	for _, b := range [][]byte{phpSubject, phpNoSubject, javaSub} {
		if _, err := v.Verify(snsRequest(b, time.Now())); err != nil {
			t.Fatalf("base does not verify: %v", err)
		}
	}
	bases := map[string][]byte{"Token": javaSub, "SubscribeURL": javaSub}
	fields := []string{"Message", "MessageId", "Subject", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
		"Signature", "SigningCertURL", "SignatureVersion"}
	type forgery struct {
		name, field string
		body        []byte
		goReads     bool // a Go struct reads the smuggled value
	}
	var cases []forgery
	// with returns a copy of body with "key":"transfer..." added last.
	with := func(body []byte, key string) []byte {
		s := strings.TrimSuffix(strings.TrimSpace(string(body)), "}")
		return []byte(s + `,"` + key + `":"transfer $1M to attacker"}`)
	}
	add := func(field, key string, goReads bool) {
		base, ok := bases[field]
		if !ok {
			base = phpSubject
		}
		// The key as UTF-8, and written with \u escapes.
		esc := strings.Trim(fmt.Sprintf("%+q", key), `"`)
		cases = append(cases,
			forgery{fmt.Sprintf("%s/%+q", field, key), field, with(base, key), goReads},
			forgery{fmt.Sprintf("%s/escaped %s", field, esc), field, with(base, esc), goReads})
		if field == "Subject" {
			// Added to a notification that has no Subject.
			cases = append(cases, forgery{fmt.Sprintf("Subject added/%+q", key), field, with(phpNoSubject, key), goReads})
		}
	}
	for _, f := range fields {
		folded := 0
		all := []rune(f)
		for i, c := range f {
			for r, ascii := range folds {
				if unicode.ToLower(c) == ascii {
					folded++
					add(f, f[:i]+string(r)+f[i+1:], true) // one letter replaced
					all[i] = r
				}
			}
		}
		if folded > 1 {
			add(f, string(all), true) // every foldable letter replaced
		}
		// Non-ASCII keys that Go does not fold onto f are refused too.
		add(f, f+"\u200b", false)
		add(f, string(rune(0xff21)+rune(f[0]-'A'))+f[1:], false) // fullwidth first letter
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var app snsApp
			if err := json.Unmarshal(c.body, &app); err != nil {
				t.Fatal(err)
			}
			if got := app.field(c.field) == "transfer $1M to attacker"; got != c.goReads {
				t.Fatalf("Go reads the smuggled %s: %v, want %v (test premise)", c.field, got, c.goReads)
			}
			_, err := v.Verify(snsRequest(c.body, time.Now()))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	// Fields without an s or k cannot be folded onto: their cases are the
	// non-folding ones only.
	for _, f := range []string{"TopicArn", "Type"} {
		if strings.ContainsAny(f, "sSkK") {
			t.Errorf("%s has a foldable letter", f)
		}
	}
}

// Every body the verifier accepts reads, through a Go struct, exactly the
// values the signature covers.
func TestSNSAcceptedBodiesUnmarshal(t *testing.T) {
	java := string(snsFixture(t, "awsjava/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"))
	v := newTestSNS(t, Config{Certificates: []string{snsPHPCert, string(snsFixture(t, "sns.pem")), string(snsFixture(t, "bundled.pem")), java}}, nil)
	var bodies [][]byte
	for _, vec := range snsPHPVectors {
		bodies = append(bodies, snsBody(t, vec))
	}
	for _, f := range []string{"notification-v1.json", "notification-v2.json", "notification-bundled.json", "subscription-v1.json",
		"subscription-v2.json", "unsubscribe-v2.json", "awsjava/test-notification-with-subject.json", "awsjava/test-notification-no-subject.json",
		"awsjava/test-notification-signature-v2.json", "awsjava/test-subscription-confirmation.json", "awsjava/test-unsubscribe-confirmation.json"} {
		bodies = append(bodies, snsFixture(t, f))
	}
	n := snsFixture(t, "notification-v1.json")
	bodies = append(bodies,
		snsEdit(t, n, `and Ａ`, `and \uff21`),
		snsEdit(t, n, `"Type" :`, `"Other" : [1, {"Meſſage": "nested keys are not read"}], "Type" :`))
	for i, b := range bodies {
		if _, err := v.Verify(snsRequest(b, snsNow)); err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		signed, err := snsParse(b)
		if err != nil {
			t.Fatal(err)
		}
		var app snsApp
		if err := json.Unmarshal(b, &app); err != nil {
			t.Fatal(err)
		}
		var generic map[string]any
		if err := json.Unmarshal(b, &generic); err != nil {
			t.Fatal(err)
		}
		for _, f := range snsFields {
			if app.field(f) != signed[f] {
				t.Errorf("body %d: Go reads %s %q, the verifier %q", i, f, app.field(f), signed[f])
			}
			if s, _ := generic[f].(string); s != signed[f] {
				t.Errorf("body %d: map reads %s %q, the verifier %q", i, f, s, signed[f])
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

// Forged messages (SigningCertURL is not signed) cause no fetch unless
// they carry an RSA-sized signature and a SigningCertURL of AWS's shape in
// the topic's region; then one fetch per URL at most every 5 minutes.
// (Security review: TestReviewSNSUnauthenticatedFetches.)
func TestSNSForgedFetches(t *testing.T) {
	forge := func(f func(m map[string]string)) []byte {
		m := map[string]string{}
		for k, val := range snsPHPVectors[0] {
			m[k] = val
		}
		f(m)
		return snsBody(t, m)
	}
	sig := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, n)) }
	host := "https://sns.us-east-2.amazonaws.com"
	cases := []struct {
		name    string
		body    func(i int) []byte
		err     error
		fetches int // after 20 requests
	}{
		{"review: new path each time, 3-byte signature", func(i int) []byte {
			return forge(func(m map[string]string) {
				m["SigningCertURL"] = fmt.Sprintf("https://sns.us-east-1.amazonaws.com/x%d.pem", i)
				m["Signature"] = "AAAA"
			})
		}, ErrMalformed, 0},
		{"3-byte signature", func(int) []byte { return forge(func(m map[string]string) { m["Signature"] = "AAAA" }) }, ErrMalformed, 0},
		{"127-byte signature", func(int) []byte { return forge(func(m map[string]string) { m["Signature"] = sig(127) }) }, ErrMalformed, 0},
		{"255-byte signature", func(int) []byte { return forge(func(m map[string]string) { m["Signature"] = sig(255) }) }, ErrMalformed, 0},
		{"520-byte signature", func(int) []byte { return forge(func(m map[string]string) { m["Signature"] = sig(520) }) }, ErrMalformed, 0},
		{"path not of AWS's shape", func(i int) []byte {
			return forge(func(m map[string]string) { m["SigningCertURL"] = fmt.Sprintf("%s/x%d.pem", host, i) })
		}, ErrMalformed, 0},
		{"other region than the topic's", func(i int) []byte {
			return forge(func(m map[string]string) {
				m["SigningCertURL"] = fmt.Sprintf("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x%d.pem", i)
			})
		}, ErrMalformed, 0},
		// Well formed: fetched (404 there), then remembered.
		{"one well-formed url, 20 times", func(int) []byte {
			return forge(func(m map[string]string) { m["SigningCertURL"] = host + "/SimpleNotificationService-abc.pem" })
		}, ErrSignature, 1},
		{"128-byte signature", func(int) []byte {
			return forge(func(m map[string]string) {
				m["Signature"] = sig(128)
				m["SigningCertURL"] = host + "/SimpleNotificationService-s128.pem"
			})
		}, ErrSignature, 1},
		{"512-byte signature", func(int) []byte {
			return forge(func(m map[string]string) {
				m["Signature"] = sig(512)
				m["SigningCertURL"] = host + "/SimpleNotificationService-s512.pem"
			})
		}, ErrSignature, 1},
		{"20 well-formed urls", func(i int) []byte {
			return forge(func(m map[string]string) {
				m["SigningCertURL"] = fmt.Sprintf("%s/SimpleNotificationService-%d.pem", host, i%20)
			})
		}, ErrSignature, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSNSServer(t)
			v := newTestSNS(t, Config{HTTPClient: s.client, TopicARNs: []string{snsPHPVectors[0]["TopicArn"]}}, nil)
			for i := 0; i < 40; i++ {
				if _, err := v.Verify(snsRequest(c.body(i), snsNow)); !errors.Is(err, c.err) {
					t.Fatalf("request %d: got %v, want %v", i, err, c.err)
				}
			}
			if n := s.total(); n != c.fetches {
				t.Errorf("%d fetches, want %d", n, c.fetches)
			}
		})
	}
}

// A failed fetch or rejected certificate is remembered per URL for 5
// minutes of request time, for at most 256 URLs.
func TestSNSFailuresRemembered(t *testing.T) {
	roots := snsPool(t, string(snsFixture(t, "ca.pem")))
	cases := []struct {
		name, file, path string
		status           int
		err              error
	}{
		{"unavailable", "notification-v2.json", "/SimpleNotificationService-sns.pem", http.StatusServiceUnavailable, ErrUnavailable},
		{"not found", "notification-v2.json", "/SimpleNotificationService-sns.pem", http.StatusNotFound, ErrSignature},
		{"rejected certificate", "notification-wrongname.json", "/SimpleNotificationService-wrongname.pem", 0, ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSNSServer(t)
			s.serveFixtures(t)
			if c.status != 0 {
				s.fail(c.path, c.status)
			}
			v := newTestSNS(t, Config{HTTPClient: s.client}, roots)
			body := snsFixture(t, c.file)
			hits := func() int { return s.count("sns.us-east-1.amazonaws.com" + c.path) }
			steps := []struct {
				at      time.Duration
				fetches int
			}{
				{0, 1},
				{time.Minute, 1},
				{5*time.Minute - time.Millisecond, 1},
				{5 * time.Minute, 2}, // expired: fetched again, failing again
				{6 * time.Minute, 2},
				{-time.Second, 3}, // the clock went back: not trusted
			}
			for _, st := range steps {
				_, err := v.Verify(snsRequest(body, snsNow.Add(st.at)))
				if !errors.Is(err, c.err) {
					t.Fatalf("at +%v: got %v, want %v", st.at, err, c.err)
				}
				if hits() != st.fetches {
					t.Fatalf("at +%v: %d fetches, want %d", st.at, hits(), st.fetches)
				}
			}
			if c.status != 0 {
				// Once the URL works and the failure expired, it verifies.
				s.mu.Lock()
				delete(s.status, c.path)
				s.mu.Unlock()
				if _, err := v.Verify(snsRequest(body, snsNow.Add(4*time.Minute))); !errors.Is(err, c.err) {
					t.Fatalf("still remembered: got %v, want %v", err, c.err)
				}
				res, err := v.Verify(snsRequest(body, snsNow.Add(5*time.Minute)))
				snsCheck(t, res, err, body, 0)
			}
		})
	}
	// Bounded: the oldest failure is forgotten first.
	s := newSNSServer(t)
	v := newTestSNS(t, Config{HTTPClient: s.client}, roots)
	base := snsFixture(t, "notification-v2.json")
	url := func(i int) string { return fmt.Sprintf("SimpleNotificationService-f%d.pem", i) }
	// One request a second: the fetch rate (snsFetchRate) lets each fetch
	// start, and every failure stays within snsFailTTL.
	at := func(i int) time.Time { return snsNow.Add(time.Duration(i) * time.Second) }
	for i := 0; i <= snsFailCacheSize; i++ {
		if _, err := v.Verify(snsRequest(snsEdit(t, base, "SimpleNotificationService-sns.pem", url(i)), at(i))); !errors.Is(err, ErrSignature) {
			t.Fatalf("%d: %v", i, err)
		}
	}
	if _, n := v.chains.Len(); n != snsFailCacheSize {
		t.Errorf("%d failures remembered, want %d", n, snsFailCacheSize)
	}
	for k, i := range []int{1, snsFailCacheSize, 0} { // 0 last: fetching it again evicts 1
		v.Verify(snsRequest(snsEdit(t, base, "SimpleNotificationService-sns.pem", url(i)), at(snsFailCacheSize+1+k)))
	}
	want := map[int]int{0: 2, 1: 1, snsFailCacheSize: 1} // 0 was evicted; 1 and the last are remembered
	for i, n := range want {
		if got := s.count("sns.us-east-1.amazonaws.com/" + url(i)); got != n {
			t.Errorf("%s fetched %d times, want %d", url(i), got, n)
		}
	}
}

// Concurrent requests for one SigningCertURL share one fetch; a request
// that goes away while waiting neither stops it nor fails the others.
func TestSNSSingleFlight(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			s := newSNSServer(t)
			s.serveFixtures(t)
			const path = "/SimpleNotificationService-sns.pem"
			if status != http.StatusOK {
				s.fail(path, status)
			}
			release := s.holdPath(t, path)
			v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
			body := snsFixture(t, "notification-v2.json")

			// The first request starts the fetch and goes away.
			ctx, cancel := context.WithCancel(context.Background())
			first := make(chan error, 1)
			go func() {
				r := snsRequest(body, snsNow)
				r.Context = ctx
				_, err := v.Verify(r)
				first <- err
			}()
			s.waitHits(t, "sns.us-east-1.amazonaws.com"+path, 1)
			cancel()
			if err := <-first; !errors.Is(err, ErrUnavailable) {
				t.Fatalf("cancelled request: got %v, want ErrUnavailable", err)
			}
			// Others wait for the same fetch (each would otherwise be held
			// at the server, one fetch each).
			const n = 8
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				go func() {
					_, err := v.Verify(snsRequest(body, snsNow))
					errs <- err
				}()
			}
			time.Sleep(100 * time.Millisecond)
			release()
			for i := 0; i < n; i++ {
				err := <-errs
				if status == http.StatusOK && err != nil {
					t.Errorf("waiter: %v", err)
				}
				if status != http.StatusOK && !errors.Is(err, ErrUnavailable) {
					t.Errorf("waiter: got %v, want ErrUnavailable", err)
				}
			}
			if got := s.count("sns.us-east-1.amazonaws.com" + path); got != 1 {
				t.Errorf("%d fetches, want 1", got)
			}
			if n := v.chains.InFlight(); n != 0 {
				t.Errorf("%d flights left", n)
			}
		})
	}
}

// At most 4 certificate fetches run at once; a request that finds no free
// slot in time is ErrUnavailable, and that is not remembered.
func TestSNSFetchSlots(t *testing.T) {
	s := newSNSServer(t)
	v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	if l := newTestSNS(t, Config{}, nil).chains.Limits(); l.MaxConcurrent != 4 || l.SlotWait != 2*time.Second {
		t.Fatalf("slots %d, wait %v; want 4 and 2s", l.MaxConcurrent, l.SlotWait)
	}
	l := snsLimits
	l.SlotWait = 50 * time.Millisecond
	v.chains = fetch.NewCache[*snsChain](l)
	base := snsFixture(t, "notification-v2.json")
	body := func(i int) []byte {
		return snsEdit(t, base, "SimpleNotificationService-sns.pem", fmt.Sprintf("SimpleNotificationService-slot%d.pem", i))
	}
	var releases []func()
	for i := 0; i <= 4; i++ {
		p := fmt.Sprintf("/SimpleNotificationService-slot%d.pem", i)
		s.serve(p, snsFixture(t, "sns.pem"))
		if i < 4 {
			releases = append(releases, s.holdPath(t, p))
		}
	}
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := v.Verify(snsRequest(body(i), snsNow))
			errs <- err
		}()
		s.waitHits(t, fmt.Sprintf("sns.us-east-1.amazonaws.com/SimpleNotificationService-slot%d.pem", i), 1)
	}
	start := time.Now()
	if _, err := v.Verify(snsRequest(body(4), snsNow)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("fifth fetch: got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < l.SlotWait {
		t.Errorf("gave up after %v, before the %v wait", d, l.SlotWait)
	}
	if n := s.count("sns.us-east-1.amazonaws.com/SimpleNotificationService-slot4.pem"); n != 0 {
		t.Errorf("fifth url fetched %d times while 4 fetches ran", n)
	}
	for _, r := range releases {
		r()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Errorf("held fetch: %v", err)
		}
	}
	res, err := v.Verify(snsRequest(body(4), snsNow))
	snsCheck(t, res, err, body(4), 0)
}

// Every field of the string to sign is checked for its shape before the
// string is built. The first case is the replay bypass: the official
// vector with a Subject (FunctionalValidationsTest.php's third), re-sent
// without Subject and with MessageId "<id>\nSubject\n<subject>", has a
// byte-identical string to sign, so it verified under a new MessageId.
func TestSNSSignedFieldShapes(t *testing.T) {
	v := newTestSNS(t, Config{Certificates: []string{snsPHPCert}}, nil)
	vec := snsPHPVectors[2]
	if vec["Subject"] == "" {
		t.Fatal("vector 2 has no Subject")
	}
	edit := func(f func(m map[string]string)) []byte {
		m := map[string]string{}
		for k, val := range vec {
			m[k] = val
		}
		f(m)
		return snsBody(t, m)
	}
	now, _ := time.Parse(time.RFC3339, "2022-07-28T22:54:00Z")
	if _, err := v.Verify(snsRequest(snsBody(t, vec), now)); err != nil {
		t.Fatalf("the vector itself: %v", err)
	}
	sub := snsFixture(t, "subscription-v2.json")
	n := snsFixture(t, "notification-v2.json")
	cases := []struct {
		name string
		body []byte
	}{
		{"subject moved into MessageId", edit(func(m map[string]string) {
			m["MessageId"] += "\nSubject\n" + m["Subject"]
			delete(m, "Subject")
		})},
		{"MessageId with CR", edit(func(m map[string]string) { m["MessageId"] += "\r" })},
		{"MessageId not a uuid", edit(func(m map[string]string) { m["MessageId"] = "11405cc3_9ac7_56d5_b45d_079e8f7a8edf" })},
		{"MessageId too long", edit(func(m map[string]string) { m["MessageId"] += "0" })},
		{"Subject with LF", edit(func(m map[string]string) { m["Subject"] = "Hello\nworld" })},
		{"Subject with CR", edit(func(m map[string]string) { m["Subject"] = "Hello\rworld" })},
		{"Subject with NUL", edit(func(m map[string]string) { m["Subject"] = "Hello\x00world" })},
		{"Subject with NEL", edit(func(m map[string]string) { m["Subject"] = "Hello\u0085world" })},
		{"Subject with line separator", edit(func(m map[string]string) { m["Subject"] = "Hello\u2028world" })},
		{"Subject too long", edit(func(m map[string]string) { m["Subject"] = strings.Repeat("é", 101) })},
		{"Timestamp with LF", edit(func(m map[string]string) { m["Timestamp"] += "\nTopicArn\nx" })},
		{"Timestamp with offset", edit(func(m map[string]string) { m["Timestamp"] = "2022-07-28T22:53:49.654+00:00" })},
		{"Timestamp lowercase z", edit(func(m map[string]string) { m["Timestamp"] = "2022-07-28T22:53:49.654z" })},
		{"Timestamp far future", edit(func(m map[string]string) { m["Timestamp"] = "9999-07-28T22:53:49.654Z" })},
		{"Timestamp before 2000", edit(func(m map[string]string) { m["Timestamp"] = "1999-07-28T22:53:49.654Z" })},
		{"TopicArn with LF", edit(func(m map[string]string) { m["TopicArn"] += "\nType\nNotification" })},
		{"TopicArn with space", edit(func(m map[string]string) { m["TopicArn"] += " x" })},
		{"TopicArn with colon", edit(func(m map[string]string) { m["TopicArn"] += ":x" })},
		{"Type with LF", edit(func(m map[string]string) { m["Type"] += "\n" })},
		{"Token with LF", snsEdit(t, sub, `"Token" : "`, `"Token" : "a\nb`)},
		{"Token with space", snsEdit(t, sub, `"Token" : "`, `"Token" : "a b`)},
		{"Token too long", snsEdit(t, sub, `"Token" : "`, `"Token" : "`+strings.Repeat("a", 1100))},
		{"SubscribeURL with LF", snsEdit(t, sub, `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/?`, `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/?\n`)},
		{"SubscribeURL on another host", snsEdit(t, sub, `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/`, `"SubscribeURL" : "https://example.com/`)},
		{"notification MessageId with LF", snsEdit(t, n, `"MessageId" : "da41e39f-ea4d-435a-b922-c6aae3915ebe"`, `"MessageId" : "da41e39f-ea4d-435a-b922-c6aae3915ebe\nx"`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(snsRequest(c.body, now))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	// The shapes AWS documents still pass: a FIFO topic, an uppercase
	// UUID, a Subject of 100 characters, no fraction of a second.
	for _, m := range []map[string]string{
		{"MessageId": "11405CC3-9AC7-56D5-B45D-079E8F7A8EDF"},
		{"TopicArn": "arn:aws:sns:us-east-2:295079676684:orders_topic-1.fifo"},
		{"Subject": strings.Repeat("é", 100)},
		{"Timestamp": "2022-07-28T22:53:49Z"},
	} {
		cp := map[string]string{}
		for k, val := range vec {
			cp[k] = val
		}
		for k, val := range m {
			cp[k] = val
		}
		if err := snsCheckSigned(cp); err != nil {
			t.Errorf("%v: %v", m, err)
		}
	}
}

// TestSNSFetchRate: a flood of forged messages with distinct well-formed
// certificate URLs starts at most snsFetchBurst fetches, then snsFetchRate
// a second; the others are refused with ErrUnavailable (503, SNS retries)
// without a fetch. Found by the flood test: each forged URL cost one
// outbound request before.
func TestSNSFetchRate(t *testing.T) {
	s := newSNSServer(t)
	v := newTestSNS(t, Config{HTTPClient: s.client, TopicARNs: []string{snsPHPVectors[0]["TopicArn"]}}, nil)
	forge := func(i int) []byte {
		m := map[string]string{}
		for k, val := range snsPHPVectors[0] {
			m[k] = val
		}
		m["SigningCertURL"] = fmt.Sprintf("https://sns.us-east-2.amazonaws.com/SimpleNotificationService-rate%d.pem", i)
		return snsBody(t, m)
	}
	unavailable := 0
	for i := 0; i < 3*snsFetchBurst; i++ {
		_, err := v.Verify(snsRequest(forge(i), snsNow))
		switch {
		case errors.Is(err, ErrUnavailable):
			unavailable++
		case !errors.Is(err, ErrSignature):
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := s.total(); n != snsFetchBurst || unavailable != 2*snsFetchBurst {
		t.Errorf("%d fetches and %d refused as unavailable, want %d and %d", n, unavailable, snsFetchBurst, 2*snsFetchBurst)
	}
	if _, err := v.Verify(snsRequest(forge(1000), snsNow.Add(time.Second))); !errors.Is(err, ErrSignature) {
		t.Errorf("a second later: %v, want a fetch and a signature mismatch", err)
	}
	if n := s.total(); n != snsFetchBurst+1 {
		t.Errorf("%d fetches after a second, want %d", n, snsFetchBurst+1)
	}
}

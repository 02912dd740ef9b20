package verifiers

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

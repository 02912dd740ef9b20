package verifiers

import (
	"strings"
	"testing"
	"time"
)

// Maildesk publishes no test vector. These fixtures were signed outside
// the code under test, with OpenSSL, and cross-checked with Node's crypto:
//
//	printf '%s' '1718035200.<maildeskBody>' | openssl dgst -sha256 -hmac 'mdk_test_5f2b8c1e9a7d4b3c'
//	node -e 'console.log(require("crypto").createHmac("sha256","mdk_test_5f2b8c1e9a7d4b3c").update("1718035200."+process.argv[1]).digest("hex"))' '<maildeskBody>'
//	printf '%s' '1718035260.<maildeskBody2>' | openssl dgst -sha256 -hmac 'mdk_test_5f2b8c1e9a7d4b3c'   # maildeskSig2New
//	printf '%s' '1718035260.<maildeskBody2>' | openssl dgst -sha256 -hmac 'mdk_test_old_91c0d2e4'       # maildeskSig2Old
const (
	maildeskSecret    = "mdk_test_5f2b8c1e9a7d4b3c"
	maildeskOldSecret = "mdk_test_old_91c0d2e4"
	maildeskTS        = 1718035200
	maildeskBody      = `{"event":"email.delivered","timestamp":1718035200,"data":{"messageId":"msg_01J0ABCDEF","to":"jane@example.com"}}`
	maildeskSig       = "cb100bd93ee32acee06010783be6e93a3d1caea1dfbbf03c0da32ce99621c816"
	maildeskHeader    = "t=1718035200,v1=" + maildeskSig
	maildeskTS2       = 1718035260
	maildeskBody2     = `{"event":"email.bounced","timestamp":1718035260,"data":{"messageId":"msg_01J0ABCDEG","to":"joe@example.com"}}`
	maildeskSig2New   = "dbcd7ed484ce5859ce734e3f8a2feb9271c99a255ed6b9fa78552e9e5b6bba21"
	maildeskSig2Old   = "648853e538c779fbdeac86c241d7836bff9188b5200d4fba236554d72408e2d9"
	maildeskHeader2   = "t=1718035260,v1=" + maildeskSig2New + ",v1=" + maildeskSig2Old
)

func TestMaildeskValid(t *testing.T) {
	now := time.Unix(maildeskTS, 0)
	now2 := time.Unix(maildeskTS2, 0)
	tests := []struct {
		name    string
		secrets []string
		req     *Request
		want    Result
	}{
		{"fixture", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader),
			Result{Signature: recipeTestHex(t, maildeskSig), Timestamp: now}},
		{"entries in another order, with spaces", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now.Add(4*time.Minute), "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", "v1="+maildeskSig+", t=1718035200"),
			Result{Signature: recipeTestHex(t, maildeskSig), Timestamp: now}},
		{"unknown version ignored", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now.Add(-4*time.Minute), "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader+",v2=abcdef"),
			Result{Signature: recipeTestHex(t, maildeskSig), Timestamp: now}},
		{"two v1, current secret", []string{maildeskSecret, maildeskOldSecret},
			recipeTestReq(maildeskBody2, now2, "X-Maildesk-Timestamp", "1718035260", "X-Maildesk-Signature", maildeskHeader2),
			Result{Signature: recipeTestHex(t, maildeskSig2New), Timestamp: now2}},
		{"two v1, only the old secret configured", []string{maildeskOldSecret},
			recipeTestReq(maildeskBody2, now2, "X-Maildesk-Timestamp", "1718035260", "X-Maildesk-Signature", maildeskHeader2),
			Result{Signature: recipeTestHex(t, maildeskSig2Old), Timestamp: now2}},
		{"rotation on our side: second configured secret", []string{"mdk_test_next", maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader),
			Result{Signature: hmacSHA256("mdk_test_next", "1718035200.", maildeskBody), Timestamp: now, Key: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("maildesk", Config{Secrets: tt.secrets})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(tt.req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			recipeTestResult(t, got, tt.want)
			if !recipeTestHasTS(t, v) {
				t.Fatal("HasTimestamp is false")
			}
		})
	}
}

func TestMaildeskInvalid(t *testing.T) {
	now := time.Unix(maildeskTS, 0)
	ok := func(kv ...string) []string {
		return append([]string{"X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", maildeskHeader}, kv...)
	}
	tests := []struct {
		name    string
		secrets []string
		req     *Request
		want    error
	}{
		{"tampered body", []string{maildeskSecret},
			recipeTestReq(maildeskBody+" ", now, ok()...), ErrSignature},
		{"wrong secret", []string{maildeskOldSecret},
			recipeTestReq(maildeskBody, now, ok()...), ErrSignature},
		{"stale", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now.Add(5*time.Minute+time.Second), ok()...), ErrTimestamp},
		{"future", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now.Add(-5*time.Minute-time.Second), ok()...), ErrTimestamp},
		{"t and timestamp header both changed", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035201", "X-Maildesk-Signature", "t=1718035201,v1="+maildeskSig), ErrSignature},
		{"t differs from the timestamp header", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035201", "X-Maildesk-Signature", maildeskHeader), ErrMalformed},
		{"t spelled differently from the timestamp header", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", "t=01718035200,v1="+maildeskSig), ErrMalformed},
		{"missing timestamp header", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Signature", maildeskHeader), ErrMalformed},
		{"duplicated timestamp header", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, ok("X-Maildesk-Timestamp", "1718035200")...), ErrMalformed},
		{"missing signature header", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200"), ErrMalformed},
		{"duplicated signature header", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, ok("X-Maildesk-Signature", maildeskHeader)...), ErrMalformed},
		{"missing t", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", "v1="+maildeskSig), ErrMalformed},
		{"duplicated t", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", "t=1718035200,"+maildeskHeader), ErrMalformed},
		{"missing v1", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", "t=1718035200"), ErrMalformed},
		{"truncated v1", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", "t=1718035200,v1="+maildeskSig[:63]), ErrMalformed},
		{"base64 v1", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", "t=1718035200,v1=yxAL2T7jKs7gYBB4O+bpOj0crqHfu/A8DaMs6ZYhyBY="), ErrMalformed},
		{"milliseconds", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200000", "X-Maildesk-Signature", "t=1718035200000,v1="+maildeskSig), ErrMalformed},
		{"semicolon separated", []string{maildeskSecret},
			recipeTestReq(maildeskBody, now, "X-Maildesk-Timestamp", "1718035200", "X-Maildesk-Signature", "t=1718035200;v1="+maildeskSig), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("maildesk", Config{Secrets: tt.secrets})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(tt.req)
			if res != nil {
				t.Fatalf("got a result %+v", *res)
			}
			recipeTestErr(t, err, tt.want, maildeskSecret, maildeskOldSecret, maildeskSig, maildeskBody)
		})
	}
}

func TestMaildeskConfig(t *testing.T) {
	p, _ := LookupPreset("maildesk")
	r := p.Recipe
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no secret", Config{}, "secret"},
		{"empty secret", Config{Secrets: []string{""}}, "secret 1"},
		{"hmac recipe", Config{Secrets: []string{maildeskSecret}, HMAC: &r}, "hmac"},
		{"public_key", Config{Secrets: []string{maildeskSecret}, PublicKeys: []PublicKey{{Key: "k"}}}, "public_key"},
		{"url", Config{Secrets: []string{maildeskSecret}, URL: "https://example.com/"}, "url"},
		{"header", Config{Secrets: []string{maildeskSecret}, Header: "X-Token"}, "header"},
		{"certificate", Config{Secrets: []string{maildeskSecret}, Certificates: []string{"pem"}}, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("maildesk", tt.cfg)
			if err == nil || v != nil {
				t.Fatalf("New = %T, %v; want nil and an error", v, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			recipeTestNoLeak(t, err, maildeskSecret)
		})
	}
}

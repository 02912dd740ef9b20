package verifiers

import (
	"context"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Vectors.
//
// GitHub docs, "Validating webhook deliveries", section "Testing the webhook
// payload validation" (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries):
// secret "It's a Secret to Everybody", payload "Hello, World!".
//
// github:octokit/webhooks-methods.js test/verify.test.ts
// @62956651bb3a31bf6b4067edd28f402e10e84f2a (GitHub's own verification
// library): secret "mysecret" over {"foo":"bar"}, and secret "development"
// over the "special characters (#71)" payloads. The payload bytes are what
// test/common.ts toNormalizedJsonString (@6b798a9f162ce9fc651d6a345d76d15e7527d832)
// produces (JSON.stringify, then \u escapes upper-cased), written out below.
// Each value was reproduced with openssl, e.g.
//
//	printf 'Hello, World!' | openssl sha256 -hmac "It's a Secret to Everybody"
const (
	ghDocsSecret = "It's a Secret to Everybody"
	ghDocsBody   = "Hello, World!"
	ghDocsSig    = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

	ghOctoSecret = "mysecret"
	ghOctoBody   = `{"foo":"bar"}`
	ghOctoSig    = "4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3"

	ghDevSecret     = "development"
	ghEscapesBody   = `{"foo":"Foo\n\u001B[34mbar: ♥♥♥♥♥♥♥♥\nthis-is-lost\u001B[0m\u001B[2K"}`
	ghEscapesSig    = "afecc3caa27548bb90d51a50384cb2868b9a3327b4ad6a01c9bd4ed0f8b0b12c"
	ghBackslashBody = `{"foo":"\\u001b"}`
	ghBackslashSig  = "6f8326efbacfbd04e870cea25b5652e635be8c9807f2fd5348ef60753c9e96ed"

	ghDelivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
)

func ghRequest(body string, kv ...string) *Request {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return &Request{Context: context.Background(), Method: http.MethodPost, Header: h, Body: []byte(body), Now: time.Now()}
}

func TestGitHubVerify(t *testing.T) {
	docs := []string{ghDocsSecret}
	sig256 := func(hexSig string) []string {
		return []string{"X-GitHub-Delivery", ghDelivery, "X-Hub-Signature-256", "sha256=" + hexSig}
	}
	tests := []struct {
		name    string
		secrets []string
		body    string
		headers []string
		wantErr error
		wantKey int
		wantSig string
		wantID  string
	}{
		{name: "docs vector", secrets: docs, body: ghDocsBody, headers: sig256(ghDocsSig), wantSig: ghDocsSig, wantID: ghDelivery},
		{name: "octokit vector", secrets: []string{ghOctoSecret}, body: ghOctoBody, headers: sig256(ghOctoSig), wantSig: ghOctoSig, wantID: ghDelivery},
		{name: "octokit escape sequences", secrets: []string{ghDevSecret}, body: ghEscapesBody, headers: sig256(ghEscapesSig), wantSig: ghEscapesSig, wantID: ghDelivery},
		{name: "octokit escaped backslash", secrets: []string{ghDevSecret}, body: ghBackslashBody, headers: sig256(ghBackslashSig), wantSig: ghBackslashSig, wantID: ghDelivery},
		{name: "octokit fallback: second secret", secrets: []string{"foo", ghOctoSecret}, body: ghOctoBody, headers: sig256(ghOctoSig), wantKey: 1, wantSig: ghOctoSig, wantID: ghDelivery},
		{name: "octokit fallback: first secret", secrets: []string{ghOctoSecret, "foo"}, body: ghOctoBody, headers: sig256(ghOctoSig), wantKey: 0, wantSig: ghOctoSig, wantID: ghDelivery},
		{name: "octokit fallback: no secret matches", secrets: []string{"foo", "bar"}, body: ghOctoBody, headers: sig256(ghOctoSig), wantErr: ErrSignature},
		{name: "octokit incorrect signature foo", secrets: []string{ghOctoSecret}, body: ghOctoBody, headers: []string{"X-Hub-Signature-256", "foo"}, wantErr: ErrMalformed},
		{name: "no delivery id", secrets: docs, body: ghDocsBody, headers: []string{"X-Hub-Signature-256", "sha256=" + ghDocsSig}, wantSig: ghDocsSig},
		{name: "legacy sha1 header alongside", secrets: docs, body: ghDocsBody, headers: append(sig256(ghDocsSig), "X-Hub-Signature", "sha1=0000000000000000000000000000000000000000"), wantSig: ghDocsSig, wantID: ghDelivery},
		{name: "upper-case hex", secrets: docs, body: ghDocsBody, headers: sig256(strings.ToUpper(ghDocsSig)), wantSig: ghDocsSig, wantID: ghDelivery},

		{name: "tampered body", secrets: docs, body: "Hello, World?", headers: sig256(ghDocsSig), wantErr: ErrSignature},
		{name: "body with trailing newline", secrets: docs, body: ghDocsBody + "\n", headers: sig256(ghDocsSig), wantErr: ErrSignature},
		{name: "empty body", secrets: docs, body: "", headers: sig256(ghDocsSig), wantErr: ErrSignature},
		{name: "wrong secret", secrets: []string{"It's a Secret to everybody"}, body: ghDocsBody, headers: sig256(ghDocsSig), wantErr: ErrSignature},
		{name: "truncated to 31 bytes", secrets: docs, body: ghDocsBody, headers: sig256(ghDocsSig[:62]), wantErr: ErrSignature},
		{name: "signature of another payload", secrets: docs, body: ghDocsBody, headers: sig256(ghOctoSig), wantErr: ErrSignature},

		{name: "truncated to odd length", secrets: docs, body: ghDocsBody, headers: sig256(ghDocsSig[:63]), wantErr: ErrMalformed},
		{name: "base64 instead of hex", secrets: docs, body: ghDocsBody, headers: sig256("dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc="), wantErr: ErrMalformed},
		{name: "empty hex", secrets: docs, body: ghDocsBody, headers: sig256(""), wantErr: ErrMalformed},
		{name: "sha1 prefix in the sha256 header", secrets: docs, body: ghDocsBody, headers: []string{"X-Hub-Signature-256", "sha1=" + ghDocsSig}, wantErr: ErrMalformed},
		{name: "upper-case prefix", secrets: docs, body: ghDocsBody, headers: []string{"X-Hub-Signature-256", "SHA256=" + ghDocsSig}, wantErr: ErrMalformed},
		{name: "missing signature", secrets: docs, body: ghDocsBody, headers: []string{"X-GitHub-Delivery", ghDelivery}, wantErr: ErrMalformed},
		{name: "only the legacy sha1 header", secrets: docs, body: ghDocsBody, headers: []string{"X-Hub-Signature", "sha1=0000000000000000000000000000000000000000"}, wantErr: ErrMalformed},
		{name: "empty signature header", secrets: docs, body: ghDocsBody, headers: []string{"X-Hub-Signature-256", ""}, wantErr: ErrMalformed},
		{name: "duplicated signature header", secrets: docs, body: ghDocsBody, headers: append(sig256(ghDocsSig), "X-Hub-Signature-256", "sha256="+ghDocsSig), wantErr: ErrMalformed},
		{name: "duplicated delivery header", secrets: docs, body: ghDocsBody, headers: append(sig256(ghDocsSig), "X-GitHub-Delivery", "other"), wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("github", Config{Secrets: tc.secrets})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			res, err := v.Verify(ghRequest(tc.body, tc.headers...))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if res != nil {
					t.Fatalf("result %+v returned with error", res)
				}
				for _, leak := range []string{ghDocsSig[:16], ghOctoSig[:16], ghDocsSecret, ghDocsBody} {
					if strings.Contains(err.Error(), leak) {
						t.Fatalf("error %q leaks %q", err, leak)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.ID != tc.wantID || res.SignedID != "" {
				t.Errorf("ID, SignedID = %q, %q, want %q, empty", res.ID, res.SignedID, tc.wantID)
			}
			if !res.Timestamp.IsZero() {
				t.Errorf("Timestamp = %v, want zero", res.Timestamp)
			}
			if res.Key != tc.wantKey {
				t.Errorf("Key = %d, want %d", res.Key, tc.wantKey)
			}
			if got := hex.EncodeToString(res.Signature); got != tc.wantSig {
				t.Errorf("Signature = %s, want %s", got, tc.wantSig)
			}
		})
	}
}

func TestGitHubLegacyHeaderMessage(t *testing.T) {
	v, err := New("github", Config{Secrets: []string{ghDocsSecret}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(ghRequest(ghDocsBody, "X-Hub-Signature", "sha1=0000000000000000000000000000000000000000"))
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "X-Hub-Signature-256") || !strings.Contains(err.Error(), "sha1") {
		t.Fatalf("err = %v, want ErrMalformed naming X-Hub-Signature-256 and sha1", err)
	}
	if v.(Timestamped).HasTimestamp() {
		t.Fatal("HasTimestamp = true, want false")
	}
}

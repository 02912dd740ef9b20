package verifiers

import (
	"strings"
	"testing"
	"time"
)

func TestRecipeConfig(t *testing.T) {
	ok := recipeStripe
	tests := []struct {
		name string
		cfg  Config
		want string // a fragment of the error
	}{
		{"no recipe", Config{Secrets: []string{"s3cr3t-value"}}, "hmac recipe"},
		{"no signature header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{}}, "signature_header"},
		{"blank signature header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "  "}}, "signature_header"},
		{"invalid signature header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X Sig"}}, "signature_header"},
		{"invalid timestamp header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X:Ts"}}, "timestamp_header"},
		{"invalid id header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", IDHeader: "X/Id"}}, "id_header"},
		{"timestamp header is the signature header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "x-sig"}}, "timestamp_header"},
		{"id header is the timestamp header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", IDHeader: "x-ts"}}, "id_header"},
		{"unknown hash", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Hash: "md5"}}, "hash"},
		{"upper-case hash", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Hash: "SHA256"}}, "hash"},
		{"unknown encoding", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Encoding: "base32"}}, "encoding"},
		{"unknown secret encoding", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", SecretEncoding: "base32"}}, "secret_encoding"},
		{"unknown timestamp unit", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", TimestampUnit: "us"}}, "timestamp_unit"},
		{"timestamp unit without timestamp", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampUnit: "ms"}}, "timestamp_unit"},
		{"unknown placeholder", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{body}.{nonce}"}}, "{nonce}"},
		{"unclosed placeholder", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{body"}}, "unclosed"},
		{"empty placeholder", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{}{body}"}}, "placeholder"},
		{"content without body", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", Content: "{timestamp}"}}, "{body}"},
		{"timestamp placeholder without a source", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{timestamp}.{body}"}}, "{timestamp}"},
		{"id placeholder without id header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Content: "{id}.{body}"}}, "{id}"},
		{"timestamp key without separator", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", TimestampKey: "t="}}, "timestamp_key"},
		{"timestamp key equals prefix", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig", Separator: ",", TimestampKey: "v1=", Prefix: "v1="}}, "timestamp_key"},
		{"tolerance without timestamp", Config{Secrets: []string{"s3cr3t-value"}, Tolerance: time.Minute, HMAC: &recipeGitHub}, "tolerance"},
		{"no secret", Config{HMAC: &ok}, "secret"},
		{"empty secret", Config{Secrets: []string{"s3cr3t-value", ""}, HMAC: &ok}, "secret 2"},
		{"invalid base64 secret", Config{Secrets: []string{"s3cr3t-value!"}, HMAC: &recipeX5}, "secret 1"},
		{"invalid whsec secret", Config{Secrets: []string{"whsec_s3cr3t-value!"}, HMAC: &recipeStandard}, "secret 1"},
		{"empty whsec secret", Config{Secrets: []string{"whsec_"}, HMAC: &recipeStandard}, "secret 1"},
		{"public_key", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, PublicKeys: []PublicKey{{Key: "k"}}}, "public_key"},
		{"url", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, URL: "https://example.com/"}, "url"},
		{"topic_arn", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, TopicARNs: []string{"arn:aws:sns:x"}}, "topic_arn"},
		{"certificate", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, Certificates: []string{"pem"}}, "certificate"},
		{"auto_confirm", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, AutoConfirm: true}, "auto_confirm"},
		{"username", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, Username: "u"}, "username"},
		{"password", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, Password: "p4ssw0rd-value"}, "password"},
		{"header", Config{Secrets: []string{"s3cr3t-value"}, HMAC: &ok, Header: "X-Token"}, "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("hmac", tt.cfg)
			if err == nil || v != nil {
				t.Fatalf("New = %T, %v; want nil and an error", v, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Fatalf("error %q does not start in lower case", err)
			}
			recipeTestNoLeak(t, err, "s3cr3t-value", "p4ssw0rd-value")
		})
	}
}

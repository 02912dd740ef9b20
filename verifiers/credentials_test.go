package verifiers

import (
	"slices"
	"testing"
)

func TestCredentialHeaders(t *testing.T) {
	tests := []struct {
		provider string
		cfg      Config
		want     []string // nil: not a carrier, or carries none
	}{
		{"gitlab", Config{Secrets: []string{"tok"}}, []string{"X-Gitlab-Token"}},
		{"hmac", Config{Secrets: []string{"tok"}, HMAC: &HMACRecipe{SignatureHeader: "x-my-token", Scheme: "token"}}, []string{"X-My-Token"}},
		{"hmac", Config{Secrets: []string{"k"}, HMAC: &HMACRecipe{SignatureHeader: "X-Sig"}}, nil},
		{"postmark", Config{Secrets: []string{"tok"}, Header: "x-webhook-token"}, []string{"X-Webhook-Token"}},
		{"postmark", Config{Username: "u", Password: "p"}, []string{"Authorization"}},
		{"mailjet", Config{Secrets: []string{"tok"}, Header: "X-Mailjet-Token"}, []string{"X-Mailjet-Token"}},
		{"sparkpost", Config{Secrets: []string{"tok"}, Header: "X-Sparkpost-Token"}, []string{"X-Sparkpost-Token"}},
		{"brevo", Config{Secrets: []string{"tok"}}, []string{"Authorization"}},
		{"github", Config{Secrets: []string{"k"}}, nil},
		{"stripe", Config{Secrets: []string{"whsec_k"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.provider, func(t *testing.T) {
			v, err := New(tt.provider, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if c, ok := v.(CredentialCarrier); ok {
				got = c.CredentialHeaders()
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("CredentialHeaders() = %q, want %q", got, tt.want)
			}
		})
	}
}

package webhookverify

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

var update = flag.Bool("update", false, "rewrite the adapt golden files")

func TestUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Handler
	}{
		{
			name: "secrets rotation, tolerance, size",
			input: `webhook_verify stripe {
				secret {env.STRIPE_NEW}
				secret {env.STRIPE_OLD}
				tolerance 10m
				max_size 256KiB
			}`,
			want: Handler{Provider: "stripe", Secrets: []string{"{env.STRIPE_NEW}", "{env.STRIPE_OLD}"},
				Tolerance: caddy.Duration(10 * 60e9), MaxSize: 256 << 10},
		},
		{
			name:  "tolerance off and replay off",
			input: "webhook_verify slack {\n secret s\n tolerance off\n replay off\n}",
			want:  Handler{Provider: "slack", Secrets: []string{"s"}, Tolerance: -1, Replay: &ReplayConfig{Disabled: true}},
		},
		{
			name: "replay block",
			input: `webhook_verify svix {
				secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
				replay {
					ttl 1h
					in_flight_ttl 30s
					max_entries 5000
					namespace shop-a
					storage
				}
			}`,
			want: Handler{Provider: "svix", Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, Replay: &ReplayConfig{
				TTL: caddy.Duration(3600e9), InFlightTTL: caddy.Duration(30e9), MaxEntries: 5000, Namespace: "shop-a", Cluster: true}},
		},
		{
			name: "public keys with and without key id",
			input: `webhook_verify mailchannels {
				public_key MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
				public_key mckey1 {env.MC_KEY}
				customer_handle acme
				customer_handle acme-eu acme-us
			}`,
			want: Handler{Provider: "mailchannels", PublicKeys: []verifiers.PublicKey{
				{Key: "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs="}, {KeyID: "mckey1", Key: "{env.MC_KEY}"}},
				CustomerHandles: []string{"acme", "acme-eu", "acme-us"}},
		},
		{
			name: "sns options",
			input: `webhook_verify ses {
				topic_arn arn:aws:sns:us-east-1:123456789012:a arn:aws:sns:us-east-1:123456789012:b
				certificate /etc/sns.pem
				auto_confirm
			}`,
			want: Handler{Provider: "ses", TopicARNs: []string{"arn:aws:sns:us-east-1:123456789012:a", "arn:aws:sns:us-east-1:123456789012:b"},
				Certificates: []string{"/etc/sns.pem"}, AutoConfirm: true},
		},
		{
			name:  "postmark basic auth",
			input: "webhook_verify postmark {\n username pm\n password {env.PM_PASS}\n}",
			want:  Handler{Provider: "postmark", Username: "pm", Password: "{env.PM_PASS}"},
		},
		{
			name:  "twilio url",
			input: "webhook_verify twilio {\n secret {env.TWILIO_AUTH_TOKEN}\n url https://example.com/twilio/sms\n}",
			want:  Handler{Provider: "twilio", Secrets: []string{"{env.TWILIO_AUTH_TOKEN}"}, URL: "https://example.com/twilio/sms"},
		},
		{
			name: "hmac recipe (Maildesk)",
			input: `webhook_verify hmac {
				secret {env.MAILDESK_SECRET}
				signature_header X-Maildesk-Signature
				separator ,
				prefix v1=
				timestamp_key t=
				timestamp_header X-Maildesk-Timestamp s
				content "{timestamp}.{body}"
				hash sha256
				encoding hex
				secret_encoding raw
				id_header X-Id
			}`,
			want: Handler{Provider: "hmac", Secrets: []string{"{env.MAILDESK_SECRET}"}, HMAC: &verifiers.HMACRecipe{
				SignatureHeader: "X-Maildesk-Signature", Separator: ",", Prefix: "v1=", TimestampKey: "t=",
				TimestampHeader: "X-Maildesk-Timestamp", TimestampUnit: "s", Content: "{timestamp}.{body}",
				Hash: "sha256", Encoding: "hex", SecretEncoding: "raw", IDHeader: "X-Id"}},
		},
		{
			name: "hmac recipe, every newer field",
			input: `webhook_verify hmac {
				secret {env.K}
				url https://example.com/hook
				signature_header X-Sig-* X-Other
				scheme hash
				secret_prefix whsec_
				secret_encoding hex
				content "{method}{url}|{header:X-Account}|{body}"
				timestamp_field /meta/ts
				timestamp_unit rfc3339
			}`,
			want: Handler{Provider: "hmac", Secrets: []string{"{env.K}"}, URL: "https://example.com/hook", HMAC: &verifiers.HMACRecipe{
				SignatureHeader: "X-Sig-*", SignatureHeaders: []string{"X-Other"}, Scheme: "hash", SecretPrefix: "whsec_",
				SecretEncoding: "hex", Content: "{method}{url}|{header:X-Account}|{body}", TimestampField: "/meta/ts",
				TimestampUnit: "rfc3339"}},
		},
		{
			name: "hmac recipe, untagged list timestamp",
			input: `webhook_verify hmac {
				secret k
				signature_header Recurly-Signature
				separator ,
				timestamp_first
				timestamp_unit ms
				content "{timestamp}.{body}"
			}`,
			want: Handler{Provider: "hmac", Secrets: []string{"k"}, HMAC: &verifiers.HMACRecipe{
				SignatureHeader: "Recurly-Signature", Separator: ",", TimestampFirst: true, TimestampUnit: "ms",
				Content: "{timestamp}.{body}"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input)); err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if h.Origin != "Testfile:1" {
				t.Errorf("origin %q, want Testfile:1 (the directive's line)", h.Origin)
			}
			h.Origin = ""
			if !reflect.DeepEqual(h, tt.want) {
				got, _ := json.Marshal(h)
				want, _ := json.Marshal(tt.want)
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		wantErr string // substring, including the line number
	}{
		{"no provider", "webhook_verify", "needs a provider"},
		{"unknown provider", "webhook_verify nosuch {\n}", "unknown provider \"nosuch\""},
		{"extra argument", "webhook_verify stripe extra", "Testfile:1"},
		{"unknown subdirective", "webhook_verify stripe {\n secret a\n bogus 1\n}", "unrecognized webhook_verify subdirective \"bogus\", at Testfile:3"},
		{"empty secret", "webhook_verify stripe {\n secret \"\"\n}", "Testfile:2"},
		{"secret without value", "webhook_verify stripe {\n secret\n}", "Testfile:2"},
		{"bad duration", "webhook_verify stripe {\n secret a\n tolerance soon\n}", "at Testfile:3"},
		{"negative tolerance", "webhook_verify stripe {\n tolerance -5m\n}", "Testfile:2"},
		{"bad size", "webhook_verify stripe {\n max_size lots\n}", "at Testfile:2"},
		{"ambiguous recipe", "webhook_verify hmac {\n secret k\n signature_header X-Sig\n id_header X-Id\n content {id}{body}\n}", "side by side"},
		{"timestamp unit auto touching the body", "webhook_verify hmac {\n secret k\n signature_header X-Sig\n timestamp_header X-Ts auto\n content {timestamp}{body}\n}", "timestamp_unit auto lets its length vary (13 digits of ms or 10 of seconds at the same instant), so the parts can be cut in two ways: set timestamp_unit s or ms, at Testfile:5"},
		{"scheme hash with a value after the body", "webhook_verify hmac {\n secret k\n signature_header X-Sig\n scheme hash\n timestamp_header X-Ts\n content {body}.{timestamp}\n}", "scheme hash cannot sign {timestamp} after {body}: a plain hash(secret || content) can be extended by anyone who saw one signature (length extension), so a value after the body could be replaced; put it before {body}, or use scheme hmac, at Testfile:6"},
		{"recipe without signature_header", "webhook_verify hmac {\n secret k\n content {body}\n}", "signature_header is required"},
		{"timestamp_first with an argument", "webhook_verify hmac {\n signature_header X\n timestamp_first yes\n}", "Testfile:3"},
		{"recipe option on another provider", "webhook_verify stripe {\n hash sha1\n}", "hash is an option of the hmac provider, not of stripe, at Testfile:2"},
		{"replay bad arg", "webhook_verify stripe {\n replay on\n}", "Testfile:2"},
		{"replay bad max", "webhook_verify stripe {\n replay {\n max_entries -1\n }\n}", "Testfile:3"},
		{"replay short ttl", "webhook_verify stripe {\n replay {\n ttl 10ms\n }\n}", "Testfile:3"},
		{"replay unknown option", "webhook_verify stripe {\n replay {\n size 1\n }\n}", "unrecognized replay option \"size\", at Testfile:3"},
		{"customer_handle without value", "webhook_verify mailchannels {\n customer_handle\n}", "Testfile:2"},
		{"verify_token without value", "webhook_verify meta {\n secret s\n verify_token\n}", "Testfile:3"},
		{"public key too many args", "webhook_verify sendgrid {\n public_key a b c\n}", "Testfile:2"},
		{"provider misspelt", "webhook_verify stirpe {\n}", "unknown provider \"stirpe\"; did you mean \"stripe\"?, at Testfile:1"},
		{"provider unknown, not close", "webhook_verify zzzzzzzz {\n}", "docs/providers.md lists all"},
		{"subdirective misspelt", "webhook_verify stripe {\n secert a\n}", "unrecognized webhook_verify subdirective \"secert\"; did you mean \"secret\"?, at Testfile:2"},
		{"replay option misspelt", "webhook_verify stripe {\n replay {\n tll 1h\n }\n}", "unrecognized replay option \"tll\"; did you mean \"ttl\"?, at Testfile:3"},
		{"tolerance in words", "webhook_verify stripe {\n secret whsec_x\n tolerance 5 minutes\n}", "tolerance takes one duration: use a duration like 5m (units ns, us, ms, s, m, h, d), or off, at Testfile:3"},
		{"tolerance unit in words", "webhook_verify stripe {\n secret whsec_x\n tolerance 5minutes\n}", "use a duration like 5m, or off, at Testfile:3"},
		{"hubspot with tolerance off", "webhook_verify hubspot {\n secret abc\n url https://example.com/hook\n tolerance off\n}", "so it cannot be off here: remove tolerance off (the default is 5m)"},
		{"stripe API key as the secret", "webhook_verify stripe {\n secret sk_live_51Habc\n}", "webhook_verify stripe: secret 1 is a Stripe API key (sk_live_...), not a webhook signing secret"},
		{"replay off, then a block", "webhook_verify stripe {\n secret whsec_x\n replay off\n replay {\n  ttl 1h\n }\n}", "replay given twice (off, then a block): keep one, at Testfile:4"},
		{"replay block, then off", "webhook_verify stripe {\n secret whsec_x\n replay {\n  ttl 1h\n }\n replay off\n}", "replay given twice (a block, then off): keep one, at Testfile:6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestAdaptGolden adapts each testdata/adapt/*.caddyfile and compares the
// JSON with the .json beside it (go test -run TestAdaptGolden -update
// rewrites them). The JSON is then loaded as a config on its own, which
// proves that the JSON form works without the Caddyfile.
func TestAdaptGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/adapt/*.caddyfile")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	t.Setenv("WV_TEST_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			adapter := caddyconfig.GetAdapter("caddyfile")
			out, warnings, err := adapter.Adapt(in, map[string]any{"filename": f})
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %v", warnings)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "\t"); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := strings.TrimSuffix(f, ".caddyfile") + ".json"
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("adapted JSON differs from %s:\n%s", golden, pretty.String())
			}
			// The JSON alone provisions: every handler in it is built.
			var cfg caddy.Config
			if err := json.Unmarshal(want, &cfg); err != nil {
				t.Fatalf("golden JSON does not decode: %v", err)
			}
			if err := caddy.Validate(&cfg); err != nil {
				t.Fatalf("golden JSON does not validate: %v", err)
			}
		})
	}
}

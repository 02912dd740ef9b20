package webhookverify

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// validateCaddyfile adapts a Caddyfile (named file) and provisions it as
// `caddy validate` does.
func validateCaddyfile(t *testing.T, file, src string) error {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": file})
	if err != nil {
		return err
	}
	var cfg caddy.Config
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	return caddy.Validate(&cfg)
}

// TestChainChecks: a gate that is never reached (after reverse_proxy or
// respond in a route block), and two gates on every request of one block,
// are refused at load (caddy validate) with the file and line of the
// directive; the orders that work load.
func TestChainChecks(t *testing.T) {
	const gh = "webhook_verify github {\n\t\t\tsecret s\n\t\t}"
	tests := []struct {
		name, body string
		want       string // "" loads
	}{
		{"route: reverse_proxy first", "route {\n\t\treverse_proxy 127.0.0.1:1\n\t\t" + gh + "\n\t}", "webhook_verify github: never reached: reverse_proxy comes before it in the same block and answers every request; put webhook_verify before it (a route block keeps the order written; handle sorts directives, webhook_verify first), at Chainfile:7"},
		{"route: respond first", "route {\n\t\trespond ok\n\t\t" + gh + "\n\t}", "never reached: static_response comes before it, at Chainfile:7"},
		{"route: file_server first", "route {\n\t\tfile_server\n\t\t" + gh + "\n\t}", "never reached: file_server"},
		{"route: gate first", "route {\n\t\t" + gh + "\n\t\treverse_proxy 127.0.0.1:1\n\t}", ""},
		{"handle sorts the gate first", "handle {\n\t\treverse_proxy 127.0.0.1:1\n\t\t" + gh + "\n\t}", ""},
		{"route: a matched respond first", "route {\n\t\trespond /health ok\n\t\t" + gh + "\n\t\treverse_proxy 127.0.0.1:1\n\t}", ""},
		{"two gates in one handle", "handle {\n\t\twebhook_verify stripe {\n\t\t\tsecret whsec_x\n\t\t}\n\t\t" + gh + "\n\t\trespond ok\n\t}", "a second webhook_verify in the same block, neither with a matcher"},
		{"two gates with matchers", "@s header Stripe-Signature *\n\t@g header X-Hub-Signature-256 *\n\thandle {\n\t\twebhook_verify @s stripe {\n\t\t\tsecret whsec_x\n\t\t}\n\t\twebhook_verify @g github {\n\t\t\tsecret s\n\t\t}\n\t\trespond ok\n\t}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "{\n\tadmin off\n}\nhttp://localhost {\n\t" + tt.body + "\n}\n"
			err := validateCaddyfile(t, "Chainfile", src)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v\n%s", err, src)
			case tt.want != "" && err == nil:
				t.Errorf("loaded, want %q\n%s", tt.want, src)
			case tt.want != "" && !containsAll(err.Error(), strings.Split(tt.want, ", at ")...):
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

// containsAll reports whether s contains every part.
func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestLoadErrorsNameTheLine: errors only known at load (an unset {env.X}
// secret, a missing certificate file, a replay key the provider cannot
// have) start with "webhook_verify <provider>:" and end with the file and
// line of the directive.
func TestLoadErrorsNameTheLine(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"unset env secret", "webhook_verify github {\n\t\tsecret {env.WV_TEST_UNSET_SECRET}\n\t}", "webhook_verify github: secret 1: evaluated placeholder {env.WV_TEST_UNSET_SECRET} is empty, at Loadfile:5"},
		{"missing certificate", "webhook_verify sns {\n\t\ttopic_arn arn:aws:sns:us-east-1:123456789012:t\n\t\tcertificate /nonexistent/sns.pem\n\t}", "webhook_verify sns: certificate 1: open /nonexistent/sns.pem: no such file or directory, at Loadfile:5"},
		{"replay key json on mailgun", "webhook_verify mailgun {\n\t\tsecret k\n\t\treplay {\n\t\t\tkey json /id\n\t\t}\n\t}", "webhook_verify mailgun: replay key json needs a provider whose signature covers the whole body, which mailgun's does not, at Loadfile:5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateCaddyfile(t, "Loadfile", "{\n\tadmin off\n}\nhttp://localhost {\n\t"+tt.body+"\n\trespond ok\n}\n")
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("error %v\nwant it to end with %q", err, tt.want)
			}
		})
	}
}

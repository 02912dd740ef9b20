package webhookverify

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// runWebhookCmd runs `caddy webhook <args>` in process, as the caddy
// binary would (a fresh command tree each time), and returns stdout,
// stderr and the error that makes the binary exit with status 1.
func runWebhookCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := &cobra.Command{Use: "webhook"}
	setupWebhookCommand(root)
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	return out.String(), errb.String(), err
}

// writeFile writes data to name in dir and returns the path.
func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// keygenFiles runs `webhook keygen <provider> --out dir/<provider>` and
// returns the private key path and the line it prints for the Caddyfile.
func keygenFiles(t *testing.T, dir, provider string) (keyFile, directive string) {
	t.Helper()
	base := filepath.Join(dir, provider)
	out, errOut, err := runWebhookCmd(t, "", "keygen", provider, "--out", base)
	if err != nil {
		t.Fatalf("keygen %s: %v %s", provider, err, errOut)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "public_key ") || strings.HasPrefix(l, "certificate ") {
			directive = l
		}
	}
	if directive == "" {
		t.Fatalf("keygen %s printed no directive:\n%s", provider, out)
	}
	st, err := os.Stat(base + ".key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("keygen %s: key file %v %v", provider, st, err)
	}
	return base + ".key", directive
}

// TestWebhookSignSendE2E: for every signing provider, `caddy webhook sign
// ... --send URL` produces a delivery a real Caddy with webhook_verify
// accepts and forwards byte for byte; signed with another secret or key,
// the gate refuses it, nothing is forwarded, and the command fails.
func TestWebhookSignSendE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest")
	}
	dir := t.TempDir()
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()

	swKey, swPub := keygenFiles(t, dir, "standard_webhooks")
	sgKey, sgPub := keygenFiles(t, dir, "sendgrid")
	mcKey, mcPub := keygenFiles(t, dir, "mailchannels")
	snsKey, snsCert := keygenFiles(t, dir, "sns")
	dcKey, dcPub := keygenFiles(t, dir, "discord")
	txKey, txPub := keygenFiles(t, dir, "telnyx")
	ppKey, ppCert := keygenFiles(t, dir, "paypal")
	// Keys the gate does not know, for the refusals.
	odir := filepath.Join(dir, "other")
	os.Mkdir(odir, 0o700)
	swOther, _ := keygenFiles(t, odir, "standard_webhooks")
	sgOther, _ := keygenFiles(t, odir, "sendgrid")
	mcOther, _ := keygenFiles(t, odir, "mailchannels")
	snsOther, _ := keygenFiles(t, odir, "sns")
	dcOther, _ := keygenFiles(t, odir, "discord")
	txOther, _ := keygenFiles(t, odir, "telnyx")
	ppOther, _ := keygenFiles(t, odir, "paypal")

	const topic = "arn:aws:sns:eu-west-1:123456789012:orders"
	const adyenKey = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
	base := baseURL()
	recipe := []string{"--signature-header", "X-Sig", "--prefix", "v1=", "--separator", ",", "--timestamp_key", "t=",
		"--content", "{timestamp}.{id}.{body}", "--id-header", "X-Id", "--hash", "sha512", "--encoding", "base64"}
	type route struct {
		name   string // path /hooks/<name>
		config string // the webhook_verify line and block
		good   []string
		bad    []string
	}
	routes := []route{
		{"standard_webhooks", "standard_webhooks {\n\t\t\tsecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\t\t}",
			[]string{"--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"--secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"svix_v1a", "svix {\n\t\t\t" + swPub + "\n\t\t}", []string{"--provider", "svix", "--private-key", swKey}, []string{"--provider", "svix", "--private-key", swOther}},
		{"stripe", "stripe {\n\t\t\tsecret whsec_stripe\n\t\t}", []string{"--secret", "whsec_stripe"}, []string{"--secret", "whsec_other"}},
		{"github", "github {\n\t\t\tsecret gh-secret\n\t\t}", []string{"--secret", "gh-secret"}, []string{"--secret", "gh-other"}},
		{"slack", "slack {\n\t\t\tsecret slack-secret\n\t\t}", []string{"--secret", "slack-secret"}, []string{"--secret", "x"}},
		{"shopify", "shopify {\n\t\t\tsecret shop-secret\n\t\t}", []string{"--secret", "shop-secret"}, []string{"--secret", "x"}},
		{"paddle", "paddle {\n\t\t\tsecret pdl_ntfset_1\n\t\t}", []string{"--secret", "pdl_ntfset_1"}, []string{"--secret", "pdl_ntfset_2"}},
		{"maildesk", "maildesk {\n\t\t\tsecret md-secret\n\t\t}", []string{"--secret", "md-secret"}, []string{"--secret", "x"}},
		{"autosend", "autosend {\n\t\t\tsecret as-secret\n\t\t}", []string{"--secret", "as-secret"}, []string{"--secret", "x"}},
		{"hmac", "hmac {\n\t\t\tsecret hmac-secret\n\t\t\tsignature_header X-Sig\n\t\t\tprefix v1=\n\t\t\tseparator ,\n\t\t\ttimestamp_key t=\n\t\t\tcontent {timestamp}.{id}.{body}\n\t\t\tid_header X-Id\n\t\t\thash sha512\n\t\t\tencoding base64\n\t\t}",
			append([]string{"--secret", "hmac-secret"}, recipe...), append([]string{"--secret", "x"}, recipe...)},
		{"sendgrid", "sendgrid {\n\t\t\t" + sgPub + "\n\t\t}", []string{"--private-key", sgKey}, []string{"--private-key", sgOther}},
		{"mailchannels", "mailchannels {\n\t\t\t" + mcPub + "\n\t\t}", []string{"--private-key", mcKey, "--key-id", "k-1"}, []string{"--private-key", mcOther}},
		{"sns", "sns {\n\t\t\t" + snsCert + "\n\t\t\ttopic_arn " + topic + "\n\t\t}",
			[]string{"--private-key", snsKey, "--certificate", strings.TrimSuffix(snsKey, ".key") + ".pem", "--topic-arn", topic},
			[]string{"--private-key", snsOther, "--topic-arn", topic}},
		{"discord", "discord {\n\t\t\t" + dcPub + "\n\t\t}", []string{"--private-key", dcKey}, []string{"--private-key", dcOther}},
		{"telnyx", "telnyx {\n\t\t\t" + txPub + "\n\t\t}", []string{"--private-key", txKey}, []string{"--private-key", txOther}},
		{"adyen", "adyen {\n\t\t\tsecret " + adyenKey + "\n\t\t}", []string{"--secret", adyenKey}, []string{"--secret", "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"}},
		{"paypal", "paypal {\n\t\t\t" + ppCert + "\n\t\t\twebhook_id WH-1\n\t\t}", []string{"--private-key", ppKey, "--key-id", "WH-1"}, []string{"--private-key", ppOther, "--key-id", "WH-1"}},
		{"mailgun", "mailgun {\n\t\t\tsecret key-mailgun\n\t\t}", []string{"--secret", "key-mailgun"}, []string{"--secret", "key-other"}},
		{"twilio", "twilio {\n\t\t\tsecret twilio-token\n\t\t}", []string{"--secret", "twilio-token"}, []string{"--secret", "x"}},
		{"mandrill", "mandrill {\n\t\t\tsecret mandrill-key\n\t\t\turl " + base + "/hooks/mandrill\n\t\t}", []string{"--secret", "mandrill-key"}, []string{"--secret", "x"}},
		{"postmark", "postmark {\n\t\t\tusername pm\n\t\t\tpassword pm-pass\n\t\t}", []string{"--username", "pm", "--password", "pm-pass"}, []string{"--username", "pm", "--password", "nope"}},
		{"mailjet", "mailjet {\n\t\t\tusername mj\n\t\t\tpassword mj-pass\n\t\t}", []string{"--username", "mj", "--password", "mj-pass"}, []string{"--username", "mj", "--password", "nope"}},
		{"sparkpost", "sparkpost {\n\t\t\theader X-Token\n\t\t\tsecret sp-token\n\t\t}", []string{"--header", "X-Token", "--secret", "sp-token"}, []string{"--header", "X-Token", "--secret", "nope"}},
		{"vmware", "vmware {\n\t\t\tusername vm\n\t\t\tpassword vm-pass\n\t\t}", []string{"--username", "vm", "--password", "vm-pass"}, []string{"--username", "vm", "--password", "nope"}},
		{"brevo", "brevo {\n\t\t\tsecret brevo-token\n\t\t}", []string{"--secret", "brevo-token"}, []string{"--secret", "nope"}},
		{"clerk", "clerk {\n\t\t\tsecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\t\t}", []string{"--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"--secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"openai", "openai {\n\t\t\tsecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\t\t}", []string{"--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"--secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"brex", "brex {\n\t\t\tsecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\t\t}", []string{"--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"--secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"loops", "loops {\n\t\t\tsecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\t\t}", []string{"--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"--secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"replicate", "replicate {\n\t\t\tsecret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n\t\t}", []string{"--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, []string{"--secret", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"mailchimp", "mailchimp {\n\t\t\tsecret mc-key\n\t\t\turl " + base + "/hooks/mailchimp\n\t\t}", []string{"--secret", "mc-key"}, []string{"--secret", "x"}},
		{"zoom", "zoom {\n\t\t\tsecret zoom-secret\n\t\t}", []string{"--secret", "zoom-secret"}, []string{"--secret", "x"}},
		{"plivo", "plivo {\n\t\t\tsecret plivo-token\n\t\t\turl " + base + "/hooks/plivo\n\t\t}", []string{"--secret", "plivo-token"}, []string{"--secret", "x"}},
		{"hygraph", "hygraph {\n\t\t\tsecret hy-secret\n\t\t}", []string{"--secret", "hy-secret", "--key-id", "staging"}, []string{"--secret", "x"}},
		{"contentful", "contentful {\n\t\t\tsecret " + strings.Repeat("c", 64) + "\n\t\t}", []string{"--secret", strings.Repeat("c", 64)}, []string{"--secret", strings.Repeat("d", 64)}},
	}
	// The named senders' signers live with them (presets): test those
	// that are there.
	kept := routes[:0]
	for _, r := range routes {
		if verifiers.Signable(strings.TrimSuffix(r.name, "_v1a")) {
			kept = append(kept, r)
		}
	}
	routes = kept

	// Other signing providers that take a secret alone (the recipe presets)
	// get a route of their own.
	named := map[string]bool{}
	for _, r := range routes {
		named[r.name] = true
	}
	for _, n := range verifiers.SignerNames() {
		if named[n] || named[verifiers.Canonical(n)] {
			continue
		}
		if _, err := verifiers.New(n, verifiers.Config{Provider: n, Secrets: []string{"dGVzdC1zZWNyZXQ="}}); err == nil {
			routes = append(routes, route{n, n + " {\n\t\t\tsecret dGVzdC1zZWNyZXQ=\n\t\t}", []string{"--secret", "dGVzdC1zZWNyZXQ="}, []string{"--secret", "b3RoZXItc2VjcmV0"}})
			named[n], named[verifiers.Canonical(n)] = true, true
		} else if u := base + "/hooks/" + n; func() bool {
			// Presets that sign the url ({url}: square, trello, hubspot).
			_, err := verifiers.New(n, verifiers.Config{Provider: n, Secrets: []string{"dGVzdC1zZWNyZXQ="}, URL: u})
			return err == nil
		}() {
			routes = append(routes, route{n, n + " {\n\t\t\tsecret dGVzdC1zZWNyZXQ=\n\t\t\turl " + u + "\n\t\t}", []string{"--secret", "dGVzdC1zZWNyZXQ="}, []string{"--secret", "b3RoZXItc2VjcmV0"}})
			named[n], named[verifiers.Canonical(n)] = true, true
		}
	}

	var cfg strings.Builder
	cfg.WriteString(globalOptions())
	fmt.Fprintf(&cfg, ":%d {\n", testHTTPPort)
	for _, r := range routes {
		fmt.Fprintf(&cfg, "\thandle /hooks/%s {\n\t\twebhook_verify %s\n\t\treverse_proxy %s\n\t}\n", r.name, r.config, srv.Listener.Addr().String())
	}
	cfg.WriteString("\thandle_errors {\n\t\trespond \"{err.status_code} {http.webhook_verify.error}\"\n\t}\n}\n")
	tc := newTester(t)
	tc.InitServer(cfg.String(), "caddyfile")

	body := `{"type":"order.created","id":"evt_1","items":[1,2,3],"note":"it's \"quoted\""}`
	bodyFile := writeFile(t, dir, "body.json", body)
	// Plivo posts forms (its signer refuses JSON).
	formBody := "CallUUID=c-1&From=%2B14158675309&To=%2B18005551212"
	bodies := map[string]string{"plivo": writeFile(t, dir, "form.txt", formBody)}
	// Adyen signs the items of a notification (the signer adds hmacSignature).
	adyenIn := `{"live":"false","notificationItems":[{"NotificationRequestItem":{"amount":{"currency":"EUR","value":1000},"eventCode":"AUTHORISATION","merchantAccountCode":"TestMerchant","merchantReference":"order-1","pspReference":"7914073381342284","success":"true"}}]}`
	adyenFile := writeFile(t, dir, "adyen.json", adyenIn)
	// Twitch: the gate reads the message kind from the body (an event).
	twitchIn := `{"subscription":{"id":"s-1","status":"enabled","type":"channel.follow","version":"1"},"event":{"user_id":"1","note":"it's"}}`
	twitchFile := writeFile(t, dir, "twitch.json", twitchIn)
	covered := map[string]bool{}
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			provider := r.name
			if strings.HasPrefix(provider, "svix") {
				provider = "svix"
			}
			covered[verifiers.Canonical(provider)] = true
			path := "/hooks/" + r.name
			bodyFile, body := bodyFile, body
			if f, ok := bodies[r.name]; ok {
				bodyFile, body = f, formBody
			}
			switch r.name {
			case "adyen":
				bodyFile, body = adyenFile, adyenIn
			case "twitch":
				bodyFile, body = twitchFile, twitchIn
			}
			args := []string{"sign"}
			if r.good[0] != "--provider" {
				args = append(args, provider)
			}
			out, errOut, err := runWebhookCmd(t, "", append(append(args, r.good...), "--body-file", bodyFile, "--send", base+path)...)
			if err != nil || !strings.Contains(out, "200 OK") {
				t.Fatalf("signed delivery: err %v\nstdout %s\nstderr %s", err, out, errOut)
			}
			got := up.requests(path)
			if len(got) != 1 {
				t.Fatalf("upstream got %d requests", len(got))
			}
			// The upstream gets the input body, or for the providers that
			// carry the signature in the body, the body built around it.
			switch provider {
			case "sns":
				if !bytes.Contains(got[0].body, []byte(`"Message" : "{\"type\":\"order.created\"`)) {
					t.Errorf("sns envelope: %s", got[0].body)
				}
			case "mailgun":
				if !bytes.Contains(got[0].body, []byte(`"event-data":`+body)) {
					t.Errorf("mailgun body: %s", got[0].body)
				}
			case "mandrill", "mailchimp":
				if !bytes.HasPrefix(got[0].body, []byte("mandrill_events=")) {
					t.Errorf("mandrill body: %s", got[0].body)
				}
			case "adyen":
				if !bytes.Contains(got[0].body, []byte(`"additionalData":{"hmacSignature":"`)) || !bytes.Contains(got[0].body, []byte(`"pspReference":"7914073381342284"`)) {
					t.Errorf("adyen body: %s", got[0].body)
				}
			case "linear":
				// The signer adds the timestamp member Linear signs in the body.
				if want := `{"webhookTimestamp":`; !bytes.HasPrefix(got[0].body, []byte(want)) || !bytes.HasSuffix(got[0].body, []byte(body[1:])) {
					t.Errorf("linear body: %s", got[0].body)
				}
			default:
				if string(got[0].body) != body {
					t.Errorf("upstream body %q, want %q", got[0].body, body)
				}
			}

			// Another secret or key: refused, not forwarded, exit status 1.
			args = []string{"sign"}
			if r.bad[0] != "--provider" {
				args = append(args, provider)
			}
			out, errOut, err = runWebhookCmd(t, "", append(append(args, r.bad...), "--body-file", bodyFile, "--send", base+path)...)
			if err == nil || !strings.Contains(out, "401") || !strings.Contains(errOut, "answered 401") {
				t.Errorf("forged delivery: err %v\nstdout %s\nstderr %s", err, out, errOut)
			}
			if n := len(up.requests(path)); n != 1 {
				t.Errorf("forged delivery forwarded (%d requests)", n)
			}
		})
	}
	for _, n := range verifiers.SignerNames() {
		if !covered[verifiers.Canonical(n)] {
			t.Errorf("signer %s has no end-to-end route", n)
		}
	}
}

// TestWebhookSignOutputs: the header lines, the curl command, stdin.
func TestWebhookSignOutputs(t *testing.T) {
	dir := t.TempDir()
	bodyFile := writeFile(t, dir, "hw.txt", "Hello, World!")
	// GitHub's documented example.
	out, _, err := runWebhookCmd(t, "", "sign", "github", "--secret", "It's a Secret to Everybody", "--body-file", bodyFile, "--id", "d-1")
	if err != nil {
		t.Fatal(err)
	}
	want := "Content-Type: application/json\nX-Github-Delivery: d-1\nX-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n"
	if out != want {
		t.Errorf("headers:\n%s\nwant:\n%s", out, want)
	}
	// The secret from the environment or a file (off the command line, where
	// the process list shows it): the same delivery.
	t.Setenv("WV_TEST_SIGN_SECRET", "It's a Secret to Everybody")
	secretFile := writeFile(t, dir, "secret.txt", "It's a Secret to Everybody\n")
	for _, flags := range [][]string{{"--secret-env", "WV_TEST_SIGN_SECRET"}, {"--secret-file", secretFile}} {
		out, _, err := runWebhookCmd(t, "", append([]string{"sign", "github", "--body-file", bodyFile, "--id", "d-1"}, flags...)...)
		if err != nil || out != want {
			t.Errorf("%s: %v\n%s", flags[0], err, out)
		}
	}
	// The same from stdin, with --provider.
	out2, _, err := runWebhookCmd(t, "Hello, World!", "sign", "--provider", "github", "--secret", "It's a Secret to Everybody", "--body-file", "-", "--id", "d-1")
	if err != nil || out2 != want {
		t.Errorf("stdin: %v\n%s", err, out2)
	}
	// curl: the file is referenced, quotes survive.
	out, _, err = runWebhookCmd(t, "", "sign", "github", "--secret", "It's a Secret to Everybody", "--body-file", bodyFile, "--id", "d-1", "--output", "curl", "--url", "http://localhost:8080/hooks/github")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"curl -i -X POST 'http://localhost:8080/hooks/github'", "-H 'X-Hub-Signature-256: sha256=757107ea", "--data-binary '@" + bodyFile + "'"} {
		if !strings.Contains(out, w) {
			t.Errorf("curl output lacks %q:\n%s", w, out)
		}
	}
	// curl with a rewritten body inlines it, shell-quoted; twilio's query.
	out, _, err = runWebhookCmd(t, "", "sign", "twilio", "--secret", "tok", "--body-file", writeFile(t, dir, "j.json", `{"a":"it's"}`), "--output", "curl", "--url", "https://example.com/t?x=1")
	if err != nil || !strings.Contains(out, "'https://example.com/t?x=1&bodySHA256=") || !strings.Contains(out, "--data-binary '@") {
		t.Errorf("twilio curl: %v\n%s", err, out)
	}
	out, _, err = runWebhookCmd(t, "", "sign", "mandrill", "--secret", "k", "--body-file", writeFile(t, dir, "m.json", `[{"e":"it's"}]`), "--output", "curl", "--url", "https://example.com/m")
	if err != nil || !strings.Contains(out, `--data-binary 'mandrill_events=%5B%7B%22e%22%3A%22it%27s%22%7D%5D'`) {
		t.Errorf("mandrill curl: %v\n%s", err, out)
	}
	// A body with a quote is inlined shell-quoted.
	out, _, err = runWebhookCmd(t, `{"a":"it's"}`, "sign", "mailgun", "--secret", "k", "--body-file", "-", "--output", "curl", "--url", "https://example.com/m", "--id", "tok", "--timestamp", "1700000000")
	if err != nil || !strings.Contains(out, `--data-binary '{"signature":{"timestamp":"1700000000","token":"tok","signature":"`) || !strings.Contains(out, `"event-data":{"a":"it'\''s"}}'`) {
		t.Errorf("mailgun curl: %v\n%s", err, out)
	}
	// headers mode tells on stderr when the body or query matters.
	_, errOut, err := runWebhookCmd(t, "{}", "sign", "mailgun", "--secret", "k", "--body-file", "-")
	if err != nil || !strings.Contains(errOut, "--output body") {
		t.Errorf("mailgun note: %v %q", err, errOut)
	}
}

// TestWebhookSignRefusals: one clear line on stderr, an error (exit status
// 1), and never the secret.
func TestWebhookSignRefusals(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WV_TEST_SIGN_SECRET2", "s3cr3t-value")
	bodyFile := writeFile(t, dir, "b.json", "{}")
	const secret = "s3cr3t-value"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown provider", []string{"sign", "nope", "--secret", secret, "--body-file", bodyFile}, `unknown provider "nope"`},
		{"no provider", []string{"sign", "--secret", secret, "--body-file", bodyFile}, "no provider"},
		{"provider twice", []string{"sign", "github", "--provider", "stripe", "--secret", secret, "--body-file", bodyFile}, "provider given twice"},
		{"missing secret", []string{"sign", "github", "--body-file", bodyFile}, "needs a secret"},
		{"secret env unset", []string{"sign", "github", "--secret-env", "WV_TEST_SIGN_UNSET", "--body-file", bodyFile}, "WV_TEST_SIGN_UNSET is not set"},
		{"secret twice", []string{"sign", "github", "--secret", secret, "--secret-env", "WV_TEST_SIGN_SECRET2", "--body-file", bodyFile}, "exclude each other"},
		{"missing body flag", []string{"sign", "github", "--secret", secret}, "no body"},
		{"unreadable body", []string{"sign", "github", "--secret", secret, "--body-file", filepath.Join(dir, "none")}, "reading the body"},
		{"unreadable key", []string{"sign", "sendgrid", "--private-key", filepath.Join(dir, "none"), "--body-file", bodyFile}, "reading --private-key"},
		{"bad key", []string{"sign", "sendgrid", "--private-key", writeFile(t, dir, "k", secret), "--body-file", bodyFile}, "private key is not PEM"},
		{"recipe flag elsewhere", []string{"sign", "github", "--secret", secret, "--prefix", "x", "--body-file", bodyFile}, "--prefix is a recipe option of the hmac provider"},
		{"bad output", []string{"sign", "github", "--secret", secret, "--body-file", bodyFile, "--output", "xml"}, "--output must be"},
		{"curl without url", []string{"sign", "github", "--secret", secret, "--body-file", bodyFile, "--output", "curl"}, "needs --url"},
		{"bad send url", []string{"sign", "github", "--secret", secret, "--body-file", bodyFile, "--send", "localhost:1"}, "--send must be"},
		{"send refused", []string{"sign", "github", "--secret", secret, "--body-file", bodyFile, "--send", "http://127.0.0.1:1/x"}, "sending to http://127.0.0.1:1/x"},
		{"keygen for hmac provider", []string{"keygen", "github"}, "uses no key pair"},
		{"keygen unknown", []string{"keygen", "nope"}, `unknown provider "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runWebhookCmd(t, "", tt.args...)
			if err == nil {
				t.Fatalf("accepted; stdout %s", out)
			}
			if !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("stderr %q, want one line with %q", errOut, tt.want)
			}
			if strings.Contains(out+errOut, secret) {
				t.Errorf("the secret was printed: %s %s", out, errOut)
			}
		})
	}
	// keygen never overwrites.
	base := filepath.Join(dir, "k1")
	if _, _, err := runWebhookCmd(t, "", "keygen", "sendgrid", "--out", base); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(base + ".key")
	if _, errOut, err := runWebhookCmd(t, "", "keygen", "sendgrid", "--out", base); err == nil || !strings.Contains(errOut, "exists") {
		t.Errorf("overwrite: %v %s", err, errOut)
	}
	if after, _ := os.ReadFile(base + ".key"); !bytes.Equal(before, after) {
		t.Error("key file overwritten")
	}
	// keygen without --out prints the pair.
	out, _, err := runWebhookCmd(t, "", "keygen", "svix")
	if err != nil || !strings.Contains(out, "whsk_") || !strings.Contains(out, "public_key whpk_") {
		t.Errorf("keygen svix: %v\n%s", err, out)
	}
}

package webhookverify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// The `caddy webhook` subcommands: sign a delivery the way a provider
// would (to test a webhook_verify route without the provider), and make
// key pairs for the asymmetric providers.

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:      "webhook",
		Usage:     "sign|keygen|queue ...",
		Short:     "Signs test webhook deliveries for webhook_verify; operates webhook_queue",
		Long:      webhookCommandLong,
		CobraFunc: setupWebhookCommand,
	})
}

// webhookCommandLong is the help text of `caddy webhook`.
var webhookCommandLong = `
Tools for testing webhook_verify routes without the provider, and for
operating the webhook_queue queues of a running Caddy.

  caddy webhook sign <provider> --secret-env <VAR> --body-file <file> [--send <url>]
      signs a delivery as the provider would and prints its headers, a
      curl command, or sends it and prints the response.
  caddy webhook keygen <provider> [--out <name>]
      makes a key pair for ` + strings.Join(verifiers.KeygenProviders(), ", ") + `,
      in the form webhook_verify's public_key / certificate takes.
  caddy webhook queue list|show|retry|purge [--route <name>] [--dead] [<id>]
      inspects the queues of a running Caddy through its admin API: depth,
      dead letters, requeue, purge.

Run 'caddy webhook sign --help' (or queue --help) for every flag.
`

// setupWebhookCommand adds the subcommands to the `webhook` command.
func setupWebhookCommand(cmd *cobra.Command) {
	cmd.AddCommand(newSignCommand(), newKeygenCommand(), newQueueCommand())
}

// maxSignBody bounds the body read from a file or stdin.
const maxSignBody = 64 << 20

// maxSendResponse bounds the response body printed by --send.
const maxSendResponse = 1 << 20

// recipeFlags are the hmac recipe's flags, named like its Caddyfile options.
var recipeFlags = []struct{ name, usage string }{
	{"signature-header", "hmac: the header that carries the signature (required for hmac)"},
	{"prefix", "hmac: text before the signature, e.g. sha256= (in list form the signature entry's key, e.g. v1=)"},
	{"hash", "hmac: sha1, sha256 (default) or sha512"},
	{"encoding", "hmac: hex (default), base64 or base64url"},
	{"secret-encoding", "hmac: raw (default), base64 or whsec"},
	{"content", "hmac: signed content template from {body} {timestamp} {id} and text (default {body})"},
	{"timestamp-header", "hmac: the header that carries the timestamp"},
	{"timestamp-unit", "hmac: s (default), ms or auto (auto sends s)"},
	{"timestamp-key", "hmac: list form: the timestamp entry's key, e.g. t="},
	{"id-header", "hmac: the header that carries the delivery id"},
	{"separator", "hmac: list form: the separator of the signature header's entries"},
}

func newSignCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sign [--provider] <provider> (--secret-env <VAR> | --secret-file <f> | --secret <s> | --private-key <file>) --body-file <file|-> [flags]",
		Short: "Signs a webhook delivery as the provider would",
		Long: `
Signs a webhook delivery for a provider that signs with a secret or a
private key, so a webhook_verify route can be tested locally:

  caddy webhook sign github --secret-env GITHUB_WEBHOOK_SECRET --body-file event.json --send http://localhost:8080/hooks/github

The secret: --secret-env names an environment variable that holds it,
--secret-file a file (a final newline is dropped). --secret <s> puts it
on the command line, where the process list and shell history show it:
use it only for throwaway test secrets.

--output headers (default) prints the headers as "Name: value" lines;
--output curl prints a curl command for --url; --output body prints the
body to send (it differs from the input for sns, mailgun, mandrill and adyen);
--send <url> posts the delivery and prints the response status and body
(exit status 1 unless the answer is 2xx).

Providers: ` + strings.Join(verifiers.SignerNames(), ", ") + `.

  secret:       github, stripe, slack, shopify, paddle, maildesk, autosend,
                mailgun, twilio (auth token), mandrill (webhook key),
                standard_webhooks/svix/resend (whsec_..., v1), hmac (+ recipe flags)
  private key:  standard_webhooks (whsk_..., v1a), sendgrid (ECDSA P-256),
                mailchannels (Ed25519; --key-id), discord (Ed25519), telnyx (Ed25519),
                sns (RSA; --certificate, --topic-arn, --signature-version),
                paypal (RSA; --certificate, --key-id <webhook_id>);
                'caddy webhook keygen' makes them
  url:          twilio and mandrill sign --url (default: the --send url)
  credentials:  postmark: --username and --password, or --header and --secret
                (mailjet, sparkpost, vmware alike; brevo: --secret is the Bearer token)
  named senders sign as the scheme they use (clerk as standard_webhooks,
                mailchimp as mandrill, ...); providers on the recipe engine
                (zoom, recipe presets) take --secret alone

For sns the body is the Message; the gate must pin the certificate
(certificate <file>): SigningCertURL names an AWS host but no real
certificate. For mailgun the body is the event data (or a whole payload,
whose event-data is kept). For mandrill a JSON body becomes the form
field mandrill_events. Timestamps are now unless --timestamp is given.
Errors never quote the secret or the key.
`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			cmd.SilenceErrors = true
			err := runSign(cmd, args)
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "webhook sign: "+err.Error())
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringP("provider", "p", "", "the provider (or give it as the argument)")
	f.String("secret-env", "", "read the secret from this environment variable (not shown in the process list)")
	f.String("secret-file", "", "read the secret from this file (a final newline is dropped)")
	f.StringP("secret", "s", "", "the shared secret on the command line (visible in the process list: prefer --secret-env or --secret-file)")
	f.String("private-key", "", "PEM (or whsk_) private key file: standard_webhooks v1a, sendgrid, mailchannels, sns")
	f.String("key-id", "", "mailchannels: the keyid to sign with (default "+`"local-test-key"`+"); hygraph: the environment (default master); paypal: the webhook_id")
	f.String("certificate", "", "sns: PEM certificate file of the private key (names SigningCertURL)")
	f.StringP("body-file", "b", "", "the body: a file, or - for stdin (required)")
	f.String("content-type", "", "Content-Type of the body (default: what the provider sends)")
	f.StringP("url", "u", "", "twilio, mandrill: the public URL the provider signs; --output curl: where to send")
	f.Int64("timestamp", 0, "signing time in Unix seconds (default now)")
	f.String("id", "", "delivery id (webhook-id, mailgun token, sns MessageId (a UUID, as SNS sends), hmac {id}); default random")
	f.StringP("output", "o", "headers", "headers, curl or body")
	f.String("send", "", "POST the delivery to this URL and print the response")
	f.Duration("timeout", 10*time.Second, "--send: time to wait for the response")
	f.String("username", "", "postmark: Basic auth user name")
	f.String("password", "", "postmark: Basic auth password")
	f.String("header", "", "postmark: the header that carries --secret")
	f.String("topic-arn", "", "sns: topic ARN (default arn:aws:sns:us-east-1:123456789012:webhook-test)")
	f.String("signature-version", "1", "sns: 1 (SHA1withRSA) or 2 (SHA256withRSA)")
	for _, rf := range recipeFlags {
		f.String(rf.name, "", rf.usage)
	}
	// The Caddyfile's names (signature_header) work too.
	f.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		return pflag.NormalizedName(strings.ReplaceAll(name, "_", "-"))
	})
	return cmd
}

func runSign(cmd *cobra.Command, args []string) error {
	f := cmd.Flags()
	str := func(name string) string { v, _ := f.GetString(name); return v }

	provider := str("provider")
	switch {
	case len(args) == 1 && provider != "" && args[0] != provider:
		return fmt.Errorf("provider given twice (%s and %s)", provider, args[0])
	case len(args) == 1:
		provider = args[0]
	case provider == "":
		return fmt.Errorf("no provider (known: %s)", strings.Join(verifiers.SignerNames(), ", "))
	}
	if !verifiers.Known(provider) {
		return fmt.Errorf("unknown provider %q (known: %s)", provider, strings.Join(verifiers.SignerNames(), ", "))
	}
	if !verifiers.Signable(provider) {
		return fmt.Errorf("provider %s does not sign with a secret or a private key", provider)
	}

	req := verifiers.SignRequest{
		Secret: str("secret"), KeyID: str("key-id"), ContentType: str("content-type"), URL: str("url"),
		ID: str("id"), Username: str("username"), Password: str("password"), Header: str("header"),
		TopicARN: str("topic-arn"), SignatureVersion: str("signature-version"),
	}
	given := 0
	for _, n := range []string{"secret", "secret-file", "secret-env"} {
		if str(n) != "" {
			given++
		}
	}
	if given > 1 {
		return fmt.Errorf("--secret, --secret-file and --secret-env exclude each other")
	}
	if name := str("secret-env"); name != "" {
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return fmt.Errorf("--secret-env: the environment variable %s is not set or empty", name)
		}
		req.Secret = v
	}
	if path := str("secret-file"); path != "" {
		b, err := readBounded(path, cmd.InOrStdin(), 64<<10)
		if err != nil {
			return fmt.Errorf("reading --secret-file: %w", err)
		}
		req.Secret = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if req.Secret == "" {
			return fmt.Errorf("--secret-file %s is empty", path)
		}
	}
	for _, kf := range []struct {
		flag string
		dst  *string
	}{{"private-key", &req.PrivateKey}, {"certificate", &req.Certificate}} {
		if path := str(kf.flag); path != "" {
			b, err := readBounded(path, nil, 1<<20)
			if err != nil {
				return fmt.Errorf("reading --%s: %w", kf.flag, err)
			}
			*kf.dst = string(b)
		}
	}

	canon := verifiers.Canonical(provider)
	var recipe verifiers.HMACRecipe
	recipeSet := false
	for _, rf := range recipeFlags {
		if !f.Changed(rf.name) {
			continue
		}
		if canon != "hmac" {
			return fmt.Errorf("--%s is a recipe option of the hmac provider, not of %s", rf.name, provider)
		}
		recipeSet = true
		v := str(rf.name)
		switch rf.name {
		case "signature-header":
			recipe.SignatureHeader = v
		case "prefix":
			recipe.Prefix = v
		case "hash":
			recipe.Hash = v
		case "encoding":
			recipe.Encoding = v
		case "secret-encoding":
			recipe.SecretEncoding = v
		case "content":
			recipe.Content = v
		case "timestamp-header":
			recipe.TimestampHeader = v
		case "timestamp-unit":
			recipe.TimestampUnit = v
		case "timestamp-key":
			recipe.TimestampKey = v
		case "id-header":
			recipe.IDHeader = v
		case "separator":
			recipe.Separator = v
		}
	}
	if recipeSet {
		req.Recipe = &recipe
	}

	output := str("output")
	send := str("send")
	if send != "" && f.Changed("output") {
		return fmt.Errorf("--send and --output exclude each other")
	}
	switch output {
	case "headers", "curl", "body":
	default:
		return fmt.Errorf("--output must be headers, curl or body")
	}
	var sendURL *url.URL
	if send != "" {
		u, err := url.Parse(send)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--send must be an absolute http or https url")
		}
		sendURL = u
		if req.URL == "" {
			req.URL = send // the URL signed by twilio, mandrill and the like
		}
	}
	if ts, _ := f.GetInt64("timestamp"); ts != 0 {
		if ts < 0 {
			return fmt.Errorf("--timestamp must be Unix seconds")
		}
		req.Now = time.Unix(ts, 0)
	}

	bodyFile := str("body-file")
	if bodyFile == "" {
		return fmt.Errorf("no body: give --body-file <file>, or --body-file - for stdin")
	}
	body, err := readBounded(bodyFile, cmd.InOrStdin(), maxSignBody)
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	req.Body = body

	signed, err := verifiers.Sign(provider, req)
	if err != nil {
		return err
	}

	out := cmd.OutOrStdout()
	switch {
	case sendURL != nil:
		return sendSigned(cmd, sendURL, signed)
	case output == "body":
		_, err := out.Write(signed.Body)
		return err
	case output == "curl":
		target := req.URL
		if target == "" {
			return fmt.Errorf("--output curl needs --url (where to send)")
		}
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return fmt.Errorf("--url must be an absolute url")
		}
		if signed.Query != "" {
			u.RawQuery = signed.Query
		}
		var b strings.Builder
		b.WriteString("curl -i -X POST " + shellQuote(u.String()))
		for _, name := range sortedHeaderNames(signed.Header) {
			for _, v := range signed.Header.Values(name) {
				b.WriteString(" \\\n  -H " + shellQuote(name+": "+v))
			}
		}
		switch {
		case !signed.BodyRewritten && bodyFile != "-":
			b.WriteString(" \\\n  --data-binary " + shellQuote("@"+bodyFile))
		case bytes.IndexByte(signed.Body, 0) >= 0 || !utf8.Valid(signed.Body):
			return fmt.Errorf("the body is binary: use --send, or --output body into a file")
		default:
			b.WriteString(" \\\n  --data-binary " + shellQuote(string(signed.Body)))
		}
		fmt.Fprintln(out, b.String())
	default:
		for _, name := range sortedHeaderNames(signed.Header) {
			for _, v := range signed.Header.Values(name) {
				fmt.Fprintf(out, "%s: %s\n", name, v)
			}
		}
		if signed.Query != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: the request must carry the query string ?%s\n", signed.Query)
		}
		if signed.BodyRewritten {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: %s carries the signature in the body: send the body of --output body (or use --output curl or --send)\n", provider)
		}
	}
	return nil
}

// sendSigned posts the delivery to u (its query replaced by the signed
// one, if any) and prints the status line and the response body. A non-2xx
// answer is an error (exit status 1).
func sendSigned(cmd *cobra.Command, u *url.URL, s *verifiers.Signed) error {
	target := *u
	if s.Query != "" {
		target.RawQuery = s.Query
	}
	req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, target.String(), bytes.NewReader(s.Body))
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	req.Header = s.Header.Clone()
	timeout, _ := cmd.Flags().GetDuration("timeout")
	client := &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("sending to %s: %v", u.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSendResponse))
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s %s\n", resp.Proto, resp.Status)
	out.Write(b)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		fmt.Fprintln(out)
	}
	if err != nil {
		return fmt.Errorf("reading the response: %v", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", u.Redacted(), resp.Status)
	}
	return nil
}

func newKeygenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keygen <provider> [--out <name>]",
		Short: "Makes a test key pair for an asymmetric provider",
		Long: `
Makes a fresh key pair for ` + strings.Join(verifiers.KeygenProviders(), ", ") + `
(and the aliases svix, resend, ses), so a webhook_verify route can be
tested with 'caddy webhook sign' without the provider.

With --out <name>, the private key goes to <name>.key (mode 0600; and the
certificate of sns and paypal to <name>.pem), and the lines to put in the
webhook_verify block are printed. Without it, everything is printed.
Existing files are never overwritten.

  standard_webhooks  whsk_ private key, public_key whpk_...
  sendgrid           PEM ECDSA P-256 private key, public_key <base64 DER>
  mailchannels       PEM Ed25519 private key, public_key <base64 DER>
  discord            PEM Ed25519 private key, public_key <hex>
  telnyx             PEM Ed25519 private key, public_key <base64>
  paypal             PEM RSA-2048 private key, a self-signed certificate
                     for: certificate <file>
  sns                PEM RSA-2048 private key, a self-signed certificate
                     for: certificate <file>
`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SilenceUsage = true
			cmd.SilenceErrors = true
			err := runKeygen(cmd, args[0])
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "webhook keygen: "+err.Error())
			}
			return err
		},
	}
	cmd.Flags().String("out", "", "write <name>.key (and <name>.pem, the certificate, for sns and paypal) instead of printing the private key")
	return cmd
}

func runKeygen(cmd *cobra.Command, provider string) error {
	k, err := verifiers.GenerateKey(provider)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	name, _ := cmd.Flags().GetString("out")
	directive := "public_key " + k.PublicKey
	if name == "" {
		fmt.Fprintf(out, "# %s test key pair, from caddy webhook keygen\n", provider)
		fmt.Fprintln(out, "# private key (save it to a file for caddy webhook sign --private-key):")
		fmt.Fprintln(out, strings.TrimSpace(k.PrivateKey))
		if k.Certificate != "" {
			fmt.Fprintln(out, "# certificate (save it to a file for webhook_verify's certificate <file>):")
			fmt.Fprintln(out, strings.TrimSpace(k.Certificate))
			if verifiers.Canonical(provider) == "paypal" {
				fmt.Fprintf(out, "# with webhook_id %s in the webhook_verify block, sign with --key-id %s\n", keygenPayPalWebhookID, keygenPayPalWebhookID)
			}
			return nil
		}
		fmt.Fprintln(out, "# in the webhook_verify block:")
		fmt.Fprintln(out, directive)
		return nil
	}
	keyFile := name + ".key"
	if err := writeNew(keyFile, []byte(strings.TrimSpace(k.PrivateKey)+"\n"), 0o600); err != nil {
		return err
	}
	signFlags := "--private-key " + keyFile
	if k.Certificate != "" {
		crtFile := name + ".pem"
		if err := writeNew(crtFile, []byte(k.Certificate), 0o644); err != nil {
			os.Remove(keyFile)
			return err
		}
		abs, err := filepath.Abs(crtFile)
		if err != nil {
			abs = crtFile
		}
		directive = "certificate " + abs
		signFlags += " --certificate " + crtFile
	}
	if verifiers.Canonical(provider) == "paypal" {
		// PayPal signs the webhook's id with each delivery.
		directive += "\nwebhook_id " + keygenPayPalWebhookID
		signFlags += " --key-id " + keygenPayPalWebhookID
	}
	fmt.Fprintf(out, "# in the webhook_verify %s block:\n%s\n", provider, directive)
	fmt.Fprintf(out, "# to sign: caddy webhook sign %s %s --body-file <file> ...\n", provider, signFlags)
	return nil
}

// keygenPayPalWebhookID is the webhook id keygen paypal suggests (any
// value works, as long as the gate's webhook_id and sign's --key-id agree).
const keygenPayPalWebhookID = "WH-LOCAL-TEST"

// writeNew creates path with data; it fails if path exists.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readBounded reads path ("-": stdin) up to max bytes; more is an error.
func readBounded(path string, stdin io.Reader, max int64) ([]byte, error) {
	var r io.Reader
	if path == "-" {
		if stdin == nil {
			return nil, fmt.Errorf("- (stdin) is not allowed here")
		}
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

// sortedHeaderNames returns the header names of h in order.
func sortedHeaderNames(h http.Header) []string {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

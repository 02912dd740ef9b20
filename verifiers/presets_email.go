package verifiers

import (
	"fmt"
	"strings"
)

// Provider names that are another provider under the name users know
// (see presets_notes.md for the sources). Each forwards to the provider
// that implements the scheme, by its registered name, so the options,
// errors and tests of that provider apply; the name keeps its own replay
// namespace and metrics label.
//
//   - Standard Webhooks senders (webhook-* or svix-* headers, whsec_
//     secret): brex, clerk (through Svix), loops, openai, replicate.
//   - mailchimp: Mailchimp's signed webhooks are Mailchimp Transactional's
//     (Mandrill's X-Mandrill-Signature); its Marketing audience webhooks
//     carry no signature at all.
//   - Senders without a signature, checked like postmark (Basic auth in
//     the webhook URL, or a shared header): mailjet and sparkpost (both
//     modes), vmware (Basic auth only, as ngrok's VMware integration), and
//     brevo, whose token option arrives as "Authorization: Bearer <token>":
//     brevo with secret and no header checks that header, the secret being
//     the token as set in Brevo (a secret already starting with "Bearer "
//     is taken as the whole header value).

func init() {
	for _, name := range []string{"brex", "clerk", "loops", "openai", "replicate"} {
		Register(name, forwardTo("standard_webhooks"))
	}
	Register("mailchimp", forwardTo("mandrill"))
	Register("mailjet", forwardTo("postmark"))
	Register("sparkpost", forwardTo("postmark"))
	Register("vmware", newVMware)
	Register("brevo", newBrevo)
	for _, name := range []string{"brex", "clerk", "loops", "openai", "replicate"} {
		RegisterSigner(name, signAs("standard_webhooks"))
	}
	RegisterSigner("mailchimp", signAs("mandrill"))
	for _, name := range []string{"mailjet", "sparkpost", "vmware"} {
		RegisterSigner(name, signAs("postmark"))
	}
	RegisterSigner("brevo", signBrevo)
}

// forwardTo returns a factory that builds the provider registered as
// target with the caller's configuration (and its own provider name in
// messages).
func forwardTo(target string) Factory {
	return func(c Config) (Verifier, error) {
		return New(target, c)
	}
}

// newVMware is postmark in Basic mode only.
func newVMware(c Config) (Verifier, error) {
	if err := c.Reject("secret", "header"); err != nil {
		return nil, fmt.Errorf("%w (it checks Basic auth: username and password)", err)
	}
	if c.Username == "" || c.Password == "" {
		return nil, fmt.Errorf("provider %s needs username and password (Basic auth)", c.Provider)
	}
	return New("postmark", c)
}

// newBrevo is postmark, with the Bearer token as default header mode.
func newBrevo(c Config) (Verifier, error) {
	if len(c.Secrets) > 0 && c.Header == "" {
		c.Header = "Authorization"
		secrets := make([]string, len(c.Secrets))
		for i, s := range c.Secrets {
			if s != "" && !strings.HasPrefix(s, "Bearer ") {
				s = "Bearer " + s
			}
			secrets[i] = s
		}
		c.Secrets = secrets
	}
	return New("postmark", c)
}

// signAs signs as the provider registered as target.
func signAs(target string) SignFunc {
	return func(_ string, r SignRequest) (*Signed, error) {
		return Sign(target, r)
	}
}

// signBrevo signs as postmark; a secret without header is Brevo's token,
// sent as "Authorization: Bearer <secret>" (see newBrevo).
func signBrevo(_ string, r SignRequest) (*Signed, error) {
	if r.Secret != "" && r.Header == "" {
		r.Header = "Authorization"
		if !strings.HasPrefix(r.Secret, "Bearer ") {
			r.Secret = "Bearer " + r.Secret
		}
	}
	return Sign("postmark", r)
}

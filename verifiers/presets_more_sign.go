package verifiers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Signers (caddy webhook sign) of the providers of presets_more_*.go: the
// named providers over existing verifiers sign as those do; Hygraph and
// Plivo have their own.

func init() {
	for _, name := range []string{"brex", "clerk", "loops", "openai", "replicate"} {
		RegisterSigner(name, signAs("standard_webhooks"))
	}
	RegisterSigner("mailchimp", signAs("mandrill"))
	for _, name := range []string{"mailjet", "sparkpost", "vmware"} {
		RegisterSigner(name, signAs("postmark"))
	}
	RegisterSigner("brevo", signBrevo)
	RegisterSigner("graphcms", signHygraph)
	RegisterSigner("plivo", signPlivo)
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

// signHygraph builds gcms-signature for environment "master" (or r.KeyID,
// an environment name) at r.Now.
func signHygraph(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(r.Body) {
		return nil, fmt.Errorf("body is not utf-8")
	}
	env := r.KeyID
	if env == "" {
		env = "master"
	}
	if !hygraphValidEnv(env) {
		return nil, fmt.Errorf("key id (the environment name) must be letters, digits, - and _")
	}
	ts := strconv.FormatInt(r.Now.UnixMilli(), 10)
	sig := base64.StdEncoding.EncodeToString(MAC(sha256.New, key, hygraphPayload(r.Body, env, ts)))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set(hygraphHeader, "sign="+sig+", env="+env+", t="+ts)
	return s, nil
}

// signPlivo signs a POST callback to r.URL (scheme://host/path, an
// optional query string) with a form body (a JSON body is refused: Plivo
// posts forms) and a random numeric nonce, as plivo-go's ComputeSignatureV3.
func signPlivo(_ string, r SignRequest) (*Signed, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("needs a secret")
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("needs url, the callback URL (http or https, no user information or fragment)")
	}
	if looksJSON(r.Body) {
		return nil, fmt.Errorf("body must be a form (name=value&...): plivo posts forms, and a JSON body is not signed")
	}
	base := u.Scheme + "://" + u.Host + u.EscapedPath()
	v, err := newPlivo(Config{Provider: "plivo", Secrets: []string{r.Secret}, URL: base})
	if err != nil {
		return nil, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1e18))
	if err != nil {
		return nil, err
	}
	nonce := strconv.FormatInt(n.Int64()+1e18, 10)
	s := newSigned(r.Body, formsigFormType)
	s.Query = u.RawQuery
	req := &Request{Method: "POST", URL: &url.URL{RawQuery: u.RawQuery}, Header: s.Header, Body: r.Body}
	signed, err := v.(*plivo).signed(req, nonce)
	if err != nil {
		return nil, fmt.Errorf("body must be a form (name=value&...) with each name once: %w", err)
	}
	s.Header.Set("X-Plivo-Signature-V3", base64.StdEncoding.EncodeToString(MAC(sha256.New, []byte(r.Secret), []byte(signed))))
	s.Header.Set("X-Plivo-Signature-V3-Nonce", nonce)
	return s, nil
}

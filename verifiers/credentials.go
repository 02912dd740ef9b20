package verifiers

import "net/http"

// CredentialCarrier is implemented by verifiers that check a request header
// carrying a secret itself (not a signature made with it): postmark's (and
// its aliases') shared header or Basic Authorization, the token scheme of
// the hmac recipe (gitlab's X-Gitlab-Token). The header is in every
// accepted request, so whatever logs the request's headers logs the
// secret; the handler tells the user at load which headers to filter from
// the server's logs.
type CredentialCarrier interface {
	// CredentialHeaders returns the canonical names of the headers that
	// carry a secret.
	CredentialHeaders() []string
}

// CredentialHeaders names the header of the token scheme; the other
// schemes carry signatures, not secrets.
func (v *recipeVerifier) CredentialHeaders() []string {
	if v.scheme != "token" || len(v.sigHeaders) == 0 {
		return nil
	}
	return []string{http.CanonicalHeaderKey(v.sigHeaders[0])}
}

// CredentialHeaders names the header checked (Authorization in Basic mode).
func (v *postmark) CredentialHeaders() []string {
	return []string{http.CanonicalHeaderKey(v.header)}
}

// Interface guards
var (
	_ CredentialCarrier = (*recipeVerifier)(nil)
	_ CredentialCarrier = (*postmark)(nil)
)

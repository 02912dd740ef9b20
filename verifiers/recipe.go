package verifiers

// HMACRecipe describes a webhook signature scheme declaratively, for the
// generic "hmac" provider and for the presets of presets.go (a preset is a
// named, cited recipe). The engine that reads it: hmac.go and recipe_*.go.
//
// The signed content is built from a template (Content) of literal text and
// placeholders. Every value that goes into it is validated first, so that
// two different requests can never share one signed string: a value may
// not contain the byte of the literal text that delimits it in the template
// (an {id} followed by "." refuses ids with a "."), timestamps must have
// their format's exact shape, and a template whose parts could still be cut
// in two ways (two placeholders side by side, a timestamp of digits next to
// a "." of a template that allows them, ...) is refused when the
// configuration loads.
type HMACRecipe struct {
	// SignatureHeader is the request header that carries the signature
	// (or the list of signatures). Required.
	SignatureHeader string `json:"signature_header,omitempty"`

	// SignatureHeaders names further headers that may each carry a
	// signature; a request passes when any signature of any of them matches
	// any configured secret (Box's BOX-SIGNATURE-PRIMARY and -SECONDARY). A
	// name ending in "*" stands for the numbered headers 1 to 32 (DocuSign's
	// "X-DocuSign-Signature-*"). With several headers at least one must be
	// present; each present one must be sent once; signatures that do not
	// decode are ignored unless none does (400). Not with a list-form
	// timestamp (timestamp_key, timestamp_first).
	SignatureHeaders []string `json:"signature_headers,omitempty"`

	// Scheme is how the signature is made: hmac (default: HMAC of the
	// content under the secret), hash (the plain hash of the secret's bytes
	// followed by the content, hash(secret || content), without HMAC) or
	// token (the header carries the secret itself, compared in constant
	// time; nothing is signed, so content, hash, encoding and timestamps do
	// not apply: GitLab's X-Gitlab-Token).
	//
	// A plain hash can be extended by anyone who saw one signature (length
	// extension): with hash, a signed content that holds the hash's padding
	// of a shorter message is refused (ErrMalformed, after the signature
	// matched), and a template with a variable part after {body} is refused
	// at load.
	Scheme string `json:"scheme,omitempty"`

	// Prefix is stripped from each signature before decoding, for example
	// "sha256=" (GitHub) or, in list form, the key of the signature entries
	// such as "v1=" (Stripe, Maildesk) or "v1," (Standard Webhooks). In list
	// form, entries without the prefix are ignored; an empty prefix makes
	// every entry a signature (Recurly).
	Prefix string `json:"prefix,omitempty"`

	// Hash is the hash function: sha1, sha256 (default) or sha512.
	Hash string `json:"hash,omitempty"`

	// Encoding is the signature's encoding: hex (default, either case),
	// base64 or base64url (padded or not).
	Encoding string `json:"encoding,omitempty"`

	// SecretEncoding says how a configured secret becomes the key: raw
	// (default: its UTF-8 bytes), base64, hex, or whsec (base64 after an
	// optional "whsec_" prefix, as Standard Webhooks).
	SecretEncoding string `json:"secret_encoding,omitempty"`

	// SecretPrefix is removed from the start of each configured secret,
	// when present, before SecretEncoding applies (for a dashboard that
	// shows "whsec_..." or "pdl_..." around the key material).
	SecretPrefix string `json:"secret_prefix,omitempty"`

	// Content is the template of the signed content (scheme hmac or hash),
	// literal text and these placeholders; default "{body}":
	//
	//	{body}          the raw body; required, exactly once
	//	{timestamp}     the timestamp, as the exact text received
	//	{id}            the delivery id (IDHeader)
	//	{method}        the request method (A-Z only)
	//	{path}          the request's escaped path (RFC 3986 path characters)
	//	{url}           the configured public URL (Config.URL: the url
	//	                option), which the request's query must match
	//	{header:Name}   the value of request header Name (printable ASCII),
	//	                required and sent once
	//
	// A literal "{" is not expressible; a lone "}" is literal text.
	Content string `json:"content,omitempty"`

	// TimestampHeader names the header that carries the timestamp. When
	// set (or TimestampKey, TimestampFirst or TimestampField is), the
	// timestamp is required and checked against the tolerance.
	TimestampHeader string `json:"timestamp_header,omitempty"`

	// TimestampUnit is the timestamp's format: s (default: Unix seconds),
	// ms (Unix milliseconds), auto (13 or more digits are milliseconds),
	// rfc3339 (2006-01-02T15:04:05Z or a ±hh:mm offset, optional fraction
	// of up to 9 digits, "T" and "Z" upper case) or iso8601 (the same with
	// the zone optional: no zone is UTC). Unix timestamps are digits
	// without a leading zero. A {timestamp} that touches {body} with no
	// text between needs a pinned unit (s, ms or rfc3339): with auto the
	// signed string could be cut in two ways.
	TimestampUnit string `json:"timestamp_unit,omitempty"`

	// IDHeader names the header that carries the delivery id. Only when
	// Content includes {id} is the id signed and used as the replay key.
	IDHeader string `json:"id_header,omitempty"`

	// Separator turns on the list form: the signature header is split on
	// it into entries (for example "," for Stripe, " " for Standard
	// Webhooks).
	Separator string `json:"separator,omitempty"`

	// TimestampKey, in list form, is the prefix of the entry that carries
	// the timestamp, for example "t=". When TimestampHeader is also set,
	// both must be present and equal.
	TimestampKey string `json:"timestamp_key,omitempty"`

	// TimestampFirst, in list form, makes the first entry the timestamp,
	// untagged (Recurly: "<ms>,<sig>,<sig>"). Not with TimestampKey.
	TimestampFirst bool `json:"timestamp_first,omitempty"`

	// TimestampField is an RFC 6901 JSON pointer to the timestamp inside
	// the (signed) JSON body, a number or a string (Linear's
	// "/webhookTimestamp"). The members on its path must appear once and
	// not in another letter case. Not with the other timestamp sources, nor
	// with {timestamp} in Content (the body already signs it).
	TimestampField string `json:"timestamp_field,omitempty"`
}

package verifiers

// HMACRecipe describes an HMAC webhook scheme declaratively, for the
// generic "hmac" provider. The verifier that reads it lives in hmac.go.
type HMACRecipe struct {
	// SignatureHeader is the request header that carries the signature
	// (or the list of signatures). Required.
	SignatureHeader string `json:"signature_header,omitempty"`

	// Prefix is stripped from each signature before decoding, for example
	// "sha256=" (GitHub) or, in list form, the key of the signature entries
	// such as "v1=" (Stripe, Maildesk) or "v1," (Standard Webhooks). In list
	// form, entries without the prefix are ignored.
	Prefix string `json:"prefix,omitempty"`

	// Hash is the HMAC hash function: sha1, sha256 (default) or sha512.
	Hash string `json:"hash,omitempty"`

	// Encoding is the signature's encoding: hex (default), base64 or
	// base64url.
	Encoding string `json:"encoding,omitempty"`

	// SecretEncoding says how a configured secret becomes the HMAC key:
	// raw (default: its UTF-8 bytes), base64, or whsec (base64 after an
	// optional "whsec_" prefix).
	SecretEncoding string `json:"secret_encoding,omitempty"`

	// Content is the template of the signed content, built from {body},
	// {timestamp}, {id} and literal text, for example "{timestamp}.{body}".
	// Default "{body}".
	Content string `json:"content,omitempty"`

	// TimestampHeader names the header that carries the timestamp. When
	// set (or TimestampKey is), the timestamp is required and checked
	// against the tolerance.
	TimestampHeader string `json:"timestamp_header,omitempty"`

	// TimestampUnit is the unit of the timestamp: s (default), ms, or auto
	// (values of 13 or more digits are milliseconds).
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
}

// Package rfcvectors holds the RFC 9421 test vectors that more than one
// package's tests use (the httpsig standard and the MailChannels verifier
// built on it). Test data only: no code imports it outside tests.
package rfcvectors

// RFC 9421 Appendix B.1.4 (test-key-ed25519) and B.2.6, on the test
// request of Appendix B.2 (https://www.rfc-editor.org/rfc/rfc9421 ;
// github:httpwg/http-extensions draft-ietf-httpbis-message-signatures.md).
const (
	// Ed25519Key is test-key-ed25519's public key, base64 SPKI.
	Ed25519Key = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs="
	// B26Input is the Signature-Input of B.2.6.
	B26Input = `sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	// B26Sig is the Signature of B.2.6.
	B26Sig = `sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:`
	// B26Base is the signature base of B.2.6.
	B26Base = `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@authority": example.com
"content-type": application/json
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"`
	// Body is the body of the B.2 test request.
	Body = `{"hello": "world"}`
	// Digest is its sha-512 Content-Digest (B.2).
	Digest = `sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:`
)

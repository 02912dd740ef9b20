package verifiers

import (
	"strings"
	"testing"
)

// Dropbox publishes no signed example. The body is the notification of
// Dropbox's webhooks reference
// (https://www.dropbox.com/developers/reference/webhooks), signed with
// node's crypto, not the code under test:
//
//	node -e 'console.log(require("crypto").createHmac("sha256","dropbox-app-secret").update(process.argv[1]).digest("hex"))' "$body"
const (
	dropboxSecret = "dropbox-app-secret"
	dropboxBody   = `{"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}, "delta": {"users": [12345678]}}`
	dropboxSig    = "2bc2b96598b80c2f2083a056de14d73ef9555deb6d554f2332327d06a70734fc"
)

func TestDropboxVerify(t *testing.T) {
	h := func(sig string) []string { return []string{"X-Dropbox-Signature", sig} }
	runBodyHMAC(t, "dropbox", Config{}, []bodyHMACCase{
		{"signed", []string{dropboxSecret}, dropboxBody, h(dropboxSig), nil, 0},
		{"upper-case hex", []string{dropboxSecret}, dropboxBody, h(strings.ToUpper(dropboxSig)), nil, 0},
		{"rotation", []string{"old", dropboxSecret}, dropboxBody, h(dropboxSig), nil, 1},
		{"tampered", []string{dropboxSecret}, strings.Replace(dropboxBody, "12345678", "12345679", 1), h(dropboxSig), ErrSignature, 0},
		{"truncated", []string{dropboxSecret}, dropboxBody, h(dropboxSig[:62]), ErrMalformed, 0},
		{"missing", []string{dropboxSecret}, dropboxBody, nil, ErrMalformed, 0},
	}, dropboxSecret, dropboxSig[:16])
}

func TestDropboxChallenge(t *testing.T) {
	v, err := New("dropbox", Config{Secrets: []string{dropboxSecret}})
	if err != nil {
		t.Fatal(err)
	}
	const tp = "text/plain; charset=utf-8"
	runHandshakes(t, v, []handshakeCase{
		// The docs' example challenge.
		{name: "challenge", method: "GET", target: "/db?challenge=nb2ujnlJt0aCnzyXr5FLUqNWBkqoaelzFmzAg9wpM3Jx", ok: true, body: "nb2ujnlJt0aCnzyXr5FLUqNWBkqoaelzFmzAg9wpM3Jx", ct: tp},
		{name: "html", method: "GET", target: "/db?challenge=%3Chtml%3E", ok: true, err: ErrMalformed},
		{name: "space", method: "GET", target: "/db?challenge=a+b", ok: true, err: ErrMalformed},
		{name: "empty", method: "GET", target: "/db?challenge=", ok: true, err: ErrMalformed},
		{name: "repeated", method: "GET", target: "/db?challenge=a&challenge=b", ok: true, err: ErrMalformed},
		{name: "too long", method: "GET", target: "/db?challenge=" + strings.Repeat("a", handshakeMaxValue+1), ok: true, err: ErrMalformed},
		{name: "no challenge", method: "GET", target: "/db", ok: false},
		{name: "POST", method: "POST", target: "/db?challenge=abc", ok: false},
	})
}

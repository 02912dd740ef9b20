package verifiers

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Signers of the providers with their own code. Each mirrors its verifier
// (the file of the same provider) and the provider's documentation cited
// there.

func init() {
	RegisterSigner("standard_webhooks", signStandardWebhooks)
	RegisterSigner("stripe", signStripe)
	RegisterSigner("github", signGitHub)
	RegisterSigner("slack", signSlack)
	RegisterSigner("sendgrid", signSendGrid)
	RegisterSigner("mailchannels", signMailChannels)
	RegisterSigner("sns", signSNS)
	RegisterSigner("mailgun", signMailgun)
	RegisterSigner("twilio", signTwilio)
	RegisterSigner("mandrill", signMandrill)
	RegisterSigner("postmark", signPostmark)
}

// signStandardWebhooks: v1 with r.Secret (whsec_), v1a with r.PrivateKey
// (whsk_), both entries when both are given. svix and resend get the
// svix-* headers, standard_webhooks the webhook-* ones.
func signStandardWebhooks(name string, r SignRequest) (*Signed, error) {
	if r.Secret == "" && r.PrivateKey == "" {
		return nil, fmt.Errorf("needs a secret (whsec_..., for v1) or a private key (whsk_..., for v1a)")
	}
	id := r.ID
	if id == "" {
		id = randomID("msg_")
	}
	if strings.ContainsAny(id, ". \r\n") {
		return nil, fmt.Errorf("id must not contain dots, spaces or line breaks")
	}
	ts := unixString(r)
	msg := append([]byte(id+"."+ts+"."), r.Body...)
	var entries []string
	if r.Secret != "" {
		if strings.HasPrefix(r.Secret, "whpk_") || strings.HasPrefix(r.Secret, "whsk_") {
			return nil, fmt.Errorf("the secret is an ed25519 key; pass a whsk_ key as the private key")
		}
		key, err := DecodeWhsec(r.Secret)
		if err != nil {
			return nil, err
		}
		entries = append(entries, "v1,"+base64.StdEncoding.EncodeToString(MAC(sha256.New, key, msg)))
	}
	if r.PrivateKey != "" {
		k, err := parseEd25519Private(r.PrivateKey)
		if err != nil {
			return nil, err
		}
		entries = append(entries, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(k, msg)))
	}
	col := 1
	if name == "svix" || name == "resend" {
		col = 0
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	for i, v := range []string{id, ts, strings.Join(entries, " ")} {
		s.Header.Set(swHeaderNames[i][col], v)
	}
	return s, nil
}

// signStripe: Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256(secret, t.body)>.
func signStripe(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	ts := unixString(r)
	mac := MAC(sha256.New, key, []byte(ts), []byte("."), r.Body)
	s := newSigned(r.Body, contentType(r, "application/json; charset=utf-8"))
	s.Header.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(mac))
	return s, nil
}

// signGitHub: X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>,
// and X-GitHub-Delivery (unsigned) from r.ID or random.
func signGitHub(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(MAC(sha256.New, key, r.Body)))
	s.Header.Set("X-GitHub-Delivery", id)
	return s, nil
}

// signSlack: X-Slack-Signature: v0=<hex HMAC-SHA256(secret, v0:ts:body)>.
func signSlack(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	ts := unixString(r)
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("X-Slack-Request-Timestamp", ts)
	s.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(MAC(sha256.New, key, []byte("v0:"+ts+":"), r.Body)))
	return s, nil
}

// signSendGrid: base64 DER ECDSA P-256 over SHA-256(timestamp + body).
func signSendGrid(_ string, r SignRequest) (*Signed, error) {
	k, err := parsePrivateKey(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("private key is not an ECDSA P-256 key")
	}
	ts := unixString(r)
	digest := sha256.Sum256(append([]byte(ts), r.Body...))
	sig, err := ecdsa.SignASN1(rand.Reader, ec, digest[:])
	if err != nil {
		return nil, err
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set(sendgridSignatureHeader, base64.StdEncoding.EncodeToString(sig))
	s.Header.Set(sendgridTimestampHeader, ts)
	return s, nil
}

// mcDefaultKeyID is the keyid the mailchannels signer uses without one.
const mcDefaultKeyID = "local-test-key"

// signMailChannels: RFC 9421 over content-digest (RFC 9530 sha-256), in
// the shape MailChannels sends (label sig_1; created, alg, keyid).
func signMailChannels(_ string, r SignRequest) (*Signed, error) {
	k, err := parseEd25519Private(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	keyID := r.KeyID
	if keyID == "" {
		keyID = mcDefaultKeyID
	}
	if !mcFetchableKeyID(keyID) {
		return nil, fmt.Errorf("key id must be 1 to %d of A-Z a-z 0-9 . _ ~ + / = : -", mcMaxFetchKeyID)
	}
	sum := sha256.Sum256(r.Body)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	params := fmt.Sprintf(`("content-digest");created=%d;alg="ed25519";keyid="%s"`, r.Now.Unix(), keyID)
	base := `"content-digest": ` + digest + "\n" + `"@signature-params": ` + params
	sig := ed25519.Sign(k, []byte(base))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set(mcDigestHeader, digest)
	s.Header.Set(mcSignatureInputHeader, "sig_1="+params)
	s.Header.Set(mcSignatureHeader, "sig_1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return s, nil
}

// snsDefaultTopic is the topic the sns signer uses without one.
const snsDefaultTopic = "arn:aws:sns:us-east-1:123456789012:webhook-test"

// signSNS builds an SNS Notification whose Message is the body, signed
// with an RSA private key (SignatureVersion 1: SHA1withRSA, 2:
// SHA256withRSA). SigningCertURL follows the verifier's rules (the
// topic's region, /SimpleNotificationService-<hex>.pem) but points at no
// real certificate: the gate must pin the certificate (certificate
// <file>), or it would fetch from AWS and fail.
func signSNS(_ string, r SignRequest) (*Signed, error) {
	k, err := parsePrivateKey(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is not an RSA key")
	}
	if n := rk.Size(); n < snsMinSigBytes || n > snsMaxSigBytes || n%8 != 0 {
		return nil, fmt.Errorf("rsa key size is not one sns uses")
	}
	name := sha256.Sum256(x509.MarshalPKCS1PublicKey(&rk.PublicKey))
	if r.Certificate != "" {
		block, _ := pem.Decode([]byte(strings.TrimSpace(r.Certificate)))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("certificate is not a PEM certificate")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate does not parse")
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&rk.PublicKey) {
			return nil, fmt.Errorf("certificate does not hold the private key's public key")
		}
		name = sha256.Sum256(block.Bytes)
	}
	topic := r.TopicARN
	if topic == "" {
		topic = snsDefaultTopic
	}
	host, ok := snsTopicHost(topic)
	if !ok {
		return nil, fmt.Errorf("topic arn is not an sns topic arn (arn:aws:sns:<region>:<account>:<name>)")
	}
	var hash crypto.Hash
	switch r.SignatureVersion {
	case "", "1":
		r.SignatureVersion, hash = "1", crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return nil, fmt.Errorf("signature version must be 1 or 2")
	}
	if !utf8.Valid(r.Body) {
		return nil, fmt.Errorf("body (the sns Message) is not utf-8")
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	if !snsMessageID.MatchString(id) {
		return nil, fmt.Errorf("id (the MessageId) must be a uuid")
	}
	fields := [][2]string{
		{"Type", "Notification"},
		{"MessageId", id},
		{"TopicArn", topic},
		{"Message", string(r.Body)},
		{"Timestamp", r.Now.UTC().Format("2006-01-02T15:04:05.000Z")},
		{"SignatureVersion", r.SignatureVersion},
	}
	var sts bytes.Buffer
	for _, key := range snsTypes["Notification"].signed {
		for _, f := range fields {
			if f[0] == key {
				sts.WriteString(key + "\n" + f[1] + "\n")
			}
		}
	}
	h := hash.New()
	h.Write(sts.Bytes())
	sig, err := rsa.SignPKCS1v15(rand.Reader, rk, hash, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	fields = append(fields,
		[2]string{"Signature", base64.StdEncoding.EncodeToString(sig)},
		[2]string{"SigningCertURL", "https://" + host + "/SimpleNotificationService-" + hex.EncodeToString(name[:16]) + ".pem"},
		[2]string{"UnsubscribeURL", "https://" + host + "/?Action=Unsubscribe&SubscriptionArn=" + topic + ":" + randomUUID()},
	)
	var body bytes.Buffer
	body.WriteString("{\n")
	for i, f := range fields {
		v, err := jsonString(f[1])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&body, "  %q : %s", f[0], v)
		if i < len(fields)-1 {
			body.WriteByte(',')
		}
		body.WriteByte('\n')
	}
	body.WriteString("}")
	if _, err := snsParse(body.Bytes()); err != nil {
		return nil, fmt.Errorf("the message would be refused: %v", err)
	}
	s := newSigned(body.Bytes(), contentType(r, "text/plain; charset=UTF-8"))
	s.BodyRewritten = true
	s.Header.Set("X-Amz-Sns-Message-Type", "Notification")
	s.Header.Set("X-Amz-Sns-Message-Id", id)
	s.Header.Set("X-Amz-Sns-Topic-Arn", topic)
	return s, nil
}

// jsonString encodes s as a JSON string without HTML escaping.
func jsonString(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// signMailgun wraps the body (the event data, JSON; or a whole Mailgun
// payload, whose event-data is kept) in a JSON webhook body with a fresh
// signature block: hex HMAC-SHA256(key, timestamp + token).
func signMailgun(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	event := bytes.TrimSpace(r.Body)
	if len(event) == 0 {
		event = []byte("{}")
	}
	if !json.Valid(event) {
		return nil, fmt.Errorf("body (the event data) is not JSON")
	}
	if m, err := jsonMembers(event, false, "event-data"); err == nil && m["event-data"] != nil {
		event = m["event-data"]
	}
	token := r.ID
	if token == "" {
		b := make([]byte, 25)
		rand.Read(b)
		token = hex.EncodeToString(b) // 50 characters, like Mailgun's
	}
	if len(token) > mailgunMaxToken {
		return nil, fmt.Errorf("id (the token) is longer than %d bytes", mailgunMaxToken)
	}
	ts := unixString(r)
	sig := hex.EncodeToString(MAC(sha256.New, key, []byte(ts+token)))
	tok, err := jsonString(token)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	fmt.Fprintf(&body, `{"signature":{"timestamp":"%s","token":%s,"signature":"%s"},"event-data":`, ts, tok, sig)
	body.Write(event)
	body.WriteString("}")
	s := newSigned(body.Bytes(), contentType(r, "application/json"))
	s.BodyRewritten = true
	return s, nil
}

// looksJSON reports whether body starts (after white space) with { or [.
func looksJSON(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// splitSignedURL checks that raw is an absolute http(s) URL without a
// fragment and splits off its raw query.
func splitSignedURL(raw string) (base, query string, err error) {
	if raw == "" {
		return "", "", fmt.Errorf("needs the url the provider signs")
	}
	if strings.Contains(raw, "#") {
		return "", "", fmt.Errorf("url must not have a fragment")
	}
	if _, _, _, _, err := twilioSplitURL(raw); err != nil {
		return "", "", err
	}
	base, query, _ = strings.Cut(raw, "?")
	return base, query, nil
}

// signTwilio: base64 HMAC-SHA1(auth token, URL + sorted form fields) for a
// form body; for any other body (JSON), bodySHA256=<hex SHA-256(body)> is
// added to the query and the URL alone is signed. The body is a form when
// ContentType says so, or, without one, when it does not look like JSON.
func signTwilio(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	base, query, err := splitSignedURL(r.URL)
	if err != nil {
		return nil, err
	}
	ct := r.ContentType
	if ct == "" {
		ct = formsigFormType
		if looksJSON(r.Body) {
			ct = "application/json"
		}
	}
	mt, _, _ := strings.Cut(ct, ";")
	params := ""
	if strings.EqualFold(strings.TrimSpace(mt), formsigFormType) {
		fields, err := formsigParse(string(r.Body))
		if err != nil {
			return nil, fmt.Errorf("body is not a valid form")
		}
		params = formsigSorted(fields)
	} else {
		if b, err := twilioBodySHA256(query); err != nil || b != nil {
			return nil, fmt.Errorf("url must not carry bodySHA256 (it is added)")
		}
		sum := sha256.Sum256(r.Body)
		if query != "" {
			query += "&"
		}
		query += "bodySHA256=" + hex.EncodeToString(sum[:])
	}
	signedURL := base
	if query != "" {
		signedURL += "?" + query
	}
	s := newSigned(r.Body, ct)
	s.Header.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(MAC(sha1.New, key, []byte(signedURL), []byte(params))))
	s.Query = query
	return s, nil
}

// signMandrill: base64 HMAC-SHA1(webhook key, URL + sorted form fields).
// A JSON body becomes the form mandrill_events=<body>; any other body is
// taken as the form itself.
func signMandrill(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	_, query, err := splitSignedURL(r.URL)
	if err != nil {
		return nil, err
	}
	body := r.Body
	rewritten := false
	if looksJSON(body) {
		body = []byte("mandrill_events=" + url.QueryEscape(string(body)))
		rewritten = true
	}
	fields, err := formsigParse(string(body))
	if err != nil {
		return nil, fmt.Errorf("body is neither JSON nor a valid form")
	}
	if err := formsigUnique(fields); err != nil {
		return nil, fmt.Errorf("body repeats a form field")
	}
	s := newSigned(body, formsigFormType)
	s.BodyRewritten = rewritten
	s.Header.Set("X-Mandrill-Signature", base64.StdEncoding.EncodeToString(MAC(sha1.New, key, []byte(r.URL), []byte(formsigSorted(fields)))))
	s.Query = query
	return s, nil
}

// signPostmark sends the credentials, as Postmark does: Basic auth from
// Username and Password, or Header carrying Secret.
func signPostmark(_ string, r SignRequest) (*Signed, error) {
	s := newSigned(r.Body, contentType(r, "application/json"))
	switch {
	case r.Username != "" || r.Password != "":
		if r.Username == "" || r.Password == "" {
			return nil, fmt.Errorf("needs both username and password")
		}
		if strings.ContainsRune(r.Username, ':') {
			return nil, fmt.Errorf("username must not contain a colon")
		}
		if r.Header != "" || r.Secret != "" {
			return nil, fmt.Errorf("takes either username and password or header and secret, not both")
		}
		s.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(r.Username+":"+r.Password)))
	case r.Header != "" || r.Secret != "":
		if r.Header == "" || r.Secret == "" {
			return nil, fmt.Errorf("needs both header and secret")
		}
		if !postmarkHeaderName(r.Header) {
			return nil, fmt.Errorf("header is not a valid header name")
		}
		if strings.ContainsAny(r.Secret, "\r\n") || strings.TrimSpace(r.Secret) != r.Secret {
			return nil, fmt.Errorf("secret has white space or a line break a header cannot carry")
		}
		s.Header.Set(r.Header, r.Secret)
	default:
		return nil, fmt.Errorf("needs username and password, or header and secret")
	}
	return s, nil
}

// randomUUID returns a random (version 4) UUID.
func randomUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

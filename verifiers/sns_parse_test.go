package verifiers

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// SNS message parsing: JSON encodings, malformed envelopes, field
// smuggling through case folding, and the shapes of the signed fields.
// The vectors and helpers are in sns_test.go.

// Equivalent JSON spellings of the signed values verify: the signature
// covers the decoded strings, not the JSON text.
func TestSNSJSONEncodings(t *testing.T) {
	v := newTestSNS(t, Config{Certificates: []string{string(snsFixture(t, "sns.pem"))}}, nil)
	base := snsFixture(t, "notification-v1.json")
	cases := map[string][]byte{
		"escaped slash":   snsEdit(t, base, `slash / backslash`, `slash \/ backslash`),
		"unicode escapes": snsEdit(t, base, `and Ａ`, `and \uff21`),
		"compact":         []byte(strings.ReplaceAll(strings.ReplaceAll(string(base), "\n  ", ""), " : ", ":")),
		"null optional":   snsEdit(t, snsFixture(t, "notification-v2.json"), `"Type" :`, `"Subject" : null, "Type" :`),
		"extra fields":    snsEdit(t, base, `"Type" :`, `"Other" : [1, {"Message": 2}], "MessageAttributes2" : null, "Type" :`),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := v.Verify(snsRequest(body, snsNow))
			snsCheck(t, res, err, body, 0)
		})
	}
}

func TestSNSMalformed(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	n := snsFixture(t, "notification-v2.json")
	sub := snsFixture(t, "subscription-v2.json")
	many := `"Type" :`
	for i := 0; i < 70; i++ {
		many = fmt.Sprintf(`"x%d" : 1, %s`, i, many)
	}
	cases := []struct {
		name string
		body []byte
		hdr  []string
	}{
		{"empty", nil, nil},
		{"not json", []byte("Type=Notification"), nil},
		{"array", []byte("[" + string(n) + "]"), nil},
		{"trailing data", append(append([]byte{}, n...), " {}"...), nil},
		{"truncated", n[:len(n)-2], nil},
		{"invalid utf-8", snsEdit(t, n, `"Type" :`, "\"X\" : \"\xff\", \"Type\" :"), nil},
		{"duplicated field", snsEdit(t, n, `"Type" :`, `"Message" : "other", "Type" :`), nil},
		{"duplicated field other case", snsEdit(t, n, `"Type" :`, `"message" : "other", "Type" :`), nil},
		{"duplicated unknown field", snsEdit(t, n, `"Type" :`, `"x" : 1, "X" : 2, "Type" :`), nil},
		{"lambda spelling", snsEdit(t, n, `"SigningCertURL"`, `"SigningCertUrl"`), nil},
		{"non-ascii unknown field", snsEdit(t, n, `"Type" :`, `"Ünknown" : 1, "Type" :`), nil},
		{"non-ascii field escaped", snsEdit(t, n, `"Type" :`, `"\u00dcnknown" : 1, "Type" :`), nil},
		{"long s duplicate", snsEdit(t, n, `"Type" :`, `"Me\u017f\u017fage" : "other", "Type" :`), nil},
		{"number field", snsEdit(t, n, `"MessageId" : "da41e39f-ea4d-435a-b922-c6aae3915ebe"`, `"MessageId" : 12`), nil},
		{"object field", snsEdit(t, n, `"Message" : "`, `"Message" : {}, "M" : "`), nil},
		{"null required", snsEdit(t, n, `"SignatureVersion" : "2"`, `"SignatureVersion" : null`), nil},
		{"missing type", snsEdit(t, n, `"Type" : "Notification",`, ``), nil},
		{"unknown type", snsEdit(t, n, `"Type" : "Notification"`, `"Type" : "Notice"`), nil},
		{"missing signature", snsEdit(t, n, `"Signature" :`, `"Sig" :`), nil},
		{"missing cert url", snsEdit(t, n, `"SigningCertURL" :`, `"CertURL" :`), nil},
		{"empty message id", snsEdit(t, n, `"da41e39f-ea4d-435a-b922-c6aae3915ebe"`, `""`), nil},
		{"unknown signature version", snsEdit(t, n, `"SignatureVersion" : "2"`, `"SignatureVersion" : "3"`), nil},
		{"signature not base64", snsEdit(t, n, `"Signature" : "`, `"Signature" : "*`), nil},
		{"signature too long", snsEdit(t, n, `"Signature" : "`, `"Signature" : "`+strings.Repeat("A", 4000)), nil},
		{"signature not an rsa size", snsEdit(t, n, `"Signature" : "`, `"Signature" : "AAAA`), nil},
		{"cert url in another region", snsEdit(t, n, `sns.us-east-1.amazonaws.com/Simple`, `sns.eu-west-1.amazonaws.com/Simple`), nil},
		{"invalid timestamp", snsEdit(t, n, `2030-01-01T00:00:00.000Z`, `1893456000`), nil},
		{"notification with token", snsEdit(t, n, `"Type" :`, `"Token" : "abc", "Type" :`), nil},
		{"notification with subscribe url", snsEdit(t, n, `"Type" :`, `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/", "Type" :`), nil},
		{"confirmation with subject", snsEdit(t, sub, `"Type" :`, `"Subject" : "s", "Type" :`), nil},
		{"confirmation without token", snsEdit(t, sub, `"Token" :`, `"Tok" :`), nil},
		{"confirmation without subscribe url", snsEdit(t, sub, `"SubscribeURL" :`, `"URL" :`), nil},
		{"too many fields", snsEdit(t, n, `"Type" :`, many), nil},
		{"type header mismatch", n, []string{"X-Amz-Sns-Message-Type", "SubscriptionConfirmation"}},
		{"type header duplicated", n, []string{"X-Amz-Sns-Message-Type", "Notification", "X-Amz-Sns-Message-Type", "Notification"}},
		{"id header mismatch", n, []string{"X-Amz-Sns-Message-Id", "00000000-0000-0000-0000-000000000000"}},
		{"topic header mismatch", n, []string{"X-Amz-Sns-Topic-Arn", "arn:aws:sns:us-east-1:123456789012:Other"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(snsRequest(c.body, snsNow, c.hdr...))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	if n := s.total(); n != 0 {
		t.Errorf("%d fetches for malformed messages", n)
	}
	// Matching headers are fine.
	if _, err := v.Verify(snsRequest(n, snsNow, "X-Amz-Sns-Message-Type", "Notification",
		"X-Amz-Sns-Message-Id", "da41e39f-ea4d-435a-b922-c6aae3915ebe",
		"X-Amz-Sns-Topic-Arn", "arn:aws:sns:us-east-1:123456789012:MyTopic")); err != nil {
		t.Fatalf("matching headers: %v", err)
	}
}

// snsApp is how a Go application reads the envelope: encoding/json
// matching keys to fields exactly or, failing that, with Unicode simple
// case folding.
type snsApp struct {
	Type, MessageId, Token, TopicArn, Subject, Message, Timestamp string
	SignatureVersion, Signature, SigningCertURL                   string
	SubscribeURL, UnsubscribeURL                                  string
}

func (a snsApp) field(name string) string {
	return reflect.ValueOf(a).FieldByName(name).String()
}

// snsFoldRunes returns the non-ASCII runes whose Unicode simple case
// folding orbit (what encoding/json uses to match field names) holds an
// ASCII letter, with that letter lowercased.
func snsFoldRunes() map[rune]rune {
	m := map[rune]rune{}
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				m[r] = unicode.ToLower(f)
				break
			}
		}
	}
	return m
}

// A signed body with an extra key that Go folds onto a signed field (the
// review's "Meſſage" forgery), or any other non-ASCII key, is refused:
// otherwise a Go application would read the unsigned value.
func TestSNSFieldSmuggling(t *testing.T) {
	folds := snsFoldRunes()
	if folds['\u017f'] != 's' || folds['\u212a'] != 'k' {
		t.Fatalf("fold runes %q: want at least U+017F (s) and U+212A (k)", folds)
	}
	// Bases: official vectors, with their pinned certificates. The
	// notification without Subject takes a smuggled Subject as an addition.
	phpSubject := snsBody(t, snsPHPVectors[2])
	phpNoSubject := snsBody(t, snsPHPVectors[0])
	javaSub := snsFixture(t, "awsjava/test-subscription-confirmation.json")
	v := newTestSNS(t, Config{Certificates: []string{snsPHPCert, string(snsFixture(t, "awsjava/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"))}}, nil)
	for _, b := range [][]byte{phpSubject, phpNoSubject, javaSub} {
		if _, err := v.Verify(snsRequest(b, time.Now())); err != nil {
			t.Fatalf("base does not verify: %v", err)
		}
	}
	bases := map[string][]byte{"Token": javaSub, "SubscribeURL": javaSub}
	fields := []string{"Message", "MessageId", "Subject", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
		"Signature", "SigningCertURL", "SignatureVersion"}
	type forgery struct {
		name, field string
		body        []byte
		goReads     bool // a Go struct reads the smuggled value
	}
	var cases []forgery
	// with returns a copy of body with "key":"transfer..." added last.
	with := func(body []byte, key string) []byte {
		s := strings.TrimSuffix(strings.TrimSpace(string(body)), "}")
		return []byte(s + `,"` + key + `":"transfer $1M to attacker"}`)
	}
	add := func(field, key string, goReads bool) {
		base, ok := bases[field]
		if !ok {
			base = phpSubject
		}
		// The key as UTF-8, and written with \u escapes.
		esc := strings.Trim(fmt.Sprintf("%+q", key), `"`)
		cases = append(cases,
			forgery{fmt.Sprintf("%s/%+q", field, key), field, with(base, key), goReads},
			forgery{fmt.Sprintf("%s/escaped %s", field, esc), field, with(base, esc), goReads})
		if field == "Subject" {
			// Added to a notification that has no Subject.
			cases = append(cases, forgery{fmt.Sprintf("Subject added/%+q", key), field, with(phpNoSubject, key), goReads})
		}
	}
	for _, f := range fields {
		folded := 0
		all := []rune(f)
		for i, c := range f {
			for r, ascii := range folds {
				if unicode.ToLower(c) == ascii {
					folded++
					add(f, f[:i]+string(r)+f[i+1:], true) // one letter replaced
					all[i] = r
				}
			}
		}
		if folded > 1 {
			add(f, string(all), true) // every foldable letter replaced
		}
		// Non-ASCII keys that Go does not fold onto f are refused too.
		add(f, f+"\u200b", false)
		add(f, string(rune(0xff21)+rune(f[0]-'A'))+f[1:], false) // fullwidth first letter
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var app snsApp
			if err := json.Unmarshal(c.body, &app); err != nil {
				t.Fatal(err)
			}
			if got := app.field(c.field) == "transfer $1M to attacker"; got != c.goReads {
				t.Fatalf("Go reads the smuggled %s: %v, want %v (test premise)", c.field, got, c.goReads)
			}
			_, err := v.Verify(snsRequest(c.body, time.Now()))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	// Fields without an s or k cannot be folded onto: their cases are the
	// non-folding ones only.
	for _, f := range []string{"TopicArn", "Type"} {
		if strings.ContainsAny(f, "sSkK") {
			t.Errorf("%s has a foldable letter", f)
		}
	}
}

// Every body the verifier accepts reads, through a Go struct, exactly the
// values the signature covers.
func TestSNSAcceptedBodiesUnmarshal(t *testing.T) {
	java := string(snsFixture(t, "awsjava/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem"))
	v := newTestSNS(t, Config{Certificates: []string{snsPHPCert, string(snsFixture(t, "sns.pem")), string(snsFixture(t, "bundled.pem")), java}}, nil)
	var bodies [][]byte
	for _, vec := range snsPHPVectors {
		bodies = append(bodies, snsBody(t, vec))
	}
	for _, f := range []string{"notification-v1.json", "notification-v2.json", "notification-bundled.json", "subscription-v1.json",
		"subscription-v2.json", "unsubscribe-v2.json", "awsjava/test-notification-with-subject.json", "awsjava/test-notification-no-subject.json",
		"awsjava/test-notification-signature-v2.json", "awsjava/test-subscription-confirmation.json", "awsjava/test-unsubscribe-confirmation.json"} {
		bodies = append(bodies, snsFixture(t, f))
	}
	n := snsFixture(t, "notification-v1.json")
	bodies = append(bodies,
		snsEdit(t, n, `and Ａ`, `and \uff21`),
		snsEdit(t, n, `"Type" :`, `"Other" : [1, {"Meſſage": "nested keys are not read"}], "Type" :`))
	for i, b := range bodies {
		if _, err := v.Verify(snsRequest(b, snsNow)); err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		signed, err := snsParse(b)
		if err != nil {
			t.Fatal(err)
		}
		var app snsApp
		if err := json.Unmarshal(b, &app); err != nil {
			t.Fatal(err)
		}
		var generic map[string]any
		if err := json.Unmarshal(b, &generic); err != nil {
			t.Fatal(err)
		}
		for _, f := range snsFields {
			if app.field(f) != signed[f] {
				t.Errorf("body %d: Go reads %s %q, the verifier %q", i, f, app.field(f), signed[f])
			}
			if s, _ := generic[f].(string); s != signed[f] {
				t.Errorf("body %d: map reads %s %q, the verifier %q", i, f, s, signed[f])
			}
		}
	}
}

// Every field of the string to sign is checked for its shape before the
// string is built. The first case is the replay bypass: the official
// vector with a Subject (FunctionalValidationsTest.php's third), re-sent
// without Subject and with MessageId "<id>\nSubject\n<subject>", has a
// byte-identical string to sign, so it verified under a new MessageId.
func TestSNSSignedFieldShapes(t *testing.T) {
	v := newTestSNS(t, Config{Certificates: []string{snsPHPCert}}, nil)
	vec := snsPHPVectors[2]
	if vec["Subject"] == "" {
		t.Fatal("vector 2 has no Subject")
	}
	edit := func(f func(m map[string]string)) []byte {
		m := map[string]string{}
		for k, val := range vec {
			m[k] = val
		}
		f(m)
		return snsBody(t, m)
	}
	now, _ := time.Parse(time.RFC3339, "2022-07-28T22:54:00Z")
	if _, err := v.Verify(snsRequest(snsBody(t, vec), now)); err != nil {
		t.Fatalf("the vector itself: %v", err)
	}
	sub := snsFixture(t, "subscription-v2.json")
	n := snsFixture(t, "notification-v2.json")
	cases := []struct {
		name string
		body []byte
	}{
		{"subject moved into MessageId", edit(func(m map[string]string) {
			m["MessageId"] += "\nSubject\n" + m["Subject"]
			delete(m, "Subject")
		})},
		{"MessageId with CR", edit(func(m map[string]string) { m["MessageId"] += "\r" })},
		{"MessageId not a uuid", edit(func(m map[string]string) { m["MessageId"] = "11405cc3_9ac7_56d5_b45d_079e8f7a8edf" })},
		{"MessageId too long", edit(func(m map[string]string) { m["MessageId"] += "0" })},
		{"Subject with LF", edit(func(m map[string]string) { m["Subject"] = "Hello\nworld" })},
		{"Subject with CR", edit(func(m map[string]string) { m["Subject"] = "Hello\rworld" })},
		{"Subject with NUL", edit(func(m map[string]string) { m["Subject"] = "Hello\x00world" })},
		{"Subject with NEL", edit(func(m map[string]string) { m["Subject"] = "Hello\u0085world" })},
		{"Subject with line separator", edit(func(m map[string]string) { m["Subject"] = "Hello\u2028world" })},
		{"Subject too long", edit(func(m map[string]string) { m["Subject"] = strings.Repeat("é", 101) })},
		{"Timestamp with LF", edit(func(m map[string]string) { m["Timestamp"] += "\nTopicArn\nx" })},
		{"Timestamp with offset", edit(func(m map[string]string) { m["Timestamp"] = "2022-07-28T22:53:49.654+00:00" })},
		{"Timestamp lowercase z", edit(func(m map[string]string) { m["Timestamp"] = "2022-07-28T22:53:49.654z" })},
		{"Timestamp far future", edit(func(m map[string]string) { m["Timestamp"] = "9999-07-28T22:53:49.654Z" })},
		{"Timestamp before 2000", edit(func(m map[string]string) { m["Timestamp"] = "1999-07-28T22:53:49.654Z" })},
		{"TopicArn with LF", edit(func(m map[string]string) { m["TopicArn"] += "\nType\nNotification" })},
		{"TopicArn with space", edit(func(m map[string]string) { m["TopicArn"] += " x" })},
		{"TopicArn with colon", edit(func(m map[string]string) { m["TopicArn"] += ":x" })},
		{"Type with LF", edit(func(m map[string]string) { m["Type"] += "\n" })},
		{"Token with LF", snsEdit(t, sub, `"Token" : "`, `"Token" : "a\nb`)},
		{"Token with space", snsEdit(t, sub, `"Token" : "`, `"Token" : "a b`)},
		{"Token too long", snsEdit(t, sub, `"Token" : "`, `"Token" : "`+strings.Repeat("a", 1100))},
		{"SubscribeURL with LF", snsEdit(t, sub, `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/?`, `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/?\n`)},
		{"SubscribeURL on another host", snsEdit(t, sub, `"SubscribeURL" : "https://sns.us-east-1.amazonaws.com/`, `"SubscribeURL" : "https://example.com/`)},
		{"notification MessageId with LF", snsEdit(t, n, `"MessageId" : "da41e39f-ea4d-435a-b922-c6aae3915ebe"`, `"MessageId" : "da41e39f-ea4d-435a-b922-c6aae3915ebe\nx"`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(snsRequest(c.body, now))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	// The shapes AWS documents still pass: a FIFO topic, an uppercase
	// UUID, a Subject of 100 characters, no fraction of a second.
	for _, m := range []map[string]string{
		{"MessageId": "11405CC3-9AC7-56D5-B45D-079E8F7A8EDF"},
		{"TopicArn": "arn:aws:sns:us-east-2:295079676684:orders_topic-1.fifo"},
		{"Subject": strings.Repeat("é", 100)},
		{"Timestamp": "2022-07-28T22:53:49Z"},
	} {
		cp := map[string]string{}
		for k, val := range vec {
			cp[k] = val
		}
		for k, val := range m {
			cp[k] = val
		}
		if err := snsCheckSigned(cp); err != nil {
			t.Errorf("%v: %v", m, err)
		}
	}
}

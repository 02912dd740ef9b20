package verifiers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"strconv"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/internal/lengthext"
	"github.com/webhookverify/caddy-webhook-verify/internal/presetvectors"
)

// Defect 1 of issue 13: a plain-hash scheme, hash(secret || content),
// lets whoever saw one signed delivery compute the signature of
// content || glue padding || anything, without the secret (length
// extension). The forgeries here are real: internal/lengthext computes
// their SHA-256 from the captured signature alone, and the tests check it
// against crypto/sha256 over the whole message.

var testPaddings = []struct {
	name string
	p    mdPadding
}{{"sha1", mdSHA1}, {"sha256", mdSHA256}, {"sha512", mdSHA512}}

// gl is p.glued on content c, checking that the answer is the same with c
// whole and cut into the engine's three pieces (pre, body, post) at
// random places.
func gl(t *testing.T, p mdPadding, keyLen int, c []byte) bool {
	t.Helper()
	whole := p.glued(keyLen, nil, c, nil)
	i := glRand.Intn(len(c) + 1)
	j := i + glRand.Intn(len(c)-i+1)
	for _, got := range []bool{p.glued(keyLen, c, nil, nil), p.glued(keyLen, nil, nil, c), p.glued(keyLen, c[:i], c[i:j], c[j:])} {
		if got != whole {
			t.Fatalf("glued(key %d, %d bytes cut at %d, %d) = %v, whole %v", keyLen, len(c), i, j, got, whole)
		}
	}
	return whole
}

var glRand = rand.New(rand.NewSource(7))

// TestGluePadding: the detector flags every message that holds the glue
// padding of a shorter message of at least the secret's length at a block
// boundary, and no genuine message of 0 to 300 bytes of random content
// (nor of printable text).
func TestGluePadding(t *testing.T) {
	rng := rand.New(rand.NewSource(13))
	for _, tc := range testPaddings {
		for _, keyLen := range []int{1, 8, 32, 36, 55, 56, 64, 100, 200} {
			for n := 0; n <= 300; n++ {
				content := make([]byte, n)
				rng.Read(content)
				if gl(t, tc.p, keyLen, content) {
					t.Fatalf("%s key %d: genuine random content of %d bytes flagged", tc.name, keyLen, n)
				}
				text := []byte(`{"n":` + strconv.Itoa(n) + `,"s":"` + string(bytes.Repeat([]byte{'a' + byte(n%26)}, n)) + `"}`)
				if gl(t, tc.p, keyLen, text) {
					t.Fatalf("%s key %d: genuine text of %d bytes flagged", tc.name, keyLen, len(text))
				}
				// The forgery: content, the glue padding of secret ||
				// content, then the attacker's bytes (none included).
				ext := make([]byte, rng.Intn(2*tc.p.block))
				rng.Read(ext)
				glue := lengthext.Padding(keyLen+n, tc.p.block, tc.p.lenField)
				forged := append(append(append([]byte{}, content...), glue...), ext...)
				if !gl(t, tc.p, keyLen, forged) {
					t.Fatalf("%s key %d: extension of %d bytes by %d not flagged", tc.name, keyLen, n, len(ext))
				}
				// Twice extended: still flagged.
				glue2 := lengthext.Padding(keyLen+len(forged), tc.p.block, tc.p.lenField)
				if !gl(t, tc.p, keyLen, append(append(forged, glue2...), 'x')) {
					t.Fatalf("%s key %d: double extension not flagged", tc.name, keyLen)
				}
				// Read with another secret length the same bytes are not
				// glue: the boundary and the length field do not line up.
				if gl(t, tc.p, keyLen+1, forged) {
					t.Fatalf("%s key %d: extension flagged for a secret of %d bytes", tc.name, keyLen, keyLen+1)
				}
			}
		}
	}
}

// TestGluePaddingSecretLength: every signed message starts with the whole
// secret, so a length field that names a message shorter than the secret
// is not glue (and does not make the detector read inside the secret);
// one that names the secret alone is (the extension of an empty content).
func TestGluePaddingSecretLength(t *testing.T) {
	for _, tc := range testPaddings {
		for _, keyLen := range []int{20, 40} {
			short := make([]byte, tc.p.block-keyLen)
			pad := lengthext.Padding(keyLen-10, tc.p.block, tc.p.lenField)
			copy(short[len(short)-8:], pad[len(pad)-8:])
			if gl(t, tc.p, keyLen, short) {
				t.Errorf("%s key %d: the length of a message shorter than the secret flagged", tc.name, keyLen)
			}
			if !gl(t, tc.p, keyLen, lengthext.Padding(keyLen, tc.p.block, tc.p.lenField)) {
				t.Errorf("%s key %d: glue right after the secret not flagged", tc.name, keyLen)
			}
		}
	}
}

// TestRecipeHashLengthExtension: the published HubSpot v1 and v2
// deliveries (internal/presetvectors), extended with their glue padding
// and a new JSON array, signed by lengthext from the captured signature
// alone. The old engine accepted them (new bodies, new replay keys); now
// they get 400 (ErrMalformed), the genuine deliveries still pass.
func TestRecipeHashLengthExtension(t *testing.T) {
	for _, name := range []string{"hubspot_v1", "hubspot_v2"} {
		var vec presetvectors.Vector
		for _, v := range presetvectors.Vectors {
			if v.Provider == name {
				vec = v
			}
		}
		v, err := New(name, Config{Secrets: vec.Secrets, URL: vec.URL})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(presetRequest(vec, vec.Header, vec.Body, vec.Now)); err != nil {
			t.Fatalf("%s genuine: %v", name, err)
		}
		signed := vec.Body
		if name == "hubspot_v2" {
			signed = "POST" + vec.URL + vec.Body
		}
		secret := vec.Secrets[0]
		sig, _ := hex.DecodeString(vec.Header["X-HubSpot-Signature"])
		ext := []byte(`,[{"eventId":2,"subscriptionType":"contact.deletion","objectId":1}]`)
		glue, forged := lengthext.SHA256(sig, len(secret)+len(signed), ext)
		body := vec.Body + string(glue) + string(ext)
		// What the secret's holder would compute: the forgery is genuine
		// SHA-256 (the attacker never needed the secret).
		if want := sha256.Sum256([]byte(secret + signed + string(glue) + string(ext))); !bytes.Equal(forged, want[:]) {
			t.Fatalf("%s: the forged signature is not SHA-256(secret || extended content)", name)
		}
		h := map[string]string{}
		for k, val := range vec.Header {
			h[k] = val
		}
		h["X-HubSpot-Signature"] = hex.EncodeToString(forged)
		_, err = v.Verify(presetRequest(vec, h, body, vec.Now))
		recipeTestErr(t, err, ErrMalformed, secret, h["X-HubSpot-Signature"])
	}
}

// TestRecipeHashContentAfterBody: with scheme hash, a value the sender
// chooses after {body} is refused at load: an extension can replace it.
// The case: "{body}.{timestamp}", a 30-day-old capture extended
// with ".<now>" and sent with a fresh timestamp header passed the
// tolerance. Fixed text ({url}, literals) after the body, or values
// before it, still load.
func TestRecipeHashContentAfterBody(t *testing.T) {
	base := HMACRecipe{SignatureHeader: "X-Sig", Scheme: "hash", TimestampHeader: "X-Ts", IDHeader: "X-Id"}
	for _, tt := range []struct {
		content string
		url     string
		ok      bool
	}{
		{"{body}.{timestamp}", "", false},
		{"{body}{timestamp}", "", false},
		{"{body}.{id}", "", false},
		{"{body}.{method}", "", false},
		{"{body}|{path}", "", false},
		{"{body}.{header:X-A}", "", false},
		{"{timestamp}.{body}.{id}", "", false},
		{"{timestamp}.{body}", "", true},
		{"{id}.{timestamp}.{body}", "", true},
		{"{method}{url}{body}", "https://example.com/hook", true}, // hubspot_v2
		{"{body}{url}", "https://example.com/hook", true},
		{"{body}.end", "", true},
		{"{body}", "", true},
	} {
		r := base
		r.Content = tt.content
		err := CheckRecipe(r, tt.url, 0)
		if (err == nil) != tt.ok {
			t.Errorf("scheme hash content %q: %v, want ok=%v", tt.content, err, tt.ok)
		}
		r.Scheme = "hmac" // HMAC is not extensible: the same templates load
		if err := CheckRecipe(r, tt.url, 0); err != nil {
			t.Errorf("scheme hmac content %q: %v", tt.content, err)
		}
	}

	const secret = "hash-ts-secret"
	r := HMACRecipe{SignatureHeader: "X-Sig", Scheme: "hash", TimestampHeader: "X-Ts", Content: "{body}.{timestamp}"}
	v, err := New("hmac", Config{Secrets: []string{secret}, HMAC: &r})
	if err == nil {
		// Show what loading it allowed: a capture of 30 days ago.
		old := time.Unix(1700000000, 0)
		now := old.Add(30 * 24 * time.Hour)
		body, ts := `{"a":1}`, strconv.FormatInt(old.Unix(), 10)
		sum := sha256.Sum256([]byte(secret + body + "." + ts))
		fresh := strconv.FormatInt(now.Unix(), 10)
		glue, forged := lengthext.SHA256(sum[:], len(secret)+len(body)+1+len(ts), []byte("."+fresh))
		_, err := v.Verify(recipeTestReq(body+"."+ts+string(glue), now, "X-Sig", hex.EncodeToString(forged), "X-Ts", fresh))
		t.Errorf(`scheme hash "{body}.{timestamp}" loads; a 30-day-old capture extended with ".<now>": %v`, err)
	}
}

// TestRecipeHashExtensionEveryHash: scheme hash with each hash and a
// secret rotation (two secrets of other lengths): the extension of a
// delivery signed under either secret gets 400. The signature of the
// extended content is computed here with the secret (it is the value an
// attacker computes without it: the hash of a Merkle–Damgård message is
// its state, which lengthext shows for SHA-256).
func TestRecipeHashExtensionEveryHash(t *testing.T) {
	secrets := []string{"current-secret-of-33-bytes-000000", "old-secret-17byte"}
	now := time.Unix(1700000000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	body := `{"event":"deal.created","id":42}`
	for _, tc := range testPaddings {
		r := HMACRecipe{SignatureHeader: "X-Sig", Scheme: "hash", Hash: tc.name, TimestampHeader: "X-Ts", Content: "{timestamp}.{body}"}
		v := newRecipeForTest(t, r, 0, secrets...)
		for i, secret := range secrets {
			sum := func(s string) string {
				m := v.(*recipeVerifier).hash()
				m.Write([]byte(secret + s))
				return hex.EncodeToString(m.Sum(nil))
			}
			signed := ts + "." + body
			res, err := v.Verify(recipeTestReq(body, now, "X-Sig", sum(signed), "X-Ts", ts))
			if err != nil || res.Key != i {
				t.Fatalf("%s secret %d: genuine: %v", tc.name, i+1, err)
			}
			glue := lengthext.Padding(len(secret)+len(signed), tc.p.block, tc.p.lenField)
			ext := `,{"event":"deal.deleted","id":1}`
			forgedSig := sum(signed + string(glue) + ext)
			_, err = v.Verify(recipeTestReq(body+string(glue)+ext, now, "X-Sig", forgedSig, "X-Ts", ts))
			recipeTestErr(t, err, ErrMalformed, secret, forgedSig)
			// The same bytes without a matching signature are a plain
			// mismatch (401): the secret's length does not show.
			_, err = v.Verify(recipeTestReq(body+string(glue)+ext, now, "X-Sig", sum("other"), "X-Ts", ts))
			recipeTestErr(t, err, ErrSignature, secret)
		}
	}
}

// BenchmarkRecipeHashVerify: hubspot_v1 on a 1 MiB body, the padding
// check included (it reads about 9 bytes per 64-byte block, after a copy
// of the signed content).
func BenchmarkRecipeHashVerify(b *testing.B) {
	const secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
	body := bytes.Repeat([]byte(`{"eventId":1,"objectId":123},`), 1<<20/29)
	sum := sha256.Sum256(append([]byte(secret), body...))
	v, err := New("hubspot_v1", Config{Secrets: []string{secret}})
	if err != nil {
		b.Fatal(err)
	}
	req := recipeTestReq(string(body), time.Now(), "X-HubSpot-Signature", hex.EncodeToString(sum[:]))
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGluePadding is the padding check alone on 1 MiB.
func BenchmarkGluePadding(b *testing.B) {
	content := bytes.Repeat([]byte("a"), 1<<20)
	b.SetBytes(int64(len(content)))
	for i := 0; i < b.N; i++ {
		if mdSHA256.glued(36, nil, content, nil) {
			b.Fatal("flagged")
		}
	}
}

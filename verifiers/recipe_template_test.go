package verifiers

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestRecipeAutoTimestampRecut is defect 4 of issue 13: with content
// "{timestamp}{body}" and timestamp_unit auto, a 13-digit millisecond
// timestamp and a 10-digit one in seconds, its last 3 digits moved to the
// front of the body, make the same signed string at the same instant, so a
// re-cut copy of a genuine delivery verified as a new one (another body,
// another replay key). Such a template is now refused at load; with a
// pinned unit (s or ms) the tolerance tells the cuts apart.
func TestRecipeAutoTimestampRecut(t *testing.T) {
	const secret = "recut-secret"
	now := time.UnixMilli(1700000000123)
	for _, tc := range []struct {
		content            string
		ts, body           string // the genuine delivery
		recutTS, recutBody string // the same signed string, cut elsewhere
		signed             string
	}{
		{"{timestamp}{body}", "1700000000123", `{"a":1}`, "1700000000", `123{"a":1}`, `1700000000123{"a":1}`},
		{"{body}{timestamp}", "1700000000", `{"a":1}170`, "1701700000000", `{"a":1}`, `{"a":1}1701700000000`},
	} {
		r := HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", TimestampUnit: "auto", Content: tc.content}
		if err := CheckRecipe(r, "", 0); err == nil {
			t.Errorf("CheckRecipe(%q, auto) loads", tc.content)
		}
		v, err := New("hmac", Config{Secrets: []string{secret}, HMAC: &r, Tolerance: 30 * 24 * time.Hour})
		if err == nil {
			// Show what loading it allowed.
			sig := rcHex(secret, tc.signed)
			_, gErr := v.Verify(recipeTestReq(tc.body, now, "X-Sig", sig, "X-Ts", tc.ts))
			_, rErr := v.Verify(recipeTestReq(tc.recutBody, now, "X-Sig", sig, "X-Ts", tc.recutTS))
			t.Errorf("content %q with timestamp_unit auto loads: genuine %v, re-cut (body %q) %v", tc.content, gErr, tc.recutBody, rErr)
			continue
		}
		// With the unit pinned the template loads, and the re-cut copy is
		// refused: its timestamp is read in the pinned unit, decades away.
		for _, unit := range []string{"s", "ms"} {
			r.TimestampUnit = unit
			v, err := New("hmac", Config{Secrets: []string{secret}, HMAC: &r, Tolerance: 30 * 24 * time.Hour})
			if err != nil {
				t.Fatalf("content %q unit %s: %v", tc.content, unit, err)
			}
			sig := rcHex(secret, tc.signed)
			gTS, gBody, xTS, xBody := tc.ts, tc.body, tc.recutTS, tc.recutBody
			if (len(gTS) == 13) != (unit == "ms") {
				gTS, gBody, xTS, xBody = xTS, xBody, gTS, gBody
			}
			if _, err := v.Verify(recipeTestReq(gBody, now, "X-Sig", sig, "X-Ts", gTS)); err != nil {
				t.Errorf("content %q unit %s: genuine: %v", tc.content, unit, err)
			}
			// Too far from now (401), or too many digits for seconds (400).
			_, err = v.Verify(recipeTestReq(xBody, now, "X-Sig", sig, "X-Ts", xTS))
			if !errors.Is(err, ErrTimestamp) && !errors.Is(err, ErrMalformed) {
				t.Errorf("content %q unit %s: re-cut copy (timestamp %s): %v, want refused", tc.content, unit, xTS, err)
			}
			recipeTestNoLeak(t, err, secret, sig)
		}
	}
}

// TestRecipeAmbiguousID is the defect of issue 10: with content
// "{id}.{body}", moving the body's prefix into the id header kept the
// signed string, so a truncated body verified as a new delivery (the
// signed id is the replay key). The id now refuses the "." that delimits it.
func TestRecipeAmbiguousID(t *testing.T) {
	const secret = "id-dot-secret"
	r := HMACRecipe{SignatureHeader: "X-Sig", IDHeader: "X-Id", Content: "{id}.{body}"}
	v := newRecipeForTest(t, r, 0, secret)
	sig := rcHex(secret, "evt_1.part.rest")
	now := time.Now()
	res, err := v.Verify(recipeTestReq("part.rest", now, "X-Sig", sig, "X-Id", "evt_1"))
	if err != nil {
		t.Fatalf("genuine delivery: %v", err)
	}
	if res.SignedID != "evt_1" {
		t.Fatalf("SignedID = %q", res.SignedID)
	}
	for _, tc := range []struct{ id, body string }{
		{"evt_1.part", "rest"},
		{"evt_1.part.rest", ""},
	} {
		_, err := v.Verify(recipeTestReq(tc.body, now, "X-Sig", sig, "X-Id", tc.id))
		recipeTestErr(t, err, ErrMalformed, secret, sig)
	}

	// Standard Webhooks' shape keeps working, and refuses ids with a ".".
	sw := newRecipeForTest(t, recipeStandard, -1, rcSwSecret)
	ts := "1614265330"
	if _, err := sw.Verify(recipeTestReq(rcSwBody, time.Now(), "webhook-id", rcSwID, "webhook-timestamp", ts,
		"webhook-signature", "v1,"+rcSwSig)); err != nil {
		t.Fatalf("standard webhooks: %v", err)
	}
	_, err = sw.Verify(recipeTestReq(rcSwBody, time.Now(), "webhook-id", "a.b", "webhook-timestamp", ts,
		"webhook-signature", "v1,"+rcSwSig))
	recipeTestErr(t, err, ErrMalformed)
}

// TestRecipeLoadAmbiguity: templates that stay ambiguous after the values'
// charsets are refused at load; the others load.
func TestRecipeLoadAmbiguity(t *testing.T) {
	base := HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", IDHeader: "X-Id"}
	tests := []struct {
		content string
		unit    string
		tol     time.Duration
		url     string
		ok      bool
	}{
		{"{id}.{timestamp}.{body}", "", 0, "", true},
		{"{timestamp}.{body}", "", 0, "", true},
		{"v0:{timestamp}:{body}", "", 0, "", true},
		{"{timestamp}1{body}", "", 0, "", false}, // a digit delimits a digit string
		{"{timestamp}{id}.{body}", "", 0, "", false},
		{"{id}{body}", "", 0, "", false},
		{"{body}{id}", "", 0, "", false},
		{"{body}.{id}", "", 0, "", true},
		{"{timestamp}{body}", "", 0, "", true},
		{"{timestamp}{body}", "", -1, "", false},                   // tolerance off
		{"{timestamp}{body}", "", 400 * 24 * time.Hour, "", false}, // too wide
		{"{body}{timestamp}", "ms", 0, "", true},
		{"{timestamp}{body}", "s", 0, "", true},
		{"{timestamp}{body}", "ms", 0, "", true},
		{"{timestamp}{body}", "auto", 0, "", false}, // 13 digits or 10 and 3 moved (issue 13)
		{"{body}{timestamp}", "auto", 0, "", false},
		{"{method}{url}{body}{timestamp}", "auto", 0, "https://example.com/hook", false},
		{"{timestamp}.{body}", "auto", 0, "", true},
		{"{body}.{timestamp}", "auto", 0, "", true},
		{"{timestamp}{body}", "iso8601", 0, "", false},
		{"{timestamp}{body}", "rfc3339", 0, "", true},
		{"{body}{timestamp}", "iso8601", 0, "", false},
		{"{body}{timestamp}", "rfc3339", -1, "", true},  // RFC 3339 delimits itself
		{"{timestamp}.{body}", "iso8601", 0, "", false}, // fractions hold "."
		{"{timestamp}|{body}", "iso8601", 0, "", true},
		{"{timestamp}.{body}", "rfc3339", 0, "", true},
		{"{method}{url}{body}{timestamp}", "ms", 0, "https://example.com/hook", true},
		{"{url}{body}", "", 0, "https://example.com/hook", true},
		{"{body}{url}", "", 0, "https://example.com/hook", true},
		{"{method}{path}{body}", "", 0, "", false},
		{"{method} {path}\n{body}", "", 0, "", true},
		{"{header:X-A}{header:X-B}.{body}", "", 0, "", false},
		{"{header:X-A}.{body}", "", 0, "", true},
		{"{header:X-Sig}.{body}", "", 0, "", false}, // the signature itself
		{"{body}{body}", "", 0, "", false},
		{"{timestamp}", "", 0, "", false},
		{"{url}{body}", "", 0, "", false},                // no url configured
		{"{body}", "", 0, "https://example.com/", false}, // url not used
	}
	for _, tt := range tests {
		r := base
		r.Content, r.TimestampUnit = tt.content, tt.unit
		_, err := New("hmac", Config{Secrets: []string{"k"}, HMAC: &r, Tolerance: tt.tol, URL: tt.url})
		if (err == nil) != tt.ok {
			t.Errorf("content %q unit %q tolerance %v: error %v, want ok=%v", tt.content, tt.unit, tt.tol, err, tt.ok)
		}
		if err := CheckRecipe(r, tt.url, tt.tol); (err == nil) != tt.ok {
			t.Errorf("CheckRecipe(%q): %v, want ok=%v", tt.content, err, tt.ok)
		}
	}
}

// TestRecipeTemplate checks the precompiled form of content templates.
func TestRecipeTemplate(t *testing.T) {
	parts, err := recipeParseContent("v0:{timestamp}:{body}}{id}")
	if err != nil {
		t.Fatal(err)
	}
	want := []recipePart{
		{kind: recipeLiteral, lit: []byte("v0:")}, {kind: recipeTimestamp},
		{kind: recipeLiteral, lit: []byte(":")}, {kind: recipeBody},
		{kind: recipeLiteral, lit: []byte("}")}, {kind: recipeID},
	}
	if len(parts) != len(want) {
		t.Fatalf("parts = %+v", parts)
	}
	for i := range want {
		if parts[i].kind != want[i].kind || !bytes.Equal(parts[i].lit, want[i].lit) {
			t.Fatalf("part %d = %+v, want %+v", i, parts[i], want[i])
		}
	}
}

package verifiers

import (
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

package verifiers

import (
	"testing"
	"time"
)

// TestRecipeTimestampLeadingZero: "0" + a timestamp is the same instant; a
// leading zero would let a digit move between the timestamp and the body
// in "{body}{timestamp}".
func TestRecipeTimestampLeadingZero(t *testing.T) {
	const secret = "lz"
	now := time.Unix(1700000000, 0)
	r := HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", Content: "{body}{timestamp}"}
	v := newRecipeForTest(t, r, 0, secret)
	sig := rcHex(secret, "abc01700000000")
	if _, err := v.Verify(recipeTestReq("abc0", now, "X-Sig", sig, "X-Ts", "1700000000")); err != nil {
		t.Fatalf("genuine: %v", err)
	}
	_, err := v.Verify(recipeTestReq("abc", now, "X-Sig", sig, "X-Ts", "01700000000"))
	recipeTestErr(t, err, ErrMalformed)
	// Moving the first digit of the timestamp into the body lands decades away.
	_, err = v.Verify(recipeTestReq("abc01", now, "X-Sig", sig, "X-Ts", "700000000"))
	recipeTestErr(t, err, ErrTimestamp)
}

func TestRecipeParseISO(t *testing.T) {
	tests := []struct {
		in      string
		zoneReq bool
		want    string // RFC 3339 Nano in UTC, "" = invalid
	}{
		{"2020-01-01T00:00:00Z", true, "2020-01-01T00:00:00Z"},
		{"2020-01-01T00:00:00-07:00", true, "2020-01-01T07:00:00Z"},
		{"2020-01-01T00:00:00.123456789+01:30", true, "2019-12-31T22:30:00.123456789Z"},
		{"2020-01-01T00:00:00.5Z", true, "2020-01-01T00:00:00.5Z"},
		{"2020-01-01T00:00:00", true, ""},
		{"2020-01-01T00:00:00", false, "2020-01-01T00:00:00Z"},
		{"2020-01-01T00:00:00.25", false, "2020-01-01T00:00:00.25Z"},
		{"2020-01-01t00:00:00Z", false, ""},
		{"2020-01-01T00:00:00z", false, ""},
		{"2020-01-01 00:00:00Z", false, ""},
		{"2020-01-01T00:00:00.Z", false, ""},
		{"2020-01-01T00:00:00.1234567890Z", false, ""},
		{"2020-01-01T00:00:00+0100", false, ""},
		{"2020-13-01T00:00:00Z", false, ""},
		{"2020-01-01T00:00:00Z ", false, ""},
		{"+2020-01-01T00:00:00Z", false, ""},
	}
	for _, tt := range tests {
		got, err := recipeParseISO(tt.in, tt.zoneReq)
		if tt.want == "" {
			if err == nil {
				t.Errorf("%q: parsed as %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.UTC().Format(time.RFC3339Nano) != tt.want {
			t.Errorf("%q: %v, %v; want %s", tt.in, got.UTC().Format(time.RFC3339Nano), err, tt.want)
		}
	}
}

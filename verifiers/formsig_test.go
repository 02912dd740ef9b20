package verifiers

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// formsigRequest builds a verifier Request for the tests of the form-based
// providers (mailgun, postmark, twilio, mandrill). rawURL may be empty.
func formsigRequest(t *testing.T, method, rawURL string, header http.Header, body []byte, now time.Time) *Request {
	t.Helper()
	r := &Request{Method: method, Header: header, Body: body, Now: now}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	if rawURL != "" {
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatalf("bad test url %q: %v", rawURL, err)
		}
		r.URL = u
	}
	return r
}

// formsigCheck runs v on r, compares the outcome with the wanted sentinel
// (nil for success), checks that the body was not modified and that the
// error text leaks none of the given strings.
func formsigCheck(t *testing.T, v Verifier, r *Request, want error, secrets ...string) *Result {
	t.Helper()
	orig := bytes.Clone(r.Body)
	res, err := v.Verify(r)
	if !bytes.Equal(orig, r.Body) {
		t.Fatalf("verifier modified the body")
	}
	if want == nil {
		if err != nil {
			t.Fatalf("Verify: unexpected error %v", err)
		}
		if res == nil {
			t.Fatalf("Verify: nil result without error")
		}
		return res
	}
	if !errors.Is(err, want) {
		t.Fatalf("Verify: error %v, want %v", err, want)
	}
	for _, s := range []error{ErrMalformed, ErrTimestamp, ErrSignature, ErrCredentials, ErrUnavailable} {
		if s != want && errors.Is(err, s) {
			t.Fatalf("Verify: error %v wraps %v as well as %v", err, s, want)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("error text %q leaks %q", err.Error(), s)
		}
	}
	if res != nil {
		t.Fatalf("Verify: result %+v together with error", res)
	}
	return nil
}

func TestFormsigParse(t *testing.T) {
	tests := []struct {
		in   string
		want []formsigField
		err  bool
	}{
		{in: "", want: nil},
		{in: "a=1&b=2", want: []formsigField{{"a", "1"}, {"b", "2"}}},
		{in: "a=1&&b", want: []formsigField{{"a", "1"}, {"b", ""}}},
		{in: "To=%2B18005551212&Body=hi+there", want: []formsigField{{"To", "+18005551212"}, {"Body", "hi there"}}},
		{in: "a=1&a=0", want: []formsigField{{"a", "1"}, {"a", "0"}}},
		{in: "a=1;b=2", want: []formsigField{{"a", "1;b=2"}}},
		{in: "a=%zz", err: true},
		{in: "%zz=1", err: true},
		{in: strings.Repeat("a=1&", formsigMaxFields) + "b=2", err: true},
	}
	for _, tt := range tests {
		got, err := formsigParse(tt.in)
		if tt.err {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("formsigParse(%.40q): error %v, want ErrMalformed", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("formsigParse(%q): %v", tt.in, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("formsigParse(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("formsigParse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		}
	}
	if _, err := formsigParse(strings.Repeat("a=1&", formsigMaxFields)); err != nil {
		t.Errorf("formsigParse with exactly %d fields: %v", formsigMaxFields, err)
	}
}

func TestFormsigSorted(t *testing.T) {
	// Names sort byte-wise (upper case first: "CallSid" < "Caller"), a name
	// before its extensions ("Reason" < "ReasonConferenceEnded"), repeated
	// names by value, duplicates kept (twilio-python's compute_signature).
	in := []formsigField{
		{"ReasonConferenceEnded", "test"}, {"Caller", "x"}, {"Reason", "b"},
		{"CallSid", "y"}, {"Reason", "a"}, {"Reason", "a"},
	}
	want := "CallSidyCallerxReasonaReasonaReasonbReasonConferenceEndedtest"
	if got := formsigSorted(in); got != want {
		t.Errorf("formsigSorted = %q, want %q", got, want)
	}
	if in[0].name != "ReasonConferenceEnded" {
		t.Errorf("formsigSorted reordered its argument")
	}
	if err := formsigUnique(in); !errors.Is(err, ErrMalformed) {
		t.Errorf("formsigUnique with a repeated name: %v", err)
	}
	if err := formsigUnique(in[:4]); err != nil {
		t.Errorf("formsigUnique: %v", err)
	}
}

func TestFormsigMediaType(t *testing.T) {
	h := http.Header{}
	if mt, _, err := formsigMediaType(h); mt != "" || err != nil {
		t.Errorf("no Content-Type: %q, %v", mt, err)
	}
	h.Set("Content-Type", "Application/X-WWW-Form-URLEncoded; charset=utf-8")
	if mt, p, err := formsigMediaType(h); mt != formsigFormType || p["charset"] != "utf-8" || err != nil {
		t.Errorf("form Content-Type: %q %v %v", mt, p, err)
	}
	h.Add("Content-Type", "application/json")
	if _, _, err := formsigMediaType(h); !errors.Is(err, ErrMalformed) {
		t.Errorf("duplicated Content-Type: %v", err)
	}
	h.Set("Content-Type", "multipart/form-data; boundary=")
	if _, _, err := formsigMediaType(h); !errors.Is(err, ErrMalformed) {
		t.Errorf("invalid Content-Type: %v", err)
	}
}

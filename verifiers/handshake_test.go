package verifiers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The helpers of the handshake tests of meta, dropbox, twitter and
// worldline.

// getRequest is an unsigned handshake request.
func getRequest(method, target string, kv ...string) *Request {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return &Request{Context: context.Background(), Method: method, URL: u, Header: h, Now: time.Now()}
}

// handshakeCase is one request to a Handshaker and what must become of it.
type handshakeCase struct {
	name, method, target string
	headers              []string
	ok                   bool   // a handshake
	err                  error  // its error
	body                 string // its answer
	ct                   string // the answer's Content-Type
}

func runHandshakes(t *testing.T, v Verifier, cases []handshakeCase) {
	t.Helper()
	hs, ok := v.(Handshaker)
	if !ok {
		t.Fatal("not a Handshaker")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, ok, err := hs.Handshake(getRequest(tc.method, tc.target, tc.headers...))
			if ok != tc.ok || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("ok %v, err %v; want ok %v, err %v", ok, err, tc.ok, tc.err)
			}
			if !ok || err != nil {
				if resp != nil {
					t.Fatalf("response %+v with ok %v, err %v", resp, ok, err)
				}
				return
			}
			if resp == nil || resp.Status != 200 || resp.Body != tc.body || resp.Header.Get("Content-Type") != tc.ct {
				t.Fatalf("response %+v, want 200 %q (%s)", resp, tc.body, tc.ct)
			}
			if strings.HasPrefix(tc.ct, "text/plain") && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("text answer without X-Content-Type-Options: nosniff")
			}
		})
	}
}

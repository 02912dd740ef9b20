package verifiers

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// MailChannels key fetching: the key server fake, fetching by keyid, the
// cache bounds, which keyids are fetched, and fetchers shared across routes.

// MailChannels key fetching: the key server fake, fetching by keyid, the
// cache bounds, which keyids are fetched, and fetchers shared across routes.

// mcKeyServer is a stand-in for api.mailchannels.net's public-key
// endpoint, over TLS, reached through a client whose transport dials it
// for api.mailchannels.net:443 (and nothing else).
type mcKeyServer struct {
	srv    *httptest.Server
	client *http.Client
	hits   atomic.Int32
	mu     sync.Mutex
	ids    []string
	gate   chan struct{} // if non-nil, requests wait for it to close
	status atomic.Int32  // if non-zero, every lookup is answered with it
}

func newMCKeyServer(t *testing.T) *mcKeyServer {
	ks := &mcKeyServer{}
	ks.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.hits.Add(1)
		if r.Method != http.MethodGet || r.URL.Path != "/tx/v1/webhook/public-key" || r.Host != "api.mailchannels.net" {
			http.Error(w, "unexpected request", http.StatusTeapot)
			return
		}
		if ks.gate != nil {
			<-ks.gate
		}
		if st := ks.status.Load(); st != 0 {
			http.Error(w, "unavailable", int(st))
			return
		}
		id := r.URL.Query().Get("id")
		ks.mu.Lock()
		ks.ids = append(ks.ids, id)
		ks.mu.Unlock()
		switch id {
		case "mckey":
			fmt.Fprintf(w, `{"id":"mckey","key":%q}`, mcK1SPKI)
		case "mckey-pem":
			fmt.Fprintf(w, `{"id":"mckey-pem","key":%q}`, sgPEM2(mcK1SPKI))
		case "noid":
			fmt.Fprintf(w, `{"key":%q}`, mcK1Raw)
		case "boom":
			http.Error(w, "oops", http.StatusInternalServerError)
		case "big":
			fmt.Fprintf(w, `{"id":"big","key":%q,"pad":"%s"}`, mcK1SPKI, strings.Repeat("x", 70<<10))
		case "liar":
			fmt.Fprintf(w, `{"id":"mckey","key":%q}`, mcK1SPKI)
		case "notjson":
			fmt.Fprint(w, `<html>`)
		case "badkey":
			fmt.Fprintf(w, `{"id":"badkey","key":%q}`, sgKeyA)
		case "redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ks.srv.Close)
	tr := ks.srv.Client().Transport.(*http.Transport).Clone()
	addr := ks.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if a != "api.mailchannels.net:443" {
			return nil, fmt.Errorf("unexpected dial to %s", a)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = "example.com" // httptest's certificate
	ks.client = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return ks
}

// mcFetchRequest is fixture 1 with the keyid replaced (the signature then
// no longer verifies, but the digest and created still check out, so the
// key is looked up).
func mcFetchRequest(keyID string, now time.Time) *Request {
	h := mcHeader(mcInput1, mcSig1, mcDigest1)
	if keyID != "mckey" {
		h.Set("Signature-Input", strings.Replace(mcInput1, `keyid="mckey"`, fmt.Sprintf("keyid=%q", keyID), 1))
	}
	return &Request{Context: context.Background(), Method: "POST", Header: h, Body: []byte(mcBody1), Now: now}
}

func TestMailChannelsFetch(t *testing.T) {
	at := time.Unix(mcCreated1, 0)

	t.Run("fetched once, then cached", func(t *testing.T) {
		ks := newMCKeyServer(t)
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		for i := 0; i < 3; i++ {
			res, err := v.Verify(mcFetchRequest("mckey", at.Add(time.Duration(i)*time.Second)))
			if err != nil || res.Key != 0 || len(res.Signature) != sha256.Size || res.Timestamp.Unix() != mcCreated1 {
				t.Fatalf("verify %d: %+v, %v", i, res, err)
			}
		}
		if ks.hits.Load() != 1 || ks.ids[0] != "mckey" {
			t.Fatalf("hits %d ids %q; want one fetch of mckey", ks.hits.Load(), ks.ids)
		}
		// After the TTL the key is fetched again.
		v.(*mailchannelsVerifier).fetch.keys["mckey"].expires = at
		if _, err := v.Verify(mcFetchRequest("mckey", at.Add(time.Second))); err != nil || ks.hits.Load() != 2 {
			t.Fatalf("refetch: %v, hits %d", err, ks.hits.Load())
		}
	})

	t.Run("response forms", func(t *testing.T) {
		for _, id := range []string{"mckey-pem", "noid"} {
			ks := newMCKeyServer(t)
			v, _ := New("mailchannels", Config{HTTPClient: ks.client})
			// The keyid is signed, so a changed keyid fails the signature
			// after a successful fetch.
			if _, err := v.Verify(mcFetchRequest(id, at)); !errors.Is(err, ErrSignature) || ks.hits.Load() != 1 {
				t.Fatalf("%s: %v, hits %d", id, err, ks.hits.Load())
			}
			if _, ok := v.(*mailchannelsVerifier).fetch.keys[id]; !ok {
				t.Fatalf("%s: key not cached", id)
			}
		}
	})

	t.Run("failures", func(t *testing.T) {
		cases := []struct {
			id    string
			want  error
			cache time.Duration
		}{
			{"unknown", ErrSignature, mcUnknownTTL},
			{"boom", ErrUnavailable, mcFailureTTL},
			{"big", ErrUnavailable, mcFailureTTL},
			{"liar", ErrUnavailable, mcFailureTTL},
			{"notjson", ErrUnavailable, mcFailureTTL},
			{"badkey", ErrUnavailable, mcFailureTTL},
			{"redirect", ErrUnavailable, mcFailureTTL},
		}
		for _, tc := range cases {
			ks := newMCKeyServer(t)
			v, _ := New("mailchannels", Config{HTTPClient: ks.client})
			v.(*mailchannelsVerifier).fetch.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			if _, err := v.Verify(mcFetchRequest(tc.id, at)); !errors.Is(err, tc.want) {
				t.Fatalf("%s: got %v; want %v", tc.id, err, tc.want)
			}
			// Cached: no new fetch until the negative entry expires.
			if _, err := v.Verify(mcFetchRequest(tc.id, at.Add(tc.cache-time.Second))); !errors.Is(err, tc.want) || ks.hits.Load() != 1 {
				t.Fatalf("%s: second try %v, hits %d", tc.id, err, ks.hits.Load())
			}
			if _, err := v.Verify(mcFetchRequest(tc.id, at.Add(tc.cache))); !errors.Is(err, tc.want) || ks.hits.Load() != 2 {
				t.Fatalf("%s: after expiry %v, hits %d", tc.id, err, ks.hits.Load())
			}
		}
	})

	t.Run("no fetch before the digest and timestamp check out", func(t *testing.T) {
		ks := newMCKeyServer(t)
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		r := mcFetchRequest("random-1", at)
		r.Body = []byte(mcBody1 + "x")
		if _, err := v.Verify(r); !errors.Is(err, ErrSignature) {
			t.Fatal(err)
		}
		if _, err := v.Verify(mcFetchRequest("random-2", at.Add(time.Hour))); !errors.Is(err, ErrTimestamp) {
			t.Fatal(err)
		}
		r = mcFetchRequest("random-3", at)
		r.Header.Set("Signature", "sig_1=:AAAA:")
		if _, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		r = mcFetchRequest("", at)
		r.Header.Set("Signature-Input", `sig_1=("content-digest");created=1625098010;alg="ed25519"`)
		if _, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		r = mcFetchRequest(strings.Repeat("k", 300), at)
		if _, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		if n := ks.hits.Load(); n != 0 {
			t.Fatalf("%d fetches", n)
		}
	})

	t.Run("random keyids are rate limited, cached keys keep working", func(t *testing.T) {
		ks := newMCKeyServer(t)
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		if _, err := v.Verify(mcFetchRequest("mckey", at)); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < mcFetchBurst; i++ {
			if _, err := v.Verify(mcFetchRequest(fmt.Sprintf("random-%d", i), at)); !errors.Is(err, ErrSignature) {
				t.Fatalf("random %d: %v", i, err)
			}
		}
		if _, err := v.Verify(mcFetchRequest("random-x", at)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("over the burst: %v", err)
		}
		if n := ks.hits.Load(); n != mcFetchBurst {
			t.Fatalf("%d fetches; want %d", n, mcFetchBurst)
		}
		if _, err := v.Verify(mcFetchRequest("mckey", at.Add(time.Second))); err != nil {
			t.Fatalf("cached key while throttled: %v", err)
		}
		// One token comes back per interval.
		if _, err := v.Verify(mcFetchRequest("random-y", at.Add(mcFetchInterval))); !errors.Is(err, ErrSignature) {
			t.Fatalf("after an interval: %v", err)
		}
		if _, err := v.Verify(mcFetchRequest("random-z", at.Add(mcFetchInterval))); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("second in the interval: %v", err)
		}
		if n := ks.hits.Load(); n != mcFetchBurst+1 {
			t.Fatalf("%d fetches; want %d", n, mcFetchBurst+1)
		}
	})

	t.Run("concurrent requests share one fetch", func(t *testing.T) {
		ks := newMCKeyServer(t)
		ks.gate = make(chan struct{})
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := v.Verify(mcFetchRequest("mckey", at))
				errs <- err
			}()
		}
		time.Sleep(100 * time.Millisecond)
		close(ks.gate)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := ks.hits.Load(); n != 1 {
			t.Fatalf("%d fetches", n)
		}
	})

	t.Run("a request that hangs up does not cancel the fetch", func(t *testing.T) {
		ks := newMCKeyServer(t)
		ks.gate = make(chan struct{})
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		ctx, cancel := context.WithCancel(context.Background())
		r := mcFetchRequest("mckey", at)
		r.Context = ctx
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		if _, err := v.Verify(r); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v", err)
		}
		close(ks.gate)
		// The fetch went on without the request: the next one is served
		// by it (or by the cache it filled), not by a second fetch.
		if _, err := v.Verify(mcFetchRequest("mckey", at)); err != nil {
			t.Fatalf("after cancel: %v", err)
		}
		if n := ks.hits.Load(); n != 1 {
			t.Fatalf("%d fetches; want 1", n)
		}
	})

	t.Run("configured keys: no fetch", func(t *testing.T) {
		ks := newMCKeyServer(t)
		v, _ := New("mailchannels", Config{HTTPClient: ks.client, PublicKeys: []PublicKey{mcKey("other", mcK1SPKI)}})
		if _, err := v.Verify(mcFetchRequest("mckey", at)); !errors.Is(err, ErrSignature) || ks.hits.Load() != 0 {
			t.Fatalf("got %v, hits %d", err, ks.hits.Load())
		}
	})
}

func TestMailChannelsCacheBounds(t *testing.T) {
	f := newMCKeyFetcher(nil, "")
	now := time.Unix(1700000000, 0)
	key := ed25519.PublicKey(mcB64(mcK1Raw))
	for i := 0; i < mcKeyCacheSize; i++ {
		f.storeKey(fmt.Sprintf("k%d", i), key, now.Add(time.Duration(i)*time.Second))
	}
	f.keys["k0"].used = now.Add(time.Hour) // recently used: survives
	f.storeKey("new", key, now.Add(2*time.Hour))
	if len(f.keys) != mcKeyCacheSize || f.keys["k0"] == nil || f.keys["k1"] != nil || f.keys["new"] == nil {
		t.Fatalf("LRU eviction: %d keys, k0 %v k1 %v", len(f.keys), f.keys["k0"] != nil, f.keys["k1"] != nil)
	}
	for i := 0; i < mcMissCacheSize+50; i++ {
		f.storeMiss(fmt.Sprintf("m%d", i), ErrSignature, now.Add(time.Duration(i)*time.Second))
	}
	if len(f.misses) != mcMissCacheSize {
		t.Fatalf("%d misses cached", len(f.misses))
	}
	if _, ok := f.misses["m0"]; ok {
		t.Fatal("oldest miss kept")
	}
}

func TestMailChannelsFetchableKeyID(t *testing.T) {
	cases := []struct {
		id string
		ok bool
	}{
		// The keyid of every SDK test: github:mailchannels/mailchannels-email-api-sdk-js
		// test/modules/webhooks/verify.test.ts @13c6a0559d8bfddaff91e52f052c1fafd1a6e086,
		// github:Yizack/mailchannels test/modules/webhooks/verify.test.ts
		// @7a2711f704dd545af8677315d1e96403783497a1, github:ttulttul/mailchannels-python-sdk
		// tests/test_webhooks.py @415aae76a671ad3c1f9cb348056df5b0506e1c28.
		{"mckey", true},
		{"mckey-2", true},
		{"550e8400-e29b-41d4-a716-446655440000", true},
		{"wBLWrCnK0Z965pf-cgxhNg8bo5s=", true}, // shape of a MailChannels request_id
		{"a+b/c=", true},
		{"kid:2025_01.x~y", true},
		{strings.Repeat("k", mcMaxFetchKeyID), true},
		{strings.Repeat("k", mcMaxFetchKeyID+1), false},
		{"", false},
		{"mc key", false},
		{"mc%20key", false},
		{"a?b", false},
		{"a&id=b", false},
		{"a#b", false},
		{`a"b`, false},
		{`a\b`, false},
		{"a\tb", false},
		{"ключ", false},
	}
	for _, tc := range cases {
		if got := mcFetchableKeyID(tc.id); got != tc.ok {
			t.Errorf("mcFetchableKeyID(%q) = %v; want %v", tc.id, got, tc.ok)
		}
	}

	// End to end: an implausible keyid is refused without a lookup and
	// without spending the budget.
	ks := newMCKeyServer(t)
	v, _ := New("mailchannels", Config{HTTPClient: ks.client, Tolerance: -1})
	at := time.Unix(1700000000, 0)
	for i := 0; i < 2*mcFetchBurst; i++ {
		r := mcFetchRequest("x", at)
		r.Header.Set("Signature-Input", fmt.Sprintf(`sig_1=("content-digest");created=1625098010;alg="ed25519";keyid="bad key %d"`, i))
		if _, err := v.Verify(r); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "not fetchable") {
			t.Fatalf("got %v", err)
		}
	}
	if _, err := v.Verify(mcFetchRequest("mckey", at)); err != nil || ks.hits.Load() != 1 {
		t.Fatalf("real delivery after them: %v, %d lookups", err, ks.hits.Load())
	}
}

func TestMailChannelsSharedFetchers(t *testing.T) {
	a, _ := New("mailchannels", Config{})
	b, _ := New("mailchannels", Config{Tolerance: time.Minute})
	fa, fb := a.(*mailchannelsVerifier).fetch, b.(*mailchannelsVerifier).fetch
	if fa != fb || fa.client != mcDefaultClient {
		t.Fatal("verifiers without a client do not share the default fetcher")
	}
	c1, c2 := &http.Client{}, &http.Client{}
	x, _ := New("mailchannels", Config{HTTPClient: c1})
	y, _ := New("mailchannels", Config{HTTPClient: c2})
	if x.(*mailchannelsVerifier).fetch == y.(*mailchannelsVerifier).fetch {
		t.Fatal("different clients share a fetcher")
	}
	for i := 0; i < 2*mcMaxFetchers; i++ {
		mcSharedFetcher(&http.Client{}, mcKeyEndpoint)
	}
	mcFetchers.Lock()
	n := len(mcFetchers.m)
	mcFetchers.Unlock()
	if n > mcMaxFetchers {
		t.Fatalf("%d shared fetchers kept", n)
	}
}

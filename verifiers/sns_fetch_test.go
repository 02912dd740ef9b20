package verifiers

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/fetch"
)

// SNS certificate fetching under load and failure: the fetch server fake,
// failures and their memory, single flight, fetch slots and rates, forged
// URLs. The vectors and helpers are in sns_test.go.

// snsServer stands in for AWS: a TLS server answering for every https host
// (certificates by path, ConfirmSubscription on "/") and a plain server for
// every http host (issuer certificates). Its client dials them whatever the
// host, so nothing reaches the internet, and every request is counted.
type snsServer struct {
	tls, plain *httptest.Server
	client     *http.Client
	mu         sync.Mutex
	files      map[string][]byte        // path -> body
	status     map[string]int           // path -> status, when not 200
	hits       map[string]int           // host+path -> count
	queries    []string                 // raw queries of "/" requests
	hold       map[string]chan struct{} // path -> answered once closed
}

func newSNSServer(t *testing.T) *snsServer {
	s := &snsServer{files: map[string][]byte{}, status: map[string]int{}, hits: map[string]int{}, hold: map[string]chan struct{}{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.Host+r.URL.Path]++
		hold := s.hold[r.URL.Path]
		s.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if st, ok := s.status[r.URL.Path]; ok {
			if st == http.StatusFound {
				http.Redirect(w, r, "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-redirected.pem", st)
				return
			}
			w.WriteHeader(st)
			return
		}
		if r.URL.Path == "/" {
			s.queries = append(s.queries, r.URL.RawQuery)
			w.Write([]byte("<ConfirmSubscriptionResponse/>"))
			return
		}
		b, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	s.tls = httptest.NewTLSServer(h)
	s.plain = httptest.NewServer(h)
	t.Cleanup(s.tls.Close)
	t.Cleanup(s.plain.Close)
	tr := s.tls.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.ServerName = "example.com" // the test server's certificate name
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		target := s.plain.Listener.Addr().String()
		if strings.HasSuffix(addr, ":443") {
			target = s.tls.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}
	s.client = &http.Client{Transport: tr}
	return s
}

func (s *snsServer) serve(path string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = b
}

func (s *snsServer) fail(path string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[path] = status
}

// holdPath makes requests for path wait until the returned function is
// called, or the test ends (before the server is closed, which waits for
// them).
func (s *snsServer) holdPath(t *testing.T, path string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.hold[path] = ch
	s.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return release
}

// waitHits waits until hostPath was requested n times.
func (s *snsServer) waitHits(t *testing.T, hostPath string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.count(hostPath) < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s requested %d times, want %d", hostPath, s.count(hostPath), n)
		}
	}
}

func (s *snsServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.hits {
		n += c
	}
	return n
}

func (s *snsServer) count(hostPath string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[hostPath]
}

// serveFixtures serves every testdata/sns certificate at the path its
// messages name (/SimpleNotificationService-<name>.pem).
func (s *snsServer) serveFixtures(t *testing.T) {
	for _, n := range []string{"sns", "bundled", "wrongname", "nosig", "expired", "selfsigned", "aia", "aiaevil"} {
		s.serve("/SimpleNotificationService-"+n+".pem", snsFixture(t, n+".pem"))
	}
}

// A 404 for SigningCertURL means there is no such signing certificate
// (ErrSignature); any other failure to get a certificate is ErrUnavailable.
func TestSNSFetchFailures(t *testing.T) {
	s := newSNSServer(t)
	s.serveFixtures(t)
	roots := snsPool(t, string(snsFixture(t, "ca.pem")))
	base := snsFixture(t, "notification-v2.json")
	const good = "SimpleNotificationService-sns.pem"
	pem := func(n string) string { return "/SimpleNotificationService-" + n + ".pem" }
	s.fail(pem("forbidden"), http.StatusForbidden)
	s.fail(pem("gone"), http.StatusGone)
	s.fail(pem("error"), http.StatusInternalServerError)
	s.fail(pem("redirect"), http.StatusFound)
	s.serve(pem("big"), append(append([]byte{}, snsFixture(t, "sns.pem")...), strings.Repeat("\n", 64<<10)...))
	s.serve(pem("garbage"), []byte("<html>not a certificate</html>"))
	s.serve(pem("key"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	s.serve(pem("redirected"), snsFixture(t, "sns.pem"))
	cases := []struct {
		name string
		err  error
	}{
		{"missing", ErrSignature}, // 404
		{"forbidden", ErrUnavailable},
		{"gone", ErrUnavailable},
		{"error", ErrUnavailable},
		{"redirect", ErrUnavailable}, // not followed
		{"big", ErrUnavailable},
		{"garbage", ErrUnavailable},
		{"key", ErrUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := newTestSNS(t, Config{HTTPClient: s.client}, roots)
			_, err := v.Verify(snsRequest(snsEdit(t, base, good, pem(c.name)[1:]), snsNow))
			if !errors.Is(err, c.err) {
				t.Fatalf("got %v, want %v", err, c.err)
			}
			if n := s.count("sns.us-east-1.amazonaws.com" + pem(c.name)); n != 1 {
				t.Errorf("fetched %d times, want 1", n)
			}
		})
	}
	if n := s.count("sns.us-east-1.amazonaws.com" + pem("redirected")); n != 0 {
		t.Errorf("redirect followed")
	}
	// Network failure (nothing listens) and a cancelled request.
	dead := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return nil, errors.New("connection refused")
	}}}
	v := newTestSNS(t, Config{HTTPClient: dead}, roots)
	if _, err := v.Verify(snsRequest(base, snsNow)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("dial failure: got %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := snsRequest(base, snsNow)
	r.Context = ctx
	w := newTestSNS(t, Config{HTTPClient: s.client}, roots)
	if _, err := w.Verify(r); !errors.Is(err, ErrUnavailable) {
		t.Errorf("cancelled: got %v, want ErrUnavailable", err)
	}
	// A request that is already cancelled fetches nothing and leaves no failure behind.
	if n := s.count("sns.us-east-1.amazonaws.com/" + good); n != 0 {
		t.Errorf("cancelled request fetched %d times", n)
	}
	if _, err := w.Verify(snsRequest(base, snsNow)); err != nil {
		t.Errorf("after a cancelled request: %v", err)
	}
}

// The cache itself is tested in internal/fetch; here, its sizes.
func TestSNSCacheBounded(t *testing.T) {
	v := newTestSNS(t, Config{}, nil)
	if l := v.chains.Limits(); l.MaxEntries != 32 || l.MaxFailures != 256 || l.FailTTL != 5*time.Minute || l.MaxSize != 64<<10 {
		t.Errorf("limits %+v", l)
	}
}

// Forged messages (SigningCertURL is not signed) cause no fetch unless
// they carry an RSA-sized signature and a SigningCertURL of AWS's shape in
// the topic's region; then one fetch per URL at most every 5 minutes.
// (Security review: TestReviewSNSUnauthenticatedFetches.)
func TestSNSForgedFetches(t *testing.T) {
	forge := func(f func(m map[string]string)) []byte {
		m := map[string]string{}
		for k, val := range snsPHPVectors[0] {
			m[k] = val
		}
		f(m)
		return snsBody(t, m)
	}
	sig := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, n)) }
	host := "https://sns.us-east-2.amazonaws.com"
	cases := []struct {
		name    string
		body    func(i int) []byte
		err     error
		fetches int // after 20 requests
	}{
		{"review: new path each time, 3-byte signature", func(i int) []byte {
			return forge(func(m map[string]string) {
				m["SigningCertURL"] = fmt.Sprintf("https://sns.us-east-1.amazonaws.com/x%d.pem", i)
				m["Signature"] = "AAAA"
			})
		}, ErrMalformed, 0},
		{"3-byte signature", func(int) []byte { return forge(func(m map[string]string) { m["Signature"] = "AAAA" }) }, ErrMalformed, 0},
		{"127-byte signature", func(int) []byte { return forge(func(m map[string]string) { m["Signature"] = sig(127) }) }, ErrMalformed, 0},
		{"255-byte signature", func(int) []byte { return forge(func(m map[string]string) { m["Signature"] = sig(255) }) }, ErrMalformed, 0},
		{"520-byte signature", func(int) []byte { return forge(func(m map[string]string) { m["Signature"] = sig(520) }) }, ErrMalformed, 0},
		{"path not of AWS's shape", func(i int) []byte {
			return forge(func(m map[string]string) { m["SigningCertURL"] = fmt.Sprintf("%s/x%d.pem", host, i) })
		}, ErrMalformed, 0},
		{"other region than the topic's", func(i int) []byte {
			return forge(func(m map[string]string) {
				m["SigningCertURL"] = fmt.Sprintf("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x%d.pem", i)
			})
		}, ErrMalformed, 0},
		// Well formed: fetched (404 there), then remembered.
		{"one well-formed url, 20 times", func(int) []byte {
			return forge(func(m map[string]string) { m["SigningCertURL"] = host + "/SimpleNotificationService-abc.pem" })
		}, ErrSignature, 1},
		{"128-byte signature", func(int) []byte {
			return forge(func(m map[string]string) {
				m["Signature"] = sig(128)
				m["SigningCertURL"] = host + "/SimpleNotificationService-s128.pem"
			})
		}, ErrSignature, 1},
		{"512-byte signature", func(int) []byte {
			return forge(func(m map[string]string) {
				m["Signature"] = sig(512)
				m["SigningCertURL"] = host + "/SimpleNotificationService-s512.pem"
			})
		}, ErrSignature, 1},
		{"20 well-formed urls", func(i int) []byte {
			return forge(func(m map[string]string) {
				m["SigningCertURL"] = fmt.Sprintf("%s/SimpleNotificationService-%d.pem", host, i%20)
			})
		}, ErrSignature, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSNSServer(t)
			v := newTestSNS(t, Config{HTTPClient: s.client, TopicARNs: []string{snsPHPVectors[0]["TopicArn"]}}, nil)
			for i := 0; i < 40; i++ {
				if _, err := v.Verify(snsRequest(c.body(i), snsNow)); !errors.Is(err, c.err) {
					t.Fatalf("request %d: got %v, want %v", i, err, c.err)
				}
			}
			if n := s.total(); n != c.fetches {
				t.Errorf("%d fetches, want %d", n, c.fetches)
			}
		})
	}
}

// A failed fetch or rejected certificate is remembered per URL for 5
// minutes of request time, for at most 256 URLs.
func TestSNSFailuresRemembered(t *testing.T) {
	roots := snsPool(t, string(snsFixture(t, "ca.pem")))
	cases := []struct {
		name, file, path string
		status           int
		err              error
	}{
		{"unavailable", "notification-v2.json", "/SimpleNotificationService-sns.pem", http.StatusServiceUnavailable, ErrUnavailable},
		{"not found", "notification-v2.json", "/SimpleNotificationService-sns.pem", http.StatusNotFound, ErrSignature},
		{"rejected certificate", "notification-wrongname.json", "/SimpleNotificationService-wrongname.pem", 0, ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSNSServer(t)
			s.serveFixtures(t)
			if c.status != 0 {
				s.fail(c.path, c.status)
			}
			v := newTestSNS(t, Config{HTTPClient: s.client}, roots)
			body := snsFixture(t, c.file)
			hits := func() int { return s.count("sns.us-east-1.amazonaws.com" + c.path) }
			steps := []struct {
				at      time.Duration
				fetches int
			}{
				{0, 1},
				{time.Minute, 1},
				{5*time.Minute - time.Millisecond, 1},
				{5 * time.Minute, 2}, // expired: fetched again, failing again
				{6 * time.Minute, 2},
				{-time.Second, 3}, // the clock went back: not trusted
			}
			for _, st := range steps {
				_, err := v.Verify(snsRequest(body, snsNow.Add(st.at)))
				if !errors.Is(err, c.err) {
					t.Fatalf("at +%v: got %v, want %v", st.at, err, c.err)
				}
				if hits() != st.fetches {
					t.Fatalf("at +%v: %d fetches, want %d", st.at, hits(), st.fetches)
				}
			}
			if c.status != 0 {
				// Once the URL works and the failure expired, it verifies.
				s.mu.Lock()
				delete(s.status, c.path)
				s.mu.Unlock()
				if _, err := v.Verify(snsRequest(body, snsNow.Add(4*time.Minute))); !errors.Is(err, c.err) {
					t.Fatalf("still remembered: got %v, want %v", err, c.err)
				}
				res, err := v.Verify(snsRequest(body, snsNow.Add(5*time.Minute)))
				snsCheck(t, res, err, body, 0)
			}
		})
	}
	// Bounded: the oldest failure is forgotten first.
	s := newSNSServer(t)
	v := newTestSNS(t, Config{HTTPClient: s.client}, roots)
	base := snsFixture(t, "notification-v2.json")
	url := func(i int) string { return fmt.Sprintf("SimpleNotificationService-f%d.pem", i) }
	// One request a second: the fetch rate (certFetchRate) lets each fetch
	// start, and every failure stays within certFailTTL.
	at := func(i int) time.Time { return snsNow.Add(time.Duration(i) * time.Second) }
	for i := 0; i <= certFailCacheSize; i++ {
		if _, err := v.Verify(snsRequest(snsEdit(t, base, "SimpleNotificationService-sns.pem", url(i)), at(i))); !errors.Is(err, ErrSignature) {
			t.Fatalf("%d: %v", i, err)
		}
	}
	if _, n := v.chains.Len(); n != certFailCacheSize {
		t.Errorf("%d failures remembered, want %d", n, certFailCacheSize)
	}
	for k, i := range []int{1, certFailCacheSize, 0} { // 0 last: fetching it again evicts 1
		v.Verify(snsRequest(snsEdit(t, base, "SimpleNotificationService-sns.pem", url(i)), at(certFailCacheSize+1+k)))
	}
	want := map[int]int{0: 2, 1: 1, certFailCacheSize: 1} // 0 was evicted; 1 and the last are remembered
	for i, n := range want {
		if got := s.count("sns.us-east-1.amazonaws.com/" + url(i)); got != n {
			t.Errorf("%s fetched %d times, want %d", url(i), got, n)
		}
	}
}

// Concurrent requests for one SigningCertURL share one fetch; a request
// that goes away while waiting neither stops it nor fails the others.
func TestSNSSingleFlight(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			s := newSNSServer(t)
			s.serveFixtures(t)
			const path = "/SimpleNotificationService-sns.pem"
			if status != http.StatusOK {
				s.fail(path, status)
			}
			release := s.holdPath(t, path)
			v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
			body := snsFixture(t, "notification-v2.json")

			// The first request starts the fetch and goes away.
			ctx, cancel := context.WithCancel(context.Background())
			first := make(chan error, 1)
			go func() {
				r := snsRequest(body, snsNow)
				r.Context = ctx
				_, err := v.Verify(r)
				first <- err
			}()
			s.waitHits(t, "sns.us-east-1.amazonaws.com"+path, 1)
			cancel()
			if err := <-first; !errors.Is(err, ErrUnavailable) {
				t.Fatalf("cancelled request: got %v, want ErrUnavailable", err)
			}
			// Others wait for the same fetch (each would otherwise be held
			// at the server, one fetch each).
			const n = 8
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				go func() {
					_, err := v.Verify(snsRequest(body, snsNow))
					errs <- err
				}()
			}
			time.Sleep(100 * time.Millisecond)
			release()
			for i := 0; i < n; i++ {
				err := <-errs
				if status == http.StatusOK && err != nil {
					t.Errorf("waiter: %v", err)
				}
				if status != http.StatusOK && !errors.Is(err, ErrUnavailable) {
					t.Errorf("waiter: got %v, want ErrUnavailable", err)
				}
			}
			if got := s.count("sns.us-east-1.amazonaws.com" + path); got != 1 {
				t.Errorf("%d fetches, want 1", got)
			}
			if n := v.chains.InFlight(); n != 0 {
				t.Errorf("%d flights left", n)
			}
		})
	}
}

// At most 4 certificate fetches run at once; a request that finds no free
// slot in time is ErrUnavailable, and that is not remembered.
func TestSNSFetchSlots(t *testing.T) {
	s := newSNSServer(t)
	v := newTestSNS(t, Config{HTTPClient: s.client}, snsPool(t, string(snsFixture(t, "ca.pem"))))
	if l := newTestSNS(t, Config{}, nil).chains.Limits(); l.MaxConcurrent != 4 || l.SlotWait != 2*time.Second {
		t.Fatalf("slots %d, wait %v; want 4 and 2s", l.MaxConcurrent, l.SlotWait)
	}
	l := certLimits
	l.SlotWait = 50 * time.Millisecond
	v.chains = fetch.NewCache[*certChain](l)
	base := snsFixture(t, "notification-v2.json")
	body := func(i int) []byte {
		return snsEdit(t, base, "SimpleNotificationService-sns.pem", fmt.Sprintf("SimpleNotificationService-slot%d.pem", i))
	}
	var releases []func()
	for i := 0; i <= 4; i++ {
		p := fmt.Sprintf("/SimpleNotificationService-slot%d.pem", i)
		s.serve(p, snsFixture(t, "sns.pem"))
		if i < 4 {
			releases = append(releases, s.holdPath(t, p))
		}
	}
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := v.Verify(snsRequest(body(i), snsNow))
			errs <- err
		}()
		s.waitHits(t, fmt.Sprintf("sns.us-east-1.amazonaws.com/SimpleNotificationService-slot%d.pem", i), 1)
	}
	start := time.Now()
	if _, err := v.Verify(snsRequest(body(4), snsNow)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("fifth fetch: got %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < l.SlotWait {
		t.Errorf("gave up after %v, before the %v wait", d, l.SlotWait)
	}
	if n := s.count("sns.us-east-1.amazonaws.com/SimpleNotificationService-slot4.pem"); n != 0 {
		t.Errorf("fifth url fetched %d times while 4 fetches ran", n)
	}
	for _, r := range releases {
		r()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Errorf("held fetch: %v", err)
		}
	}
	res, err := v.Verify(snsRequest(body(4), snsNow))
	snsCheck(t, res, err, body(4), 0)
}

// TestSNSFetchRate: a flood of forged messages with distinct well-formed
// certificate URLs starts at most certFetchBurst fetches, then certFetchRate
// a second; the others are refused with ErrUnavailable (503, SNS retries)
// without a fetch. Found by the flood test: each forged URL cost one
// outbound request before.
func TestSNSFetchRate(t *testing.T) {
	s := newSNSServer(t)
	v := newTestSNS(t, Config{HTTPClient: s.client, TopicARNs: []string{snsPHPVectors[0]["TopicArn"]}}, nil)
	forge := func(i int) []byte {
		m := map[string]string{}
		for k, val := range snsPHPVectors[0] {
			m[k] = val
		}
		m["SigningCertURL"] = fmt.Sprintf("https://sns.us-east-2.amazonaws.com/SimpleNotificationService-rate%d.pem", i)
		return snsBody(t, m)
	}
	unavailable := 0
	for i := 0; i < 3*certFetchBurst; i++ {
		_, err := v.Verify(snsRequest(forge(i), snsNow))
		switch {
		case errors.Is(err, ErrUnavailable):
			unavailable++
		case !errors.Is(err, ErrSignature):
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if n := s.total(); n != certFetchBurst || unavailable != 2*certFetchBurst {
		t.Errorf("%d fetches and %d refused as unavailable, want %d and %d", n, unavailable, certFetchBurst, 2*certFetchBurst)
	}
	if _, err := v.Verify(snsRequest(forge(1000), snsNow.Add(time.Second))); !errors.Is(err, ErrSignature) {
		t.Errorf("a second later: %v, want a fetch and a signature mismatch", err)
	}
	if n := s.total(); n != certFetchBurst+1 {
		t.Errorf("%d fetches after a second, want %d", n, certFetchBurst+1)
	}
}

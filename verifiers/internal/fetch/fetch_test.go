package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func server(t *testing.T) (*httptest.Server, *atomic.Int32, chan struct{}) {
	t.Helper()
	var hits atomic.Int32
	hold := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); fmt.Fprint(w, "body") })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); fmt.Fprint(w, strings.Repeat("x", 101)) })
	mux.HandleFunc("/exact", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); fmt.Fprint(w, strings.Repeat("x", 100)) })
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); http.NotFound(w, r) })
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); http.Error(w, "no", 500) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-hold:
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "held")
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, &hits, hold
}

func TestClientGet(t *testing.T) {
	s, hits, _ := server(t)
	c := NewClient(s.Client(), Limits{MaxSize: 100, Timeout: 200 * time.Millisecond})
	for _, tc := range []struct {
		path string
		want error
	}{
		{"/ok", nil}, {"/exact", nil},
		{"/big", ErrUnavailable}, {"/missing", ErrNotFound}, {"/error", ErrUnavailable},
		{"/redirect", ErrUnavailable}, {"/hold", ErrUnavailable}, // timeout
	} {
		b, err := c.Get(context.Background(), s.URL+tc.path, nil)
		if tc.want == nil && (err != nil || len(b) == 0) || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %q, %v; want %v", tc.path, b, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), s.URL) {
			t.Errorf("%s: error quotes the url: %v", tc.path, err)
		}
	}
	if n := hits.Load(); n != 7 {
		t.Errorf("%d hits, want 7 (the redirect not followed)", n)
	}
	if NewClient(nil, Limits{}).HTTPClient().Timeout != DefaultTimeout {
		t.Error("default timeout")
	}
	own := &http.Client{}
	if NewClient(own, Limits{}); own.CheckRedirect != nil {
		t.Error("the caller's client was modified")
	}
}

func TestCacheSharesLoadsAndRemembers(t *testing.T) {
	s, hits, hold := server(t)
	cl := NewClient(s.Client(), Limits{})
	c := NewCache[string](Limits{FailTTL: time.Minute})
	now := time.Unix(1700000000, 0)
	load := func(path string) func(ctx context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			b, err := cl.Get(ctx, s.URL+path, nil)
			return string(b), err
		}
	}
	// 20 concurrent requests for one URL: one fetch, all get the value,
	// even the one whose own context ends first does not cancel it.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 21)
	wg.Add(1)
	go func() { defer wg.Done(); _, err := c.Get(ctx, "/hold", now, load("/hold")); errs <- err }()
	for c.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Get(context.Background(), "/hold", now, load("/hold"))
			if err == nil && v != "held" {
				err = fmt.Errorf("value %q", v)
			}
			errs <- err
		}()
	}
	cancel()
	time.Sleep(20 * time.Millisecond)
	close(hold)
	wg.Wait()
	close(errs)
	cancelled := 0
	for err := range errs {
		if errors.Is(err, ErrUnavailable) {
			cancelled++
		} else if err != nil {
			t.Error(err)
		}
	}
	if cancelled != 1 || hits.Load() != 1 {
		t.Errorf("%d cancelled (want 1), %d fetches (want 1)", cancelled, hits.Load())
	}
	// Cached: no new fetch.
	if v, err := c.Get(context.Background(), "/hold", now, load("/hold")); v != "held" || err != nil || hits.Load() != 1 {
		t.Errorf("cached: %q %v, %d fetches", v, err, hits.Load())
	}
	// A failure is remembered for FailTTL, then tried again.
	for i, at := range []time.Time{now, now.Add(59 * time.Second), now.Add(time.Minute)} {
		if _, err := c.Get(context.Background(), "/missing", at, load("/missing")); !errors.Is(err, ErrNotFound) {
			t.Errorf("%d: %v", i, err)
		}
	}
	if n := hits.Load(); n != 3 {
		t.Errorf("%d fetches, want 3", n)
	}
}

func TestCacheBounds(t *testing.T) {
	c := NewCache[int](Limits{MaxEntries: 3, MaxFailures: 2})
	now := time.Unix(1700000000, 0)
	for i := 0; i < 10; i++ {
		c.Get(context.Background(), fmt.Sprint("v", i), now, func(context.Context) (int, error) { return i, nil })
		c.Get(context.Background(), fmt.Sprint("f", i), now, func(context.Context) (int, error) { return 0, ErrNotFound })
	}
	if v, f := c.Len(); v != 3 || f != 2 {
		t.Errorf("%d values, %d failures kept; want 3 and 2", v, f)
	}
	if v, err := c.Get(context.Background(), "v9", now, nil); v != 9 || err != nil {
		t.Errorf("newest value dropped: %v %v", v, err)
	}
}

func TestCacheSlotsAndRate(t *testing.T) {
	now := time.Unix(1700000000, 0)
	c := NewCache[int](Limits{MaxConcurrent: 1, SlotWait: 30 * time.Millisecond})
	release := make(chan struct{})
	go c.Get(context.Background(), "slow", now, func(context.Context) (int, error) { <-release; return 1, nil })
	for c.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	if _, err := c.Get(context.Background(), "other", now, func(context.Context) (int, error) { return 2, nil }); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no free slot: %v", err)
	}
	close(release)
	// Finding no slot is not remembered as a failure.
	for c.InFlight() != 0 {
		time.Sleep(time.Millisecond)
	}
	if v, err := c.Get(context.Background(), "other", now, func(context.Context) (int, error) { return 2, nil }); v != 2 || err != nil {
		t.Errorf("after the slot freed: %v %v", v, err)
	}

	r := NewCache[int](Limits{Rate: 1, Burst: 2})
	ok := func(context.Context) (int, error) { return 1, nil }
	for i, want := range []error{nil, nil, ErrUnavailable} {
		if _, err := r.Get(context.Background(), fmt.Sprint(i), now, ok); want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("load %d: %v, want %v", i, err, want)
		}
	}
	if _, err := r.Get(context.Background(), "later", now.Add(time.Second), ok); err != nil {
		t.Errorf("a second later: %v", err)
	}
	if _, err := r.Get(context.Background(), "0", now, ok); err != nil {
		t.Errorf("cached values cost no token: %v", err)
	}
}

func TestStatusError(t *testing.T) {
	s, _, _ := server(t)
	_, err := NewClient(s.Client(), Limits{}).Get(context.Background(), s.URL+"/error", nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 500 || errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

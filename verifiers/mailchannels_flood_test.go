package verifiers

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"
)

// MailChannels key fetching under a flood of forged keyids: a cold start,
// a known key surviving the flood, and refresh failures. The key server
// fake is in mailchannels_fetch_test.go.

// mcEvent is one request of a simulated timeline: a forged one (fixture 1
// with a made-up keyid, so it passes the digest and timestamp checks and
// reaches the key lookup) or the real delivery (fixture 1, keyid mckey).
type mcEvent struct {
	at     time.Duration
	forged bool
}

// mcEvery returns n events (forged or not) from start, one per step.
func mcEvery(forged bool, start, step time.Duration, n int) []mcEvent {
	ev := make([]mcEvent, n)
	for i := range ev {
		ev[i] = mcEvent{at: start + time.Duration(i)*step, forged: forged}
	}
	return ev
}

// mcRun plays events (in time order; at equal times forged first) on v
// from t0. It returns the offsets at which the real delivery verified and
// at which it was refused, and fails on any other outcome.
func mcRun(t *testing.T, v Verifier, t0 time.Time, events ...[]mcEvent) (ok, refused []time.Duration) {
	t.Helper()
	var all []mcEvent
	for _, e := range events {
		all = append(all, e...)
	}
	sort.SliceStable(all, func(i, j int) bool {
		return all[i].at < all[j].at || all[i].at == all[j].at && all[i].forged && !all[j].forged
	})
	for i, e := range all {
		now := t0.Add(e.at)
		if e.forged {
			// A fresh made-up keyid each time: never in a cache.
			_, err := v.Verify(mcFetchRequest(fmt.Sprintf("forged-%d", i), now))
			if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrUnavailable) {
				t.Fatalf("forged request at +%v: %v", e.at, err)
			}
			continue
		}
		res, err := v.Verify(mcFetchRequest("mckey", now))
		switch {
		case err == nil && res.Timestamp.Unix() == mcCreated1:
			ok = append(ok, e.at)
		case errors.Is(err, ErrUnavailable):
			refused = append(refused, e.at)
		default:
			t.Fatalf("delivery at +%v: %+v, %v", e.at, res, err)
		}
	}
	return ok, refused
}

// A cold start (no key fetched yet) under a steady stream of forged
// requests with made-up keyids. The stream of the security review (5 at
// once, then one every 6 s, each just before a real delivery) used to keep
// the real keyid out for good; the real delivery now gets through, and
// once its key is in, the stream no longer matters. A stream that keeps
// the bucket empty (one request per token, timed just before each
// delivery) still keeps it out: the documented remaining exposure, bounded
// in outbound lookups.
func TestMailChannelsColdStartFlood(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	sec := time.Second
	cases := []struct {
		name      string
		forged    [][]mcEvent
		real      []mcEvent
		firstOK   time.Duration // -1: never
		maxLookup int32
	}{
		{
			name:    "review: a burst of 5, then one forged request every 6 s",
			forged:  [][]mcEvent{mcEvery(true, 0, 0, 5), mcEvery(true, 0, 6*sec, 10)},
			real:    mcEvery(false, sec, 6*sec, 10),
			firstOK: sec, maxLookup: 5 + 10 + 1,
		},
		{
			name:    "bucket drained, then one forged request every 1.5 s",
			forged:  [][]mcEvent{mcEvery(true, 0, 0, mcFetchBurst), mcEvery(true, sec/10, 3*sec/2, 40)},
			real:    mcEvery(false, sec/2, 10*sec, 6),
			firstOK: 10*sec + sec/2, maxLookup: mcFetchBurst + 40 + 1,
		},
		{
			name:    "exposure: bucket kept empty, one forged request per token",
			forged:  [][]mcEvent{mcEvery(true, 0, 0, mcFetchBurst), mcEvery(true, mcFetchInterval, mcFetchInterval, 60)},
			real:    mcEvery(false, mcFetchInterval, 5*mcFetchInterval, 12),
			firstOK: -1, maxLookup: mcFetchBurst + 60,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newMCKeyServer(t)
			v, _ := New("mailchannels", Config{HTTPClient: ks.client, Tolerance: -1})
			ok, refused := mcRun(t, v, t0, append(tc.forged, tc.real)...)
			if tc.firstOK < 0 {
				if len(ok) != 0 || len(refused) != len(tc.real) {
					t.Fatalf("verified at %v, refused at %v; want every delivery refused", ok, refused)
				}
			} else {
				// The first delivery at or after firstOK verifies, and every
				// later one too.
				if len(ok) == 0 || ok[0] != tc.firstOK || len(ok)+len(refused) != len(tc.real) {
					t.Fatalf("verified at %v, refused at %v; want verified from +%v on", ok, refused, tc.firstOK)
				}
				for _, r := range refused {
					if r > tc.firstOK {
						t.Fatalf("refused at +%v after the key was in", r)
					}
				}
			}
			if n := ks.hits.Load(); n > tc.maxLookup {
				t.Fatalf("%d outbound lookups; want at most %d", n, tc.maxLookup)
			}
		})
	}
}

// Once a key is in, forged traffic cannot take it away: a config reload
// (a new verifier) shares it, and when it expires it is refreshed without
// waiting for the budget that the forged requests keep empty.
func TestMailChannelsKeySurvivesFlood(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	drain := mcEvery(true, 0, 0, 3*mcFetchBurst) // empties the bucket, then is refused
	cases := []struct {
		name   string
		first  func(v Verifier) error // gets mckey into the cache
		later  time.Duration          // when the delivery comes, under a fresh flood
		reload bool                   // the delivery goes to a new verifier
		hits   int32                  // lookups of mckey in all
	}{
		{name: "reload, key verified before", first: mcDeliver(t0), reload: true, hits: 1},
		{name: "reload, key only fetched by a forged request", first: mcForgeMCKey(t0), reload: true, hits: 1},
		{name: "key expired, refreshed past the empty bucket", first: mcDeliver(t0), later: mcKeyTTL + time.Hour, hits: 2},
		{name: "key expired, fetched only by a forged request, refreshed too", first: mcForgeMCKey(t0), later: mcKeyTTL + time.Hour, hits: 2},
		{name: "reload and expiry", first: mcDeliver(t0), later: 3 * mcKeyTTL, reload: true, hits: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newMCKeyServer(t)
			cfg := Config{HTTPClient: ks.client, Tolerance: -1}
			v, _ := New("mailchannels", cfg)
			if err := tc.first(v); err != nil {
				t.Fatal(err)
			}
			if tc.reload {
				v2, _ := New("mailchannels", cfg)
				if v2.(*mailchannelsVerifier).fetch != v.(*mailchannelsVerifier).fetch {
					t.Fatal("a new verifier does not share the fetcher")
				}
				v = v2
			}
			at := t0.Add(tc.later)
			mcRun(t, v, at, drain)
			if _, err := v.Verify(mcFetchRequest("random-now", at)); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("bucket not empty: %v", err)
			}
			ok, refused := mcRun(t, v, at, mcEvery(false, 0, time.Second, 3))
			if len(ok) != 3 {
				t.Fatalf("verified at %v, refused at %v", ok, refused)
			}
			ks.mu.Lock()
			defer ks.mu.Unlock()
			n := int32(0)
			for _, id := range ks.ids {
				if id == "mckey" {
					n++
				}
			}
			if n != tc.hits {
				t.Fatalf("%d lookups of mckey; want %d", n, tc.hits)
			}
		})
	}
}

func mcDeliver(at time.Time) func(Verifier) error {
	return func(v Verifier) error {
		_, err := v.Verify(mcFetchRequest("mckey", at))
		return err
	}
}

// mcForgeMCKey sends a forged request with the real keyid: the key is
// fetched, the signature fails, nothing is trusted.
func mcForgeMCKey(at time.Time) func(Verifier) error {
	return func(v Verifier) error {
		r := mcFetchRequest("mckey", at)
		r.Header.Set("Signature", "sig_1=:"+base64.StdEncoding.EncodeToString(make([]byte, 64))+":")
		if _, err := v.Verify(r); !errors.Is(err, ErrSignature) {
			return fmt.Errorf("forged request with the real keyid: %v", err)
		}
		if k := v.(*mailchannelsVerifier).fetch.keys["mckey"]; k == nil || k.trusted {
			return fmt.Errorf("key entry %+v; want cached, untrusted", k)
		}
		return nil
	}
}

// When a key's refresh fails: a key that has verified a signature stays in
// use for mcStaleTTL (MailChannels unreachable); one that never did is not
// used; a keyid MailChannels no longer knows is dropped at once.
func TestMailChannelsRefreshFailure(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	cases := []struct {
		name   string
		first  func(v Verifier) error
		status int32         // the endpoint's answer from then on
		later  time.Duration // when the next delivery comes
		want   error         // nil: verified
		cached bool          // mckey still cached afterwards
		hits   int32         // lookups in all
	}{
		{name: "trusted, endpoint down: stale key used", first: mcDeliver(t0), status: 503, later: mcKeyTTL + time.Hour, cached: true, hits: 2},
		{name: "trusted, endpoint down: stale key used to the end of the grace", first: mcDeliver(t0), status: 503, later: mcKeyTTL + mcStaleTTL - mcFailureTTL, cached: true, hits: 2},
		{name: "trusted, endpoint down: not past the grace", first: mcDeliver(t0), status: 503, later: mcKeyTTL + mcStaleTTL, want: ErrUnavailable, cached: true, hits: 2},
		{name: "untrusted, endpoint down: not used", first: mcForgeMCKey(t0), status: 503, later: mcKeyTTL + time.Hour, want: ErrUnavailable, cached: true, hits: 2},
		{name: "trusted, keyid withdrawn: dropped", first: mcDeliver(t0), status: 404, later: mcKeyTTL + time.Hour, want: ErrSignature, hits: 2},
		{name: "fresh key: no lookup at all", first: mcDeliver(t0), status: 503, later: mcKeyTTL - mcFailureTTL, cached: true, hits: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newMCKeyServer(t)
			v, _ := New("mailchannels", Config{HTTPClient: ks.client, Tolerance: -1})
			if err := tc.first(v); err != nil {
				t.Fatal(err)
			}
			ks.status.Store(tc.status)
			at := t0.Add(tc.later)
			res, err := v.Verify(mcFetchRequest("mckey", at))
			if tc.want == nil && (err != nil || res.Timestamp.Unix() != mcCreated1) || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %+v, %v; want %v", res, err, tc.want)
			}
			// A second delivery within mcFailureTTL gets the same answer
			// without a new lookup.
			res2, err2 := v.Verify(mcFetchRequest("mckey", at.Add(mcFailureTTL-time.Second)))
			if (err == nil) != (err2 == nil) || err2 != nil && !errors.Is(err2, tc.want) {
				t.Fatalf("second delivery: %+v, %v; want as the first (%v)", res2, err2, err)
			}
			_, cached := v.(*mailchannelsVerifier).fetch.keys["mckey"]
			if n := ks.hits.Load(); n != tc.hits || cached != tc.cached {
				t.Fatalf("%d lookups, cached %v; want %d, %v", n, cached, tc.hits, tc.cached)
			}
		})
	}

	t.Run("a refreshed key that changed is no longer trusted", func(t *testing.T) {
		f := newMCKeyFetcher(nil, "")
		k1, k2 := ed25519.PublicKey(mcB64(mcK1Raw)), ed25519.PublicKey(mcB64(mcK2Raw))
		f.storeKey("mckey", k1, t0)
		f.trust("mckey", k2) // not the cached key: no effect
		if f.keys["mckey"].trusted {
			t.Fatal("trusted for another key")
		}
		f.trust("mckey", k1)
		f.storeKey("mckey", k1, t0.Add(mcKeyTTL))
		if !f.keys["mckey"].trusted {
			t.Fatal("same key refreshed: trust lost")
		}
		f.storeKey("mckey", k2, t0.Add(2*mcKeyTTL))
		if f.keys["mckey"].trusted {
			t.Fatal("changed key still trusted")
		}
	})
}

package queue

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// Real (wall clock) durations of the contract tests that wait for a lease
// or a retry to come due, so that a store whose server keeps its own clock
// (Redis) passes the same tests.
const (
	shortVis  = 300 * time.Millisecond
	waitShort = 450 * time.Millisecond
)

// runStoreContract checks the contract of Store, as documented in queue.go,
// on the stores open returns. open is called once per subtest and must
// return an empty store (no queues) that the test may use freely; it
// arranges its own cleanup (t.Cleanup), Close included.
func runStoreContract(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	for name, test := range map[string]func(t *testing.T, s Store){
		"append then claim then ack": func(t *testing.T, s Store) {
			e := sampleEntries()["full"]
			e.ID = "ignored"
			e.Created, e.NextAt = time.Time{}, time.Time{}
			before := time.Now()
			id, err := s.Append(ctx, "q", e, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if id == "" || id == "ignored" || e.ID != id {
				t.Fatalf("Append returned id %q and set e.ID %q", id, e.ID)
			}
			if e.Created.Before(before.Add(-time.Second)) || e.Created.After(time.Now().Add(time.Second)) || !e.NextAt.Equal(e.Created) {
				t.Fatalf("Append set Created %v and NextAt %v, want now", e.Created, e.NextAt)
			}
			got, err := s.Get(ctx, "q", id)
			if err != nil {
				t.Fatal(err)
			}
			if d := entryDiff(e, got); d != "" {
				t.Fatalf("Get after Append differs: %s", d)
			}
			leases := mustClaim(t, s, "q", 10, time.Minute)
			if len(leases) != 1 || leases[0].Token == "" {
				t.Fatalf("Claim: %d leases, want 1 with a token", len(leases))
			}
			l := leases[0]
			want := *e
			want.Attempts++
			if d := entryDiff(&want, l.Entry); d != "" {
				t.Fatalf("claimed entry differs (Attempts counted): %s", d)
			}
			if got, err := s.Get(ctx, "q", id); err != nil || got.Attempts != e.Attempts+1 {
				t.Fatalf("Get after Claim: %v (attempts %d), want the attempt stored", err, got.Attempts)
			}
			if again := mustClaim(t, s, "q", 10, time.Minute); len(again) != 0 {
				t.Fatalf("a leased entry was claimed again: %d", len(again))
			}
			if err := s.Ack(ctx, "q", l); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "q", id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Ack: %v, want ErrNotFound", err)
			}
			if err := s.Ack(ctx, "q", l); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("second Ack: %v, want ErrLeaseLost", err)
			}
			wantStats(t, s, "q", Stats{})
		},

		"claim hands out at most n, each once": func(t *testing.T, s Store) {
			ids := appendN(t, s, "q", 5)
			first := mustClaim(t, s, "q", 2, time.Minute)
			rest := mustClaim(t, s, "q", 10, time.Minute)
			if len(first) != 2 || len(rest) != 3 {
				t.Fatalf("claimed %d then %d, want 2 then 3", len(first), len(rest))
			}
			seen := map[string]bool{}
			for _, l := range append(first, rest...) {
				if seen[l.Entry.ID] {
					t.Fatalf("%s handed out twice", l.Entry.ID)
				}
				seen[l.Entry.ID] = true
			}
			for _, id := range ids {
				if !seen[id] {
					t.Fatalf("%s never claimed", id)
				}
			}
			if none := mustClaim(t, s, "q", 10, time.Minute); len(none) != 0 {
				t.Fatalf("claimed %d from an exhausted queue", len(none))
			}
			if l, err := s.Claim(ctx, "nope", 10, time.Minute, time.Now()); err != nil || l == nil || len(l) != 0 {
				t.Fatalf("Claim on an unknown queue: %v, %v; want an empty slice", l, err)
			}
		},

		"entry due later is not claimable before": func(t *testing.T, s Store) {
			at := time.Now().Add(shortVis)
			if _, err := s.Append(ctx, "q", &Entry{Body: []byte("x"), NextAt: at}, Limits{}); err != nil {
				t.Fatal(err)
			}
			if l := mustClaim(t, s, "q", 1, time.Minute); len(l) != 0 {
				t.Fatal("claimed before NextAt")
			}
			time.Sleep(time.Until(at) + 50*time.Millisecond)
			if l := mustClaim(t, s, "q", 1, time.Minute); len(l) != 1 {
				t.Fatal("not claimed once due")
			}
		},

		"retry is due at at and keeps the outcome": func(t *testing.T, s Store) {
			id := appendN(t, s, "q", 1)[0]
			l := mustClaim(t, s, "q", 1, time.Minute)[0]
			at := time.Now().Add(shortVis)
			o := Outcome{Status: 503, Error: "upstream answered 503"}
			if err := s.Retry(ctx, "q", l, at, o); err != nil {
				t.Fatal(err)
			}
			wantStats(t, s, "q", Stats{Pending: 1, Bytes: l.Entry.Size(), OldestPending: l.Entry.Created})
			if got := mustClaim(t, s, "q", 1, time.Minute); len(got) != 0 {
				t.Fatal("claimed before the retry time")
			}
			got, err := s.Get(ctx, "q", id)
			if err != nil {
				t.Fatal(err)
			}
			if got.LastStatus != 503 || got.LastError != o.Error || got.Attempts != 1 || got.NextAt.Sub(at).Abs() > time.Millisecond {
				t.Fatalf("after Retry: status %d error %q attempts %d next %v, want 503, %q, 1, %v", got.LastStatus, got.LastError, got.Attempts, got.NextAt, o.Error, at)
			}
			if err := s.Retry(ctx, "q", l, at, o); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Retry of a settled lease: %v, want ErrLeaseLost", err)
			}
			time.Sleep(time.Until(at) + 50*time.Millisecond)
			again := mustClaim(t, s, "q", 1, time.Minute)
			if len(again) != 1 || again[0].Entry.Attempts != 2 || again[0].Entry.LastStatus != 503 {
				t.Fatalf("reclaimed %d, want the entry at attempt 2 with its last status", len(again))
			}
		},

		"expired lease is claimed again and the old lease is lost": func(t *testing.T, s Store) {
			id := appendN(t, s, "q", 1)[0]
			old := mustClaim(t, s, "q", 1, shortVis)[0]
			if l := mustClaim(t, s, "q", 1, shortVis); len(l) != 0 {
				t.Fatal("claimed again before the visibility timeout")
			}
			time.Sleep(waitShort)
			again := mustClaim(t, s, "q", 1, time.Minute)
			if len(again) != 1 || again[0].Entry.ID != id || again[0].Entry.Attempts != 2 || again[0].Token == old.Token {
				t.Fatalf("after the timeout: %d leases, want %s at attempt 2 with a new token", len(again), id)
			}
			if err := s.Ack(ctx, "q", old); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Ack of the expired lease: %v, want ErrLeaseLost", err)
			}
			if err := s.Retry(ctx, "q", old, time.Now(), Outcome{}); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Retry of the expired lease: %v, want ErrLeaseLost", err)
			}
			if err := s.Dead(ctx, "q", old, Outcome{}); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Dead of the expired lease: %v, want ErrLeaseLost", err)
			}
			wantStats(t, s, "q", Stats{InFlight: 1, Bytes: (&Entry{Body: []byte("body 0")}).Size(), OldestPending: again[0].Entry.Created})
			if err := s.Ack(ctx, "q", again[0]); err != nil {
				t.Fatalf("Ack of the current lease: %v", err)
			}
		},

		"an expired lease may still settle until claimed again": func(t *testing.T, s Store) {
			appendN(t, s, "q", 1)
			l := mustClaim(t, s, "q", 1, shortVis)[0]
			time.Sleep(waitShort)
			if err := s.Ack(ctx, "q", l); err != nil {
				t.Fatalf("Ack of an expired lease nobody took over: %v", err)
			}
			if got := mustClaim(t, s, "q", 1, time.Minute); len(got) != 0 {
				t.Fatal("an acked entry was handed out again")
			}
		},

		"purged entry loses its lease": func(t *testing.T, s Store) {
			id := appendN(t, s, "q", 1)[0]
			l := mustClaim(t, s, "q", 1, time.Minute)[0]
			if n, err := s.Purge(ctx, "q", id, false); err != nil || n != 1 {
				t.Fatalf("Purge: %d, %v", n, err)
			}
			if err := s.Ack(ctx, "q", l); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Ack after Purge: %v, want ErrLeaseLost", err)
			}
			wantStats(t, s, "q", Stats{})
		},

		"dead letters, requeue and purge": func(t *testing.T, s Store) {
			ids := appendN(t, s, "q", 3)
			size := (&Entry{Body: []byte("body 0")}).Size()
			for _, l := range mustClaim(t, s, "q", 3, time.Minute) {
				if err := s.Dead(ctx, "q", l, Outcome{Status: 404, Error: "not found"}); err != nil {
					t.Fatal(err)
				}
				if err := s.Dead(ctx, "q", l, Outcome{}); !errors.Is(err, ErrLeaseLost) {
					t.Fatalf("second Dead: %v, want ErrLeaseLost", err)
				}
			}
			wantStats(t, s, "q", Stats{Dead: 3, Bytes: 3 * size})
			if l := mustClaim(t, s, "q", 10, time.Minute); len(l) != 0 {
				t.Fatal("a dead letter was claimed")
			}
			if l, err := s.List(ctx, "q", false, 10, false); err != nil || len(l) != 0 {
				t.Fatalf("List pending: %d, %v; want none", len(l), err)
			}
			dead, err := s.List(ctx, "q", true, 10, true)
			if err != nil || len(dead) != 3 {
				t.Fatalf("List dead: %d, %v", len(dead), err)
			}
			for i, e := range dead {
				if e.ID != ids[i] || e.LastStatus != 404 || e.LastError != "not found" || e.Attempts != 1 || string(e.Body) != fmt.Sprintf("body %d", i) {
					t.Fatalf("dead letter %d: %+v", i, e)
				}
			}
			if got, err := s.Get(ctx, "q", ids[0]); err != nil || got.LastStatus != 404 {
				t.Fatalf("Get of a dead letter: %v, %v", got, err)
			}

			if n, err := s.Requeue(ctx, "q", ids[0]); err != nil || n != 1 {
				t.Fatalf("Requeue one: %d, %v", n, err)
			}
			if _, err := s.Requeue(ctx, "q", ids[0]); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Requeue of an entry that is not dead: %v, want ErrNotFound", err)
			}
			wantStats(t, s, "q", Stats{Pending: 1, Dead: 2, Bytes: 3 * size, OldestPending: mustGet(t, s, "q", ids[0]).Created})
			l := mustClaim(t, s, "q", 10, time.Minute)
			if len(l) != 1 || l[0].Entry.ID != ids[0] || l[0].Entry.Attempts != 1 {
				t.Fatalf("after Requeue: %d claimed, want %s at attempt 1 (reset)", len(l), ids[0])
			}
			if err := s.Ack(ctx, "q", l[0]); err != nil {
				t.Fatal(err)
			}

			if n, err := s.Requeue(ctx, "q", ""); err != nil || n != 2 {
				t.Fatalf("Requeue all: %d, %v", n, err)
			}
			for _, l := range mustClaim(t, s, "q", 10, time.Minute) {
				if err := s.Dead(ctx, "q", l, Outcome{Status: 410}); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := s.Requeue(ctx, "q", "no-such-id"); !errors.Is(err, ErrNotFound) || n != 0 {
				t.Fatalf("Requeue of an unknown id: %d, %v", n, err)
			}
			if n, err := s.Purge(ctx, "q", ids[1], true); err != nil || n != 1 {
				t.Fatalf("Purge one dead letter: %d, %v", n, err)
			}
			if _, err := s.Purge(ctx, "q", ids[1], true); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Purge of a purged id: %v, want ErrNotFound", err)
			}
			pending := appendN(t, s, "q", 1)[0]
			if n, err := s.Purge(ctx, "q", "", true); err != nil || n != 1 {
				t.Fatalf("Purge all dead letters: %d, %v", n, err)
			}
			wantStats(t, s, "q", Stats{Pending: 1, Bytes: size, OldestPending: mustGet(t, s, "q", pending).Created})
		},

		"purge every entry of a queue": func(t *testing.T, s Store) {
			appendN(t, s, "q", 4)
			appendN(t, s, "other", 1)
			ls := mustClaim(t, s, "q", 2, time.Minute)
			if err := s.Dead(ctx, "q", ls[0], Outcome{Status: 400}); err != nil {
				t.Fatal(err)
			}
			if n, err := s.Purge(ctx, "q", "", false); err != nil || n != 4 {
				t.Fatalf("Purge all: %d, %v; want 4", n, err)
			}
			wantStats(t, s, "q", Stats{})
			if l := mustClaim(t, s, "q", 10, time.Minute); len(l) != 0 {
				t.Fatal("claimed from a purged queue")
			}
			if err := s.Ack(ctx, "q", ls[1]); !errors.Is(err, ErrLeaseLost) {
				t.Fatalf("Ack after Purge: %v, want ErrLeaseLost", err)
			}
			if st, err := s.Stats(ctx, "other"); err != nil || st.Pending != 1 {
				t.Fatalf("the other queue: %+v, %v", st, err)
			}
			if _, err := s.Purge(ctx, "q", "no-such-id", false); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Purge of an unknown id: %v, want ErrNotFound", err)
			}
			// A purged queue can be used again.
			appendN(t, s, "q", 1)
			if l := mustClaim(t, s, "q", 10, time.Minute); len(l) != 1 {
				t.Fatalf("claimed %d after re-append, want 1", len(l))
			}
		},

		"limits answer ErrFull and keep nothing": func(t *testing.T, s Store) {
			size := (&Entry{Body: []byte("body 0")}).Size()
			for _, c := range []struct {
				name string
				lim  Limits
			}{
				{"entries", Limits{MaxEntries: 2}},
				{"bytes", Limits{MaxBytes: 2*size + size/2}},
			} {
				q := "q-" + c.name
				appendN(t, s, q, 1)
				l := mustClaim(t, s, q, 1, time.Minute)[0]
				if err := s.Dead(ctx, q, l, Outcome{Status: 400}); err != nil { // dead letters count
					t.Fatal(err)
				}
				if _, err := s.Append(ctx, q, &Entry{Body: []byte("body 1")}, c.lim); err != nil {
					t.Fatalf("%s: second append within limits: %v", c.name, err)
				}
				_, err := s.Append(ctx, q, &Entry{Body: []byte("body 2")}, c.lim)
				if !errors.Is(err, ErrFull) || errors.Is(err, ErrUnavailable) {
					t.Fatalf("%s: append over the limit: %v, want ErrFull", c.name, err)
				}
				wantStats(t, s, q, Stats{Pending: 1, Dead: 1, Bytes: 2 * size, OldestPending: mustList(t, s, q, false)[0].Created})
				if _, err := s.Purge(ctx, q, "", true); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Append(ctx, q, &Entry{Body: []byte("body 3")}, c.lim); err != nil {
					t.Fatalf("%s: append after freeing room: %v", c.name, err)
				}
			}
			if _, err := s.Append(ctx, "big", &Entry{Body: make([]byte, 100)}, Limits{MaxBytes: 99}); !errors.Is(err, ErrFull) {
				t.Fatalf("an entry larger than MaxBytes: %v, want ErrFull", err)
			}
		},

		"stats count every state and the oldest pending": func(t *testing.T, s Store) {
			base := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
			sizes := int64(0)
			var ids []string
			for i := range 4 {
				e := &Entry{Method: "POST", URI: "/x", Header: map[string][]string{"A": {"b"}}, Body: make([]byte, 10*(i+1)),
					Vars: map[string]string{"id": fmt.Sprint(i)}, Created: base.Add(time.Duration(i) * time.Hour)}
				id, err := s.Append(ctx, "q", e, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
				sizes += e.Size()
			}
			wantStats(t, s, "q", Stats{Pending: 4, Bytes: sizes, OldestPending: base})
			var dead, inflight Lease
			for _, l := range mustClaim(t, s, "q", 4, time.Minute) {
				switch l.Entry.ID {
				case ids[0]:
					dead = l
				case ids[1]:
					inflight = l
				default:
					if err := s.Retry(ctx, "q", l, time.Now().Add(time.Hour), Outcome{Status: 500}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s.Dead(ctx, "q", dead, Outcome{Status: 400}); err != nil {
				t.Fatal(err)
			}
			// The oldest is dead now: the oldest pending or in flight is the second.
			wantStats(t, s, "q", Stats{Pending: 2, InFlight: 1, Dead: 1, Bytes: sizes, OldestPending: base.Add(time.Hour)})
			if err := s.Ack(ctx, "q", inflight); err != nil {
				t.Fatal(err)
			}
			wantStats(t, s, "q", Stats{Pending: 2, Dead: 1, Bytes: sizes - inflight.Entry.Size(), OldestPending: base.Add(2 * time.Hour)})
			if _, err := s.Purge(ctx, "q", "", false); err != nil {
				t.Fatal(err)
			}
			wantStats(t, s, "q", Stats{})
			wantStats(t, s, "never-used", Stats{})
		},

		"list is oldest first, bodies on request": func(t *testing.T, s Store) {
			ids := appendN(t, s, "q", 5)
			all := mustList(t, s, "q", false)
			if got := entryIDs(all); !slices.Equal(got, ids) {
				t.Fatalf("List order %v, want %v", got, ids)
			}
			for _, e := range all {
				if e.Body != nil {
					t.Fatalf("List without bodies returned a body for %s", e.ID)
				}
			}
			two, err := s.List(ctx, "q", false, 2, true)
			if err != nil || len(two) != 2 || two[0].ID != ids[0] || string(two[1].Body) != "body 1" {
				t.Fatalf("List limit 2 with bodies: %v, %v", two, err)
			}
			// In-flight entries are listed with the pending ones.
			mustClaim(t, s, "q", 2, time.Minute)
			if got := entryIDs(mustList(t, s, "q", false)); !slices.Equal(got, ids) {
				t.Fatalf("List with entries in flight %v, want %v", got, ids)
			}
			if l, err := s.List(ctx, "unknown", false, 10, false); err != nil || len(l) != 0 {
				t.Fatalf("List of an unknown queue: %v, %v", l, err)
			}
		},

		"get of an unknown id": func(t *testing.T, s Store) {
			appendN(t, s, "q", 1)
			for _, c := range [][2]string{{"q", "0000000000000000ffffffffffffffff"}, {"q", ""}, {"unknown", "x"}} {
				if _, err := s.Get(ctx, c[0], c[1]); !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get(%q, %q): %v, want ErrNotFound", c[0], c[1], err)
				}
			}
		},

		"queues lists those holding entries, and keeps them apart": func(t *testing.T, s Store) {
			if q, err := s.Queues(ctx); err != nil || len(q) != 0 {
				t.Fatalf("Queues of an empty store: %v, %v", q, err)
			}
			appendN(t, s, "a", 1)
			idB := appendN(t, s, "b", 1)[0]
			appendN(t, s, "c", 1)
			l := mustClaim(t, s, "b", 10, time.Minute)
			if len(l) != 1 || l[0].Entry.ID != idB {
				t.Fatalf("claimed from b: %d, want only b's entry", len(l))
			}
			if err := s.Dead(ctx, "b", l[0], Outcome{Status: 400}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "a", idB); !errors.Is(err, ErrNotFound) {
				t.Fatalf("b's entry found in a: %v", err)
			}
			if _, err := s.Purge(ctx, "c", "", false); err != nil {
				t.Fatal(err)
			}
			q, err := s.Queues(ctx)
			slices.Sort(q)
			if err != nil || !slices.Equal(q, []string{"a", "b"}) {
				t.Fatalf("Queues: %v, %v; want [a b] (b holds a dead letter, c is empty)", q, err)
			}
		},

		"canceled context": func(t *testing.T, s Store) {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := s.Append(cctx, "q", &Entry{}, Limits{}); err == nil {
				t.Fatal("Append with a canceled context succeeded")
			}
			if st, err := s.Stats(ctx, "q"); err != nil || st.Pending != 0 {
				t.Fatalf("a canceled Append kept something: %+v, %v", st, err)
			}
		},

		"concurrent appends and claims lose nothing": func(t *testing.T, s Store) {
			const appenders, perAppender, claimers = 8, 40, 4
			var mu sync.Mutex
			appended := map[string]bool{}
			delivered := map[string]int{}
			done := make(chan struct{})
			var wg, cw sync.WaitGroup
			for a := range appenders {
				wg.Go(func() {
					for i := range perAppender {
						id, err := s.Append(ctx, "q", &Entry{Body: fmt.Appendf(nil, "%d-%d", a, i)}, Limits{})
						if err != nil {
							t.Errorf("Append: %v", err)
							return
						}
						mu.Lock()
						appended[id] = true
						mu.Unlock()
					}
				})
			}
			for range claimers {
				cw.Go(func() {
					for {
						ls, err := s.Claim(ctx, "q", 5, 10*time.Second, time.Now())
						if err != nil {
							t.Errorf("Claim: %v", err)
							return
						}
						for _, l := range ls {
							mu.Lock()
							delivered[l.Entry.ID]++
							mu.Unlock()
							if err := s.Ack(ctx, "q", l); err != nil {
								t.Errorf("Ack: %v", err)
							}
						}
						if len(ls) == 0 {
							select {
							case <-done:
								return
							case <-time.After(5 * time.Millisecond):
							}
						}
					}
				})
			}
			wg.Wait()
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(delivered)
				mu.Unlock()
				if n >= appenders*perAppender || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			close(done)
			cw.Wait()
			if len(appended) != appenders*perAppender {
				t.Fatalf("%d distinct ids appended, want %d", len(appended), appenders*perAppender)
			}
			for id := range appended {
				if delivered[id] == 0 {
					t.Errorf("%s appended and never delivered", id)
				}
			}
			for id := range delivered {
				if !appended[id] {
					t.Errorf("%s delivered and never appended", id)
				}
			}
			wantStats(t, s, "q", Stats{})
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open(t))
		})
	}
}

// appendN appends n small entries ("body 0", "body 1", ...) one after the
// other and returns their ids.
func appendN(t *testing.T, s Store, name string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id, err := s.Append(context.Background(), name, &Entry{Body: fmt.Appendf(nil, "body %d", i)}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func mustClaim(t *testing.T, s Store, name string, n int, vis time.Duration) []Lease {
	t.Helper()
	l, err := s.Claim(context.Background(), name, n, vis, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustGet(t *testing.T, s Store, name, id string) *Entry {
	t.Helper()
	e, err := s.Get(context.Background(), name, id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustList(t *testing.T, s Store, name string, dead bool) []*Entry {
	t.Helper()
	l, err := s.List(context.Background(), name, dead, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func entryIDs(es []*Entry) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

func wantStats(t *testing.T, s Store, name string, want Stats) {
	t.Helper()
	got, err := s.Stats(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pending != want.Pending || got.InFlight != want.InFlight || got.Dead != want.Dead || got.Bytes != want.Bytes ||
		!got.OldestPending.Equal(want.OldestPending) || got.OldestPending.IsZero() != want.OldestPending.IsZero() {
		t.Fatalf("Stats(%q) = %+v, want %+v", name, got, want)
	}
}

func TestBoltContract(t *testing.T) {
	runStoreContract(t, func(t *testing.T) Store {
		return openTestBolt(t, filepath.Join(t.TempDir(), "queue.db"), BoltOptions{})
	})
}

package queue

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTestBolt(t *testing.T, path string, opts BoltOptions) *Bolt {
	t.Helper()
	s, err := OpenBolt(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBoltInUseInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "q.db") // the directory is created
	openTestBolt(t, path, BoltOptions{})
	start := time.Now()
	_, err := OpenBolt(path, BoltOptions{LockTimeout: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "is in use by another process") || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second open: %v, want the in-use error wrapping ErrUnavailable", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 5*time.Second { // bolt retries the lock every 50ms
		t.Fatalf("second open gave up after %v, want about the 100ms lock timeout", d)
	}
}

func TestBoltReopenKeepsEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := context.Background()
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := sampleEntries()["full"]
	e.Created, e.NextAt = time.Time{}, time.Time{}
	id, err := s.Append(ctx, "q", e, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "q", &Entry{}, Limits{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Append after Close: %v, want ErrUnavailable", err)
	}
	s = openTestBolt(t, path, BoltOptions{})
	got, err := s.Get(ctx, "q", id)
	if err != nil {
		t.Fatal(err)
	}
	if d := entryDiff(e, got); d != "" {
		t.Fatalf("reopened entry differs: %s", d)
	}
	st, err := s.Stats(ctx, "q")
	if err != nil || st.Pending != 1 || st.Bytes != e.Size() || !st.OldestPending.Equal(e.Created) {
		t.Fatalf("stats after reopen: %+v, %v (created %v)", st, err, e.Created)
	}
}

// TestBoltCorruptMovedAside damages stored values in the ways a broken disk
// or a bug could, and checks that Claim skips them without blocking the
// queue, reports them, moves them to the corrupt bucket and keeps the
// counters right.
func TestBoltCorruptMovedAside(t *testing.T) {
	cases := map[string]func(v []byte) []byte{
		"entry truncated":   func(v []byte) []byte { return v[:len(v)-3] },
		"entry bad version": func(v []byte) []byte { v = append([]byte(nil), v...); v[recordHeader] = 9; return v },
		"header truncated":  func(v []byte) []byte { return v[:5] },
		"header bad state":  func(v []byte) []byte { v = append([]byte(nil), v...); v[0] = 0x7f; return v },
		// The entry decodes, but names another id than its key: claimed,
		// it would be settled under that id and leave a ghost behind.
		"entry of another id": func(v []byte) []byte {
			v = append([]byte(nil), v...)
			v[recordHeader+2] ^= 1 // the first hex digit of the encoded id
			return v
		},
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			reported := map[string]error{}
			s := openTestBolt(t, filepath.Join(t.TempDir(), "q.db"), BoltOptions{OnCorrupt: func(q, id string, err error) {
				mu.Lock()
				defer mu.Unlock()
				if q != "q" {
					t.Errorf("OnCorrupt queue %q", q)
				}
				reported[id] = err
			}})
			base := time.Now().Add(-time.Minute)
			var ids []string
			for i := range 3 {
				id, err := s.Append(ctx, "q", &Entry{Method: "POST", Body: []byte("body"), Created: base.Add(time.Duration(i) * time.Second)}, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			// The first entry (the one Claim meets first) is damaged.
			if err := s.db.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(bktQueues).Bucket([]byte("q")).Bucket(bktEntries)
				return b.Put([]byte(ids[0]), damage(b.Get([]byte(ids[0]))))
			}); err != nil {
				t.Fatal(err)
			}
			leases, err := s.Claim(ctx, "q", 3, time.Minute, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(leases) != 2 || leases[0].Entry.ID != ids[1] || leases[1].Entry.ID != ids[2] {
				t.Fatalf("claimed %d leases, want the two intact entries", len(leases))
			}
			mu.Lock()
			if err := reported[ids[0]]; len(reported) != 1 || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("reported %v, want %s with ErrCorrupt", reported, ids[0])
			}
			mu.Unlock()
			if _, err := s.Get(ctx, "q", ids[0]); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get of the corrupt entry: %v, want ErrNotFound (moved aside)", err)
			}
			if err := s.db.View(func(tx *bolt.Tx) error {
				if tx.Bucket(bktQueues).Bucket([]byte("q")).Bucket(bktCorrupt).Get([]byte(ids[0])) == nil {
					t.Error("corrupt entry not in the corrupt bucket")
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			st, err := s.Stats(ctx, "q")
			if err != nil {
				t.Fatal(err)
			}
			want := (&Entry{Method: "POST", Body: []byte("body")}).Size()
			if st.Pending != 0 || st.InFlight != 2 || st.Dead != 0 || st.Bytes != 2*want {
				t.Fatalf("stats %+v, want 2 in flight of %d bytes each", st, want)
			}
		})
	}
}

// TestBoltCorruptInListAndGet checks the read paths move corrupt entries
// aside too, dead letters included.
func TestBoltCorruptInListAndGet(t *testing.T) {
	ctx := context.Background()
	var n int
	var mu sync.Mutex
	s := openTestBolt(t, filepath.Join(t.TempDir(), "q.db"), BoltOptions{OnCorrupt: func(string, string, error) {
		mu.Lock()
		n++
		mu.Unlock()
	}})
	a, _ := s.Append(ctx, "q", &Entry{Body: []byte("a")}, Limits{})
	b, _ := s.Append(ctx, "q", &Entry{Body: []byte("b")}, Limits{})
	leases, err := s.Claim(ctx, "q", 1, time.Minute, time.Now())
	if err != nil || len(leases) != 1 {
		t.Fatal(leases, err)
	}
	if err := s.Dead(ctx, "q", leases[0], Outcome{Status: 400}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bktQueues).Bucket([]byte("q"))
		if err := q.Bucket(bktDead).Put([]byte(a), []byte("garbage")); err != nil {
			return err
		}
		return q.Bucket(bktEntries).Put([]byte(b), []byte("more garbage, long enough for a header!"))
	}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.List(ctx, "q", true, 10, false); err != nil || len(l) != 0 {
		t.Fatalf("List dead: %v, %v", l, err)
	}
	if _, err := s.Get(ctx, "q", b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a corrupt entry: %v, want ErrCorrupt", err)
	}
	if _, err := s.Get(ctx, "q", b); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after it was moved aside: %v, want ErrNotFound", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 2 {
		t.Fatalf("OnCorrupt called %d times, want 2", n)
	}
	st, err := s.Stats(ctx, "q")
	if err != nil || st != (Stats{}) {
		t.Fatalf("stats %+v %v, want empty (the header of one record was lost, so the counters were rebuilt)", st, err)
	}
}

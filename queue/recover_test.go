package queue

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestBoltOpenReleasesLeases: a bolt file has one process (the file lock),
// so every lease found at open was handed out by a process that died (kill
// -9, power cut) in the middle of an attempt. Such entries are due at once
// after the restart, not after the rest of their visibility timeout; the
// attempt that was started still counts.
func TestBoltOpenReleasesLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := context.Background()
	s, err := OpenBolt(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for range 3 {
		id, err := s.Append(ctx, "q", &Entry{Method: "POST", URI: "/a", Body: []byte("x")}, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	// An entry of another queue, also in flight, and a pending one that is
	// not due yet (it must stay where it is).
	if _, err := s.Append(ctx, "other", &Entry{Method: "POST", URI: "/b"}, Limits{}); err != nil {
		t.Fatal(err)
	}
	later, err := s.Append(ctx, "q", &Entry{Method: "POST", URI: "/later", NextAt: time.Now().Add(time.Hour)}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if ls, err := s.Claim(ctx, "q", 10, time.Hour, time.Now()); err != nil || len(ls) != 3 {
		t.Fatalf("claim: %d leases, %v", len(ls), err)
	}
	if ls, err := s.Claim(ctx, "other", 10, time.Hour, time.Now()); err != nil || len(ls) != 1 {
		t.Fatalf("claim other: %d leases, %v", len(ls), err)
	}
	// The process dies here: nothing is settled. (Close only releases the
	// lock; the leases are on disk as after kill -9.)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestBolt(t, path, BoltOptions{})
	statesAre(t, s, "q", 4, 0)
	now := time.Now()
	ls, err := s.Claim(ctx, "q", 10, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 3 {
		t.Fatalf("right after reopening, %d entries claimable, want the 3 left in flight by the dead process", len(ls))
	}
	for _, l := range ls {
		if !ids[l.Entry.ID] {
			t.Errorf("claimed %s, not one of the entries in flight (the later one is %s)", l.Entry.ID, later)
		}
		if l.Entry.Attempts != 2 {
			t.Errorf("entry %s: attempt %d, want 2 (the interrupted attempt counts)", l.Entry.ID, l.Entry.Attempts)
		}
	}
	if ls, err := s.Claim(ctx, "other", 10, time.Hour, now); err != nil || len(ls) != 1 {
		t.Fatalf("other queue after reopening: %d leases, %v, want 1", len(ls), err)
	}
	statesAre(t, s, "q", 1, 3)
}

func statesAre(t *testing.T, s Store, name string, pending, inFlight int64) {
	t.Helper()
	st, err := s.Stats(context.Background(), name)
	if err != nil || st.Pending != pending || st.InFlight != inFlight {
		t.Fatalf("Stats(%q) = %+v, %v; want %d pending, %d in flight", name, st, err, pending, inFlight)
	}
}

package replay

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

// faultyStorage is a real FileStorage whose methods can be made to fail.
type faultyStorage struct {
	*certmagic.FileStorage
	mu         sync.Mutex
	fail       map[string]error // method name -> error to return
	blockLock  bool             // Lock waits for its context to end
	beforeLock func(name string)
}

var errInjected = errors.New("injected storage failure")

func newFaulty(t testing.TB) *faultyStorage {
	return &faultyStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}, fail: map[string]error{}}
}

func (f *faultyStorage) set(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, op)
	} else {
		f.fail[op] = err
	}
}

func (f *faultyStorage) err(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail[op]
}

func (f *faultyStorage) Lock(ctx context.Context, name string) error {
	f.mu.Lock()
	hook, block := f.beforeLock, f.blockLock
	f.beforeLock = nil
	f.mu.Unlock()
	if hook != nil {
		hook(name)
	}
	if err := f.err("Lock"); err != nil {
		return err
	}
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.FileStorage.Lock(ctx, name)
}

func (f *faultyStorage) Unlock(ctx context.Context, name string) error {
	if err := f.FileStorage.Unlock(ctx, name); err != nil {
		return err
	}
	return f.err("Unlock") // released, but reports a failure
}

func (f *faultyStorage) Load(ctx context.Context, key string) ([]byte, error) {
	if err := f.err("Load"); err != nil {
		return nil, err
	}
	return f.FileStorage.Load(ctx, key)
}

func (f *faultyStorage) Store(ctx context.Context, key string, value []byte) error {
	if err := f.err("Store"); err != nil {
		return err
	}
	return f.FileStorage.Store(ctx, key, value)
}

func (f *faultyStorage) Delete(ctx context.Context, key string) error {
	if err := f.err("Delete"); err != nil {
		return err
	}
	return f.FileStorage.Delete(ctx, key)
}

func (f *faultyStorage) List(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	if err := f.err("List"); err != nil {
		return nil, err
	}
	return f.FileStorage.List(ctx, prefix, recursive)
}

func newStorageOn(t testing.TB, s certmagic.Storage, clock *fakeClock, opts StorageOptions) *Storage {
	if clock != nil {
		opts.Clock = clock.Now
	}
	if opts.PurgeInterval == 0 {
		opts.PurgeInterval = -1
	}
	st := NewStorage(s, "test/replay", opts)
	t.Cleanup(func() { st.Destruct() })
	return st
}

func wantUnavailable(t testing.TB, what string, err error, cause error) {
	t.Helper()
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("%s: error %v does not wrap ErrUnavailable", what, err)
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Fatalf("%s: error %v does not wrap %v", what, err, cause)
	}
}

// TestStorageTwoInstances: two Caddy instances sharing one storage forward
// a delivery once between them.
func TestStorageTwoInstances(t *testing.T) {
	dir := t.TempDir()
	a := newStorageOn(t, &certmagic.FileStorage{Path: dir}, nil, StorageOptions{})
	b := newStorageOn(t, &certmagic.FileStorage{Path: dir}, nil, StorageOptions{})
	key := Key("p", []byte("delivery"))

	var news atomic.Int32
	var winner atomic.Pointer[Storage]
	var tok atomic.Uint64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 8 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			st, tk, err := s.Reserve(ctx, key, inflight)
			if err != nil {
				t.Error(err)
				return
			}
			if st == New {
				news.Add(1)
				winner.Store(s)
				tok.Store(uint64(tk))
			} else if st != InFlight {
				t.Errorf("Reserve = %v, want New or InFlight", st)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := news.Load(); n != 1 {
		t.Fatalf("%d instances got New, want exactly 1", n)
	}
	other := a
	if winner.Load() == a {
		other = b
	}
	reserve(t, other, key, inflight, InFlight)
	commit(t, winner.Load(), key, Token(tok.Load()), ttl)
	reserve(t, other, key, inflight, Accepted)

	// A release on one instance frees the key for the other.
	k2 := Key("p", []byte("second"))
	t2 := reserve(t, a, k2, inflight, New)
	reserve(t, b, k2, inflight, InFlight)
	release(t, a, k2, t2)
	reserve(t, b, k2, inflight, New)
}

// TestStorageFailsClosed: every storage failure in every step surfaces as
// ErrUnavailable (the handler answers 503).
func TestStorageFailsClosed(t *testing.T) {
	type step func(s *Storage, key string, tok Token) error
	doReserve := func(s *Storage, key string, _ Token) error {
		st, tk, err := s.Reserve(ctx, key, inflight)
		if err != nil && (st != 0 || tk != 0) {
			return errors.New("Reserve returned a state with its error")
		}
		return err
	}
	doCommit := func(s *Storage, key string, tok Token) error { return s.Commit(ctx, key, tok, ttl) }
	doRelease := func(s *Storage, key string, tok Token) error { return s.Release(ctx, key, tok) }
	doPurge := func(s *Storage, _ string, _ Token) error { _, err := s.Purge(ctx); return err }

	for _, tc := range []struct {
		name  string
		op    string // failing method
		step  step
		setup func(t *testing.T, s *Storage, key string, clock *fakeClock) Token
	}{
		{"reserve/load", "Load", doReserve, nil},
		{"reserve/lock", "Lock", doReserve, nil},
		{"reserve/store", "Store", doReserve, nil},
		{"commit/lock", "Lock", doCommit, reserved},
		{"commit/load", "Load", doCommit, reserved},
		{"commit/store", "Store", doCommit, reserved},
		{"release/load", "Load", doRelease, reserved},
		{"release/lock", "Lock", doRelease, reserved},
		{"release/delete", "Delete", doRelease, reserved},
		{"purge/list", "List", doPurge, reserved},
		{"purge/load", "Load", doPurge, expired},
		{"purge/lock", "Lock", doPurge, expired},
		{"purge/delete", "Delete", doPurge, expired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fst := newFaulty(t)
			clock := newFakeClock()
			s := newStorageOn(t, fst, clock, StorageOptions{})
			key := Key("p", []byte(tc.name))
			var tok Token
			if tc.setup != nil {
				tok = tc.setup(t, s, key, clock)
			}
			fst.set(tc.op, errInjected)
			wantUnavailable(t, tc.name, tc.step(s, key, tok), errInjected)
		})
	}
}

func reserved(t *testing.T, s *Storage, key string, _ *fakeClock) Token {
	return reserve(t, s, key, inflight, New)
}

func expired(t *testing.T, s *Storage, key string, clock *fakeClock) Token {
	tok := reserve(t, s, key, inflight, New)
	clock.Advance(inflight)
	return tok
}

// TestStorageFailureAftermath documents what a failed step leaves behind
// once the storage works again.
func TestStorageFailureAftermath(t *testing.T) {
	t.Run("reserve store fails: nothing written", func(t *testing.T) {
		fst := newFaulty(t)
		s := newStorageOn(t, fst, newFakeClock(), StorageOptions{})
		fst.set("Store", errInjected)
		_, _, err := s.Reserve(ctx, "k", inflight)
		wantUnavailable(t, "Reserve", err, errInjected)
		fst.set("Store", nil)
		reserve(t, s, "k", inflight, New)
	})
	t.Run("commit fails: in flight until inflightTTL", func(t *testing.T) {
		fst := newFaulty(t)
		clock := newFakeClock()
		s := newStorageOn(t, fst, clock, StorageOptions{})
		tok := reserve(t, s, "k", inflight, New)
		fst.set("Store", errInjected)
		wantUnavailable(t, "Commit", s.Commit(ctx, "k", tok, ttl), errInjected)
		fst.set("Store", nil)
		reserve(t, s, "k", inflight, InFlight)
		clock.Advance(inflight)
		reserve(t, s, "k", inflight, New)
	})
	t.Run("release fails: in flight until inflightTTL", func(t *testing.T) {
		fst := newFaulty(t)
		clock := newFakeClock()
		s := newStorageOn(t, fst, clock, StorageOptions{})
		tok := reserve(t, s, "k", inflight, New)
		fst.set("Delete", errInjected)
		wantUnavailable(t, "Release", s.Release(ctx, "k", tok), errInjected)
		fst.set("Delete", nil)
		reserve(t, s, "k", inflight, InFlight)
		clock.Advance(inflight)
		reserve(t, s, "k", inflight, New)
	})
	t.Run("unlock fails: reported, the step stands", func(t *testing.T) {
		fst := newFaulty(t)
		var reported []error
		var mu sync.Mutex
		s := newStorageOn(t, fst, newFakeClock(), StorageOptions{OnError: func(err error) {
			mu.Lock()
			reported = append(reported, err)
			mu.Unlock()
		}})
		fst.set("Unlock", errInjected)
		tok := reserve(t, s, "k", inflight, New)
		commit(t, s, "k", tok, ttl)
		fst.set("Unlock", nil)
		reserve(t, s, "k", inflight, Accepted)
		mu.Lock()
		defer mu.Unlock()
		if len(reported) != 2 || !errors.Is(reported[0], errInjected) {
			t.Fatalf("OnError got %v, want the two unlock failures", reported)
		}
	})
}

func TestStorageLockTimeout(t *testing.T) {
	fst := newFaulty(t)
	fst.blockLock = true // a lock held elsewhere and never released
	s := newStorageOn(t, fst, nil, StorageOptions{Timeout: 50 * time.Millisecond})
	start := time.Now()
	_, _, err := s.Reserve(ctx, "k", inflight)
	wantUnavailable(t, "Reserve", err, context.DeadlineExceeded)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Reserve took %v with a 50ms timeout", d)
	}
	wantUnavailable(t, "Commit", s.Commit(ctx, "k", 1, ttl), context.DeadlineExceeded)

	// The caller's own cancellation (the client went away) ends a step too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = s.Reserve(cctx, "k", inflight)
	wantUnavailable(t, "Reserve with a cancelled context", err, context.Canceled)
}

// TestStorageLocalLockWaitHonoursContext: a step waiting for another step on
// the same key in the same process gives up with its context.
func TestStorageLocalLockWaitHonoursContext(t *testing.T) {
	fst := newFaulty(t)
	s := newStorageOn(t, fst, nil, StorageOptions{Timeout: time.Minute})
	unlock, err := s.lock(ctx, hashedKey("k"))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, _, err = s.Reserve(cctx, "k", inflight)
	wantUnavailable(t, "Reserve", err, context.DeadlineExceeded)
	unlock()
	reserve(t, s, "k", inflight, New)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.locks) != 0 {
		t.Fatalf("%d in-process locks left", len(s.locks))
	}
}

func TestStorageCorruptEntry(t *testing.T) {
	fsys := &certmagic.FileStorage{Path: t.TempDir()}
	clock := newFakeClock()
	s := newStorageOn(t, fsys, clock, StorageOptions{})
	key := Key("p", []byte("id"))
	for _, junk := range []string{"not json", `{"state":"bogus","expires":"2030-01-01T00:00:00Z"}`, `{"state":"accepted"}`} {
		if err := fsys.Store(ctx, s.entryKey(key), []byte(junk)); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.Reserve(ctx, key, inflight)
		wantUnavailable(t, "Reserve on "+junk, err, errCorrupt)
		wantUnavailable(t, "Commit on "+junk, s.Commit(ctx, key, 1, ttl), errCorrupt)
		if n, err := s.Purge(ctx); n != 1 || err != nil {
			t.Fatalf("Purge = %d, %v; want the corrupt entry deleted", n, err)
		}
		reserve(t, s, key, inflight, New)
		clock.Advance(inflight)
	}
}

func TestStoragePurge(t *testing.T) {
	dir := t.TempDir()
	fsys := &certmagic.FileStorage{Path: dir}
	clock := newFakeClock()
	s := newStorageOn(t, fsys, clock, StorageOptions{})

	if n, err := s.Purge(ctx); n != 0 || err != nil {
		t.Fatalf("Purge of an empty storage = %d, %v", n, err)
	}
	// Files that are not entries are left alone.
	for _, k := range []string{"test/replay/README", "test/replay/zz/notes", "test/replay/ab/short", "other/x"} {
		if err := fsys.Store(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	var short, long []string
	for i := range 20 {
		k := Key("p", []byte{byte(i)})
		tok := reserve(t, s, k, inflight, New)
		if i%4 == 0 {
			commit(t, s, k, tok, ttl)
			long = append(long, k)
		} else {
			short = append(short, k)
		}
	}
	clock.Advance(inflight)
	n, err := s.Purge(ctx)
	if err != nil || n != len(short) {
		t.Fatalf("Purge = %d, %v; want %d", n, err, len(short))
	}
	for _, k := range short {
		if _, err := os.Stat(fsys.Filename(s.entryKey(hashedKey(k)))); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("expired entry still on disk: %v", err)
		}
		reserve(t, s, k, inflight, New)
	}
	for _, k := range long {
		reserve(t, s, k, inflight, Accepted)
	}
	for _, k := range []string{"test/replay/README", "test/replay/zz/notes", "test/replay/ab/short", "other/x"} {
		if !fsys.Exists(ctx, k) {
			t.Fatalf("Purge deleted %s", k)
		}
	}
}

// TestStoragePurgeRechecksUnderLock: an entry that another instance renews
// between the purger's first look and its lock is not deleted.
func TestStoragePurgeRechecksUnderLock(t *testing.T) {
	fsys := newFaulty(t)
	clock := newFakeClock()
	purger := newStorageOn(t, fsys, clock, StorageOptions{})
	other := newStorageOn(t, &certmagic.FileStorage{Path: fsys.Path}, clock, StorageOptions{})
	key := Key("p", []byte("id"))
	reserve(t, other, key, inflight, New)
	clock.Advance(inflight)
	fsys.beforeLock = func(string) { reserve(t, other, key, inflight, New) }
	if n, err := purger.Purge(ctx); n != 0 || err != nil {
		t.Fatalf("Purge = %d, %v; want the renewed entry kept", n, err)
	}
	reserve(t, purger, key, inflight, InFlight)
}

func TestStoragePurgerGoroutine(t *testing.T) {
	fsys := newFaulty(t)
	clock := newFakeClock()
	errs := make(chan error, 100)
	s := NewStorage(fsys, "test/replay", StorageOptions{
		Clock:         clock.Now,
		PurgeInterval: 5 * time.Millisecond,
		OnError:       func(err error) { errs <- err },
	})
	defer s.Destruct()
	key := Key("p", []byte("id"))
	reserve(t, s, key, inflight, New)
	clock.Advance(inflight)
	file := fsys.Filename(s.entryKey(key))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("purger did not delete the expired entry")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fsys.set("List", errInjected)
	select {
	case err := <-errs:
		wantUnavailable(t, "purger", err, errInjected)
	case <-time.After(10 * time.Second):
		t.Fatal("purger did not report its failure")
	}
	if err := s.Destruct(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	default:
		t.Fatal("purger still running after Destruct")
	}
	if err := s.Destruct(); err != nil {
		t.Fatal("second Destruct:", err)
	}
}

func TestStorageLayout(t *testing.T) {
	for _, tc := range []struct{ prefix, dir string }{
		{"test/replay", "test/replay"},
		{"/a/b/", "a/b"},
		{"", DefaultStoragePrefix},
	} {
		root := t.TempDir()
		clock := newFakeClock()
		s := NewStorage(&certmagic.FileStorage{Path: root}, tc.prefix, StorageOptions{Clock: clock.Now, PurgeInterval: -1})
		material := "evt_material_in_clear"
		key := Key("stripe|route", []byte(material))
		tok := reserve(t, s, key, inflight, New)
		commit(t, s, key, tok, ttl)
		s.Destruct()

		file := filepath.Join(root, filepath.FromSlash(tc.dir), key[:2], key)
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("prefix %q: %v", tc.prefix, err)
		}
		var e map[string]any
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatal(err)
		}
		wantExp := clock.Now().Add(ttl).UTC().Format(time.RFC3339Nano)
		if e["state"] != "accepted" || e["expires"] != wantExp || len(e) != 3 {
			t.Fatalf("entry = %s; want accepted until %s", b, wantExp)
		}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.Contains(p, material) {
				t.Errorf("material in a file name: %s", p)
			}
			if !d.IsDir() {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), material) {
					t.Errorf("material in %s", p)
				}
			}
			return nil
		})
	}
}

// lossyStorage reports every read as "not found", as caddy-storage-redis
// v1.8.1 does when its GET fails (loadStorageData returns fs.ErrNotExist
// for nil data), while writes and locks still work.
type lossyStorage struct{ *certmagic.FileStorage }

func (l lossyStorage) Load(context.Context, string) ([]byte, error) { return nil, fs.ErrNotExist }

func TestStorageReadsLostFailClosed(t *testing.T) {
	s := NewStorage(lossyStorage{&certmagic.FileStorage{Path: t.TempDir()}}, "replay", StorageOptions{PurgeInterval: -1})
	defer s.Destruct()
	key := Key("ns", []byte("id:evt_1"))
	for i := 0; i < 2; i++ {
		st, tok, err := s.Reserve(context.Background(), key, time.Minute)
		if !errors.Is(err, ErrUnavailable) || st != 0 || tok != 0 {
			t.Fatalf("copy %d: Reserve = %v, %v, %v; want ErrUnavailable (a storage that loses reads must not let every copy through)", i+1, st, tok, err)
		}
	}
}

func TestStorageBindReadsLostFailClosed(t *testing.T) {
	s := NewStorage(lossyStorage{&certmagic.FileStorage{Path: t.TempDir()}}, "replay", StorageOptions{PurgeInterval: -1})
	defer s.Destruct()
	key := Key("ns", []byte("id:evt_1"))
	for i := 0; i < 2; i++ {
		match, err := s.Bind(context.Background(), key, body(string(rune('a'+i))), time.Minute)
		if !errors.Is(err, ErrUnavailable) || match {
			t.Fatalf("copy %d: Bind = %v, %v; want ErrUnavailable (a storage that loses reads must not bind every body)", i+1, match, err)
		}
	}
}

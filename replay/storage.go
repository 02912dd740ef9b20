package replay

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// DefaultStoragePrefix is the storage folder of a Storage store when
// NewStorage is given an empty prefix.
const DefaultStoragePrefix = "webhook_verify/replay"

// DefaultPurgeInterval is how often a Storage store deletes expired entries
// when StorageOptions.PurgeInterval is 0.
const DefaultPurgeInterval = 10 * time.Minute

// DefaultStorageTimeout bounds one step of a Storage store (waiting for the
// lock included) when StorageOptions.Timeout is 0.
const DefaultStorageTimeout = 5 * time.Second

// StorageOptions configures NewStorage. The zero value is usable.
type StorageOptions struct {
	// Clock returns the current time; nil means time.Now. Expiry times are
	// written as wall-clock times, so the instances of a cluster need
	// synchronised clocks (a skew shifts every TTL by as much).
	Clock func() time.Time

	// PurgeInterval is how often a background goroutine deletes expired
	// (and unreadable) entries. 0 means DefaultPurgeInterval; a negative
	// value starts no goroutine (call Purge yourself).
	PurgeInterval time.Duration

	// Timeout bounds each Reserve, Commit and Release, waiting for the lock
	// included, on top of the caller's context. 0 means
	// DefaultStorageTimeout.
	Timeout time.Duration

	// OnError, if set, receives errors that no caller sees: a failed
	// purge, a lock that could not be released. It is called from the
	// purger goroutine or after a step has finished.
	OnError func(error)
}

// Storage is a Store kept in a certmagic.Storage (Caddy's storage, shared by
// the instances of a cluster), so several Caddy instances that share their
// storage forward a delivery once between them.
//
// certmagic.Storage has a lock but no compare-and-set and no expiry, so every
// step that writes takes the storage lock of its key, loads the entry,
// decides, writes the entry as JSON with its expiry time, and unlocks.
// Expired entries count as absent and a background purger deletes them.
// Within one process, steps on one key also queue on an in-process lock
// first, so they do not poll the storage lock against each other.
//
// Layout: entries at <prefix>/<first two hex digits>/<64 hex digits>, lock
// names <prefix>/lock/<64 hex digits>. Keys are hashed (see Key), so no
// delivery id or signature is written in clear. A binding (Bind) is an
// entry of the same layout under another hash of its key.
//
// Failures fail closed: every error from the storage (lock, load, store,
// delete, list), a step that takes longer than Timeout, and an entry that
// cannot be decoded is returned wrapped in ErrUnavailable, which the handler
// turns into 503; the provider retries later. What a failure leaves behind:
//   - Reserve fails: nothing was written, or at worst an in-flight entry
//     nobody will commit, which blocks the key (409) until its inflightTTL.
//   - Commit fails after the upstream answered 2xx: the key stays in flight
//     until inflightTTL and is new again afterwards, so a later retry may
//     be forwarded a second time. Nothing better is possible once the
//     upstream has answered.
//   - Release fails: the key stays in flight (409 to retries) until
//     inflightTTL, then the provider's next retry goes through.
//   - An unreadable entry blocks its key (503) until the purger deletes it.
//   - Unlock fails (reported through OnError): the outcome of the step
//     stands; the storage's own stale-lock handling frees the lock.
//
// Storage has a Destruct method (caddy.Destructor) that stops the purger.
type Storage struct {
	storage certmagic.Storage
	prefix  string
	clock   func() time.Time
	timeout time.Duration
	onError func(error)

	mu    sync.Mutex
	locks map[string]*keyLock

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

var (
	_ Store  = (*Storage)(nil)
	_ Binder = (*Storage)(nil)
)

// keyLock is an in-process lock for one key that honours contexts.
type keyLock struct {
	ch   chan struct{}
	refs int
}

// storedEntry is the JSON written for one key.
type storedEntry struct {
	State   string    `json:"state"` // "in_flight", "accepted" or "bound"
	Expires time.Time `json:"expires"`
	Token   Token     `json:"token,string,omitempty"`
	Digest  string    `json:"digest,omitempty"` // bound: the hex digest
}

const (
	stateInFlight = "in_flight"
	stateAccepted = "accepted"
	stateBound    = "bound"
)

// NewStorage returns a Storage store over s with its entries under prefix
// (DefaultStoragePrefix if empty; leading and trailing slashes are removed).
// Give every replay cache that must not share entries its own prefix, and
// never put a secret in it. It starts the purger (see
// StorageOptions.PurgeInterval); call Destruct to stop it.
func NewStorage(s certmagic.Storage, prefix string, opts StorageOptions) *Storage {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		prefix = DefaultStoragePrefix
	}
	st := &Storage{
		storage: s,
		prefix:  prefix,
		clock:   opts.Clock,
		timeout: opts.Timeout,
		onError: opts.OnError,
		locks:   make(map[string]*keyLock),
	}
	if st.clock == nil {
		st.clock = time.Now
	}
	if st.timeout <= 0 {
		st.timeout = DefaultStorageTimeout
	}
	interval := opts.PurgeInterval
	if interval == 0 {
		interval = DefaultPurgeInterval
	}
	if interval > 0 {
		st.stop = make(chan struct{})
		st.done = make(chan struct{})
		go st.purger(interval)
	}
	return st
}

// Reserve implements Store. An entry that is already accepted or in flight
// is answered from one load, without taking the lock.
func (s *Storage) Reserve(ctx context.Context, key string, inflightTTL time.Duration) (State, Token, error) {
	if err := checkTTL(inflightTTL); err != nil {
		return 0, 0, err
	}
	hk := hashedKey(key)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	if e, ok, err := s.load(ctx, hk); err != nil {
		return 0, 0, err
	} else if ok && e.Expires.After(s.clock()) {
		return e.state(), 0, nil
	}

	unlock, err := s.lock(ctx, hk)
	if err != nil {
		return 0, 0, err
	}
	defer unlock()
	e, ok, err := s.load(ctx, hk)
	if err != nil {
		return 0, 0, err
	}
	now := s.clock()
	if ok && e.Expires.After(now) {
		return e.state(), 0, nil
	}
	tok := newToken()
	if err := s.store(ctx, hk, storedEntry{State: stateInFlight, Expires: now.Add(inflightTTL), Token: tok}); err != nil {
		return 0, 0, err
	}
	// Read the reservation back. A storage that reports a failed read as
	// "not found" (caddy-storage-redis v1.8.1 does) would otherwise make
	// every copy look new and turn replay protection off without a sound.
	if back, ok, err := s.load(ctx, hk); err != nil {
		return 0, 0, err
	} else if !ok || back.Token != tok {
		return 0, 0, fmt.Errorf("%w: storage did not return the reservation just written", ErrUnavailable)
	}
	return New, tok, nil
}

// Commit implements Store.
func (s *Storage) Commit(ctx context.Context, key string, tok Token, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	hk := hashedKey(key)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	unlock, err := s.lock(ctx, hk)
	if err != nil {
		return err
	}
	defer unlock()
	e, ok, err := s.load(ctx, hk)
	if err != nil {
		return err
	}
	now := s.clock()
	if ok && e.State == stateAccepted && e.Expires.After(now) {
		return nil
	}
	return s.store(ctx, hk, storedEntry{State: stateAccepted, Expires: now.Add(ttl), Token: tok})
}

// Release implements Store. When the key does not hold this reservation it
// returns after one load, without taking the lock.
func (s *Storage) Release(ctx context.Context, key string, tok Token) error {
	if tok == 0 {
		return nil
	}
	hk := hashedKey(key)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	held := func() (bool, error) {
		e, ok, err := s.load(ctx, hk)
		return ok && e.State == stateInFlight && e.Token == tok, err
	}
	if ok, err := held(); err != nil || !ok {
		return err
	}
	unlock, err := s.lock(ctx, hk)
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := held(); err != nil || !ok {
		return err
	}
	if err := s.storage.Delete(ctx, s.entryKey(hk)); err != nil {
		return fmt.Errorf("%w: delete: %w", ErrUnavailable, err)
	}
	return nil
}

// Bind implements Binder. The binding is an entry of its own (its key
// hashed apart from the reservation's), written under the key's lock and
// read back like a reservation; an unexpired binding is compared after one
// load, without the lock.
func (s *Storage) Bind(ctx context.Context, key string, digest []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	if err := checkDigest(digest); err != nil {
		return false, err
	}
	bd := bindDigest(key)
	hk := hex.EncodeToString(bd[:])
	want := hex.EncodeToString(digest)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	if e, ok, err := s.load(ctx, hk); err != nil {
		return false, err
	} else if ok && e.Expires.After(s.clock()) {
		return e.matches(want)
	}
	unlock, err := s.lock(ctx, hk)
	if err != nil {
		return false, err
	}
	defer unlock()
	e, ok, err := s.load(ctx, hk)
	if err != nil {
		return false, err
	}
	now := s.clock()
	if ok && e.Expires.After(now) {
		return e.matches(want)
	}
	if err := s.store(ctx, hk, storedEntry{State: stateBound, Expires: now.Add(ttl), Digest: want}); err != nil {
		return false, err
	}
	if back, ok, err := s.load(ctx, hk); err != nil {
		return false, err
	} else if !ok || back.State != stateBound || back.Digest != want {
		return false, fmt.Errorf("%w: storage did not return the binding just written", ErrUnavailable)
	}
	return true, nil
}

// matches compares a binding with the hex digest want.
func (e storedEntry) matches(want string) (bool, error) {
	if e.State != stateBound {
		return false, fmt.Errorf("%w: %w", ErrUnavailable, errCorrupt)
	}
	return subtle.ConstantTimeCompare([]byte(e.Digest), []byte(want)) == 1, nil
}

// Purge deletes the entries that have expired, and those that cannot be
// decoded, and returns how many it deleted. The purger goroutine calls it
// every PurgeInterval. Each deletion re-checks the entry under its lock, so
// a purge never deletes an entry another instance has just written. Purge
// goes on after a failure and returns the first one, wrapped in
// ErrUnavailable.
func (s *Storage) Purge(ctx context.Context) (int, error) {
	dirs, err := s.storage.List(ctx, s.prefix, false)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: list: %w", ErrUnavailable, err)
	}
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	removed := 0
	for _, dir := range dirs {
		if !s.isShardDir(dir) {
			continue
		}
		keys, err := s.storage.List(ctx, dir, false)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			fail(fmt.Errorf("%w: list: %w", ErrUnavailable, err))
			continue
		}
		for _, k := range keys {
			if ctx.Err() != nil {
				fail(fmt.Errorf("%w: purge: %w", ErrUnavailable, ctx.Err()))
				return removed, firstErr
			}
			hk := path.Base(k)
			if k != s.entryKey(hk) || !isHashedKey(hk) {
				continue
			}
			ok, err := s.purgeOne(ctx, hk)
			if err != nil {
				fail(err)
			}
			if ok {
				removed++
			}
		}
	}
	return removed, firstErr
}

// purgeOne deletes the entry hk if it is expired or unreadable, checking
// again under the lock.
func (s *Storage) purgeOne(ctx context.Context, hk string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	stale := func() (bool, error) {
		e, ok, err := s.load(ctx, hk)
		if errors.Is(err, errCorrupt) {
			return true, nil
		}
		return ok && !e.Expires.After(s.clock()), err
	}
	if ok, err := stale(); err != nil || !ok {
		return false, err
	}
	unlock, err := s.lock(ctx, hk)
	if err != nil {
		return false, err
	}
	defer unlock()
	if ok, err := stale(); err != nil || !ok {
		return false, err
	}
	if err := s.storage.Delete(ctx, s.entryKey(hk)); err != nil {
		return false, fmt.Errorf("%w: delete: %w", ErrUnavailable, err)
	}
	return true, nil
}

// Destruct stops the purger goroutine (cancelling a purge under way) and
// waits for it to return. It implements caddy.Destructor and may be called
// more than once. The store stays usable afterwards, but nothing purges it
// any more.
func (s *Storage) Destruct() error {
	s.stopOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
	})
	return nil
}

func (s *Storage) purger(interval time.Duration) {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if _, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
				s.report(fmt.Errorf("purging replay entries: %w", err))
			}
		}
	}
}

func (s *Storage) report(err error) {
	if s.onError != nil {
		s.onError(err)
	}
}

// load reads the entry hk; ok is false if there is none.
func (s *Storage) load(ctx context.Context, hk string) (e storedEntry, ok bool, err error) {
	b, err := s.storage.Load(ctx, s.entryKey(hk))
	if errors.Is(err, fs.ErrNotExist) {
		return e, false, nil
	}
	if err == nil {
		err = ctx.Err() // storages that ignore the context
	}
	if err != nil {
		return e, false, fmt.Errorf("%w: load: %w", ErrUnavailable, err)
	}
	if err := json.Unmarshal(b, &e); err != nil || (e.State != stateInFlight && e.State != stateAccepted && e.State != stateBound) ||
		e.Expires.IsZero() || (e.State == stateBound) != isHashedKey(e.Digest) {
		return e, false, fmt.Errorf("%w: %w", ErrUnavailable, errCorrupt)
	}
	return e, true, nil
}

func (s *Storage) store(ctx context.Context, hk string, e storedEntry) error {
	e.Expires = e.Expires.UTC().Round(0)
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("%w: encode: %w", ErrUnavailable, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: store: %w", ErrUnavailable, err)
	}
	if err := s.storage.Store(ctx, s.entryKey(hk), b); err != nil {
		return fmt.Errorf("%w: store: %w", ErrUnavailable, err)
	}
	return nil
}

// lock takes the in-process lock and then the storage lock of hk. The
// returned function releases both; an error from the storage's Unlock goes
// to OnError.
func (s *Storage) lock(ctx context.Context, hk string) (func(), error) {
	if err := s.lockLocal(ctx, hk); err != nil {
		return nil, fmt.Errorf("%w: lock: %w", ErrUnavailable, err)
	}
	name := s.prefix + "/lock/" + hk
	if err := s.storage.Lock(ctx, name); err != nil {
		s.unlockLocal(hk)
		return nil, fmt.Errorf("%w: lock: %w", ErrUnavailable, err)
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		if err := s.storage.Unlock(uctx, name); err != nil {
			s.report(fmt.Errorf("releasing replay lock: %w", err))
		}
		s.unlockLocal(hk)
	}, nil
}

func (s *Storage) lockLocal(ctx context.Context, hk string) error {
	s.mu.Lock()
	l := s.locks[hk]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		s.locks[hk] = l
	}
	l.refs++
	s.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		s.dropRef(hk, l)
		s.mu.Unlock()
		return ctx.Err()
	}
}

func (s *Storage) unlockLocal(hk string) {
	s.mu.Lock()
	l := s.locks[hk]
	<-l.ch
	s.dropRef(hk, l)
	s.mu.Unlock()
}

func (s *Storage) dropRef(hk string, l *keyLock) {
	if l.refs--; l.refs == 0 {
		delete(s.locks, hk)
	}
}

func (s *Storage) entryKey(hk string) string {
	return s.prefix + "/" + hk[:2] + "/" + hk
}

func (s *Storage) isShardDir(dir string) bool {
	rest, ok := strings.CutPrefix(dir, s.prefix+"/")
	return ok && len(rest) == 2 && isLowerHexString(rest)
}

func (e storedEntry) state() State {
	if e.State == stateAccepted {
		return Accepted
	}
	// A binding is never found under a reservation's key (bindDigest);
	// were it, blocking the key is the safe answer.
	return InFlight
}

func isHashedKey(s string) bool { return len(s) == 64 && isLowerHexString(s) }

func isLowerHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if unhexTable[s[i]] == 0xff {
			return false
		}
	}
	return true
}

package webhookverify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/queue"
)

// Queue store types.
const (
	// QueueStoreFile is the embedded database file (go.etcd.io/bbolt):
	// no server, one Caddy process per file.
	QueueStoreFile = "file"
	// QueueStoreRedis is Redis Streams, shared by several Caddy instances.
	QueueStoreRedis = "redis"
)

// QueueStoreConfig says where a webhook_queue keeps its entries.
type QueueStoreConfig struct {
	// `file` (default) or `redis`.
	Type string `json:"type,omitempty"`

	// The database file of the `file` store; default
	// `webhook_queue/queues.db` in Caddy's data directory. Queues of every
	// route may share one file (each has its name). Only one Caddy process
	// may open a file; a second one gets an error at provision.
	// Placeholders such as {env.X} are resolved.
	Path string `json:"path,omitempty"`

	// The servers and options of the `redis` store, as for webhook_verify's
	// replay redis (key_prefix default "webhook_queue:").
	Redis *RedisReplayConfig `json:"redis,omitempty"`
}

// queueStorePool holds the open stores, by identity (the file's absolute
// path, the Redis connection settings and prefix), shared by every queue
// and config that uses them.
var queueStorePool = caddy.NewUsagePool()

// pooledQueueStore is an open store in the pool.
type pooledQueueStore struct {
	queue.Store
	stopReport context.CancelFunc
	release    func() error // what the store holds besides itself (a Redis client)
}

// Destruct closes the store when no queue uses it any more.
func (p *pooledQueueStore) Destruct() error {
	p.stopReport()
	err := p.Store.Close()
	if p.release != nil {
		err = errors.Join(err, p.release())
	}
	return err
}

// openFileStore opens the file store. A corrupt entry is moved aside by
// the store and logged here (no entry data).
func openFileStore(path string) (queue.Store, error) {
	return queue.OpenBolt(path, queue.BoltOptions{OnCorrupt: logCorrupt})
}

// logCorrupt logs an entry a store could not decode and moved aside.
func logCorrupt(name, id string, err error) {
	caddy.Log().Named("http.handlers.webhook_queue").Error("webhook_queue: corrupt entry moved aside",
		zap.String("queue", name), zap.String("entry_id", id), zap.Error(err))
}

// openQueueStore opens (or shares) the store of cfg and returns it with its
// pool id; the caller releases it with queueStorePool.Delete(id).
func openQueueStore(ctx caddy.Context, cfg *QueueStoreConfig) (queue.Store, string, error) {
	typ := QueueStoreFile
	if cfg != nil && cfg.Type != "" {
		typ = cfg.Type
	}
	switch typ {
	case QueueStoreFile:
		path := ""
		if cfg != nil {
			path = caddy.NewReplacer().ReplaceAll(cfg.Path, "")
		}
		if path == "" {
			path = filepath.Join(caddy.AppDataDir(), "webhook_queue", "queues.db")
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, "", fmt.Errorf("store file: %v", err)
		}
		id := "file:" + abs
		v, _, err := queueStorePool.LoadOrNew(id, func() (caddy.Destructor, error) {
			if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
				return nil, fmt.Errorf("store file: %v", err)
			}
			st, err := openFileStore(abs)
			if err != nil {
				return nil, fmt.Errorf("store file %s: %w", abs, err)
			}
			return newPooledQueueStore(id, st, nil), nil
		})
		if err != nil {
			return nil, "", err
		}
		return v.(*pooledQueueStore).Store, id, nil
	case QueueStoreRedis:
		if cfg.Redis == nil {
			return nil, "", errors.New("store redis needs its servers")
		}
		return openRedisQueueStore(ctx, cfg.Redis)
	default:
		return nil, "", fmt.Errorf("store %q is not file or redis", typ)
	}
}

// acquireQueueStore takes one more reference to the open store id.
func acquireQueueStore(id string) (queue.Store, error) {
	v, _, err := queueStorePool.LoadOrNew(id, func() (caddy.Destructor, error) {
		return nil, errors.New("queue store not open")
	})
	if err != nil {
		return nil, err
	}
	return v.(*pooledQueueStore).Store, nil
}

// orphanReportDelay is how long after opening a store its queues are
// checked against the configured ones (the whole config is up by then),
// in nanoseconds; atomic, since a store's report goroutine reads it while
// a test may shorten it.
var orphanReportDelay atomic.Int64

func init() { orphanReportDelay.Store(int64(10 * time.Second)) }

func newPooledQueueStore(id string, st queue.Store, release func() error) *pooledQueueStore {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pooledQueueStore{Store: st, stopReport: cancel, release: release}
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(orphanReportDelay.Load())):
		}
		reportOrphanQueues(ctx, id, st)
	}()
	return p
}

// reportOrphanQueues logs the queues of a store that hold entries but are
// configured nowhere in this process (a renamed or removed route): their
// entries are kept, listed by `caddy webhook queue list` and counted in the
// metrics, never dropped.
func reportOrphanQueues(ctx context.Context, id string, st queue.Store) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	names, err := st.Queues(ctx)
	if err != nil {
		return
	}
	for _, n := range names {
		if !queueConfigured(id, n) {
			caddy.Log().Named("http.handlers.webhook_queue").Warn(
				"webhook_queue: a queue that is not configured holds entries; they are kept (configure its name again to deliver them, or purge them with 'caddy webhook queue purge')",
				zap.String("queue", n))
		}
	}
}

// openRedisQueueStore opens (or shares) the Redis store of rc. A Redis
// whose maxmemory-policy could evict entries is refused; an unreachable
// one is a warning (appends get 503 until it answers).
func openRedisQueueStore(ctx caddy.Context, rc *RedisReplayConfig) (queue.Store, string, error) {
	c, err := pooledRedisClient(rc, "store redis")
	if err != nil {
		return nil, "", err
	}
	prefix := rc.KeyPrefix
	if prefix == "" {
		prefix = queue.DefaultRedisPrefix
	}
	id := "redis:" + c.key + ":" + prefix
	v, loaded, err := queueStorePool.LoadOrNew(id, func() (caddy.Destructor, error) {
		cctx, cancel := context.WithTimeout(ctx, c.timeout+time.Second)
		defer cancel()
		switch err := queue.CheckEviction(cctx, c.client); {
		case errors.Is(err, queue.ErrEvicting):
			return nil, fmt.Errorf("store redis: %w (acknowledged entries could be dropped)", err)
		case err != nil:
			ctx.Logger().Warn("webhook_queue: could not check that redis never evicts entries (maxmemory-policy must be noeviction or volatile-*)",
				zap.Strings("addrs", c.addrs), zap.Error(err))
		}
		st, err := queue.NewRedis(c.client, queue.RedisOptions{Prefix: prefix, Timeout: c.timeout, OnCorrupt: logCorrupt})
		if err != nil {
			return nil, fmt.Errorf("store redis: %v", err)
		}
		key := c.key
		return newPooledQueueStore(id, st, func() error {
			_, err := redisPool.Delete(key)
			return err
		}), nil
	})
	if err != nil {
		_, _ = redisPool.Delete(c.key)
		return nil, "", err
	}
	if loaded {
		// The open store holds a client reference of its own.
		_, _ = redisPool.Delete(c.key)
	}
	return v.(*pooledQueueStore).Store, id, nil
}

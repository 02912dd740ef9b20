package webhookverify

import (
	"encoding/json"

	"github.com/caddyserver/caddy/v2"
)

// ReplayConfig configures replay protection. A verified delivery is
// forwarded once: a copy that arrives while the first is still being
// handled gets 409, and one that arrives after the upstream accepted it
// (2xx) gets 200 without being forwarded. A copy that arrives after the
// upstream failed is forwarded again.
type ReplayConfig struct {
	// Disables replay protection (Caddyfile: `replay off`).
	Disabled bool `json:"disabled,omitempty"`

	// How long an accepted delivery is remembered. Default: twice the
	// timestamp tolerance plus one minute for providers whose signature
	// covers a timestamp, 72h for the others.
	TTL caddy.Duration `json:"ttl,omitempty"`

	// The most entries the in-memory cache keeps; the oldest is evicted
	// first when it is full. Default 100000.
	MaxEntries int `json:"max_entries,omitempty"`

	// Separates the keys of this handler from those of other handlers of
	// the same provider. Default: the provider name. Set it when two
	// routes of one provider may receive the same delivery id.
	Namespace string `json:"namespace,omitempty"`

	// Keeps the cache in Caddy's storage, shared by every instance that
	// uses the same storage, instead of in memory.
	Cluster bool `json:"cluster,omitempty"`

	// The storage module to use in cluster mode; default: the global
	// `storage` of the Caddy config.
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=caddy.storage inline_key=module"`
}

package webhookverify

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("webhook_queue", parseQueueCaddyfile)
	// Right after webhook_verify: RegisterDirectiveOrder only accepts a
	// standard directive as the anchor, and caddyfile.go's init (run
	// first: files are initialised in name order) already put
	// webhook_verify before basic_auth, so this lands between the two
	// (TestQueueDirectiveOrder checks it).
	httpcaddyfile.RegisterDirectiveOrder("webhook_queue", httpcaddyfile.Before, "basic_auth")
}

// parseQueueCaddyfile parses webhook_queue, its deliver block as a
// subroute (as `handle` parses its block).
func parseQueueCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	q := new(Queue)
	if err := q.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	handler, err := httpcaddyfile.ParseSegmentAsSubroute(h.WithDispenser(q.deliverSegment))
	if err != nil {
		return nil, err
	}
	sr, ok := handler.(*caddyhttp.Subroute)
	if !ok {
		return nil, h.Errf("deliver block was not parsed as a subroute")
	}
	q.Deliver = sr.Routes
	q.deliverSegment = nil
	return q, nil
}

// UnmarshalCaddyfile sets up the queue from Caddyfile tokens. Syntax:
//
//	webhook_queue [<matcher>] {
//		name <name>                      # default "default"
//		store file [<path>]              # default: <data dir>/webhook_queue/queues.db
//		store redis <url> [<url>...] {   # options as replay's redis (unmarshalRedis)
//			username, password, key_prefix, timeout, pool_size,
//			cluster, sentinel <master>, tls { ca, server_name }
//		}
//		ack <status>                     # default 200
//		retry <attempts> [<max age>]     # default 15 72h
//		backoff <min> <max>              # default 5s 1h
//		concurrency <n>                  # default 4
//		max_entries <n>                  # default 100000
//		max_bytes <size>                 # default 1GiB
//		max_size <size>                  # default 1MiB (without webhook_verify before it)
//		visibility <duration>            # default 5m
//		attest <whsec_|whsk_ key...>     # renew webhook_verify's attestation at each attempt
//		allow_unverified                 # queue what a log_only gate passes on unverified
//		deliver {
//			<handler directives, as in handle>
//		}
//	}
//
// The deliver block is kept as tokens here; the http Caddyfile adapter
// (parseQueueCaddyfile) turns it into routes.
func (q *Queue) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive
	directive := d.Token()
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] {
			return d.Errf("%s given twice", opt)
		}
		seen[opt] = true
		switch opt {
		case "name":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			q.Name = v
		case "attest":
			keys, err := unmarshalAttest(d)
			if err != nil {
				return err
			}
			q.Attest = keys
		case "store":
			if err := q.unmarshalStore(d); err != nil {
				return err
			}
		case "ack":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 200 || n > 299 {
				return d.Errf("ack must be a 2xx status (so webhook_verify commits the delivery), not %q", v)
			}
			q.Ack = n
		case "retry":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return d.Errf("retry attempts must be a positive integer, not %q", args[0])
			}
			q.RetryAttempts = n
			if len(args) == 2 {
				dur, err := positiveDuration(d, "retry max age", args[1])
				if err != nil {
					return err
				}
				q.RetryMaxAge = caddy.Duration(dur)
			}
		case "backoff":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.ArgErr()
			}
			lo, err := positiveDuration(d, "backoff minimum", args[0])
			if err != nil {
				return err
			}
			hi, err := positiveDuration(d, "backoff maximum", args[1])
			if err != nil {
				return err
			}
			if lo > hi {
				return d.Errf("backoff minimum %s is above its maximum %s", args[0], args[1])
			}
			q.BackoffMin, q.BackoffMax = caddy.Duration(lo), caddy.Duration(hi)
		case "concurrency", "max_entries":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 || (opt == "concurrency" && n > 1024) {
				return d.Errf("%s must be a positive integer (concurrency at most 1024), not %q", opt, v)
			}
			if opt == "concurrency" {
				q.Concurrency = int(n)
			} else {
				q.MaxEntries = n
			}
		case "max_bytes", "max_size":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			size, err := humanize.ParseBytes(v)
			if err != nil {
				return d.Errf("parsing %s: %v", opt, err)
			}
			if size == 0 || size > 1<<50 {
				return d.Errf("%s out of range", opt)
			}
			if opt == "max_bytes" {
				q.MaxBytes = int64(size)
			} else {
				q.MaxSize = int64(size)
			}
		case "visibility":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			dur, err := positiveDuration(d, "visibility", v)
			if err != nil {
				return err
			}
			if dur < time.Second {
				return d.Errf("visibility must be at least 1s, not %s", v)
			}
			q.Visibility = caddy.Duration(dur)
		case "allow_unverified":
			if d.NextArg() {
				return d.ArgErr()
			}
			q.AllowUnverified = true
		case "deliver":
			if d.CountRemainingArgs() > 0 {
				return d.Err("deliver takes no arguments, only a block of handlers")
			}
			seg := d.NewFromNextSegment()
			seg.Next()
			if !seg.NextBlock(0) {
				return seg.Err("deliver needs a block of handlers, e.g. deliver { reverse_proxy app:8080 }")
			}
			seg.Reset()
			q.deliverSegment = seg
		default:
			return d.Errf("unrecognized webhook_queue option %q", opt)
		}
	}
	if q.deliverSegment == nil && q.Deliver == nil {
		dd := caddyfile.NewDispenser([]caddyfile.Token{directive})
		dd.Next()
		return dd.Err("webhook_queue needs a deliver block, e.g. deliver { reverse_proxy app:8080 }")
	}
	return nil
}

// unmarshalStore parses `store file [<path>]` or `store redis <url>...`.
func (q *Queue) unmarshalStore(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	switch d.Val() {
	case QueueStoreFile:
		q.Store = &QueueStoreConfig{Type: QueueStoreFile}
		if d.NextArg() {
			q.Store.Path = d.Val()
		}
		if d.NextArg() {
			return d.ArgErr()
		}
		if d.NextBlock(d.Nesting()) {
			return d.Err("store file takes no block")
		}
	case QueueStoreRedis:
		rc, err := unmarshalRedis(d)
		if err != nil {
			return err
		}
		q.Store = &QueueStoreConfig{Type: QueueStoreRedis, Redis: rc}
	default:
		return d.Errf("store %q is not file or redis", d.Val())
	}
	return nil
}

// positiveDuration parses a duration that must be above zero.
func positiveDuration(d *caddyfile.Dispenser, what, v string) (time.Duration, error) {
	dur, err := caddy.ParseDuration(v)
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s must be a positive duration, not %q", what, v)
	}
	return dur, nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Queue)(nil)

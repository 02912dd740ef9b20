package webhookverify

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/webhookverify/caddy-webhook-verify/queue"
)

// TEMPORARY until qbolt/qredis are merged.

func backoffDelay(attempt int, min, max time.Duration, rnd func() float64) time.Duration {
	d := float64(min) * math.Pow(2, float64(attempt-1))
	if d > float64(max) {
		d = float64(max)
	}
	return time.Duration(d/2 + rnd()*d/2)
}

func parseRetryAfter(h string, now time.Time, limit time.Duration) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(h); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, limit), true
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), limit), true
	}
	return 0, false
}

func openRedisQueueStore(ctx caddy.Context, rc *RedisReplayConfig) (queue.Store, string, error) {
	return nil, "", errors.New("redis store not built in")
}

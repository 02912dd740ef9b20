//go:build unix

package replay

import (
	"errors"
	"reflect"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRedisEvictionPolicies(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"noeviction"}},
		{[]string{"--maxmemory-policy", "allkeys-lru"}, []string{"allkeys-lru"}},
		{[]string{"--maxmemory-policy", "volatile-lfu"}, []string{"volatile-lfu"}},
	} {
		r := startTestRedis(t, 0, tc.args...)
		got, err := NewRedis(r.Client(t, nil), RedisOptions{}).EvictionPolicies(ctx)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v: policies %v, %v; want %v", tc.args, got, err, tc.want)
		}
	}
	// An ACL without CONFIG: ErrUnavailable, not a guess.
	r := startTestRedis(t, 0, "--user", "wv", "on", ">pw", "~*", "&*", "+@all", "-config")
	_, err := NewRedis(r.Client(t, &redis.Options{Username: "wv", Password: "pw"}), RedisOptions{}).EvictionPolicies(ctx)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("CONFIG refused: err %v, want ErrUnavailable", err)
	}
}

func TestEvictionSafe(t *testing.T) {
	for p, want := range map[string]bool{
		"noeviction": true, "allkeys-lru": false, "allkeys-lfu": false, "allkeys-random": false,
		"volatile-lru": false, "volatile-lfu": false, "volatile-random": false, "volatile-ttl": false,
		"": false, "NOEVICTION": false, "some-future-policy": false,
	} {
		if got := EvictionSafe(p); got != want {
			t.Errorf("EvictionSafe(%q) = %v, want %v", p, got, want)
		}
	}
}

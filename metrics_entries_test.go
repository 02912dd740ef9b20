package webhookverify

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/webhookverify/caddy-webhook-verify/replay"
)

// TestReplayEntriesGaugeTracking: a store is reported once, under the
// smallest label of the handlers tracking it now (a rename in a reload
// takes over once the old config is gone); a second store of the same
// config load under a label already used is a clash (the handler warns),
// one of another load (the config being replaced) is not.
func TestReplayEntriesGaugeTracking(t *testing.T) {
	type loadKey struct{}
	loadA, loadB := context.WithValue(context.Background(), loadKey{}, "a"), context.WithValue(context.Background(), loadKey{}, "b")
	cache := func(load context.Context, entries int) *memoryCache {
		c := &memoryCache{mem: replay.NewMemory(replay.MemoryOptions{MaxEntries: 100}), size: 100, load: load}
		t.Cleanup(func() { _ = c.Destruct() })
		for i := range entries {
			if _, _, err := c.Reserve(context.Background(), string(rune('a'+i)), time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	c1, c2, c3 := cache(loadA, 1), cache(loadA, 2), cache(loadB, 4)
	g := newReplayEntriesGauge()
	collect := func() map[string]float64 {
		ch := make(chan prometheus.Metric, 8)
		g.Collect(ch)
		close(ch)
		out := map[string]float64{}
		for m := range ch {
			var pb dto.Metric
			if err := m.Write(&pb); err != nil {
				t.Fatal(err)
			}
			out[pb.GetLabel()[0].GetValue()] = pb.GetGauge().GetValue()
		}
		return out
	}

	untrack1, clash := g.track(c1, "stripe/z")
	if clash {
		t.Error("the first store clashes")
	}
	if _, clash := g.track(c3, "stripe/z"); clash {
		t.Error("a store of another config load clashes")
	}
	if _, clash := g.track(c2, "stripe/z"); !clash {
		t.Error("two stores of one load under one label: no clash reported")
	}
	untrack1b, _ := g.track(c1, "stripe/a") // c1 renamed by a reload
	if got, want := collect(), map[string]float64{"stripe/a": 1, "stripe/z": 6}; !maps.Equal(got, want) {
		t.Errorf("gauge %v, want %v", got, want)
	}
	untrack1b()
	untrack1b() // idempotent
	if got, want := collect(), map[string]float64{"stripe/z": 7}; !maps.Equal(got, want) {
		t.Errorf("after untracking c1's second label: %v, want %v", got, want)
	}
	untrack1()
	if got, want := collect(), map[string]float64{"stripe/z": 6}; !maps.Equal(got, want) {
		t.Errorf("after untracking c1: %v, want %v", got, want)
	}
}

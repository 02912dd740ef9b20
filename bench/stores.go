package main

// The replay store comparison (-stores): the same load through one Caddy,
// one route per replay store, against a redis-server this command starts
// on loopback.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	_ "github.com/pberkel/caddy-storage-redis"
	"github.com/redis/go-redis/v9"
)

// storeNames are the replay stores -stores may name.
var storeNames = []string{"memory", "redis", "storage"}

// replayFor is the replay config of the route of store (one Redis for
// both Redis-backed stores, with their own key prefixes).
func replayFor(store, redisAddr string) map[string]any {
	switch store {
	case "redis":
		return map[string]any{"redis": map[string]any{"urls": []string{"redis://" + redisAddr}, "key_prefix": "bench:native:"}}
	case "storage":
		return map[string]any{"cluster": true, "storage": map[string]any{
			"module": "redis", "address": []string{redisAddr}, "key_prefix": "bench-storage", "timeout": "5",
		}}
	}
	return map[string]any{}
}

func parseStores(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		ok := false
		for _, known := range storeNames {
			ok = ok || name == known
		}
		if !ok {
			return nil, fmt.Errorf("unknown store %q in -stores (known: %s)", name, strings.Join(storeNames, ", "))
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}

// benchRedis is a redis-server without persistence on a loopback port.
type benchRedis struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startBenchRedis(ctx context.Context, bin string) (*benchRedis, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%s not found (apt-get install redis-server, or -redis-server <path>): %v", bin, err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bench-redis-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	r := &benchRedis{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); os.RemoveAll(dir); close(r.done) }()
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	for c.Ping(ctx).Err() != nil {
		select {
		case <-ctx.Done():
			r.stop()
			return nil, errors.New("redis-server did not come up")
		case <-r.done:
			return nil, errors.New("redis-server exited")
		case <-time.After(20 * time.Millisecond):
		}
	}
	return r, nil
}

func (r *benchRedis) stop() {
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
}

var cmdstatRE = regexp.MustCompile(`(?m)^cmdstat_([a-z|_-]+):calls=(\d+)`)

// redisCalls reads INFO commandstats: calls per command since the last
// CONFIG RESETSTAT (scripts' inner commands included), without the INFO
// and CONFIG of this command itself. Commands that set up a connection
// (HELLO, AUTH, SELECT, CLIENT ..., PING) are counted apart: they are
// paid per connection, not per delivery.
func redisCalls(ctx context.Context, c *redis.Client) (calls map[string]int, setup int, err error) {
	info, err := c.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, 0, err
	}
	calls = map[string]int{}
	for _, m := range cmdstatRE.FindAllStringSubmatch(info, -1) {
		n, _ := strconv.Atoi(m[2])
		switch name := m[1]; {
		case name == "info" || strings.HasPrefix(name, "config"):
		case name == "hello" || name == "auth" || name == "select" || name == "ping" || strings.HasPrefix(name, "client"):
			setup += n
		default:
			calls[strings.ToUpper(name)] = n
		}
	}
	return calls, setup, nil
}

// storeResult is one store's measurement in one round.
type storeResult struct {
	*result
	calls map[string]int // Redis commands during the measured requests
	setup int            // connection setup commands meanwhile
}

func (s *storeResult) perDelivery() float64 {
	if s.done == 0 {
		return 0
	}
	n := 0
	for _, v := range s.calls {
		n += v
	}
	return float64(n) / float64(s.done)
}

func (s *storeResult) breakdown() string {
	var parts []string
	for k, v := range s.calls {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, float64(v)/float64(max(s.done, 1))))
	}
	sort.Strings(parts)
	b := strings.Join(parts, ", ")
	if s.setup > 0 {
		b += fmt.Sprintf(" (and %d connection setup commands in all, not counted)", s.setup)
	}
	return b
}

// storesReport is what runStores measured.
type storesReport struct {
	results map[string][]*storeResult
	stores  []string
	trips   map[string]float64 // round trips per new delivery (roundtrips.go)
}

func (r *storesReport) median(store string) *storeResult { return median(r.results[store]) }

// runStores sends the same load through one Caddy to one route per store.
func runStores(ctx context.Context, o options, out io.Writer) (*storesReport, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	stores, err := parseStores(o.stores)
	if err != nil {
		return nil, err
	}
	s, err := signers[o.provider]()
	if err != nil {
		return nil, err
	}
	rd, err := startBenchRedis(ctx, o.redisServer)
	if err != nil {
		return nil, err
	}
	defer rd.stop()
	admin := redis.NewClient(&redis.Options{Addr: rd.addr})
	defer admin.Close()
	version, _ := admin.Info(ctx, "server").Result()
	if m := regexp.MustCompile(`(?m)^(redis|valkey)_version:(\S+)`).FindStringSubmatch(version); m != nil {
		version = m[1] + " " + m[2]
	} else {
		version = "unknown version"
	}

	rg, err := startRig(ctx, func(upstream string) []any {
		var routes []any
		for _, st := range stores {
			gate := gateHandler(s)
			gate["replay"] = replayFor(st, rd.addr)
			routes = append(routes, route("/"+st, gate, proxyTo(upstream)))
		}
		return routes
	})
	if err != nil {
		return nil, err
	}
	defer rg.stop()

	fmt.Fprintf(out, "replay stores: provider %s, body %d B, %d new deliveries x %d round(s) per store, %d clients\n",
		o.provider, o.size, o.n, o.rounds, o.c)
	fmt.Fprintf(out, "%s, %s on loopback; load generator, Caddy and upstream share this process\n\n", machine(), version)

	rep := &storesReport{results: map[string][]*storeResult{}, stores: stores}
	ss := &session{ctx: ctx, s: s, o: o}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\tstore\tdeliveries\tdeliveries/s\tp50\tp90\tp99\tfailed\tRedis cmds/delivery\t")
	for round := 1; round <= o.rounds; round++ {
		// Rotate the order every round, so that a change in the machine's
		// load does not always fall on the same store.
		order := append(append([]string(nil), stores[(round-1)%len(stores):]...), stores[:(round-1)%len(stores)]...)
		for _, st := range order {
			t := target{st, rg.base + "/" + st}
			ss.warmUp(t)
			if err := admin.ConfigResetStat(ctx).Err(); err != nil {
				return nil, fmt.Errorf("redis CONFIG RESETSTAT: %v", err)
			}
			r := &storeResult{result: ss.measure(t)}
			if r.calls, r.setup, err = redisCalls(ctx, admin); err != nil {
				return nil, fmt.Errorf("redis INFO commandstats: %v", err)
			}
			rep.results[st] = append(rep.results[st], r)
			fmt.Fprintf(tw, "%d\t%s\t%d%s\t%.0f\t%s\t%s\t%s\t%d\t%.2f\t\n", round, st, r.done, cutNote(r.result), r.rps(),
				us(r.pct(0.50)), us(r.pct(0.90)), us(r.pct(0.99)), r.failed, r.perDelivery())
		}
	}
	tw.Flush()

	fmt.Fprintln(out, "\nmedian round (by deliveries/s):")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tdeliveries/s\tp50\tp99\tRedis cmds/delivery\t")
	for _, st := range stores {
		r := rep.median(st)
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.2f\t\n", st, r.rps(), us(r.pct(0.50)), us(r.pct(0.99)), r.perDelivery())
	}
	tw.Flush()
	for _, st := range stores {
		if r := rep.median(st); len(r.calls) > 0 {
			fmt.Fprintf(out, "%s: Redis commands per delivery: %s\n", st, r.breakdown())
		}
	}
	rep.trips = map[string]float64{}
	for _, st := range stores {
		if st == "memory" {
			continue
		}
		t := target{st, rg.base + "/" + st}
		var w *result
		counts, err := watchRoundTrips(ctx, rd.addr, func() { w = fire(ctx, t, s, o, roundTripDeliveries, &ss.seq) })
		if err != nil {
			return nil, fmt.Errorf("redis MONITOR: %v", err)
		}
		if w.failed > 0 {
			ss.failures = append(ss.failures, fmt.Sprintf("%s (round trips pass): %d failed, first: %s", st, w.failed, w.firstErr))
		}
		n, list := perDeliveryList(counts, max(w.done, 1))
		rep.trips[st] = n
		fmt.Fprintf(out, "%s: round trips per new delivery (MONITOR over %d more): %.2f (%s)\n", st, w.done, n, list)
	}
	if rep.results["memory"] != nil && rep.results["redis"] != nil {
		// Ratios within each round (the two ran minutes apart at most),
		// then their median: steadier than a ratio of medians on a
		// machine whose load changes.
		var ratios, p99s []float64
		cmds := 0.0
		for i := range rep.results["redis"] {
			m, n := rep.results["memory"][i], rep.results["redis"][i]
			if m.rps() > 0 && m.pct(0.99) > 0 {
				ratios = append(ratios, n.rps()/m.rps())
				p99s = append(p99s, float64(n.pct(0.99))/float64(m.pct(0.99)))
			}
			cmds = max(cmds, n.perDelivery())
		}
		if len(ratios) > 0 {
			ratio, p99 := medianOf(ratios), medianOf(p99s)
			trips := rep.trips["redis"]
			fmt.Fprintf(out, "\nredis vs memory, same round (median of %d): deliveries/s x%.2f (target >= 0.85: %s), p99 x%.2f (target <= 1.5: %s); %.2f round trips per new delivery (target <= 2: %s), at most %.2f Redis commands (scripts' inner ones included)\n",
				len(ratios), ratio, verdict(ratio >= 0.85), p99, verdict(p99 <= 1.5), trips, verdict(trips <= 2), cmds)
			fmt.Fprintf(out, "per round: deliveries/s x%s, p99 x%s\n", fmtList(ratios), fmtList(p99s))
		}
	}
	return rep, ss.err()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func medianOf(v []float64) float64 {
	v = append([]float64(nil), v...)
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func fmtList(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strings.Join(parts, ", x")
}

package main

// -routes 1,100,1000: what routes with a gate of their own cost. For each
// count, one Caddy is loaded with that many routes /hook/<i>, each
// webhook_verify (the provider's config, a replay namespace of its own, so
// a replay cache of its own) then static_response; the command reports
// how long caddy.Load took, the live heap it added (after a GC, against
// the heap before the load), per route, and the req/s of N deliveries to
// the last route (Caddy tries the routes in order, so that is the one
// its matching costs most). Every delivery must be answered 200.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// maxRoutes bounds -routes.
const maxRoutes = 10_000

// routesResult is one route count's measurement.
type routesResult struct {
	routes   int
	load     time.Duration
	heap     int64 // live heap added by the config, bytes
	last     *result
	perRoute float64 // heap per route added beyond the first count's
}

func parseRoutes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxRoutes {
			return nil, fmt.Errorf("-routes: %q is not a route count 1..%d", f, maxRoutes)
		}
		out = append(out, n)
	}
	return out, nil
}

func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// runRoutes measures each route count of o.routes in turn.
func runRoutes(ctx context.Context, o options, out io.Writer) ([]*routesResult, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	counts, err := parseRoutes(o.routes)
	if err != nil {
		return nil, err
	}
	s, err := signers[o.provider]()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "routes with a gate each: provider %s, replay %v, body %d B, %d requests to the last route, %d clients\n",
		o.provider, o.replay, o.size, o.n, o.c)
	fmt.Fprintf(out, "%s\n\n", machine())
	ss := &session{ctx: ctx, s: s, o: o}
	var res []*routesResult
	for _, n := range counts {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		routes := make([]any, n)
		for i := range routes {
			gate := gateHandler(s)
			if o.replay {
				gate["replay"] = map[string]any{"namespace": fmt.Sprintf("bench-route-%d", i)}
			} else {
				gate["replay"] = map[string]any{"disabled": true}
			}
			routes[i] = route(fmt.Sprintf("/hook/%d", i), gate, respond())
		}
		cfg, err := serverConfig(port, routes)
		if err != nil {
			return nil, err
		}
		before := liveHeap()
		t0 := time.Now()
		if err := caddy.Load(cfg, true); err != nil {
			return nil, fmt.Errorf("caddy with %d routes: %v", n, err)
		}
		r := &routesResult{routes: n, load: time.Since(t0)}
		r.heap = liveHeap() - before
		t := target{fmt.Sprintf("route %d of %d", n, n), fmt.Sprintf("http://127.0.0.1:%d/hook/%d", port, n-1)}
		ss.warmUp(t)
		r.last = ss.measure(t)
		_ = caddy.Stop()
		res = append(res, r)
		if ctx.Err() != nil {
			break
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "routes\tcaddy.Load\tlive heap added\tper added route\treq/s (last route)\tp50\tp99\tfailed\t")
	for _, r := range res {
		// Against the first count: the server's own share cancels out.
		marginal := "-"
		if f := res[0]; r.routes > f.routes {
			r.perRoute = float64(r.heap-f.heap) / float64(r.routes-f.routes)
			marginal = fmt.Sprintf("%.1f KB", r.perRoute/1e3)
		}
		fmt.Fprintf(tw, "%d\t%s\t%.1f MB\t%s\t%.0f\t%s\t%s\t%d\t\n", r.routes, r.load.Round(time.Millisecond),
			float64(r.heap)/1e6, marginal, r.last.rps(), us(r.last.pct(0.50)), us(r.last.pct(0.99)), r.last.failed)
	}
	tw.Flush()
	if len(res) < len(counts) {
		return res, errors.New("stopped at the deadline")
	}
	return res, ss.err()
}

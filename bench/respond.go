package main

// -next respond: the gate's own cost, without a reverse proxy in the way.
// One Caddy with two routes that answer 200 themselves (static_response):
// /plain answers at once (target "respond"), /hook runs webhook_verify
// first (target "verify"). The two alternate within every round, in an
// order rotated each round, and the ratio verify/respond is taken within
// each round, then its median: on a shared machine, a ratio of two
// measurements a second apart is steadier than a ratio of medians.
//
// Throughput on this shared machine moves with the other jobs' load, so
// the command also reports the CPU this process spent per request on each
// target (getrusage around each measured batch): the ratio respond/verify
// of those is the throughput ratio the two would have on cores of their
// own, and it is much steadier. The load generator's own work is in both.
//
// -cpuprofile writes a CPU profile of the whole process (load generator,
// Caddy and gate) over the run: `go tool pprof -top -focus webhookverify`.

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"syscall"
	"text/tabwriter"
	"time"
)

// Values of -next.
const (
	nextProxy   = "proxy"
	nextRespond = "respond"
)

// respondTarget is the ratio the gate must keep against a bare respond.
const respondTarget = 0.95

// respond is a static_response handler answering 200.
func respond() map[string]any {
	return map[string]any{"handler": "static_response", "status_code": 200, "body": "ok\n"}
}

// respondReport is what runRespond measured.
type respondReport struct {
	results map[string][]*result // "respond", "verify": one per round
	ratios  []float64            // verify/respond req/s, per round
	cpu     map[string][]time.Duration
	// cpuRatios is respond's CPU per request over verify's, per round:
	// the throughput ratio the two would have on cores of their own.
	cpuRatios []float64
}

// runRespond measures the gate + respond against respond alone.
func runRespond(ctx context.Context, o options, out io.Writer) (*respondReport, error) {
	s, gate, err := o.gate()
	if err != nil {
		return nil, err
	}
	rg, err := startRig(ctx, func(string) []any {
		return []any{route("/hook", gate, respond()), route("/plain", respond())}
	})
	if err != nil {
		return nil, err
	}
	defer rg.stop()

	replay := "on (memory)"
	if !o.replay {
		replay = "off"
	}
	fmt.Fprintf(out, "gate + respond vs respond: provider %s, body %d B, %d requests x %d round(s) per target, %d clients, replay %s\n",
		o.provider, o.size, o.n, o.rounds, o.c, replay)
	fmt.Fprintf(out, "%s; load generator and Caddy share this process\n\n", machine())

	targets := []target{{"respond", rg.base + "/plain"}, {"verify", rg.base + "/hook"}}
	rep := &respondReport{results: map[string][]*result{}, cpu: map[string][]time.Duration{}}
	ss := &session{ctx: ctx, s: s, o: o}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "round\ttarget\trequests\treq/s\tp50\tp90\tp99\tfailed\tCPU/request\t")
	for round := 1; round <= o.rounds; round++ {
		order := targets
		if round%2 == 0 {
			order = []target{targets[1], targets[0]}
		}
		for _, t := range order {
			ss.warmUp(t)
			c0 := processCPU()
			r := ss.measure(t)
			cpu := (processCPU() - c0) / time.Duration(max(r.done, 1))
			rep.results[t.name] = append(rep.results[t.name], r)
			rep.cpu[t.name] = append(rep.cpu[t.name], cpu)
			fmt.Fprintf(tw, "%d\t%s\t%d%s\t%.0f\t%s\t%s\t%s\t%d\t%.1fµs\t\n", round, t.name, r.done, cutNote(r), r.rps(),
				us(r.pct(0.50)), us(r.pct(0.90)), us(r.pct(0.99)), r.failed, float64(cpu)/float64(time.Microsecond))
		}
		if b, v := rep.results["respond"][round-1], rep.results["verify"][round-1]; b.rps() > 0 {
			rep.ratios = append(rep.ratios, v.rps()/b.rps())
		}
		if b, v := rep.cpu["respond"][round-1], rep.cpu["verify"][round-1]; v > 0 {
			rep.cpuRatios = append(rep.cpuRatios, float64(b)/float64(v))
		}
	}
	tw.Flush()
	if len(rep.ratios) > 0 {
		b, v := median(rep.results["respond"]), median(rep.results["verify"])
		ratio := medianOf(rep.ratios)
		fmt.Fprintf(out, "\nmedian round: respond %.0f req/s (p50 %s, p99 %s), verify %.0f req/s (p50 %s, p99 %s)\n",
			b.rps(), us(b.pct(0.50)), us(b.pct(0.99)), v.rps(), us(v.pct(0.50)), us(v.pct(0.99)))
		fmt.Fprintf(out, "gate + respond vs respond, same round (median of %d): req/s x%.3f (target >= %.2f: %s); per round: x%s\n",
			len(rep.ratios), ratio, respondTarget, verdict(ratio >= respondTarget), fmtList3(rep.ratios))
		bc, vc := medianDuration(rep.cpu["respond"]), medianDuration(rep.cpu["verify"])
		fmt.Fprintf(out, "CPU of this process per request (load generator, Caddy and gate; median of the rounds): respond %.1f µs, verify %.1f µs: the gate's %.1f µs\n",
			us1(bc), us1(vc), us1(vc-bc))
		if len(rep.cpuRatios) > 0 {
			cr := medianOf(rep.cpuRatios)
			fmt.Fprintf(out, "CPU per request, respond over verify, same round (median of %d): x%.3f (target >= %.2f: %s); per round: x%s\n",
				len(rep.cpuRatios), cr, respondTarget, verdict(cr >= respondTarget), fmtList3(rep.cpuRatios))
		}
	}
	return rep, ss.err()
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func medianDuration(v []time.Duration) time.Duration {
	f := make([]float64, len(v))
	for i, d := range v {
		f[i] = float64(d)
	}
	return time.Duration(medianOf(f))
}

func us1(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// fmtList3 is fmtList with three decimals.
func fmtList3(v []float64) string {
	parts := ""
	for i, x := range v {
		if i > 0 {
			parts += ", x"
		}
		parts += fmt.Sprintf("%.3f", x)
	}
	return parts
}

// startCPUProfile starts a CPU profile into path ("" does nothing); the
// returned function stops it.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

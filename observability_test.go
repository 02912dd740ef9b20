package webhookverify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"
)

// The dashboard and the alerting rules shipped in docs/ (docs/metrics.md
// says how to load them) are tested here: promtool checks and unit-tests
// the rules, and every metric, label and label value the dashboard and the
// rules name must be one the module exports, read from its real
// collectors.

const (
	alertsFile     = "docs/prometheus/alerts.yml"
	alertsTestFile = "docs/prometheus/alerts_test.yml"
	dashboardFile  = "docs/grafana/webhook-verify.json"
)

// moduleCollectors returns fresh instances of every collector the module
// registers (metrics.go's newMetrics), found by reflection over the
// struct's fields so that a collector added there is covered without
// editing this list. A module file that creates other collectors adds its
// constructor here: TestObservabilityCollectorsComplete fails until then.
func moduleCollectors() []prometheus.Collector {
	return append(collectorsOf(newMetrics()), collectorsOf(newQueueMetrics())...)
}

// collectorsOf returns the fields of the struct p points to that are
// prometheus collectors.
func collectorsOf(p any) []prometheus.Collector {
	v := reflect.ValueOf(p).Elem()
	var out []prometheus.Collector
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		// Unexported fields: read through an addressable copy.
		f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem()
		if c, ok := f.Interface().(prometheus.Collector); ok {
			out = append(out, c)
		}
	}
	return out
}

// exportedMetric is a metric family the module exports.
type exportedMetric struct {
	labels map[string]bool
	// values lists, per label, the values the help text names ("result
	// (verified, handshake, ...)"); a label absent here is not checked.
	values    map[string][]string
	histogram bool
}

var (
	descName   = regexp.MustCompile(`fqName: ("(?:[^"\\]|\\.)*")`)
	descHelp   = regexp.MustCompile(`help: ("(?:[^"\\]|\\.)*")`)
	descLabels = regexp.MustCompile(`variableLabels: \{([^}]*)\}`)
	helpValues = regexp.MustCompile(`\b([a-z_]+) \(([a-z_]+(?:, [a-z_]+)+)\)`)
)

// exportedMetrics registers fresh collectors on a registry, touches one
// child of every vector so that the registry gathers it with its type, and
// returns the series names the module exports (a histogram's _bucket, _sum
// and _count included) with their labels.
func exportedMetrics(t *testing.T, cs []prometheus.Collector) map[string]*exportedMetric {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	out := map[string]*exportedMetric{}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			t.Fatalf("registering %T: %v", c, err)
		}
		ch := make(chan *prometheus.Desc, 16)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			s := d.String()
			nm, hm, lm := descName.FindStringSubmatch(s), descHelp.FindStringSubmatch(s), descLabels.FindStringSubmatch(s)
			if nm == nil || hm == nil || lm == nil {
				t.Fatalf("cannot read descriptor %s", s)
			}
			name, _ := strconv.Unquote(nm[1])
			help, _ := strconv.Unquote(hm[1])
			m := &exportedMetric{labels: map[string]bool{}, values: map[string][]string{}}
			var labels []string
			if lm[1] != "" {
				labels = strings.Split(lm[1], ",")
			}
			for _, l := range labels {
				m.labels[l] = true
			}
			for _, hv := range helpValues.FindAllStringSubmatch(help, -1) {
				if m.labels[hv[1]] {
					m.values[hv[1]] = strings.Split(hv[2], ", ")
				}
			}
			out[name] = m
			vals := make([]string, len(labels))
			for i := range vals {
				vals[i] = "x"
			}
			switch v := c.(type) {
			case *prometheus.CounterVec:
				v.WithLabelValues(vals...).Add(0)
			case *prometheus.GaugeVec:
				v.WithLabelValues(vals...).Set(0)
			case *prometheus.HistogramVec:
				v.WithLabelValues(vals...).Observe(0)
			}
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			m := out[mf.GetName()]
			m.histogram = true
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				c := *m
				if suffix == "_bucket" {
					c.labels = withKeys(m.labels, "le")
				}
				out[mf.GetName()+suffix] = &c
			}
		}
	}
	return out
}

// withKeys returns a copy of m with the keys added.
func withKeys(m map[string]bool, keys ...string) map[string]bool {
	out := make(map[string]bool, len(m)+len(keys))
	for k := range m {
		out[k] = true
	}
	for _, k := range keys {
		out[k] = true
	}
	return out
}

// promExpr is an expression with where it was found.
type promExpr struct{ where, expr string }

// ruleExprs returns the expressions of an alerting rules file.
func ruleExprs(t *testing.T, raw []byte) []promExpr {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Record      string            `yaml:"record"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var out []promExpr
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, promExpr{g.Name + "/" + r.Alert + r.Record, r.Expr})
			if r.Alert == "" {
				continue
			}
			if r.Labels["severity"] == "" {
				t.Errorf("alert %s has no severity label", r.Alert)
			}
			for _, a := range []string{"summary", "description", "threshold"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, a)
				}
			}
		}
	}
	return out
}

// grafanaDashboard is what the tests read of the dashboard.
type grafanaDashboard struct {
	SchemaVersion int `json:"schemaVersion"`
	UID           string
	Templating    struct {
		List []struct {
			Name       string          `json:"name"`
			Type       string          `json:"type"`
			Query      json.RawMessage `json:"query"`
			Definition string          `json:"definition"`
			Datasource *grafanaDS      `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaDS struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type grafanaPanel struct {
	ID         int            `json:"id"`
	Type       string         `json:"type"`
	Title      string         `json:"title"`
	Datasource *grafanaDS     `json:"datasource"`
	Panels     []grafanaPanel `json:"panels"`
	Targets    []struct {
		RefID      string     `json:"refId"`
		Expr       string     `json:"expr"`
		Datasource *grafanaDS `json:"datasource"`
	} `json:"targets"`
}

var labelValuesQuery = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)

// dashboardExprs returns the panel expressions and the metric/label pairs
// of the label_values() variables of a dashboard, checking its structure.
func dashboardExprs(t *testing.T, raw []byte) ([]promExpr, [][2]string) {
	t.Helper()
	var d grafanaDashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want a current one (>= 36, Grafana 9+)", d.SchemaVersion)
	}
	vars := map[string]string{}
	var pairs [][2]string
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: query: %v", v.Name, err)
		}
		m := labelValuesQuery.FindStringSubmatch(q.Query)
		if m == nil || q.Query != v.Definition {
			t.Errorf("variable %s: query %q (definition %q), want one label_values(metric, label)", v.Name, q.Query, v.Definition)
			continue
		}
		if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
			t.Errorf("variable %s does not use the datasource variable", v.Name)
		}
		pairs = append(pairs, [2]string{m[1], m[2]})
	}
	if vars["datasource"] != "datasource" || vars["route"] != "query" {
		t.Errorf("variables %v, want a datasource variable \"datasource\" and a query variable \"route\"", vars)
	}
	var out []promExpr
	ids := map[int]bool{}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel id %d used twice", p.ID)
			}
			ids[p.ID] = true
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q does not use the datasource variable", p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" || tg.RefID == "" {
					t.Errorf("panel %q: a query without refId or the datasource variable", p.Title)
				}
				out = append(out, promExpr{"panel " + strconv.Quote(p.Title), tg.Expr})
			}
		}
	}
	walk(d.Panels)
	return out, pairs
}

// unknownNames returns, for each expression, what it names that the module
// does not export: metrics, labels of its selectors and groupings, and
// label values the help texts enumerate.
func unknownNames(exprs []promExpr, pairs [][2]string, exported map[string]*exportedMetric) []string {
	var bad []string
	for _, p := range pairs {
		m := exported[p[0]]
		switch {
		case m == nil:
			bad = append(bad, fmt.Sprintf("variable: unknown metric %s", p[0]))
		case !m.labels[p[1]]:
			bad = append(bad, fmt.Sprintf("variable: metric %s has no label %s", p[0], p[1]))
		}
	}
	for _, e := range exprs {
		sels, grouping, err := parsePromQL(e.expr)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", e.where, err))
			continue
		}
		if len(sels) == 0 {
			bad = append(bad, fmt.Sprintf("%s: no metric in %q", e.where, e.expr))
		}
		labels := map[string]bool{}
		for _, s := range sels {
			m := exported[s.metric]
			if m == nil {
				bad = append(bad, fmt.Sprintf("%s: unknown metric %q", e.where, s.metric))
				continue
			}
			for l := range m.labels {
				labels[l] = true
			}
			for _, mt := range s.matchers {
				label, op, value := mt[0], mt[1], mt[2]
				if !m.labels[label] {
					bad = append(bad, fmt.Sprintf("%s: metric %s has no label %q", e.where, s.metric, label))
					continue
				}
				allowed := m.values[label]
				if allowed == nil || strings.Contains(value, "$") {
					continue
				}
				vals := []string{value}
				if op == "=~" || op == "!~" {
					vals = strings.Split(value, "|")
				}
				for _, v := range vals {
					if !slices.Contains(allowed, v) {
						bad = append(bad, fmt.Sprintf("%s: %s{%s} has no value %q (%s)", e.where, s.metric, label, v, strings.Join(allowed, ", ")))
					}
				}
			}
		}
		for _, l := range grouping {
			if !labels[l] {
				bad = append(bad, fmt.Sprintf("%s: groups by %q, a label of none of its metrics", e.where, l))
			}
		}
	}
	return bad
}

func readObservabilityFiles(t *testing.T) (rules, dash []byte) {
	t.Helper()
	rules, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	dash, err = os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	return rules, dash
}

// TestObservabilityMetricNames: every metric the dashboard and the alerting
// rules query is one the module exports, with labels it has and label
// values its help lists; and every exported metric has a dashboard panel.
// Misspelt copies of the files are refused, so the check can fail.
func TestObservabilityMetricNames(t *testing.T) {
	exported := exportedMetrics(t, moduleCollectors())
	rulesRaw, dashRaw := readObservabilityFiles(t)
	exprs := ruleExprs(t, rulesRaw)
	dexprs, pairs := dashboardExprs(t, dashRaw)
	exprs = append(exprs, dexprs...)

	// Queue metrics come with webhook_queue (queue_metrics.go); until its
	// collectors are among moduleCollectors' they cannot be checked.
	hasQueue := false
	for n := range exported {
		hasQueue = hasQueue || strings.HasPrefix(n, "caddy_webhook_queue_")
	}
	checked := exprs[:0:0]
	for _, e := range exprs {
		if !hasQueue && strings.Contains(e.expr, "caddy_webhook_queue_") {
			t.Logf("not checked (no webhook_queue collectors in this build): %s", e.where)
			continue
		}
		checked = append(checked, e)
	}
	checkedPairs := pairs[:0:0]
	for _, p := range pairs {
		if hasQueue || !strings.HasPrefix(p[0], "caddy_webhook_queue_") {
			checkedPairs = append(checkedPairs, p)
		}
	}
	for _, b := range unknownNames(checked, checkedPairs, exported) {
		t.Error(b)
	}

	// Every exported metric family is shown on the dashboard.
	used := map[string]bool{}
	for _, e := range dexprs {
		sels, _, _ := parsePromQL(e.expr)
		for _, s := range sels {
			used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(s.metric, "_bucket"), "_sum"), "_count")] = true
		}
	}
	var names []string
	for n := range exported {
		base := n
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(n, s); ok && exported[b] != nil && exported[b].histogram {
				base = b
			}
		}
		if !used[base] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		t.Errorf("exported metric %s is on no dashboard panel", n)
	}

	// The check can fail: misspelt metric, label and value, in each file.
	for _, tc := range []struct{ file, old, new string }{
		{"rules", "caddy_webhook_verify_verify_duration_seconds_bucket", "caddy_webhook_verify_duration_seconds_bucket"},
		{"rules", `result="replay_unavailable"`, `result="replay_unavailble"`},
		{"rules", `sum by (route) (rate(caddy_webhook_verify_requests_total{mode="enforce"}[10m]))`, `sum by (rout) (rate(caddy_webhook_verify_requests_total{mode="enforce"}[10m]))`},
		{"rules", `mode="enforce"`, `mode="enforcing"`},
		{"dashboard", `mode=\"log_only\"`, `mode=\"shadow\"`},
		{"dashboard", "caddy_webhook_verify_replay_entries", "caddy_webhook_verify_replay_entry"},
		{"dashboard", `route=~\"$route\"`, `rout=~\"$route\"`},
		{"dashboard", "label_values(caddy_webhook_verify_requests_total, route)", "label_values(caddy_webhook_verify_request_total, route)"},
	} {
		r, d := string(rulesRaw), string(dashRaw)
		target := &r
		if tc.file == "dashboard" {
			target = &d
		}
		if !strings.Contains(*target, tc.old) {
			t.Fatalf("%s does not contain %q", tc.file, tc.old)
		}
		*target = strings.ReplaceAll(*target, tc.old, tc.new)
		e := ruleExprs(t, []byte(r))
		de, dp := dashboardExprs(t, []byte(d))
		if len(unknownNames(append(e, de...), dp, exported)) == 0 {
			t.Errorf("%s with %q for %q: no unknown name reported", tc.file, tc.new, tc.old)
		}
	}
}

// TestObservabilityCollectorsComplete: a root file that creates collectors
// must have them in moduleCollectors, or their names would go unchecked.
func TestObservabilityCollectorsComplete(t *testing.T) {
	exported := exportedMetrics(t, moduleCollectors())
	if _, err := os.Stat("queue_metrics.go"); err == nil {
		for n := range exported {
			if strings.HasPrefix(n, "caddy_webhook_queue_") {
				return
			}
		}
		t.Fatal("queue_metrics.go exists but moduleCollectors() does not return its collectors: add collectorsOf(newQueueMetrics())")
	}
}

// TestAlertRulesPromtool runs `promtool check rules` on the shipped rules
// and `promtool test rules` on their unit tests (input series for each
// alert, firing and not). It skips without promtool (Debian package
// prometheus) unless WEBHOOK_VERIFY_REQUIRE_PROMTOOL=1 (.ci/run sets it).
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("WEBHOOK_VERIFY_REQUIRE_PROMTOOL") == "1" {
			t.Fatalf("promtool not found (apt-get install prometheus): %v", err)
		}
		t.Skip("promtool not found (apt-get install prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", alertsFile}, {"test", "rules", alertsTestFile}} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := exec.CommandContext(ctx, promtool, args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

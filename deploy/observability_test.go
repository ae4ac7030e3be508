package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/metrics"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

var (
	dashboardPath = filepath.Join("grafana", "riptide-poold.json")
	rulesPath     = filepath.Join("prometheus", "rules.yaml")
	ruleTestsPath = filepath.Join("prometheus", "rules_test.yaml")
)

// dashboard is the part of a Grafana dashboard the checks read.
type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int    `json:"id"`
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	return &d
}

// exprs answers every PromQL expression of the dashboard, by where it is.
func (d *dashboard) exprs() map[string]string {
	out := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				out[fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct{ Query string }
		if json.Unmarshal(v.Query, &q) != nil {
			json.Unmarshal(v.Query, &q.Query)
		}
		out["variable "+v.Name] = q.Query
	}
	return out
}

// rules is the part of a Prometheus rule file the checks read.
type rules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) *rules {
	t.Helper()
	data, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var r rules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s: %v", rulesPath, err)
	}
	return &r
}

func (r *rules) exprs() map[string]string {
	out := map[string]string{}
	for _, g := range r.Groups {
		for _, rule := range g.Rules {
			out["alert "+rule.Alert+rule.Record] = rule.Expr
		}
	}
	return out
}

var (
	// Parts of PromQL that hold no metric names: strings, label matchers,
	// range and subquery durations, and the label lists of by, without,
	// on, ignoring, group_left and group_right.
	promqlStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promqlMatchers  = regexp.MustCompile(`\{[^{}]*\}|\[[^\]]*\]`)
	promqlLabelList = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlName      = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlKeywords  = map[string]bool{
		"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true,
		"group_left": true, "group_right": true, "inf": true, "nan": true,
	}
)

// metricNames answers the metric names a PromQL expression (or Grafana
// label_values query) reads: identifiers that are not functions, keywords,
// labels or numbers.
func metricNames(expr string) []string {
	expr = promqlStrings.ReplaceAllString(expr, `""`)
	expr = promqlLabelList.ReplaceAllString(expr, " ")
	for prev := ""; prev != expr; {
		prev, expr = expr, promqlMatchers.ReplaceAllString(expr, " ")
	}
	// Grafana's variables ($__rate_interval, $pool) are not metrics.
	expr = regexp.MustCompile(`\$\w+`).ReplaceAllString(expr, " ")
	var names []string
	for _, loc := range promqlName.FindAllStringIndex(expr, -1) {
		name := expr[loc[0]:loc[1]]
		rest := strings.TrimLeft(expr[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promqlKeywords[strings.ToLower(name)] {
			continue // a function call or a keyword
		}
		if loc[0] > 0 && (expr[loc[0]-1] >= '0' && expr[loc[0]-1] <= '9' || expr[loc[0]-1] == '.') {
			continue // the exponent or unit of a number, e.g. 1e3
		}
		names = append(names, name)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`rate(a_total{pool=~"$pool", x="by (y)"}[5m])`, []string{"a_total"}},
		{`sum by (pool, le) (rate(h_bucket[$__rate_interval])) / on (pool) group_left (x) b`, []string{"h_bucket", "b"}},
		{`histogram_quantile(0.99, sum without (pod) (rate(c_bucket[5m]))) > 1e3 and bool d`, []string{"c_bucket", "d"}},
		{`label_values(riptide_build_info{namespace=~"$namespace"}, pod)`, []string{"riptide_build_info", "pod"}},
		{`max_over_time(rate(x[5m])[1h:1m])`, []string{"x"}},
	} {
		if got := metricNames(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("metricNames(%q) = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

// exported is what the daemon exports: the families of a live scrape, and
// the riptide_* families its collectors declare (some have samples only
// once their pools exist, e.g. the WASM series).
type exported struct {
	scraped  map[string]*dto.MetricFamily
	declared map[string]bool
}

// has answers whether name is a series of an exported family, allowing the
// _bucket, _sum and _count series of histograms and summaries.
func (e *exported) has(name string) (scraped, declared bool) {
	family := func(n string) bool {
		if _, ok := e.scraped[n]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base, ok := strings.CutSuffix(n, suffix)
			if !ok {
				continue
			}
			if f, ok := e.scraped[base]; ok && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY ||
				suffix != "_bucket" && f.GetType() == dto.MetricType_GAUGE_HISTOGRAM) {
				return true
			}
		}
		return false
	}
	if family(name) {
		return true, true
	}
	for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && e.declared[base] {
			return false, true
		}
	}
	return false, false
}

// declaredNames answers the families the daemon's collectors declare,
// whether or not they have samples now.
func declaredNames(t *testing.T) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc)
	go func() {
		metrics.NewCollector(func() metrics.Snapshot { return metrics.Snapshot{} }).Describe(ch)
		close(ch)
	}()
	// The extraction histogram and build info are registered directly, not
	// through the collector.
	names := map[string]bool{"riptide_extraction_duration_seconds": true, "riptide_build_info": true}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	if len(names) < 10 {
		t.Fatalf("read only %d declared names from the collector: %v", len(names), names)
	}
	return names
}

// exercise makes the calls that give the daemon's series samples: every
// native spec, an error, and the RPCs still being built (UNIMPLEMENTED is
// fine here).
func exercise(t *testing.T, addr string) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := poolv1.NewPoolServiceClient(conn)
	ctx := contextFor(t, 30*time.Second)
	page := &poolv1.ExtractRequest_Html{Html: `<title>T</title><a href="/a">A</a><p>Call 555-0100</p>`}
	for _, req := range []*poolv1.ExtractRequest{
		{Document: page, Spec: &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}}},
		{Document: page, Spec: &poolv1.ExtractRequest_Regex{Regex: &poolv1.RegexSpec{Pattern: `[0-9]{3}-[0-9]{4}`}}},
		{Document: page, Spec: &poolv1.ExtractRequest_Fields{Fields: &poolv1.FieldsSpec{Fields: map[string]*poolv1.FieldSpec{
			"title": {Spec: &poolv1.FieldSpec_Css{Css: &poolv1.CssSpec{Selector: "title"}}},
		}}}},
	} {
		if _, err := c.Extract(ctx, req); err != nil {
			t.Fatalf("Extract: %v", err)
		}
	}
	_, err = c.Extract(ctx, &poolv1.ExtractRequest{Document: page, Spec: &poolv1.ExtractRequest_Css{Css: &poolv1.CssSpec{Selector: "p[[["}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Extract with a bad selector = %v, want INVALID_ARGUMENT", err)
	}
	for name, call := range map[string]func() error{
		"wasm": func() error {
			_, err := c.Extract(ctx, &poolv1.ExtractRequest{Document: page, Spec: &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{}}})
			return err
		},
		"Health":         func() error { _, err := c.Health(ctx, &poolv1.HealthRequest{}); return err },
		"GetMetrics":     func() error { _, err := c.GetMetrics(ctx, &poolv1.GetMetricsRequest{}); return err },
		"ListExtractors": func() error { _, err := c.ListExtractors(ctx, &poolv1.ListExtractorsRequest{}); return err },
	} {
		if err := call(); err != nil && status.Code(err) != codes.Unimplemented {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func scrape(t *testing.T, addr string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s %v", resp.Status, err)
	}
	return body
}

// TestDashboardAndRulesUseExportedMetrics starts the daemon, exercises it,
// scrapes /metrics, and checks every metric the dashboard and the alert
// rules read against what it exports. It then runs promtool on the scrape
// and the rules, where promtool is installed.
func TestDashboardAndRulesUseExportedMetrics(t *testing.T) {
	d := startDaemon(t)
	exercise(t, d.grpcAddr)
	body := scrape(t, d.metricsAddr)

	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	ex := &exported{scraped: families, declared: declaredNames(t)}

	uses := map[string]string{}
	for where, expr := range loadDashboard(t).exprs() {
		for _, n := range metricNames(expr) {
			uses[n] = "dashboard " + where
		}
	}
	for where, expr := range loadRules(t).exprs() {
		for _, n := range metricNames(expr) {
			uses[n] = "rules " + where
		}
	}
	// label_values(metric, label) names a label second.
	for _, label := range []string{"namespace", "pod", "pool"} {
		delete(uses, label)
	}
	if len(uses) < 20 {
		t.Fatalf("found only %d metric names in the dashboard and rules: the parser is broken", len(uses))
	}
	var pending []string
	for _, name := range sortedKeys(uses) {
		scraped, declared := ex.has(name)
		switch {
		case !declared:
			t.Errorf("%s uses %s, which the daemon does not export", uses[name], name)
		case !scraped:
			pending = append(pending, name)
		}
	}
	if len(pending) > 0 {
		t.Logf("declared by the daemon's collectors but without samples in this scrape (their pools or RPCs are not running yet): %v", pending)
	}

	promtool(t, body, "check", "metrics")
	promtool(t, nil, "check", "rules", rulesPath)
	promtool(t, nil, "test", "rules", ruleTestsPath)
}

// promtool runs promtool with args (and stdin), failing on a non-zero exit.
// CI installs it (Debian package prometheus); elsewhere the check skips.
func promtool(t *testing.T, stdin []byte, args ...string) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Logf("promtool %s: skipped, promtool is not installed (apt-get install prometheus)", strings.Join(args, " "))
		return
	}
	cmd := exec.Command(path, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestDashboardCoversTheDesign checks that the dashboard shows what an
// operator needs, and that it is well-formed: unique panel IDs, every panel
// on the data source variable, on a 24-column grid.
func TestDashboardCoversTheDesign(t *testing.T) {
	d := loadDashboard(t)
	used := map[string]bool{}
	for _, expr := range d.exprs() {
		for _, n := range metricNames(expr) {
			used[n] = true
		}
	}
	for _, want := range []string{
		"riptide_pool_utilization_ratio",             // pool utilization
		"riptide_pool_waiters",                       // waiters
		"riptide_pool_checkout_wait_seconds_bucket",  // checkout wait p99
		"riptide_extraction_duration_seconds_bucket", // latency by extractor
		"riptide_breaker_state",                      // breaker state
		"riptide_wasm_memory_bytes",                  // WASM memory
		"riptide_wasm_memory_pressure_ratio",         // and pressure
		"riptide_leases_active",                      // leases
		"riptide_events_dropped_total",               // event drops
		"grpc_server_handled_total",                  // gRPC rates and errors
		"grpc_server_handling_seconds_bucket",        // gRPC latency
	} {
		if !used[want] {
			t.Errorf("the dashboard does not use %s", want)
		}
	}
	ids := map[int]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if prev, ok := ids[p.ID]; ok {
				t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			if p.GridPos.W <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q: gridPos %+v is off the 24-column grid", p.Title, p.GridPos)
			}
			if p.Type != "row" {
				if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
					t.Errorf("panel %q: datasource is not the ${datasource} variable", p.Title)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q has no queries", p.Title)
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
}

// TestRulesCoverTheDesign checks that the alerts the design asks for exist.
func TestRulesCoverTheDesign(t *testing.T) {
	var alerts []string
	for where := range loadRules(t).exprs() {
		alerts = append(alerts, strings.TrimPrefix(where, "alert "))
	}
	for _, want := range []string{"RiptidePoolExhausted", "RiptideCircuitOpen", "RiptideWasmMemoryPressure", "RiptideHighErrorRate"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no %s alert (have %v)", want, alerts)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package config

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func varNames() []string {
	var names []string
	for _, v := range Vars() {
		names = append(names, v.Name)
	}
	return names
}

func TestVarsWellFormed(t *testing.T) {
	seen := make(map[string]bool)
	for _, v := range Vars() {
		if seen[v.Name] {
			t.Errorf("%s described twice", v.Name)
		}
		seen[v.Name] = true
		if !regexp.MustCompile(`^[A-Z][A-Z0-9_]*[A-Z0-9]$`).MatchString(v.Name) {
			t.Errorf("%s: not an UPPER_SNAKE name", v.Name)
		}
		if v.Meaning == "" || v.Range == "" || v.typ == "" {
			t.Errorf("%s: meaning, range and flag type are all required", v.Name)
		}
		if (v.parse == nil) == (v.parseList == nil) || v.format == nil || v.check == nil {
			t.Errorf("%s: needs exactly one parser, a formatter and a check", v.Name)
		}
		if strings.Contains(v.Range+v.Meaning, "|") {
			t.Errorf("%s: '|' would break the Markdown table", v.Name)
		}
		if got, want := v.Key(), strings.ToLower(v.Name); got != want {
			t.Errorf("%s: key %q, want %q", v.Name, got, want)
		}
		if got, want := v.Flag(), strings.ReplaceAll(strings.ToLower(v.Name), "_", "-"); got != want {
			t.Errorf("%s: flag %q, want %q", v.Name, got, want)
		}
		if strings.HasSuffix(v.Name, "_MS") != (v.typ == "ms") {
			t.Errorf("%s: *_MS variables and only they are durations (type %q)", v.Name, v.typ)
		}
	}
}

// TestDefault pins every default of the brief and DESIGN.md section 4.
func TestDefault(t *testing.T) {
	want := &Config{
		WASMPoolSize:              10,
		WASMMaxInstances:          50,
		WASMIdleTimeout:           60 * time.Second,
		WASMHealthCheckInterval:   30 * time.Second,
		NativePoolSize:            20,
		NativeMaxInstances:        100,
		NativeIdleTimeout:         30 * time.Second,
		WASMMemoryLimitMB:         512,
		MemoryPressureThreshold:   0.8,
		GCInterval:                60 * time.Second,
		CBFailureThreshold:        5,
		CBSuccessThreshold:        2,
		CBTimeout:                 30 * time.Second,
		HealthCheckEnabled:        true,
		HealthCheckInterval:       10 * time.Second,
		GRPCAddr:                  ":50051",
		MetricsAddr:               ":9090",
		WASMInstanceMemoryLimitMB: 64,
		WASMRecycleMemoryMB:       12,
		WASMMaxStackKB:            65536,
		WASMExtractTimeout:        5 * time.Second,
		WASMTrustedModules:        []string{"article"},
		CheckoutTimeout:           5 * time.Second,
		MaxDocumentBytes:          10 << 20,
		MaxResultBytes:            16 << 20,
		LeaseDefaultTTL:           30 * time.Second,
		LeaseMaxTTL:               10 * time.Minute,
		ShutdownGrace:             15 * time.Second,
		MaxConnectionAge:          5 * time.Minute,
		MaxConnectionAgeGrace:     30 * time.Second,
		GCPercent:                 400,
		LogLevel:                  0, // slog.LevelInfo
		LogFormat:                 "json",
		NativePoolEnabled:         true,
		WASMPoolEnabled:           true,
		SelectorCacheSize:         1024,
		PatternCacheSize:          1024,
		MaxWork:                   500_000_000,
		CSSMaxElementWork:         2_000_000,
		CSSMaxHasDepth:            2,
		XPathMaxSteps:             2_000_000,

		ArticleEngine:              "wasm",
		ArticleNativeDocumentBytes: 2 << 20,
		ArticleNativeMemoryMB:      512,
	}
	got := Default()
	assertConfig(t, got, want)
	if err := got.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

var update = flag.Bool("update", false, "rewrite the variable table in doc.go from Vars")

// TestDocTable keeps the table of the package documentation in step with
// Vars; go test -run TestDocTable -update rewrites it.
func TestDocTable(t *testing.T) {
	const start, end = "// # Variables\n//\n", "\n//\n// Rules between variables:"
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok1 := strings.Cut(string(src), start)
	table, tail, ok2 := strings.Cut(rest, end)
	if !ok1 || !ok2 {
		t.Fatalf("doc.go: no table between %q and %q", start, end)
	}
	var want strings.Builder
	for line := range strings.Lines(docTable()) {
		want.WriteString("//\t" + line)
	}
	if table+"\n" == want.String() {
		return
	}
	if !*update {
		t.Fatalf("the table in doc.go is not that of Vars; run go test -run TestDocTable -update")
	}
	out := head + start + strings.TrimSuffix(want.String(), "\n") + end + tail
	if err := os.WriteFile("doc.go", []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// documentedNames returns the variables named in the first cell of the rows
// of the Markdown tables in the file, and all back-quoted UPPER_SNAKE names
// in the section whose heading starts with section (if not empty).
func documentedNames(t *testing.T, path, section string) []string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		t.Skipf("%s is absent: nothing to compare with", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile("^\\|\\s*`([A-Z][A-Z0-9_]+)`\\s*\\|")
	quoted := regexp.MustCompile("`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`")
	var names []string
	in := section == ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") && section != "" {
			in = strings.HasPrefix(strings.TrimLeft(line, "# "), section)
			continue
		}
		if !in {
			continue
		}
		if section == "" {
			if m := row.FindStringSubmatch(line); m != nil {
				names = append(names, m[1])
			}
			continue
		}
		for _, m := range quoted.FindAllStringSubmatch(line, -1) {
			names = append(names, m[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestDesignVarsDescribed fails when a variable of DESIGN.md section 4 has no Var.
func TestDesignVarsDescribed(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "DESIGN.md")
	names := documentedNames(t, path, "4.")
	if len(names) < 30 {
		t.Fatalf("found only %d variables in section 4 of %s: has the section moved?", len(names), path)
	}
	for _, n := range names {
		if !slices.Contains(varNames(), n) {
			t.Errorf("%s is documented in %s but missing from Vars", n, path)
		}
	}
}

// TestReadmeVarsDescribed fails when a configuration table of the README
// names a variable that has no Var, or leaves one out.
func TestReadmeVarsDescribed(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	names := documentedNames(t, path, "")
	if len(names) == 0 {
		t.Skipf("%s has no configuration table yet (see MarkdownTable)", path)
	}
	for _, n := range names {
		if !slices.Contains(varNames(), n) {
			t.Errorf("%s is documented in %s but missing from Vars", n, path)
		}
	}
	for _, n := range varNames() {
		if !slices.Contains(names, n) {
			t.Errorf("%s is missing from the configuration table of %s", n, path)
		}
	}
}

func TestMarkdownTable(t *testing.T) {
	table := MarkdownTable()
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if got, want := len(lines), len(Vars())+2; got != want {
		t.Fatalf("%d lines, want %d", got, want)
	}
	for i, v := range Vars() {
		line := lines[i+2]
		if !strings.HasPrefix(line, "| `"+v.Name+"` |") || strings.Count(line, " | ") != 3 {
			t.Errorf("row %q: want 4 cells starting with %s", line, v.Name)
		}
	}
}

func TestHumanMS(t *testing.T) {
	for ms, want := range map[int64]string{0: "0ms", 1: "1ms", 1500: "1500ms", 1000: "1s", 90000: "90s",
		60000: "1min", 3600000: "1h", 86400000: "24h"} {
		if got := humanMS(ms); got != want {
			t.Errorf("humanMS(%d) = %q, want %q", ms, got, want)
		}
	}
}

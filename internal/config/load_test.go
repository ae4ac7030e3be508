package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// assertConfig compares two configurations variable by variable, so that a
// failure names the variable.
func assertConfig(t *testing.T, got, want *Config) {
	t.Helper()
	for _, v := range Vars() {
		if g, w := v.format(got), v.format(want); g != w {
			t.Errorf("%s = %q, want %q", v.Name, g, w)
		}
	}
	if got.ConfigFile != want.ConfigFile || got.ShowVersion != want.ShowVersion {
		t.Errorf("ConfigFile, ShowVersion = %q, %t; want %q, %t",
			got.ConfigFile, got.ShowVersion, want.ConfigFile, want.ShowVersion)
	}
}

func byName(t *testing.T, name string) Var {
	t.Helper()
	for _, v := range Vars() {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no variable %s", name)
	return Var{}
}

// writeFile writes content to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// errorsOf flattens a tree of joined and wrapped errors into its *Error leaves.
func errorsOf(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// home is an environment with a HOME, so that the cache directory resolves
// to the same place on every run.
var home = []string{"HOME=/home/test"}

func TestLoadDefaults(t *testing.T) {
	got, err := Load(nil, home)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if runtime.GOOS == "linux" {
		want.WASMCompilationCacheDir = "/home/test/.cache/riptide-poold/wazero"
	} else {
		want.WASMCompilationCacheDir = got.WASMCompilationCacheDir
	}
	assertConfig(t, got, want)
}

// TestLoadIgnoresProcessEnvironment proves Load reads only its arguments.
func TestLoadIgnoresProcessEnvironment(t *testing.T) {
	t.Setenv("WASM_POOL_SIZE", "abc")
	t.Setenv("GRPC_ADDR", "nonsense")
	if _, err := Load(nil, nil); err != nil {
		t.Fatalf("Load read the process environment: %v", err)
	}
}

// TestLayers checks, for every variable, its default and that each layer
// overrides the ones below: defaults < file < environment < flags.
func TestLayers(t *testing.T) {
	dir := t.TempDir()
	cert1 := writeFile(t, dir, "cert1.pem", "cert")
	cert2 := writeFile(t, dir, "cert2.pem", "cert")
	key := writeFile(t, dir, "key.pem", "key")
	sub1, sub2 := filepath.Join(dir, "m1"), filepath.Join(dir, "m2")
	for _, d := range []string{sub1, sub2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tls := []string{"TLS_CERT_FILE=" + cert1, "TLS_KEY_FILE=" + key}

	type values [3]string
	cases := []struct {
		name string
		vals values // three valid values; neighbours differ in effect
		want values // their canonical form; "" means the value itself
		base []string
	}{
		{"WASM_POOL_SIZE", values{"0", "7", "50"}, values{}, nil},
		{"WASM_MAX_INSTANCES", values{"10", " 20 ", "10000"}, values{"", "20", ""}, nil},
		{"WASM_IDLE_TIMEOUT_MS", values{"1000", "2000", "86400000"}, values{}, nil},
		{"WASM_HEALTH_CHECK_INTERVAL_MS", values{"100", "200", "3600000"}, values{}, nil},
		{"NATIVE_POOL_SIZE", values{"0", "+1", "100"}, values{"", "1", ""}, nil},
		{"NATIVE_MAX_INSTANCES", values{"20", "21", "10000"}, values{}, nil},
		{"NATIVE_IDLE_TIMEOUT_MS", values{"1000", "5000", "86400000"}, values{}, nil},
		{"WASM_MEMORY_LIMIT_MB", values{"64", "65", "1048576"}, values{}, nil},
		{"MEMORY_PRESSURE_THRESHOLD", values{"1", "0.5", "1e-3"}, values{"", "", "0.001"}, nil},
		{"GC_INTERVAL_MS", values{"100", "101", "3600000"}, values{}, nil},
		{"CB_FAILURE_THRESHOLD", values{"1", "2", "1000"}, values{}, nil},
		{"CB_SUCCESS_THRESHOLD", values{"1", "3", "1000"}, values{}, nil},
		{"CB_TIMEOUT_MS", values{"100", "1000", "3600000"}, values{}, nil},
		{"HEALTH_CHECK_ENABLED", values{"false", "TRUE", "0"}, values{"", "true", "false"}, nil},
		{"HEALTH_CHECK_INTERVAL_MS", values{"100", "20000", "3600000"}, values{}, nil},
		{"GRPC_ADDR", values{"127.0.0.1:0", "unix:///run/riptide/pool.sock", "[::1]:8080"}, values{}, nil},
		{"METRICS_ADDR", values{"", "localhost:9191", ":0"}, values{}, nil},
		{"WASM_MODULES_DIR", values{sub1, "", sub2}, values{}, nil},
		{"WASM_COMPILATION_CACHE_DIR", values{"", filepath.Join(dir, "new"), sub1}, values{}, nil},
		{"WASM_INSTANCE_MEMORY_LIMIT_MB", values{"1", "128", "512"}, values{}, nil},
		{"WASM_MAX_STACK_KB", values{"16384", "65536", "2097151"}, values{}, nil},
		{"WASM_ALLOW_UNINSTRUMENTED", values{"true", "0", "1"}, values{"", "false", "true"}, nil},
		{"WASM_RECYCLE_MEMORY_MB", values{"1", "32", "4096"}, values{}, nil},
		{"WASM_EXTRACT_TIMEOUT_MS", values{"1", "100", "600000"}, values{}, nil},
		{"WASM_TRUSTED_MODULES", values{"", "a, b,,c", "x.y-z_1"}, values{"", "a,b,c", ""}, nil},
		{"ARTICLE_ENGINE", values{"native", "wasm", "native"}, values{}, nil},
		{"ARTICLE_NATIVE_DOCUMENT_BYTES", values{"1024", "4096", "1073741824"}, values{}, nil},
		{"ARTICLE_NATIVE_MEMORY_MB", values{"1", "200", "1048576"}, values{}, nil},
		{"CHECKOUT_TIMEOUT_MS", values{"1", "2", "600000"}, values{}, nil},
		{"MAX_DOCUMENT_BYTES", values{"1024", "2048", "1073741824"}, values{}, nil},
		{"MAX_RESULT_BYTES", values{"1024", "2048", "1073741824"}, values{}, nil},
		{"LEASE_DEFAULT_TTL_MS", values{"1", "2000", "600000"}, values{}, nil},
		{"LEASE_MAX_TTL_MS", values{"30000", "40000", "86400000"}, values{}, nil},
		{"SHUTDOWN_GRACE_MS", values{"1", "30000", "600000"}, values{}, nil},
		{"MAX_CONNECTION_AGE_MS", values{"0", "60000", "86400000"}, values{}, nil},
		{"MAX_CONNECTION_AGE_GRACE_MS", values{"1", "1000", "86400000"}, values{}, nil},
		{"GC_PERCENT", values{"1", " 200 ", "10000"}, values{"", "200", ""}, nil},
		{"MEMORY_LIMIT_MB", values{"0", "768", "1048576"}, values{}, nil},
		{"LOG_LEVEL", values{"debug", "WARN", "error"}, values{"", "warn", ""}, nil},
		{"LOG_FORMAT", values{"text", "JSON", "text"}, values{"", "json", ""}, nil},
		{"TLS_CERT_FILE", values{cert1, cert2, cert1}, values{}, []string{"TLS_KEY_FILE=" + key}},
		{"TLS_KEY_FILE", values{key, cert1, key}, values{}, []string{"TLS_CERT_FILE=" + cert1}},
		{"TLS_CLIENT_CA_FILE", values{cert1, "", cert2}, values{}, tls},
		{"NATIVE_POOL_ENABLED", values{"false", "1", "false"}, values{"", "true", ""}, nil},
		{"WASM_POOL_ENABLED", values{"false", "true", "0"}, values{"", "", "false"}, nil},
		{"SELECTOR_CACHE_SIZE", values{"1", "2", "1000000"}, values{}, nil},
		{"PATTERN_CACHE_SIZE", values{"1", "2", "1000000"}, values{}, nil},
		{"MAX_WORK", values{"10000", "20000", "1000000000000"}, values{}, nil},
		{"CSS_MAX_ELEMENT_WORK", values{"1000", "2000", "1000000000000"}, values{}, nil},
		{"CSS_MAX_HAS_DEPTH", values{"1", "2", "32"}, values{}, nil},
		{"XPATH_MAX_STEPS", values{"1000", "5000", "1000000000"}, values{}, nil},
		{"WARM_SELECTORS", values{"h1, h2\n div.a\n", "p", ""}, values{"h1, h2\ndiv.a", "", ""}, nil},
		{"WARM_XPATH", values{"//a/@href\n count(//p, 1)\n", "//p", ""}, values{"//a/@href\ncount(//p, 1)", "", ""}, nil},
		{"WARM_PATTERNS", values{`a{1,3}` + "\n" + `^x$`, `\d+`, ""}, values{"a{1,3}\n^x$", "", ""}, nil},
	}
	covered := make(map[string]bool)
	for _, tc := range cases {
		covered[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			v := byName(t, tc.name)
			want := func(i int) string {
				if tc.want[i] != "" || tc.vals[i] == "" {
					return tc.want[i]
				}
				return tc.vals[i]
			}
			base := append(slices.Clone(home), tc.base...)
			file := writeFile(t, t.TempDir(), "c.yaml", v.Key()+": "+strconv.Quote(tc.vals[0])+"\n")
			env := append(slices.Clone(base), tc.name+"="+tc.vals[1])
			flag := "--" + v.Flag() + "=" + tc.vals[2]

			def, err := Load(nil, home)
			if err != nil {
				t.Fatalf("defaults: %v", err)
			}
			if got := v.format(def); got != v.def && v.dynDefault == nil {
				t.Errorf("default = %q, want %q", got, v.def)
			}
			for _, layer := range []struct {
				name string
				args []string
				env  []string
				want string
			}{
				{"file", []string{"--config", file}, base, want(0)},
				{"env", nil, env, want(1)},
				{"flag", []string{flag}, base, want(2)},
				{"env over file", []string{"--config", file}, env, want(1)},
				{"flag over env", []string{flag}, env, want(2)},
				{"flag over file", []string{"--config=" + file, flag}, base, want(2)},
				{"flag over env over file", []string{flag, "--config", file}, env, want(2)},
			} {
				c, err := Load(layer.args, layer.env)
				if err != nil {
					t.Errorf("%s: %v", layer.name, err)
					continue
				}
				if got := v.format(c); got != layer.want {
					t.Errorf("%s: %s = %q, want %q", layer.name, tc.name, got, layer.want)
				}
			}
		})
	}
	for _, v := range Vars() {
		if !covered[v.Name] {
			t.Errorf("%s has no layer test", v.Name)
		}
	}
}

// TestFileTypes checks YAML's own scalars and sequences.
func TestFileTypes(t *testing.T) {
	file := writeFile(t, t.TempDir(), "c.yaml", `
# native YAML types
wasm_pool_size: 3
memory_pressure_threshold: 0.25
health_check_enabled: false
wasm_pool_enabled: 0
cb_timeout_ms: 1500
warm_selectors:
  - "h1, h2"
  - div.article
wasm_trusted_modules: [article, "x,y"]
warm_patterns: |
  a+
  b{2}
log_level: ~
LOG_FORMAT: text
`)
	c, err := Load([]string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.ConfigFile = file
	want.WASMPoolSize = 3
	want.MemoryPressureThreshold = 0.25
	want.HealthCheckEnabled = false
	want.WASMPoolEnabled = false
	want.CBTimeout = 1500_000_000
	want.WarmSelectors = []string{"h1, h2", "div.article"}
	want.WASMTrustedModules = []string{"article", "x", "y"}
	want.WarmPatterns = []string{"a+", "b{2}"}
	want.LogFormat = "text"
	assertConfig(t, c, want)

	empty := writeFile(t, t.TempDir(), "empty.yaml", "")
	if _, err := Load([]string{"--config", empty}, nil); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

func TestFlagForms(t *testing.T) {
	for _, tc := range []struct {
		args []string
		name string
		want string
	}{
		{[]string{"--health-check-enabled"}, "HEALTH_CHECK_ENABLED", "true"},
		{[]string{"--health-check-enabled=false"}, "HEALTH_CHECK_ENABLED", "false"},
		{[]string{"--wasm-pool-enabled=0"}, "WASM_POOL_ENABLED", "false"},
		{[]string{"--wasm-pool-size", "4"}, "WASM_POOL_SIZE", "4"},
		{[]string{"--wasm-pool-size=4", "--wasm-pool-size=5"}, "WASM_POOL_SIZE", "5"},
		{[]string{"--warm-selectors", "h1, h2", "--warm-selectors", "p"}, "WARM_SELECTORS", "h1, h2\np"},
		{[]string{"--wasm-trusted-modules=a,b", "--wasm-trusted-modules", "c"}, "WASM_TRUSTED_MODULES", "a,b,c"},
		{[]string{"--warm-patterns="}, "WARM_PATTERNS", ""},
		{[]string{"--metrics-addr="}, "METRICS_ADDR", ""},
		{[]string{"--wasm-trusted-modules="}, "WASM_TRUSTED_MODULES", ""},
	} {
		c, err := Load(tc.args, nil)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if got := byName(t, tc.name).format(c); got != tc.want {
			t.Errorf("%q: %s = %q, want %q", tc.args, tc.name, got, tc.want)
		}
	}
}

func TestEnvironment(t *testing.T) {
	// The first of duplicates wins, as with os.Getenv; malformed entries
	// are ignored; unknown variables are none of Load's business.
	c, err := Load(nil, []string{"WASM_POOL_SIZE=3", "WASM_POOL_SIZE=4", "=C:=C:\\", "JUNK", "UNKNOWN_VAR=x", "wasm_pool_size=9"})
	if err != nil {
		t.Fatal(err)
	}
	if c.WASMPoolSize != 3 {
		t.Errorf("WASMPoolSize = %d, want 3", c.WASMPoolSize)
	}
	// Set to empty is set: it disables the cache and the metrics server.
	c, err = Load(nil, append(slices.Clone(home), "WASM_COMPILATION_CACHE_DIR=", "METRICS_ADDR="))
	if err != nil {
		t.Fatal(err)
	}
	if c.WASMCompilationCacheDir != "" || c.MetricsAddr != "" {
		t.Errorf("cache dir %q, metrics %q; want both empty", c.WASMCompilationCacheDir, c.MetricsAddr)
	}
}

func TestUserCacheDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the cases are those of Unix")
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"HOME=/h"}, "/h/.cache/riptide-poold/wazero"},
		{[]string{"HOME=/h", "XDG_CACHE_HOME=/x"}, "/x/riptide-poold/wazero"},
		{[]string{"HOME=/h", "XDG_CACHE_HOME=rel"}, ""}, // relative: refused, as os.UserCacheDir does
		{nil, ""},
	} {
		c, err := Load(nil, tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if c.WASMCompilationCacheDir != tc.want {
			t.Errorf("%q: cache dir %q, want %q", tc.env, c.WASMCompilationCacheDir, tc.want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--wasm-pool-size=abc", "--help"}} {
		if _, err := Load(args, nil); !errors.Is(err, ErrHelp) {
			t.Errorf("%q: err = %v, want ErrHelp", args, err)
		}
	}
	// --version must work whatever else is wrong.
	c, err := Load([]string{"--version", "--config=/nonexistent"}, []string{"WASM_POOL_SIZE=abc"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.ShowVersion {
		t.Error("ShowVersion = false after --version")
	}
	if c, _ := Load(nil, nil); c.ShowVersion {
		t.Error("ShowVersion = true without --version")
	}
}

func TestFlagUsage(t *testing.T) {
	u := FlagUsage()
	for _, v := range Vars() {
		if !strings.Contains(u, "--"+v.Flag()+" ") || !strings.Contains(u, "$"+v.Name+";") {
			t.Errorf("usage lacks --%s or $%s", v.Flag(), v.Name)
		}
	}
	for _, f := range []string{"--config", "--version", "--help"} {
		if !strings.Contains(u, f) {
			t.Errorf("usage lacks %s", f)
		}
	}
}

func TestSplitListenAddr(t *testing.T) {
	for _, tc := range []struct {
		in, network, addr string
		bad               bool
	}{
		{in: ":50051", network: "tcp", addr: ":50051"},
		{in: "0.0.0.0:1", network: "tcp", addr: "0.0.0.0:1"},
		{in: "[::]:65535", network: "tcp", addr: "[::]:65535"},
		{in: "[fe80::1%eth0]:80", network: "tcp", addr: "[fe80::1%eth0]:80"},
		{in: "pool.internal.example:443", network: "tcp", addr: "pool.internal.example:443"},
		{in: "unix:///run/x.sock", network: "unix", addr: "/run/x.sock"},
		{in: "", bad: true},
		{in: "localhost", bad: true},
		{in: ":65536", bad: true},
		{in: ":http", bad: true},
		{in: ":-1", bad: true},
		{in: "bad_host!:1", bad: true},
		{in: "-a.example:1", bad: true},
		{in: "::1:80", bad: true},
		{in: "unix://relative.sock", bad: true},
		{in: "unix:/x.sock", bad: true},
		{in: "unix:x.sock", bad: true},
		{in: "unix:///" + strings.Repeat("x", 200), bad: true},
	} {
		network, addr, err := SplitListenAddr(tc.in)
		if (err != nil) != tc.bad || network != tc.network || addr != tc.addr {
			t.Errorf("SplitListenAddr(%q) = %q, %q, %v", tc.in, network, addr, err)
		}
	}
	c := Default()
	c.GRPCAddr = "unix:///run/x.sock"
	if n, a := c.GRPCListenAddr(); n != "unix" || a != "/run/x.sock" {
		t.Errorf("GRPCListenAddr() = %q, %q", n, a)
	}
}

func TestLogValue(t *testing.T) {
	c := Default()
	c.ConfigFile = "/etc/riptide.yaml"
	attrs := c.LogValue().Group()
	if len(attrs) != len(Vars())+1 {
		t.Fatalf("%d attributes, want %d", len(attrs), len(Vars())+1)
	}
	if attrs[0].Key != "config" || attrs[1].Key != "wasm_pool_size" || attrs[1].Value.String() != "10" {
		t.Errorf("attributes start %v, %v", attrs[0], attrs[1])
	}
}

// TestValidateReportsAll: a zero Config breaks many rules, and Validate
// names every one of them at once.
func TestValidateReportsAll(t *testing.T) {
	errs := errorsOf((&Config{}).Validate())
	var got []string
	for _, e := range errs {
		got = append(got, e.Var)
	}
	for _, name := range []string{"WASM_MAX_INSTANCES", "WASM_IDLE_TIMEOUT_MS", "MEMORY_PRESSURE_THRESHOLD",
		"GRPC_ADDR", "LOG_FORMAT", "MAX_DOCUMENT_BYTES", "SELECTOR_CACHE_SIZE", "NATIVE_POOL_ENABLED"} {
		if !slices.Contains(got, name) {
			t.Errorf("Validate of a zero Config does not name %s; it names %q", name, got)
		}
	}

	// A range error is the news; the rules it breaks are not repeated.
	c := Default()
	c.WASMMaxInstances = 0
	errs = errorsOf(c.Validate())
	if len(errs) != 1 || errs[0].Var != "WASM_MAX_INSTANCES" {
		t.Errorf("WASM_MAX_INSTANCES=0: got %v, want only its range error", errs)
	}
}

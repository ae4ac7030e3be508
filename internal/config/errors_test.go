package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type errCase struct {
	name string
	args []string
	env  []string
	yaml string   // when not empty, written to a file given with --config
	want []string // substrings of the message, all required; "$FILE" is the config file
	vars []string // variables that some *Error must name
}

func runErrCase(t *testing.T, tc errCase) {
	t.Helper()
	args := tc.args
	file := ""
	if tc.yaml != "" {
		file = writeFile(t, t.TempDir(), "c.yaml", tc.yaml)
		args = append([]string{"--config", file}, args...)
	}
	c, err := Load(args, tc.env)
	if err == nil {
		t.Fatalf("Load(%q, %q) = %+v, want an error", args, tc.env, c)
	}
	if c != nil {
		t.Errorf("Load returned a Config with its error")
	}
	msg := err.Error()
	for _, w := range tc.want {
		if w = strings.ReplaceAll(w, "$FILE", file); !strings.Contains(msg, w) {
			t.Errorf("error lacks %q:\n%s", w, msg)
		}
	}
	var named []string
	for _, e := range errorsOf(err) {
		named = append(named, e.Var)
	}
	for _, v := range tc.vars {
		if !slices.Contains(named, v) {
			t.Errorf("no *Error names %s; named: %q\n%s", v, named, msg)
		}
	}
}

// TestSyntaxAndRangeErrors: for every variable with a syntax or range,
// values just outside it and values that do not parse, each from the
// environment.
func TestSyntaxAndRangeErrors(t *testing.T) {
	var cases []errCase
	for _, v := range Vars() {
		bad := func(value, problem string) {
			shown := strconv.Quote(value)
			cases = append(cases, errCase{
				name: v.Name + "=" + shown,
				env:  []string{v.Name + "=" + value},
				want: []string{v.Name + "=" + shown + ": " + problem + " (accepted: " + v.Range + ")"},
				vars: []string{v.Name},
			})
		}
		outside := func(value string) {
			cases = append(cases, errCase{
				name: v.Name + "=" + value,
				env:  []string{v.Name + "=" + value},
				want: []string{v.Name + "=" + value + ": out of range (accepted: " + v.Range + ")"},
				vars: []string{v.Name},
			})
		}
		switch v.typ {
		case "count", "MiB", "bytes", "ms", "percent":
			syntax := "not an integer"
			if v.typ == "ms" {
				syntax = "not an integer number of milliseconds"
			}
			for _, s := range []string{"abc", "10x", "", "1.5", "1e3", "0x10", "1_000", "5s"} {
				bad(s, syntax)
			}
			outside(strconv.FormatInt(v.lo-1, 10))
			outside(strconv.FormatInt(v.hi+1, 10))
			bad("99999999999999999999", "out of range")
		case "ratio":
			for _, s := range []string{"abc", "", "0.5x", "80%"} {
				bad(s, "not a number")
			}
			for _, s := range []string{"0", "-0.5", "1.0001", "2", "NaN", "+Inf", "-Inf"} {
				outside(s)
			}
		case "boolean":
			for _, s := range []string{"yes", "no", "t", "F", "2", "", "on"} {
				bad(s, "not a boolean")
			}
		}
	}
	cases = append(cases,
		errCase{name: "LOG_LEVEL", env: []string{"LOG_LEVEL=loud"},
			want: []string{`LOG_LEVEL="loud": unknown log level (accepted: debug, info, warn, error)`}},
		errCase{name: "LOG_LEVEL empty", env: []string{"LOG_LEVEL="},
			want: []string{`LOG_LEVEL="": unknown log level`}},
		errCase{name: "LOG_LEVEL numeric", env: []string{"LOG_LEVEL=4"},
			want: []string{`LOG_LEVEL="4": unknown log level`}},
		errCase{name: "LOG_FORMAT", env: []string{"LOG_FORMAT=xml"},
			want: []string{`LOG_FORMAT="xml": unknown value (accepted: json, text)`}},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runErrCase(t, tc) })
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	cert := writeFile(t, dir, "cert.pem", "cert")
	key := writeFile(t, dir, "key.pem", "key")
	missing := filepath.Join(dir, "missing.pem")
	aFile := writeFile(t, dir, "file", "")
	tls := []string{"TLS_CERT_FILE=" + cert, "TLS_KEY_FILE=" + key}

	cases := []errCase{
		// min > max and the other rules between variables
		{name: "native min > max", env: []string{"NATIVE_POOL_SIZE=50", "NATIVE_MAX_INSTANCES=10"},
			want: []string{"NATIVE_POOL_SIZE=50 exceeds NATIVE_MAX_INSTANCES=10 (min must be <= max)"}},
		{name: "wasm min > max", env: []string{"WASM_MAX_INSTANCES=5"},
			want: []string{"WASM_POOL_SIZE=10 (default) exceeds WASM_MAX_INSTANCES=5 (min must be <= max)"}},
		{name: "lease default > max", env: []string{"LEASE_DEFAULT_TTL_MS=700000"},
			want: []string{"LEASE_DEFAULT_TTL_MS=700000 exceeds LEASE_MAX_TTL_MS=600000"}},
		{name: "instance memory > budget", args: []string{"--wasm-memory-limit-mb=32"},
			want: []string{"WASM_INSTANCE_MEMORY_LIMIT_MB=64 (default) exceeds WASM_MEMORY_LIMIT_MB=32"}},
		{name: "native article call over its memory", env: []string{"ARTICLE_ENGINE=native", "ARTICLE_NATIVE_MEMORY_MB=100"},
			want: []string{"ARTICLE_NATIVE_MEMORY_MB=100 is below the 256 MiB one call on a document of 2097152 bytes"}},
		{name: "native article memory over the daemon's", env: []string{"ARTICLE_ENGINE=native", "MEMORY_LIMIT_MB=256"},
			want: []string{"ARTICLE_NATIVE_MEMORY_MB=512 (default) exceeds MEMORY_LIMIT_MB=256"}},
		{name: "too many warm selectors", env: []string{"SELECTOR_CACHE_SIZE=1", "WARM_SELECTORS=a\nb"},
			want: []string{"WARM_SELECTORS=(2 items) has more items than SELECTOR_CACHE_SIZE=1 can hold"}},
		{name: "too many warm XPath expressions", env: []string{"SELECTOR_CACHE_SIZE=1", "WARM_XPATH=//a\n//b"},
			want: []string{"WARM_XPATH=(2 items) has more items than SELECTOR_CACHE_SIZE=1 can hold"}},
		{name: "too many warm patterns", args: []string{"--pattern-cache-size=1", "--warm-patterns=a", "--warm-patterns=b"},
			want: []string{"WARM_PATTERNS=(2 items) (flag --warm-patterns) has more items than PATTERN_CACHE_SIZE=1"}},
		{name: "both pools disabled", env: []string{"NATIVE_POOL_ENABLED=false", "WASM_POOL_ENABLED=0"},
			want: []string{"NATIVE_POOL_ENABLED=false and WASM_POOL_ENABLED=false leave nothing to serve"}},

		// files
		{name: "cert without key", env: []string{"TLS_CERT_FILE=" + cert},
			want: []string{"TLS_CERT_FILE=" + strconv.Quote(cert) + " is set but TLS_KEY_FILE is empty"}},
		{name: "key without cert", env: []string{"TLS_KEY_FILE=" + key},
			want: []string{"TLS_KEY_FILE=" + strconv.Quote(key) + " is set but TLS_CERT_FILE is empty"}},
		{name: "client CA without cert", env: []string{"TLS_CLIENT_CA_FILE=" + cert},
			want: []string{"TLS_CLIENT_CA_FILE=" + strconv.Quote(cert) + " needs TLS_CERT_FILE and TLS_KEY_FILE"}},
		{name: "cert missing", env: []string{"TLS_CERT_FILE=" + missing, "TLS_KEY_FILE=" + key},
			want: []string{"TLS_CERT_FILE=" + strconv.Quote(missing) + ": stat ", "no such file or directory", "(accepted: empty, or a readable PEM file"}},
		{name: "key is a directory", env: []string{"TLS_CERT_FILE=" + cert, "TLS_KEY_FILE=" + dir},
			want: []string{"TLS_KEY_FILE=" + strconv.Quote(dir) + ": not a regular file"}},
		{name: "client CA missing", env: append(slices.Clone(tls), "TLS_CLIENT_CA_FILE="+missing),
			want: []string{"TLS_CLIENT_CA_FILE=" + strconv.Quote(missing)}},
		{name: "modules dir missing", env: []string{"WASM_MODULES_DIR=" + missing},
			want: []string{"WASM_MODULES_DIR=" + strconv.Quote(missing) + ": stat"}},
		{name: "modules dir is a file", env: []string{"WASM_MODULES_DIR=" + aFile},
			want: []string{"WASM_MODULES_DIR=" + strconv.Quote(aFile) + ": not a directory (accepted: empty (none) or a readable directory)"}},
		{name: "cache dir is a file", env: []string{"WASM_COMPILATION_CACHE_DIR=" + aFile},
			want: []string{"WASM_COMPILATION_CACHE_DIR=" + strconv.Quote(aFile) + ": not a directory"}},

		// addresses
		{name: "grpc no port", env: []string{"GRPC_ADDR=localhost"},
			want: []string{`GRPC_ADDR="localhost": not host:port (accepted: host:port (port 0..65535) or unix:///absolute/path)`}},
		{name: "grpc empty", env: []string{"GRPC_ADDR="}, want: []string{`GRPC_ADDR="": not host:port`}},
		{name: "grpc port too big", env: []string{"GRPC_ADDR=:70000"}, want: []string{`port "70000" is not a number in 0..65535`}},
		{name: "grpc named port", args: []string{"--grpc-addr=:grpc"}, want: []string{`GRPC_ADDR=":grpc" (flag --grpc-addr): port "grpc"`}},
		{name: "grpc bad host", env: []string{"GRPC_ADDR=exa mple:1"}, want: []string{`host "exa mple" is neither an IP address nor a host name`}},
		{name: "grpc relative unix", env: []string{"GRPC_ADDR=unix://pool.sock"}, want: []string{"unix:///absolute/path"}},
		{name: "grpc unix path too long", env: []string{"GRPC_ADDR=unix:///" + strings.Repeat("s", 120)}, want: []string{"longer than 103 bytes"}},
		{name: "metrics unix", env: []string{"METRICS_ADDR=unix:///run/m.sock"}, want: []string{`METRICS_ADDR="unix:///run/m.sock": the metrics server listens on TCP only`}},
		{name: "metrics no port", env: []string{"METRICS_ADDR=9090"}, want: []string{`METRICS_ADDR="9090": not host:port (accepted: host:port, or empty to disable)`}},
		{name: "same port", env: []string{"GRPC_ADDR=:9090"},
			want: []string{`GRPC_ADDR=":9090" uses the port of METRICS_ADDR=":9090"`}},
		{name: "same port, one wildcard", env: []string{"GRPC_ADDR=127.0.0.1:7000", "METRICS_ADDR=0.0.0.0:07000"},
			want: []string{`uses the port of METRICS_ADDR="0.0.0.0:07000"`}},

		// lists
		{name: "trusted module name", env: []string{"WASM_TRUSTED_MODULES=article,bad name,../x"},
			want: []string{`WASM_TRUSTED_MODULES="article,bad name,../x": "bad name" is not a module name`, `"../x" is not a module name`}},
		{name: "trusted module name too long", env: []string{"WASM_TRUSTED_MODULES=" + strings.Repeat("m", 200)},
			want: []string{"is longer than 128 bytes"}},
		{name: "bad warm pattern", env: []string{"WARM_PATTERNS=ok\n(unclosed"},
			want: []string{`WARM_PATTERNS="ok\n(unclosed": error parsing regexp: missing closing )`}},

		// the config file
		{name: "unknown key", yaml: "wasm_pool_sise: 3\nnot_a_setting: 1\n",
			want: []string{`config file $FILE: unknown key "wasm_pool_sise" (did you mean wasm_pool_size?)`,
				`unknown key "not_a_setting" (keys are the variable names in lower case`}},
		{name: "nested key", yaml: "wasm:\n  pool_size: 3\n", want: []string{`unknown key "wasm.pool_size"`}},
		{name: "bad value in file", yaml: "wasm_pool_size: abc\n",
			want: []string{`WASM_POOL_SIZE="abc" (key wasm_pool_size in $FILE): not an integer (accepted: 0..10000)`}},
		{name: "float for integer in file", yaml: "cb_failure_threshold: 2.5\n",
			want: []string{`CB_FAILURE_THRESHOLD="2.5" (key cb_failure_threshold in $FILE): not an integer`}},
		{name: "bool for integer in file", yaml: "wasm_pool_size: true\n", want: []string{`WASM_POOL_SIZE="true"`, "not an integer"}},
		{name: "list for scalar in file", yaml: "wasm_pool_size: [1, 2]\n", want: []string{"WASM_POOL_SIZE=", "a list is not accepted here"}},
		{name: "mapping for list item", yaml: "warm_selectors: [{a: 1}]\n", want: []string{"WARM_SELECTORS=", "is not a scalar"}},
		{name: "mapping for scalar", yaml: "log_level: {a: b}\n", want: []string{"LOG_LEVEL=", "a mapping is not accepted here"}},
		{name: "out of range in file", yaml: "memory_pressure_threshold: 1.5\n",
			want: []string{"MEMORY_PRESSURE_THRESHOLD=1.5 (key memory_pressure_threshold in $FILE): out of range"}},
		{name: "invalid YAML", yaml: "wasm_pool_size: [\n", want: []string{"config file $FILE:"}},
		{name: "YAML not a mapping", yaml: "- a\n- b\n", want: []string{"config file $FILE:"}},

		// flags
		{name: "flag source", args: []string{"--wasm-pool-size=-1"},
			want: []string{"WASM_POOL_SIZE=-1 (flag --wasm-pool-size): out of range (accepted: 0..10000)"}},
		{name: "flag beats a good env", args: []string{"--cb-timeout-ms=x"}, env: []string{"CB_TIMEOUT_MS=1000"},
			want: []string{`CB_TIMEOUT_MS="x" (flag --cb-timeout-ms): not an integer number of milliseconds`}},
		{name: "unknown flag", args: []string{"--wasm-pool-sise=3"}, want: []string{"unknown flag: --wasm-pool-sise", "see --help"}},
		{name: "flag without value", args: []string{"--wasm-pool-size"}, want: []string{"wasm-pool-size", "needs an argument"}},
		{name: "positional argument", args: []string{"serve"}, want: []string{`unexpected argument "serve"`}},
		{name: "bool flag with separate value", args: []string{"--health-check-enabled", "false"}, want: []string{`unexpected argument "false"`}},

		// everything at once
		{name: "every problem at once",
			env:  []string{"WASM_POOL_SIZE=abc", "NATIVE_POOL_SIZE=50", "NATIVE_MAX_INSTANCES=10", "LOG_LEVEL=loud", "TLS_CERT_FILE=" + missing},
			args: []string{"--gc-interval-ms=0"},
			yaml: "log_format: xml\nbogus: 1\n",
			want: []string{`unknown key "bogus"`},
			vars: []string{"WASM_POOL_SIZE", "NATIVE_POOL_SIZE", "LOG_LEVEL", "TLS_CERT_FILE", "GC_INTERVAL_MS", "LOG_FORMAT"}},
		// a variable that fails to parse suppresses the rules it takes part in
		{name: "no rule on an unparsed value", env: []string{"WASM_MAX_INSTANCES=x", "WASM_POOL_SIZE=60"},
			want: []string{`WASM_MAX_INSTANCES="x": not an integer`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { runErrCase(t, tc) })
	}

	t.Run("no rule on an unparsed value names only it", func(t *testing.T) {
		_, err := Load(nil, []string{"WASM_MAX_INSTANCES=x", "WASM_POOL_SIZE=60"})
		if errs := errorsOf(err); len(errs) != 1 {
			t.Errorf("%d errors, want 1: %v", len(errs), err)
		}
	})
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	_, err := Load([]string{"--config", missing}, nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "config file: open "+missing) {
		t.Errorf("missing file: %v", err)
	}
	_, err = Load([]string{"--config", dir}, nil)
	if err == nil || !strings.Contains(err.Error(), "config file") {
		t.Errorf("directory as config file: %v", err)
	}
	_, err = Load([]string{"--config", writeFile(t, dir, "u.yaml", "x: 1\n")}, nil)
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v is not ErrUnknownKey", err)
	}
}

// TestUnreadableFiles needs a user that permissions stop, which root is not.
func TestUnreadableFiles(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permissions do not stop reading")
	}
	dir := t.TempDir()
	locked := writeFile(t, dir, "locked", "x")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	key := writeFile(t, dir, "key.pem", "key")
	lockedDir := filepath.Join(dir, "modules")
	if err := os.Mkdir(lockedDir, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []errCase{
		{name: "cert", env: []string{"TLS_CERT_FILE=" + locked, "TLS_KEY_FILE=" + key},
			want: []string{"TLS_CERT_FILE=", "permission denied"}, vars: []string{"TLS_CERT_FILE"}},
		{name: "modules dir", env: []string{"WASM_MODULES_DIR=" + lockedDir},
			want: []string{"WASM_MODULES_DIR=", "permission denied"}, vars: []string{"WASM_MODULES_DIR"}},
	} {
		t.Run(tc.name, func(t *testing.T) { runErrCase(t, tc) })
	}
	if _, err := Load([]string{"--config", locked}, nil); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("unreadable config file: %v", err)
	}
}

package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A Var describes one setting: its environment variable, its default, what it
// means and which values are accepted. The same description drives the flags,
// the config file keys, --help, validation and the documentation tables, so
// they cannot drift apart.
type Var struct {
	Name    string // environment variable, e.g. "WASM_POOL_SIZE"
	Default string // default as it would be written in the environment
	Meaning string // one line for humans
	Range   string // accepted values, e.g. "0..10000"

	typ     string // placeholder shown by --help
	numeric bool   // values are shown unquoted in messages
	lo, hi  int64  // bounds of integers and durations (in ms); for tests
	def     string // parsed to obtain the default; differs from Default only when that is descriptive
	sep     string // list separator in the environment and config strings; "" for scalars
	multi   bool   // the flag may be repeated, each occurrence adding items

	parse     func(c *Config, s string) error       // scalars: parse s strictly into c
	parseList func(c *Config, items []string) error // lists: store the items in c
	format    func(c *Config) string                // c's value as it would be written in the environment
	check     func(c *Config) error                 // range and shape of c's value; nil if acceptable

	// dynDefault, when set, computes the default from the environment
	// (lookup reports a variable's value and whether it is set).
	dynDefault func(lookup func(string) (string, bool)) string
}

// Key returns the config file key of v: its name in lower snake case.
func (v Var) Key() string { return strings.ToLower(v.Name) }

// Flag returns the command-line flag of v, without dashes: its name in
// lower kebab case.
func (v Var) Flag() string { return strings.ReplaceAll(v.Key(), "_", "-") }

func (v Var) isList() bool { return v.parseList != nil }

// Bounds shared by several variables.
const (
	maxPool      = 10000
	maxCache     = 1_000_000
	maxBreaker   = 1000
	kib          = 1 << 10
	mib          = 1 << 20
	gib          = 1 << 30
	second       = 1000 // in milliseconds
	minute       = 60 * second
	hour         = 60 * minute
	day          = 24 * hour
	maxUnixPath  = 103 // sun_path is 104 bytes on macOS and 108 on Linux, NUL included
	maxNameBytes = 128
)

// Vars returns the description of every setting, in documentation order:
// the pool settings of DESIGN.md section 4, then the daemon settings.
// The slice is new at each call; the caller may keep or change it.
func Vars() []Var {
	return []Var{
		intVar("WASM_POOL_SIZE", 10, 0, maxPool, "count",
			"warm (min) instances per WASM module",
			func(c *Config) *int { return &c.WASMPoolSize }),
		intVar("WASM_MAX_INSTANCES", 50, 1, maxPool, "count",
			"max instances per WASM module",
			func(c *Config) *int { return &c.WASMMaxInstances }),
		msVar("WASM_IDLE_TIMEOUT_MS", 60000, second, day,
			"idle instances above min are closed after this",
			func(c *Config) *time.Duration { return &c.WASMIdleTimeout }),
		msVar("WASM_HEALTH_CHECK_INTERVAL_MS", 30000, 100, hour,
			"WASM health loop period",
			func(c *Config) *time.Duration { return &c.WASMHealthCheckInterval }),
		intVar("NATIVE_POOL_SIZE", 20, 0, maxPool, "count",
			"warm extractors per native kind",
			func(c *Config) *int { return &c.NativePoolSize }),
		intVar("NATIVE_MAX_INSTANCES", 100, 1, maxPool, "count",
			"max extractors per native kind",
			func(c *Config) *int { return &c.NativeMaxInstances }),
		msVar("NATIVE_IDLE_TIMEOUT_MS", 30000, second, day,
			"idle timeout for native extractors",
			func(c *Config) *time.Duration { return &c.NativeIdleTimeout }),
		intVar("WASM_MEMORY_LIMIT_MB", 512, 1, 1<<20, "MiB",
			"memory budget of the WASM pools, in MiB",
			func(c *Config) *int { return &c.WASMMemoryLimitMB }),
		fractionVar("MEMORY_PRESSURE_THRESHOLD", 0.8,
			"pressure (used / WASM_MEMORY_LIMIT_MB) that triggers the sweep",
			func(c *Config) *float64 { return &c.MemoryPressureThreshold }),
		msVar("GC_INTERVAL_MS", 60000, 100, hour,
			"period of the memory sweep",
			func(c *Config) *time.Duration { return &c.GCInterval }),
		intVar("CB_FAILURE_THRESHOLD", 5, 1, maxBreaker, "count",
			"consecutive failures that open a breaker",
			func(c *Config) *int { return &c.CBFailureThreshold }),
		intVar("CB_SUCCESS_THRESHOLD", 2, 1, maxBreaker, "count",
			"half-open successes that close it",
			func(c *Config) *int { return &c.CBSuccessThreshold }),
		msVar("CB_TIMEOUT_MS", 30000, 100, hour,
			"open time before half-open",
			func(c *Config) *time.Duration { return &c.CBTimeout }),
		boolVar("HEALTH_CHECK_ENABLED", true,
			"run health loops and validate on checkout",
			func(c *Config) *bool { return &c.HealthCheckEnabled }),
		msVar("HEALTH_CHECK_INTERVAL_MS", 10000, 100, hour,
			"native health loop and health report period",
			func(c *Config) *time.Duration { return &c.HealthCheckInterval }),

		stringVar("GRPC_ADDR", ":50051", "addr",
			"host:port (port 0..65535) or unix:///absolute/path",
			"gRPC listen address (TCP, or a unix socket for the sidecar case)",
			func(c *Config) *string { return &c.GRPCAddr },
			func(s string) error { _, _, err := SplitListenAddr(s); return err }),
		stringVar("METRICS_ADDR", ":9090", "addr",
			"host:port, or empty to disable",
			"Prometheus /metrics listen address",
			func(c *Config) *string { return &c.MetricsAddr },
			checkMetricsAddr),
		stringVar("WASM_MODULES_DIR", "", "path",
			"empty (none) or a readable directory",
			"directory of extra *.wasm modules, one pool per file",
			func(c *Config) *string { return &c.WASMModulesDir },
			checkReadableDir),
		cacheDirVar(),
		intVar("WASM_INSTANCE_MEMORY_LIMIT_MB", 64, 1, 4096, "MiB",
			"linear-memory cap of one WASM instance, in MiB",
			func(c *Config) *int { return &c.WASMInstanceMemoryLimitMB }),
		// At least 16 MiB: the bundled article guest's initialization takes
		// 4-6 MiB of estimated frames (its package initializers are long
		// functions, and the estimate grows with a function's code), and a
		// daemon whose bundled module cannot load is no use to anyone.
		intVar("WASM_MAX_STACK_KB", 65536, 16384, 2097151, "KiB",
			"stack bound of one WASM call, in KiB of estimated frames (docs/wasm-abi.md, Limits); deeper recursion fails the call",
			func(c *Config) *int { return &c.WASMMaxStackKB }),
		boolVar("WASM_ALLOW_UNINSTRUMENTED", false,
			"load WASM modules the stack bound cannot be added to, each call charged 128 MiB of stack against the memory budget (docs/wasm-abi.md, Limits)",
			func(c *Config) *bool { return &c.WASMAllowUninstrumented }),
		intVar("WASM_RECYCLE_MEMORY_MB", 12, 1, 4096, "MiB",
			"linear memory past which a WASM instance is replaced after a call (it never shrinks)",
			func(c *Config) *int { return &c.WASMRecycleMemoryMB }),
		msVar("WASM_EXTRACT_TIMEOUT_MS", 5000, 1, 10*minute,
			"deadline of one WASM extraction; the guest is interrupted",
			func(c *Config) *time.Duration { return &c.WASMExtractTimeout }),
		listVar("WASM_TRUSTED_MODULES", "article", ",", "names",
			"comma-separated module names of [A-Za-z0-9._-]",
			"modules reported trusted by ListExtractors; every module is interrupted at its deadline alike",
			func(c *Config) *[]string { return &c.WASMTrustedModules },
			checkModuleNames),
		enumVar("ARTICLE_ENGINE", ArticleEngineWASM, []string{ArticleEngineWASM, ArticleEngineNative},
			"what runs the bundled article module: the sandbox, or internal/article in the daemon's process (faster, unsandboxed; see the README)",
			func(c *Config) *string { return &c.ArticleEngine }),
		intVar("ARTICLE_NATIVE_DOCUMENT_BYTES", 2*mib, kib, gib, "bytes",
			"largest document the native article engine takes (MAX_DOCUMENT_BYTES if that is smaller)",
			func(c *Config) *int { return &c.ArticleNativeDocumentBytes }),
		intVar("ARTICLE_NATIVE_MEMORY_MB", 512, 1, 1<<20, "MiB",
			"memory the native article engine's calls may hold together, in MiB; each may hold 128 bytes per document byte, so this sets how many run at once",
			func(c *Config) *int { return &c.ArticleNativeMemoryMB }),
		msVar("CHECKOUT_TIMEOUT_MS", 5000, 1, 10*minute,
			"longest wait for a free instance",
			func(c *Config) *time.Duration { return &c.CheckoutTimeout }),
		intVar("MAX_DOCUMENT_BYTES", 10*mib, kib, gib, "bytes",
			"largest accepted document; a request message may be 1 MiB more",
			func(c *Config) *int { return &c.MaxDocumentBytes }),
		intVar("MAX_RESULT_BYTES", 16*mib, kib, gib, "bytes",
			"largest extraction result",
			func(c *Config) *int { return &c.MaxResultBytes }),
		msVar("LEASE_DEFAULT_TTL_MS", 30000, 1, day,
			"lease TTL when a Checkout asks for none",
			func(c *Config) *time.Duration { return &c.LeaseDefaultTTL }),
		msVar("LEASE_MAX_TTL_MS", 600000, 1, day,
			"longest lease TTL a client may ask for",
			func(c *Config) *time.Duration { return &c.LeaseMaxTTL }),
		msVar("SHUTDOWN_GRACE_MS", 15000, 1, 10*minute,
			"time in-flight calls get to finish on SIGTERM",
			func(c *Config) *time.Duration { return &c.ShutdownGrace }),
		msVar("MAX_CONNECTION_AGE_MS", 300000, 0, day,
			"a client connection is asked to go away (GOAWAY) after about this long, so clients re-resolve and new replicas get their share; 0: never",
			func(c *Config) *time.Duration { return &c.MaxConnectionAge }),
		msVar("MAX_CONNECTION_AGE_GRACE_MS", 30000, 1, day,
			"time calls on a connection past MAX_CONNECTION_AGE_MS get to finish before it is closed; event streams end then",
			func(c *Config) *time.Duration { return &c.MaxConnectionAgeGrace }),
		intVar("GC_PERCENT", 400, 1, 10000, "percent",
			"heap growth between Go garbage collections, in percent; GOGC wins if set",
			func(c *Config) *int { return &c.GCPercent }),
		intVar("MEMORY_LIMIT_MB", 0, 0, 1<<20, "MiB",
			"soft memory limit of the Go runtime (WASM linear memory is outside it), in MiB; 0: derived from the cgroup's memory limit, if any; GOMEMLIMIT wins if set",
			func(c *Config) *int { return &c.MemoryLimitMB }),
		logLevelVar(),
		enumVar("LOG_FORMAT", LogFormatJSON, []string{LogFormatJSON, LogFormatText},
			"log line format",
			func(c *Config) *string { return &c.LogFormat }),
		stringVar("TLS_CERT_FILE", "", "path",
			"empty, or a readable PEM file; needs TLS_KEY_FILE",
			"server certificate chain; enables TLS",
			func(c *Config) *string { return &c.TLSCertFile },
			checkReadableFile),
		stringVar("TLS_KEY_FILE", "", "path",
			"empty, or a readable PEM file; needs TLS_CERT_FILE",
			"server private key",
			func(c *Config) *string { return &c.TLSKeyFile },
			checkReadableFile),
		stringVar("TLS_CLIENT_CA_FILE", "", "path",
			"empty, or a readable PEM file; needs TLS_CERT_FILE",
			"CA bundle for client certificates; enables mTLS",
			func(c *Config) *string { return &c.TLSClientCAFile },
			checkReadableFile),
		boolVar("NATIVE_POOL_ENABLED", true,
			"serve the native pools (css, regex)",
			func(c *Config) *bool { return &c.NativePoolEnabled }),
		boolVar("WASM_POOL_ENABLED", true,
			"serve the WASM pools",
			func(c *Config) *bool { return &c.WASMPoolEnabled }),
		intVar("SELECTOR_CACHE_SIZE", 1024, 1, maxCache, "count",
			"compiled CSS selectors kept in the shared cache, and as many compiled XPath expressions beside them",
			func(c *Config) *int { return &c.SelectorCacheSize }),
		intVar("PATTERN_CACHE_SIZE", 1024, 1, maxCache, "count",
			"compiled regular expressions kept in the shared cache",
			func(c *Config) *int { return &c.PatternCacheSize }),
		intVar("MAX_WORK", 500_000_000, 10_000, 1_000_000_000_000, "steps",
			"worst case, in steps of the cost models, of a call's CSS questions together or of one regex question, on its document; a costlier selector or pattern is refused",
			func(c *Config) *int { return &c.MaxWork }),
		intVar("CSS_MAX_ELEMENT_WORK", 2_000_000, 1_000, 1_000_000_000_000, "steps",
			"worst case of matching a selector on one element, which cannot be interrupted; a costlier selector is refused",
			func(c *Config) *int { return &c.CSSMaxElementWork }),
		intVar("CSS_MAX_HAS_DEPTH", 2, 1, 32, "count",
			"deepest nesting of :has (and :haschild) in a selector",
			func(c *Config) *int { return &c.CSSMaxHasDepth }),
		intVar("XPATH_MAX_STEPS", 2_000_000, 1_000, 1_000_000_000, "steps",
			"work of one XPath evaluation (nodes visited, predicates tested, string bytes / 64); an expression over it on its document is refused, and costs only its caller",
			func(c *Config) *int { return &c.XPathMaxSteps }),
		listVar("WARM_SELECTORS", "", "\n", "selector",
			"CSS selectors, one per line; at most SELECTOR_CACHE_SIZE",
			"selectors compiled into the cache at start",
			func(c *Config) *[]string { return &c.WarmSelectors },
			nil),
		listVar("WARM_XPATH", "", "\n", "expression",
			"XPath 1.0 expressions, one per line; at most SELECTOR_CACHE_SIZE",
			"XPath expressions compiled into their cache at start (a list of its own: an expression and a selector cannot always be told apart)",
			func(c *Config) *[]string { return &c.WarmXPath },
			nil),
		listVar("WARM_PATTERNS", "", "\n", "pattern",
			"RE2 patterns, one per line; at most PATTERN_CACHE_SIZE",
			"patterns compiled into the cache at start",
			func(c *Config) *[]string { return &c.WarmPatterns },
			checkPatterns),
	}
}

func intVar(name string, def, lo, hi int, typ, meaning string, field func(*Config) *int) Var {
	return Var{
		Name:    name,
		Default: strconv.Itoa(def),
		Meaning: meaning,
		Range:   fmt.Sprintf("%d..%d", lo, hi),
		lo:      int64(lo),
		hi:      int64(hi),
		numeric: true,
		typ:     typ,
		def:     strconv.Itoa(def),
		parse: func(c *Config, s string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, strconv.IntSize)
			if err != nil {
				return numError(err, "not an integer")
			}
			*field(c) = int(n)
			return nil
		},
		format: func(c *Config) string { return strconv.Itoa(*field(c)) },
		check: func(c *Config) error {
			if n := *field(c); n < lo || n > hi {
				return errOutOfRange
			}
			return nil
		},
	}
}

// msVar describes a duration written as a whole number of milliseconds.
func msVar(name string, def, lo, hi int64, meaning string, field func(*Config) *time.Duration) Var {
	const limit = math.MaxInt64 / int64(time.Millisecond)
	return Var{
		Name:    name,
		Default: strconv.FormatInt(def, 10),
		Meaning: meaning,
		Range:   fmt.Sprintf("%d..%d (%s..%s)", lo, hi, humanMS(lo), humanMS(hi)),
		lo:      lo,
		hi:      hi,
		numeric: true,
		typ:     "ms",
		def:     strconv.FormatInt(def, 10),
		parse: func(c *Config, s string) error {
			ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return numError(err, "not an integer number of milliseconds")
			}
			if ms > limit || ms < -limit {
				// time.Duration would overflow; report it as the range problem it is.
				return errOutOfRange
			}
			*field(c) = time.Duration(ms) * time.Millisecond
			return nil
		},
		format: func(c *Config) string {
			d := *field(c)
			if d%time.Millisecond != 0 {
				return d.String()
			}
			return strconv.FormatInt(d.Milliseconds(), 10)
		},
		check: func(c *Config) error {
			if d := *field(c); d < time.Duration(lo)*time.Millisecond || d > time.Duration(hi)*time.Millisecond {
				return errOutOfRange
			}
			return nil
		},
	}
}

// humanMS renders a millisecond count in the largest whole unit.
func humanMS(ms int64) string {
	switch {
	case ms != 0 && ms%hour == 0:
		return fmt.Sprintf("%dh", ms/hour)
	case ms != 0 && ms%minute == 0:
		return fmt.Sprintf("%dmin", ms/minute)
	case ms != 0 && ms%second == 0:
		return fmt.Sprintf("%ds", ms/second)
	}
	return fmt.Sprintf("%dms", ms)
}

// fractionVar describes a ratio in (0, 1].
func fractionVar(name string, def float64, meaning string, field func(*Config) *float64) Var {
	text := strconv.FormatFloat(def, 'g', -1, 64)
	return Var{
		Name:    name,
		Default: text,
		Meaning: meaning,
		Range:   "greater than 0, at most 1",
		numeric: true,
		typ:     "ratio",
		def:     text,
		parse: func(c *Config, s string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return numError(err, "not a number")
			}
			*field(c) = f
			return nil
		},
		format: func(c *Config) string { return strconv.FormatFloat(*field(c), 'g', -1, 64) },
		check: func(c *Config) error {
			// Written so that NaN fails too.
			if f := *field(c); !(f > 0 && f <= 1) {
				return errOutOfRange
			}
			return nil
		},
	}
}

func boolVar(name string, def bool, meaning string, field func(*Config) *bool) Var {
	return Var{
		Name:    name,
		Default: strconv.FormatBool(def),
		Meaning: meaning,
		Range:   "true, false, 1, 0",
		numeric: true,
		typ:     "boolean",
		def:     strconv.FormatBool(def),
		parse: func(c *Config, s string) error {
			b, err := parseBool(s)
			if err != nil {
				return err
			}
			*field(c) = b
			return nil
		},
		format: func(c *Config) string { return strconv.FormatBool(*field(c)) },
		check:  func(*Config) error { return nil },
	}
}

// parseBool accepts true, false, 1 and 0, in any case. It is stricter than
// strconv.ParseBool on purpose: "t" or "F" in a deployment file is more
// likely a typo than a wish.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, errors.New("not a boolean")
}

// stringVar describes a free-form string; check, if not nil, judges it.
func stringVar(name, def, typ, accepted, meaning string, field func(*Config) *string, check func(string) error) Var {
	return Var{
		Name:    name,
		Default: def,
		Meaning: meaning,
		Range:   accepted,
		typ:     typ,
		def:     def,
		parse: func(c *Config, s string) error {
			*field(c) = s
			return nil
		},
		format: func(c *Config) string { return *field(c) },
		check: func(c *Config) error {
			if check == nil {
				return nil
			}
			return check(*field(c))
		},
	}
}

// enumVar describes one of a few lower-case words, matched in any case.
func enumVar(name, def string, words []string, meaning string, field func(*Config) *string) Var {
	v := stringVar(name, def, strings.Join(words, "|"), strings.Join(words, ", "), meaning, field,
		func(s string) error {
			for _, w := range words {
				if s == w {
					return nil
				}
			}
			return errors.New("unknown value")
		})
	v.parse = func(c *Config, s string) error {
		*field(c) = strings.ToLower(strings.TrimSpace(s))
		return nil
	}
	return v
}

var logLevels = []struct {
	name  string
	level slog.Level
}{
	{"debug", slog.LevelDebug},
	{"info", slog.LevelInfo},
	{"warn", slog.LevelWarn},
	{"error", slog.LevelError},
}

func logLevelVar() Var {
	return Var{
		Name:    "LOG_LEVEL",
		Default: "info",
		Meaning: "lowest level logged",
		Range:   "debug, info, warn, error",
		typ:     "level",
		def:     "info",
		parse: func(c *Config, s string) error {
			s = strings.ToLower(strings.TrimSpace(s))
			for _, l := range logLevels {
				if s == l.name {
					c.LogLevel = l.level
					return nil
				}
			}
			return errors.New("unknown log level")
		},
		format: func(c *Config) string {
			for _, l := range logLevels {
				if c.LogLevel == l.level {
					return l.name
				}
			}
			return c.LogLevel.String()
		},
		check: func(c *Config) error {
			for _, l := range logLevels {
				if c.LogLevel == l.level {
					return nil
				}
			}
			return errors.New("unknown log level")
		},
	}
}

// listVar describes a list. In the environment and in config strings the
// items are separated by sep; a config file may also give a YAML sequence, and
// the flag may be repeated. Items are trimmed and empty ones dropped, so an
// empty value is an empty list.
func listVar(name, def, sep, typ, accepted, meaning string, field func(*Config) *[]string, check func([]string) error) Var {
	return Var{
		Name:    name,
		Default: def,
		Meaning: meaning,
		Range:   accepted,
		typ:     typ,
		def:     def,
		sep:     sep,
		multi:   true,
		parseList: func(c *Config, items []string) error {
			*field(c) = items
			return nil
		},
		format: func(c *Config) string { return strings.Join(*field(c), sep) },
		check: func(c *Config) error {
			if check == nil {
				return nil
			}
			return check(*field(c))
		},
	}
}

// splitList splits s at sep, trims the items and drops the empty ones.
func splitList(s, sep string) []string {
	var items []string
	for item := range strings.SplitSeq(s, sep) {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// cacheDirVar describes WASM_COMPILATION_CACHE_DIR, whose default lies in the
// user cache directory and so depends on the environment.
func cacheDirVar() Var {
	v := stringVar("WASM_COMPILATION_CACHE_DIR", "<cache>/riptide-poold/wazero", "path",
		"empty (disabled), or a directory; created if missing",
		"wazero compilation cache; <cache> is the user cache dir of os.UserCacheDir",
		func(c *Config) *string { return &c.WASMCompilationCacheDir },
		checkCacheDir)
	v.def = ""
	v.dynDefault = func(lookup func(string) (string, bool)) string {
		dir, ok := userCacheDir(lookup)
		if !ok {
			return "" // no cache rather than no daemon
		}
		return filepath.Join(dir, "riptide-poold", "wazero")
	}
	return v
}

var moduleName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func checkModuleNames(names []string) error {
	var errs []error
	for _, n := range names {
		switch {
		case len(n) > maxNameBytes:
			errs = append(errs, fmt.Errorf("module name %.20q... is longer than %d bytes", n, maxNameBytes))
		case !moduleName.MatchString(n) || n == "." || n == "..":
			errs = append(errs, fmt.Errorf("%q is not a module name", n))
		}
	}
	return errors.Join(errs...)
}

func checkPatterns(patterns []string) error {
	var errs []error
	for _, p := range patterns {
		if _, err := regexp.Compile(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// numError turns a strconv failure into the problem a user should read.
func numError(err error, syntax string) error {
	if errors.Is(err, strconv.ErrRange) {
		return errOutOfRange
	}
	return errors.New(syntax)
}

var errOutOfRange = errors.New("out of range")

// MarkdownTable renders Vars as a Markdown table (variable, default,
// accepted, meaning) for the README.
func MarkdownTable() string {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	b.WriteString("| variable | default | accepted | meaning |\n| --- | --- | --- | --- |\n")
	for _, v := range Vars() {
		def := "(empty)"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", v.Name, cell(def), cell(v.Range), cell(v.Meaning))
	}
	return b.String()
}

// docTable renders Vars as the plain-text table of the package
// documentation: name, default and accepted values on one line, the meaning
// indented below.
func docTable() string {
	vars := Vars()
	wName, wDef := len("VARIABLE"), len("DEFAULT")
	for _, v := range vars {
		wName = max(wName, len(v.Name))
		wDef = max(wDef, len(docDefault(v)))
	}
	var b strings.Builder
	row := func(name, def, accepted string) {
		fmt.Fprintf(&b, "%-*s  %-*s  %s\n", wName, name, wDef, def, accepted)
	}
	row("VARIABLE", "DEFAULT", "ACCEPTED")
	for _, v := range vars {
		row(v.Name, docDefault(v), v.Range)
		fmt.Fprintf(&b, "    %s\n", v.Meaning)
	}
	return b.String()
}

func docDefault(v Var) string {
	if v.Default == "" {
		return `""`
	}
	return v.Default
}

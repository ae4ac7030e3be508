package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Engines accepted by ARTICLE_ENGINE.
const (
	ArticleEngineWASM   = "wasm"
	ArticleEngineNative = "native"
)

// articleNativeBytesPerDocumentByte is articlepool.BytesPerDocumentByte,
// the memory one native article call may hold per byte of its document
// (config does not import the pools).
const articleNativeBytesPerDocumentByte = 128

// Log formats accepted by LOG_FORMAT.
const (
	LogFormatJSON = "json"
	LogFormatText = "text"
)

// Config is the daemon's whole configuration. Each field is named after its
// variable in Go style, without the _MS suffix of durations: WASM_IDLE_TIMEOUT_MS
// is WASMIdleTimeout.
type Config struct {
	// Pools (DESIGN.md section 4).
	WASMPoolSize            int
	WASMMaxInstances        int
	WASMIdleTimeout         time.Duration
	WASMHealthCheckInterval time.Duration
	NativePoolSize          int
	NativeMaxInstances      int
	NativeIdleTimeout       time.Duration
	WASMMemoryLimitMB       int
	MemoryPressureThreshold float64
	GCInterval              time.Duration
	CBFailureThreshold      int
	CBSuccessThreshold      int
	CBTimeout               time.Duration
	HealthCheckEnabled      bool
	HealthCheckInterval     time.Duration

	// Daemon.
	GRPCAddr                  string // host:port or unix:///absolute/path; see SplitListenAddr
	MetricsAddr               string // host:port; empty disables the metrics server
	WASMModulesDir            string // empty: only the bundled modules
	WASMCompilationCacheDir   string // empty: no on-disk compilation cache
	WASMInstanceMemoryLimitMB int
	WASMRecycleMemoryMB       int // see wasmpool.Config.RecycleBytes
	WASMMaxStackKB            int // see wasm.RuntimeConfig.MaxStackKB
	WASMExtractTimeout        time.Duration
	WASMTrustedModules        []string
	WASMAllowUninstrumented   bool // see wasmpool.Config.AllowUninstrumented
	CheckoutTimeout           time.Duration
	MaxDocumentBytes          int
	MaxResultBytes            int
	LeaseDefaultTTL           time.Duration
	LeaseMaxTTL               time.Duration
	ShutdownGrace             time.Duration
	MaxConnectionAge          time.Duration // 0: connections are never aged out
	MaxConnectionAgeGrace     time.Duration
	GCPercent                 int // applied by the program, not by a package: see cmd/riptide-poold
	MemoryLimitMB             int // 0: derived from the cgroup's memory limit (see cmd/riptide-poold)
	LogLevel                  slog.Level
	LogFormat                 string // LogFormatJSON or LogFormatText
	TLSCertFile               string
	TLSKeyFile                string
	TLSClientCAFile           string
	NativePoolEnabled         bool
	WASMPoolEnabled           bool
	SelectorCacheSize         int
	PatternCacheSize          int
	WarmSelectors             []string
	WarmXPath                 []string
	MaxWork                   int
	CSSMaxElementWork         int
	CSSMaxHasDepth            int
	XPathMaxSteps             int
	WarmPatterns              []string

	// The bundled article module's engine (see the README).
	ArticleEngine              string // ArticleEngineWASM or ArticleEngineNative
	ArticleNativeDocumentBytes int
	ArticleNativeMemoryMB      int

	// ConfigFile is the path given with --config, or empty.
	ConfigFile string
	// ShowVersion reports that --version was given: the caller should print
	// its version and exit. Nothing but the defaults was loaded then.
	ShowVersion bool
}

// ArticleNativeDocumentCap is the largest document the native article
// engine takes: ARTICLE_NATIVE_DOCUMENT_BYTES, or MAX_DOCUMENT_BYTES if
// that is smaller.
func (c *Config) ArticleNativeDocumentCap() int {
	return min(c.ArticleNativeDocumentBytes, c.MaxDocumentBytes)
}

// Default returns the built-in defaults. It does not look at the
// environment, so WASMCompilationCacheDir, whose default lies in the user
// cache directory, is empty (disabled) here; Load resolves it.
func Default() *Config {
	c := new(Config)
	for _, v := range Vars() {
		if err := assign(c, v, v.def); err != nil {
			panic(fmt.Sprintf("config: default of %s does not parse: %v", v.Name, err))
		}
	}
	return c
}

// assign parses the text s into c's field for v.
func assign(c *Config, v Var, s string) error {
	if v.isList() {
		return v.parseList(c, splitList(s, v.sep))
	}
	return v.parse(c, s)
}

// Validate reports every value of c that the daemon cannot run with, joined
// with errors.Join so that a user sees every problem at once. Each one is an
// *Error naming the variable. Validate reads the file system: the TLS files
// must be readable and WASM_MODULES_DIR a readable directory.
func (c *Config) Validate() error {
	return errors.Join(c.validate(nil)...)
}

// validate checks c, skipping every rule that involves a variable in skip:
// those failed to parse, so their value in c means nothing.
func (c *Config) validate(skip map[string]bool) []error {
	var errs []error
	bad := maps.Clone(skip)
	if bad == nil {
		bad = make(map[string]bool)
	}
	for _, v := range Vars() {
		if skip[v.Name] {
			continue
		}
		if err := v.check(c); err != nil {
			errs = append(errs, &Error{Var: v.Name, Value: v.show(c), Err: err, Accepted: v.Range})
			bad[v.Name] = true
		}
	}
	// A rule between two variables says nothing new when one of them is
	// already reported: "WASM_MAX_INSTANCES=0 out of range" is the news,
	// not "WASM_POOL_SIZE=10 exceeds WASM_MAX_INSTANCES=0".
	for _, r := range c.relations() {
		if !bad[r.a] && !bad[r.b] {
			if err := r.check(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// show formats c's value of v for an error message: quoted unless numeric.
func (v Var) show(c *Config) string {
	if v.numeric {
		return v.format(c)
	}
	return strconv.Quote(v.format(c))
}

// A relation is a rule between two variables.
type relation struct {
	a, b  string
	check func() error
}

func (c *Config) relations() []relation {
	atMost := func(a string, x int, b string, y int, why string) relation {
		return relation{a, b, func() error {
			if x <= y {
				return nil
			}
			return &Error{Var: a, Value: strconv.Itoa(x), clause: true,
				Err: fmt.Errorf("exceeds %s=%d (%s)", b, y, why)}
		}}
	}
	ms := func(d time.Duration) int { return int(d.Milliseconds()) }
	return []relation{
		atMost("WASM_POOL_SIZE", c.WASMPoolSize, "WASM_MAX_INSTANCES", c.WASMMaxInstances, "min must be <= max"),
		atMost("NATIVE_POOL_SIZE", c.NativePoolSize, "NATIVE_MAX_INSTANCES", c.NativeMaxInstances, "min must be <= max"),
		atMost("LEASE_DEFAULT_TTL_MS", ms(c.LeaseDefaultTTL), "LEASE_MAX_TTL_MS", ms(c.LeaseMaxTTL), "the default must be <= the max"),
		atMost("WASM_INSTANCE_MEMORY_LIMIT_MB", c.WASMInstanceMemoryLimitMB, "WASM_MEMORY_LIMIT_MB", c.WASMMemoryLimitMB,
			"one instance must fit in the budget"),
		{"ARTICLE_NATIVE_MEMORY_MB", "ARTICLE_NATIVE_DOCUMENT_BYTES", func() error {
			need := (int64(c.ArticleNativeDocumentCap())*articleNativeBytesPerDocumentByte + mib - 1) / mib
			if c.ArticleEngine != ArticleEngineNative || int64(c.ArticleNativeMemoryMB) >= need {
				return nil
			}
			return &Error{Var: "ARTICLE_NATIVE_MEMORY_MB", Value: strconv.Itoa(c.ArticleNativeMemoryMB), clause: true,
				Err: fmt.Errorf("is below the %d MiB one call on a document of %d bytes (ARTICLE_NATIVE_DOCUMENT_BYTES or MAX_DOCUMENT_BYTES) may hold (128 bytes per byte)",
					need, c.ArticleNativeDocumentCap())}
		}},
		{"ARTICLE_NATIVE_MEMORY_MB", "MEMORY_LIMIT_MB", func() error {
			if c.ArticleEngine != ArticleEngineNative || c.MemoryLimitMB == 0 || c.ArticleNativeMemoryMB <= c.MemoryLimitMB {
				return nil
			}
			return &Error{Var: "ARTICLE_NATIVE_MEMORY_MB", Value: strconv.Itoa(c.ArticleNativeMemoryMB), clause: true,
				Err: fmt.Errorf("exceeds MEMORY_LIMIT_MB=%d (the native article calls' memory is the daemon's)", c.MemoryLimitMB)}
		}},
		{"WARM_SELECTORS", "SELECTOR_CACHE_SIZE", func() error {
			return tooMany("WARM_SELECTORS", len(c.WarmSelectors), "SELECTOR_CACHE_SIZE", c.SelectorCacheSize)
		}},
		{"WARM_XPATH", "SELECTOR_CACHE_SIZE", func() error {
			return tooMany("WARM_XPATH", len(c.WarmXPath), "SELECTOR_CACHE_SIZE", c.SelectorCacheSize)
		}},
		{"WARM_PATTERNS", "PATTERN_CACHE_SIZE", func() error {
			return tooMany("WARM_PATTERNS", len(c.WarmPatterns), "PATTERN_CACHE_SIZE", c.PatternCacheSize)
		}},
		{"TLS_CERT_FILE", "TLS_KEY_FILE", func() error {
			switch {
			case c.TLSCertFile != "" && c.TLSKeyFile == "":
				return &Error{Var: "TLS_CERT_FILE", Value: strconv.Quote(c.TLSCertFile), clause: true,
					Err: errors.New("is set but TLS_KEY_FILE is empty (set both or neither)")}
			case c.TLSCertFile == "" && c.TLSKeyFile != "":
				return &Error{Var: "TLS_KEY_FILE", Value: strconv.Quote(c.TLSKeyFile), clause: true,
					Err: errors.New("is set but TLS_CERT_FILE is empty (set both or neither)")}
			}
			return nil
		}},
		{"TLS_CLIENT_CA_FILE", "TLS_CERT_FILE", func() error {
			if c.TLSClientCAFile != "" && c.TLSCertFile == "" {
				return &Error{Var: "TLS_CLIENT_CA_FILE", Value: strconv.Quote(c.TLSClientCAFile), clause: true,
					Err: errors.New("needs TLS_CERT_FILE and TLS_KEY_FILE (mTLS requires TLS)")}
			}
			return nil
		}},
		{"GRPC_ADDR", "METRICS_ADDR", func() error {
			if sameTCPPort(c.GRPCAddr, c.MetricsAddr) {
				return &Error{Var: "GRPC_ADDR", Value: strconv.Quote(c.GRPCAddr), clause: true,
					Err: fmt.Errorf("uses the port of METRICS_ADDR=%q (the two servers need different ports)", c.MetricsAddr)}
			}
			return nil
		}},
		{"NATIVE_POOL_ENABLED", "WASM_POOL_ENABLED", func() error {
			if !c.NativePoolEnabled && !c.WASMPoolEnabled {
				return &Error{Var: "NATIVE_POOL_ENABLED", Value: "false", clause: true,
					Err: errors.New("and WASM_POOL_ENABLED=false leave nothing to serve (enable at least one)")}
			}
			return nil
		}},
	}
}

func tooMany(list string, n int, size string, max int) error {
	if n <= max {
		return nil
	}
	return &Error{Var: list, Value: fmt.Sprintf("(%d items)", n), clause: true,
		Err: fmt.Errorf("has more items than %s=%d can hold", size, max)}
}

// sameTCPPort reports whether two TCP listen addresses would collide: same
// non-zero port, and the same host or a wildcard on either side.
func sameTCPPort(a, b string) bool {
	na, ha, pa, okA := tcpParts(a)
	nb, hb, pb, okB := tcpParts(b)
	if !okA || !okB || na != "tcp" || nb != "tcp" || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wild(ha) || wild(hb)
}

func tcpParts(addr string) (network, host, port string, ok bool) {
	network, address, err := SplitListenAddr(addr)
	if err != nil || network != "tcp" {
		return network, "", "", false
	}
	host, port, err = net.SplitHostPort(address)
	if p, perr := strconv.Atoi(port); perr == nil {
		port = strconv.Itoa(p) // "050051" and "50051" are one port
	}
	return network, host, port, err == nil
}

// SplitListenAddr splits a GRPC_ADDR value into the network and address that
// net.Listen expects: "unix:///run/x.sock" is ("unix", "/run/x.sock") and
// "host:port" is ("tcp", "host:port"). The port must be a number in
// 0..65535 (0 picks a free port); the host may be empty, an IP address
// or a host name.
func SplitListenAddr(addr string) (network, address string, err error) {
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		path, ok := strings.CutPrefix(rest, "//")
		if !ok || !strings.HasPrefix(path, "/") {
			return "", "", errors.New("a unix socket must be written unix:///absolute/path")
		}
		if len(path) > maxUnixPath {
			return "", "", fmt.Errorf("unix socket path is longer than %d bytes", maxUnixPath)
		}
		return "unix", path, nil
	}
	if err := checkHostPort(addr); err != nil {
		return "", "", err
	}
	return "tcp", addr, nil
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("not host:port")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number in 0..65535", port)
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if !isHostName(host) {
		return fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return nil
}

// isHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits and inner hyphens, at most 253 bytes.
func isHostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func checkMetricsAddr(s string) error {
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "unix:") {
		return errors.New("the metrics server listens on TCP only")
	}
	return checkHostPort(s)
}

// checkReadableFile accepts the empty string or a regular file that can be
// opened for reading. A FIFO or device is refused before it is opened:
// opening a FIFO would block the start.
func checkReadableFile(path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// checkReadableDir accepts the empty string or a directory that can be listed.
func checkReadableDir(path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// checkCacheDir accepts the empty string, a missing path (the WASM host
// creates it) or an existing directory.
func checkCacheDir(path string) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !fi.IsDir():
		return errors.New("not a directory")
	}
	return nil
}

// userCacheDir follows os.UserCacheDir, reading the environment through
// lookup instead of the process environment.
func userCacheDir(lookup func(string) (string, bool)) (string, bool) {
	get := func(k string) string { v, _ := lookup(k); return v }
	switch runtime.GOOS {
	case "windows":
		dir := get("LocalAppData")
		return dir, dir != ""
	case "darwin", "ios":
		home := get("HOME")
		return home + "/Library/Caches", home != ""
	case "plan9":
		home := get("home")
		return home + "/lib/cache", home != ""
	}
	if dir := get("XDG_CACHE_HOME"); dir != "" {
		return dir, strings.HasPrefix(dir, "/")
	}
	home := get("HOME")
	return home + "/.cache", home != ""
}

// GRPCListenAddr returns the network and address to listen on for gRPC.
// It assumes c is valid.
func (c *Config) GRPCListenAddr() (network, address string) {
	network, address, err := SplitListenAddr(c.GRPCAddr)
	if err != nil {
		return "tcp", c.GRPCAddr // let net.Listen report it
	}
	return network, address
}

// LogValue renders c as one group of attributes keyed by the config file
// keys, so the daemon can log its effective configuration in one line.
func (c *Config) LogValue() slog.Value {
	vars := Vars()
	attrs := make([]slog.Attr, 0, len(vars)+1)
	if c.ConfigFile != "" {
		attrs = append(attrs, slog.String("config", c.ConfigFile))
	}
	for _, v := range vars {
		attrs = append(attrs, slog.String(v.Key(), v.format(c)))
	}
	return slog.GroupValue(attrs...)
}

// An Error reports one unacceptable setting. Its message names the
// variable, the value, where the value came from when that was not the
// environment, the problem and what is accepted:
//
//	WASM_POOL_SIZE="abc": not an integer (accepted: 0..10000)
//	NATIVE_POOL_SIZE=50 exceeds NATIVE_MAX_INSTANCES=10 (min must be <= max)
type Error struct {
	Var      string // the variable at fault, e.g. "WASM_POOL_SIZE"
	Value    string // its value as shown: quoted unless a number
	Source   string // "" (environment or unknown), "default", "flag --x" or "key x in file f"
	Err      error  // the problem
	Accepted string // what is accepted, or "" when Err says it

	// clause reports that Err continues the sentence, as in
	// "NATIVE_POOL_SIZE=50 exceeds ...", rather than following a colon.
	clause bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Var)
	b.WriteByte('=')
	b.WriteString(e.Value)
	if e.Source != "" {
		b.WriteString(" (")
		b.WriteString(e.Source)
		b.WriteByte(')')
	}
	if e.clause {
		b.WriteByte(' ')
	} else {
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	if e.Accepted != "" {
		b.WriteString(" (accepted: ")
		b.WriteString(e.Accepted)
		b.WriteByte(')')
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

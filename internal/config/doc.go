// Package config loads the daemon's configuration: one typed, validated
// [Config] built from, in rising precedence, built-in defaults, a YAML file
// named by --config, the environment and command-line flags.
//
// Every setting has three spellings: an environment variable
// (WASM_POOL_SIZE), a config file key, its name in lower case
// (wasm_pool_size: 10), and a flag in kebab case (--wasm-pool-size=10).
// [Vars] describes them all; the table below, --help ([FlagUsage]) and
// [MarkdownTable] are generated from it, and a test keeps this comment in
// step (go test -run TestDocTable -update rewrites the table).
//
// [Load] takes the arguments and the environment as values and never reads
// the process environment, so it can be tested hermetically. Viper holds the
// layers; every value, whatever its layer, goes through the same strict
// parser, so "abc" and "10x" are errors rather than 0. An invalid setting
// stops the daemon before it listens: Load reports every problem at once,
// each as an [*Error] naming the variable, the value, where it came from and
// what is accepted:
//
//	WASM_POOL_SIZE="abc": not an integer (accepted: 0..10000)
//	NATIVE_POOL_SIZE=50 exceeds NATIVE_MAX_INSTANCES=10 (min must be <= max)
//
// # Values
//
// Durations (*_MS) are whole milliseconds and become [time.Duration].
// Integers are decimal. Booleans are true, false, 1 or 0, in any case. Log
// levels and formats are matched in any case. A variable set to the empty
// string is set: WASM_COMPILATION_CACHE_DIR= disables the cache and
// METRICS_ADDR= the metrics server, while WASM_POOL_SIZE= is an error. Lists
// are comma-separated (WASM_TRUSTED_MODULES) or, since selectors,
// expressions and patterns contain commas, one item per line
// (WARM_SELECTORS, WARM_XPATH, WARM_PATTERNS); in the config file a list may
// also be a YAML sequence, and its flag may be repeated. Config file keys are matched in any case, a null value leaves
// the variable unset, and a key that names no variable is an error.
//
// # Variables
//
//	VARIABLE                       DEFAULT                       ACCEPTED
//	WASM_POOL_SIZE                 10                            0..10000
//	    warm (min) instances per WASM module
//	WASM_MAX_INSTANCES             50                            1..10000
//	    max instances per WASM module
//	WASM_IDLE_TIMEOUT_MS           60000                         1000..86400000 (1s..24h)
//	    idle instances above min are closed after this
//	WASM_HEALTH_CHECK_INTERVAL_MS  30000                         100..3600000 (100ms..1h)
//	    WASM health loop period
//	NATIVE_POOL_SIZE               20                            0..10000
//	    warm extractors per native kind
//	NATIVE_MAX_INSTANCES           100                           1..10000
//	    max extractors per native kind
//	NATIVE_IDLE_TIMEOUT_MS         30000                         1000..86400000 (1s..24h)
//	    idle timeout for native extractors
//	WASM_MEMORY_LIMIT_MB           512                           1..1048576
//	    memory budget of the WASM pools, in MiB
//	MEMORY_PRESSURE_THRESHOLD      0.8                           greater than 0, at most 1
//	    pressure (used / WASM_MEMORY_LIMIT_MB) that triggers the sweep
//	GC_INTERVAL_MS                 60000                         100..3600000 (100ms..1h)
//	    period of the memory sweep
//	CB_FAILURE_THRESHOLD           5                             1..1000
//	    consecutive failures that open a breaker
//	CB_SUCCESS_THRESHOLD           2                             1..1000
//	    half-open successes that close it
//	CB_TIMEOUT_MS                  30000                         100..3600000 (100ms..1h)
//	    open time before half-open
//	HEALTH_CHECK_ENABLED           true                          true, false, 1, 0
//	    run health loops and validate on checkout
//	HEALTH_CHECK_INTERVAL_MS       10000                         100..3600000 (100ms..1h)
//	    native health loop and health report period
//	GRPC_ADDR                      :50051                        host:port (port 0..65535) or unix:///absolute/path
//	    gRPC listen address (TCP, or a unix socket for the sidecar case)
//	METRICS_ADDR                   :9090                         host:port, or empty to disable
//	    Prometheus /metrics listen address
//	WASM_MODULES_DIR               ""                            empty (none) or a readable directory
//	    directory of extra *.wasm modules, one pool per file
//	WASM_COMPILATION_CACHE_DIR     <cache>/riptide-poold/wazero  empty (disabled), or a directory; created if missing
//	    wazero compilation cache; <cache> is the user cache dir of os.UserCacheDir
//	WASM_INSTANCE_MEMORY_LIMIT_MB  64                            1..4096
//	    linear-memory cap of one WASM instance, in MiB
//	WASM_MAX_STACK_KB              65536                         16384..2097151
//	    stack bound of one WASM call, in KiB of estimated frames (docs/wasm-abi.md, Limits); deeper recursion fails the call
//	WASM_ALLOW_UNINSTRUMENTED      false                         true, false, 1, 0
//	    load WASM modules the stack bound cannot be added to, each call charged 128 MiB of stack against the memory budget (docs/wasm-abi.md, Limits)
//	WASM_RECYCLE_MEMORY_MB         12                            1..4096
//	    linear memory past which a WASM instance is replaced after a call (it never shrinks)
//	WASM_EXTRACT_TIMEOUT_MS        5000                          1..600000 (1ms..10min)
//	    deadline of one WASM extraction; the guest is interrupted
//	WASM_TRUSTED_MODULES           article                       comma-separated module names of [A-Za-z0-9._-]
//	    modules reported trusted by ListExtractors; every module is interrupted at its deadline alike
//	ARTICLE_ENGINE                 wasm                          wasm, native
//	    what runs the bundled article module: the sandbox, or internal/article in the daemon's process (faster, unsandboxed; see the README)
//	ARTICLE_NATIVE_DOCUMENT_BYTES  2097152                       1024..1073741824
//	    largest document the native article engine takes (MAX_DOCUMENT_BYTES if that is smaller)
//	ARTICLE_NATIVE_MEMORY_MB       512                           1..1048576
//	    memory the native article engine's calls may hold together, in MiB; each may hold 128 bytes per document byte, so this sets how many run at once
//	CHECKOUT_TIMEOUT_MS            5000                          1..600000 (1ms..10min)
//	    longest wait for a free instance
//	MAX_DOCUMENT_BYTES             10485760                      1024..1073741824
//	    largest accepted document; a request message may be 1 MiB more
//	MAX_RESULT_BYTES               16777216                      1024..1073741824
//	    largest extraction result
//	LEASE_DEFAULT_TTL_MS           30000                         1..86400000 (1ms..24h)
//	    lease TTL when a Checkout asks for none
//	LEASE_MAX_TTL_MS               600000                        1..86400000 (1ms..24h)
//	    longest lease TTL a client may ask for
//	SHUTDOWN_GRACE_MS              15000                         1..600000 (1ms..10min)
//	    time in-flight calls get to finish on SIGTERM
//	MAX_CONNECTION_AGE_MS          300000                        0..86400000 (0ms..24h)
//	    a client connection is asked to go away (GOAWAY) after about this long, so clients re-resolve and new replicas get their share; 0: never
//	MAX_CONNECTION_AGE_GRACE_MS    30000                         1..86400000 (1ms..24h)
//	    time calls on a connection past MAX_CONNECTION_AGE_MS get to finish before it is closed; event streams end then
//	GC_PERCENT                     400                           1..10000
//	    heap growth between Go garbage collections, in percent; GOGC wins if set
//	MEMORY_LIMIT_MB                0                             0..1048576
//	    soft memory limit of the Go runtime (WASM linear memory is outside it), in MiB; 0: derived from the cgroup's memory limit, if any; GOMEMLIMIT wins if set
//	LOG_LEVEL                      info                          debug, info, warn, error
//	    lowest level logged
//	LOG_FORMAT                     json                          json, text
//	    log line format
//	TLS_CERT_FILE                  ""                            empty, or a readable PEM file; needs TLS_KEY_FILE
//	    server certificate chain; enables TLS
//	TLS_KEY_FILE                   ""                            empty, or a readable PEM file; needs TLS_CERT_FILE
//	    server private key
//	TLS_CLIENT_CA_FILE             ""                            empty, or a readable PEM file; needs TLS_CERT_FILE
//	    CA bundle for client certificates; enables mTLS
//	NATIVE_POOL_ENABLED            true                          true, false, 1, 0
//	    serve the native pools (css, regex)
//	WASM_POOL_ENABLED              true                          true, false, 1, 0
//	    serve the WASM pools
//	SELECTOR_CACHE_SIZE            1024                          1..1000000
//	    compiled CSS selectors kept in the shared cache, and as many compiled XPath expressions beside them
//	PATTERN_CACHE_SIZE             1024                          1..1000000
//	    compiled regular expressions kept in the shared cache
//	MAX_WORK                       500000000                     10000..1000000000000
//	    worst case, in steps of the cost models, of a call's CSS questions together or of one regex question, on its document; a costlier selector or pattern is refused
//	CSS_MAX_ELEMENT_WORK           2000000                       1000..1000000000000
//	    worst case of matching a selector on one element, which cannot be interrupted; a costlier selector is refused
//	CSS_MAX_HAS_DEPTH              2                             1..32
//	    deepest nesting of :has (and :haschild) in a selector
//	XPATH_MAX_STEPS                2000000                       1000..1000000000
//	    work of one XPath evaluation (nodes visited, predicates tested, string bytes / 64); an expression over it on its document is refused, and costs only its caller
//	WARM_SELECTORS                 ""                            CSS selectors, one per line; at most SELECTOR_CACHE_SIZE
//	    selectors compiled into the cache at start
//	WARM_XPATH                     ""                            XPath 1.0 expressions, one per line; at most SELECTOR_CACHE_SIZE
//	    XPath expressions compiled into their cache at start (a list of its own: an expression and a selector cannot always be told apart)
//	WARM_PATTERNS                  ""                            RE2 patterns, one per line; at most PATTERN_CACHE_SIZE
//	    patterns compiled into the cache at start
//
// Rules between variables:
//   - WASM_POOL_SIZE <= WASM_MAX_INSTANCES and NATIVE_POOL_SIZE <= NATIVE_MAX_INSTANCES;
//   - LEASE_DEFAULT_TTL_MS <= LEASE_MAX_TTL_MS;
//   - WASM_INSTANCE_MEMORY_LIMIT_MB <= WASM_MEMORY_LIMIT_MB;
//   - at most SELECTOR_CACHE_SIZE warm selectors, as many warm XPath
//     expressions, and PATTERN_CACHE_SIZE warm patterns;
//   - TLS_CERT_FILE and TLS_KEY_FILE both or neither; TLS_CLIENT_CA_FILE needs them;
//   - GRPC_ADDR and METRICS_ADDR on different TCP ports;
//   - NATIVE_POOL_ENABLED or WASM_POOL_ENABLED, or both.
//
// <cache> is os.UserCacheDir, resolved from the environment given to Load
// ($XDG_CACHE_HOME or $HOME/.cache on Unix); when it cannot be resolved the
// cache is disabled. [Default], which sees no environment, leaves it empty.
package config

// Package server implements riptide.pool.v1.PoolService. It is the edge of
// the daemon: it validates each request once, routes it to one pool, runs it
// on one instance, and maps the result and any error back to the API's
// messages and statuses. Pools know nothing of gRPC, and this package knows
// nothing of how an instance works beyond the methods it calls.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/articlepool"
	"github.com/riptidecrawler/riptide-poold/internal/events"
	"github.com/riptidecrawler/riptide-poold/internal/lease"
	"github.com/riptidecrawler/riptide-poold/internal/metrics"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// Pool names of the native kinds.
const (
	PoolCSS   = "css"
	PoolRegex = "regex"
)

// Limits bound every request.
type Limits struct {
	native.Limits
	// MaxFields bounds the questions of one FieldsSpec.
	MaxFields int
	// The settings below are reported by ListExtractors and enforced
	// elsewhere: by the pools, the lease table and the WebAssembly runtime.
	CheckoutTimeout       time.Duration
	LeaseDefaultTTL       time.Duration
	LeaseMaxTTL           time.Duration
	InstanceMemoryLimitMB int
	ExtractTimeout        time.Duration
}

// NativePools are the native extractor pools and the caches they share.
type NativePools struct {
	CSS       *pool.Pool[*native.CSS]
	Regex     *pool.Pool[*native.Regex]
	Selectors *native.SelectorCache
	Patterns  *native.PatternCache
}

// NativePoolsConfig says how NewNativePools makes the native pools.
type NativePoolsConfig struct {
	// SelectorCacheSize and PatternCacheSize bound the compiled selectors
	// and patterns the pools' extractors share.
	SelectorCacheSize, PatternCacheSize int
	// WarmSelectors, WarmXPath and WarmPatterns are compiled into the
	// caches first.
	WarmSelectors, WarmXPath, WarmPatterns []string
	// Pool is the configuration of both pools; NewNativePools names each
	// one, and adds its name to Logger.
	Pool pool.Config
	// Limits bound each extraction.
	Limits native.Limits
}

// NewNativePools warms the caches and creates the css and regex pools. The
// pools fill to their minimum size in the background (see pool.WaitReady).
func NewNativePools(ctx context.Context, cfg NativePoolsConfig) (*NativePools, error) {
	np := &NativePools{
		Selectors: native.NewSelectorCache(cfg.SelectorCacheSize),
		Patterns:  native.NewPatternCache(cfg.PatternCacheSize),
	}
	if err := np.Selectors.Warm(cfg.WarmSelectors); err != nil {
		return nil, fmt.Errorf("WARM_SELECTORS: %w", err)
	}
	if err := np.Selectors.XPath().Warm(cfg.WarmXPath); err != nil {
		return nil, fmt.Errorf("WARM_XPATH: %w", err)
	}
	if err := np.Patterns.Warm(cfg.WarmPatterns); err != nil {
		return nil, fmt.Errorf("WARM_PATTERNS: %w", err)
	}
	poolConfig := func(name string) pool.Config {
		pc := cfg.Pool
		pc.Name = name
		if pc.Logger != nil {
			pc.Logger = pc.Logger.With("pool", name)
		}
		return pc
	}
	var err error
	np.CSS, err = pool.New(ctx, poolConfig(PoolCSS), func(context.Context) (*native.CSS, error) {
		return native.NewCSS(np.Selectors, cfg.Limits), nil
	})
	if err != nil {
		return nil, fmt.Errorf("css pool: %w", err)
	}
	np.Regex, err = pool.New(ctx, poolConfig(PoolRegex), func(context.Context) (*native.Regex, error) {
		return native.NewRegex(np.Patterns, cfg.Limits), nil
	})
	if err != nil {
		np.CSS.Close(ctx)
		return nil, fmt.Errorf("regex pool: %w", err)
	}
	return np, nil
}

// Config is what a Service needs.
type Config struct {
	Logger  *slog.Logger
	Version string
	// Started is when the daemon started, for uptime.
	Started time.Time
	Limits  Limits
	// Native is nil when the native pools are disabled.
	Native *NativePools
	// WASM is nil when the WebAssembly pools are disabled.
	WASM *wasmpool.Set
	// Article, when set, serves the bundled article module natively
	// (ARTICLE_ENGINE=native) in place of its WebAssembly pool.
	Article *articlepool.Pool
	// Leases, when set, serves Checkout, RenewLease, ReleaseLease and
	// Extract on a lease.
	Leases *lease.Table
	// Bus, when set, receives the service's events and feeds PoolEvents.
	Bus *events.Bus
	// Extractions, when set, observes every extraction's outcome.
	Extractions *metrics.Extractions
}

// Service implements poolv1.PoolServiceServer.
type Service struct {
	poolv1.UnimplementedPoolServiceServer

	log     *slog.Logger
	version string
	started time.Time
	limits  Limits
	native  *NativePools
	wasm    *wasmpool.Set
	article *articlepool.Pool
	bus     *events.Bus
	leases  *lease.Table
	observe *metrics.Extractions
	errors  *errorWindows

	draining   atomic.Bool
	sweepMu    sync.Mutex // serializes sweeps
	forceMu    sync.Mutex // guards lastForced
	lastForced time.Time  // the last ForceGC that ran
}

// New returns a Service over the pools in cfg. The caller owns the pools and
// closes them after the gRPC server has stopped.
func New(cfg Config) *Service {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	started := cfg.Started
	if started.IsZero() {
		started = time.Now()
	}
	return &Service{
		log:     log,
		version: cfg.Version,
		started: started,
		limits:  cfg.Limits,
		native:  cfg.Native,
		wasm:    cfg.WASM,
		article: cfg.Article,
		bus:     cfg.Bus,
		leases:  cfg.Leases,
		observe: cfg.Extractions,
		errors:  newErrorWindows(),
	}
}

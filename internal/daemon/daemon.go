// Package daemon assembles riptide-poold: it builds the pools from a
// validated configuration, serves the gRPC API and the Prometheus metrics,
// and drains and closes everything on shutdown, logging one line per step.
//
// The life of a Daemon is New (build; nothing listens yet), Listen (bind the
// sockets, so that a caller can learn the ports), and Serve (serve until the
// context ends, then drain). cmd/riptide-poold is a thin main around it, and
// the integration tests drive the very same code on loopback ports.
package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/articlepool"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/events"
	"github.com/riptidecrawler/riptide-poold/internal/grpcwire"
	"github.com/riptidecrawler/riptide-poold/internal/lease"
	"github.com/riptidecrawler/riptide-poold/internal/metrics"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasm/bundled"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// messageSlack is what the gRPC send limit allows beyond MAX_RESULT_BYTES
// for the rest of a reply.
const messageSlack = 1 << 20

// Options are the daemon's inputs besides the configuration.
type Options struct {
	Logger  *slog.Logger
	Version string
}

// Daemon is one riptide-poold process's worth of servers and pools.
type Daemon struct {
	cfg     *config.Config
	log     *slog.Logger
	version string
	started time.Time

	registry *prometheus.Registry
	grpc     *grpc.Server
	health   *health.Server
	svc      *server.Service
	native   *server.NativePools
	runtime  *wasm.Runtime
	wasm     *wasmpool.Set
	article  *articlepool.Pool // ARTICLE_ENGINE=native
	bus      *events.Bus
	leases   *lease.Table
	metrics  *http.Server

	grpcLis, metricsLis net.Listener
	draining            atomic.Bool
	inflight            *inflight // unary PoolService calls being handled
}

// New builds a daemon from a validated configuration: pools, services and
// servers. Nothing listens until Listen.
func New(ctx context.Context, cfg *config.Config, opts Options) (*Daemon, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{
		cfg:      cfg,
		log:      log,
		version:  opts.Version,
		started:  time.Now(),
		registry: prometheus.NewRegistry(),
	}
	d.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	metrics.BuildInfo(d.registry, d.version)

	d.bus = events.NewBus(events.Config{})
	limits := server.Limits{
		Limits:                nativeLimits(cfg),
		MaxFields:             64,
		CheckoutTimeout:       cfg.CheckoutTimeout,
		LeaseDefaultTTL:       cfg.LeaseDefaultTTL,
		LeaseMaxTTL:           cfg.LeaseMaxTTL,
		InstanceMemoryLimitMB: cfg.WASMInstanceMemoryLimitMB,
		ExtractTimeout:        cfg.WASMExtractTimeout,
	}
	if cfg.NativePoolEnabled {
		np, err := d.nativePools(ctx, limits.Limits)
		if err != nil {
			return nil, err
		}
		d.native = np
		log.Info("native pools created", "min", cfg.NativePoolSize, "max", cfg.NativeMaxInstances)
	} else {
		log.Info("native pools disabled", "variable", "NATIVE_POOL_ENABLED")
	}
	if cfg.WASMPoolEnabled {
		if err := d.wasmPools(ctx); err != nil {
			d.closePools(ctx)
			return nil, err
		}
	} else {
		log.Info("WebAssembly pools disabled", "variable", "WASM_POOL_ENABLED")
	}
	if cfg.ArticleEngine == config.ArticleEngineNative {
		if err := d.articlePool(ctx); err != nil {
			d.closePools(ctx)
			return nil, err
		}
	}

	leases, err := lease.New(lease.Config{
		DefaultTTL: cfg.LeaseDefaultTTL,
		MaxTTL:     cfg.LeaseMaxTTL,
		OnExpired: func(l lease.Lease) {
			d.log.Info("lease expired; instance returned", "pool", l.Pool, "instance", l.InstanceID)
			d.bus.Publish(events.Event{Kind: events.LeaseExpired, Pool: l.Pool, InstanceID: l.InstanceID, LeaseID: l.ID})
		},
		Logger: log,
	})
	if err != nil {
		d.closePools(ctx)
		return nil, fmt.Errorf("lease table: %w", err)
	}
	d.leases = leases

	d.svc = server.New(server.Config{
		Logger:      log,
		Version:     d.version,
		Started:     d.started,
		Limits:      limits,
		Native:      d.native,
		WASM:        d.wasm,
		Article:     d.article,
		Bus:         d.bus,
		Leases:      d.leases,
		Extractions: metrics.NewExtractions(d.registry),
	})
	d.registry.MustRegister(metrics.NewCollector(d.snapshot))

	grpcServer, err := d.grpcServer()
	if err != nil {
		d.closePools(ctx)
		return nil, err
	}
	d.grpc = grpcServer
	d.inflight = newInflight(grpcServer.GetServiceInfo())
	return d, nil
}

// nativeLimits derives the per-request limits from the configuration.
func nativeLimits(cfg *config.Config) native.Limits {
	l := native.DefaultLimits()
	l.MaxDocumentBytes = cfg.MaxDocumentBytes
	l.MaxResultBytes = cfg.MaxResultBytes
	l.MaxWork = int64(cfg.MaxWork)
	l.MaxElementWork = int64(cfg.CSSMaxElementWork)
	l.MaxHasDepth = cfg.CSSMaxHasDepth
	l.MaxXPathSteps = cfg.XPathMaxSteps
	return l
}

// nativePools creates the css and regex pools and warms their caches.
func (d *Daemon) nativePools(ctx context.Context, limits native.Limits) (*server.NativePools, error) {
	cfg := d.cfg
	pc := pool.Config{
		MinSize:            cfg.NativePoolSize,
		MaxSize:            cfg.NativeMaxInstances,
		IdleTimeout:        cfg.NativeIdleTimeout,
		CheckoutTimeout:    cfg.CheckoutTimeout,
		ValidateOnCheckout: cfg.HealthCheckEnabled,
		Logger:             d.log,
		OnEvent:            d.poolEvent,
	}
	if cfg.HealthCheckEnabled {
		pc.HealthInterval = cfg.HealthCheckInterval
	}
	return server.NewNativePools(ctx, server.NativePoolsConfig{
		SelectorCacheSize: cfg.SelectorCacheSize,
		PatternCacheSize:  cfg.PatternCacheSize,
		WarmSelectors:     cfg.WarmSelectors,
		WarmXPath:         cfg.WarmXPath,
		WarmPatterns:      cfg.WarmPatterns,
		Pool:              pc,
		Limits:            limits,
	})
}

// wasmPools starts the WebAssembly runtime and loads the bundled module and
// every module of WASM_MODULES_DIR, each with its own pool. A module of the
// directory that does not load is logged and skipped: the others serve.
func (d *Daemon) wasmPools(ctx context.Context) error {
	cfg := d.cfg
	began := time.Now()
	rt, err := wasm.NewRuntime(ctx, wasm.RuntimeConfig{
		CompilationCacheDir:   cfg.WASMCompilationCacheDir,
		InstanceMemoryLimitMB: cfg.WASMInstanceMemoryLimitMB,
		ExtractTimeout:        cfg.WASMExtractTimeout,
		MaxResultBytes:        cfg.MaxResultBytes,
		MaxStackKB:            cfg.WASMMaxStackKB,
		Logger:                d.log,
	})
	if err != nil {
		return fmt.Errorf("WebAssembly runtime: %w", err)
	}
	d.runtime = rt
	sc := wasmpool.Config{
		Runtime:            rt,
		MinSize:            cfg.WASMPoolSize,
		MaxSize:            cfg.WASMMaxInstances,
		IdleTimeout:        cfg.WASMIdleTimeout,
		ValidateOnCheckout: cfg.HealthCheckEnabled,
		CheckoutTimeout:    cfg.CheckoutTimeout,
		MemoryBudgetBytes:  uint64(cfg.WASMMemoryLimitMB) << 20,
		PressureThreshold:  cfg.MemoryPressureThreshold,
		RecycleBytes:       uint64(cfg.WASMRecycleMemoryMB) << 20,
		FailureThreshold:   cfg.CBFailureThreshold,
		SuccessThreshold:   cfg.CBSuccessThreshold,
		OpenTimeout:        cfg.CBTimeout,
		OnEvent:            d.poolEvent,
		OnBreaker: func(module string, from, to breaker.State) {
			d.bus.Publish(events.Event{Kind: events.CircuitStateChanged, Pool: module, From: from.String(), To: to.String()})
		},
		Logger: d.log,
	}
	if cfg.HealthCheckEnabled {
		sc.HealthInterval = cfg.WASMHealthCheckInterval
	}
	sc.AllowUninstrumented = cfg.WASMAllowUninstrumented
	d.wasm = wasmpool.New(sc)
	// With ARTICLE_ENGINE=native the bundled module's name is served by
	// the native article pool: its instances would only take memory.
	if cfg.ArticleEngine != config.ArticleEngineNative {
		if _, err := d.addModule(ctx, bundled.ArticleName, bundled.Article()); err != nil {
			return fmt.Errorf("bundled module %q: %w", bundled.ArticleName, err)
		}
	}
	if cfg.WASMModulesDir != "" {
		d.loadModulesDir(ctx)
	}
	d.log.Info("WebAssembly pools created", "modules", len(d.wasm.Pools()), "min", cfg.WASMPoolSize,
		"max", cfg.WASMMaxInstances, "compile", time.Since(began).Round(time.Millisecond).String(),
		"cache_dir", cfg.WASMCompilationCacheDir)
	return nil
}

// articlePool creates the native article pool (ARTICLE_ENGINE=native), which
// serves the bundled module's name in the daemon's own process.
func (d *Daemon) articlePool(ctx context.Context) error {
	cfg := d.cfg
	ac := articlepool.Config{
		Name:             bundled.ArticleName,
		MaxDocumentBytes: cfg.ArticleNativeDocumentCap(),
		MemoryLimitBytes: uint64(cfg.ArticleNativeMemoryMB) << 20,
		Timeout:          cfg.WASMExtractTimeout,
		MaxResultBytes:   cfg.MaxResultBytes,
		// Selectors are bounded by the server as the sandbox's are (count,
		// and the css pool's work limits on the document), so that both
		// engines refuse the same ones.
		MaxSelectors:       server.MaxSelectors,
		CheckoutTimeout:    cfg.CheckoutTimeout,
		ValidateOnCheckout: cfg.HealthCheckEnabled,
		FailureThreshold:   cfg.CBFailureThreshold,
		SuccessThreshold:   cfg.CBSuccessThreshold,
		OpenTimeout:        cfg.CBTimeout,
		OnEvent:            d.poolEvent,
		OnBreaker: func(name string, from, to breaker.State) {
			d.bus.Publish(events.Event{Kind: events.CircuitStateChanged, Pool: name, From: from.String(), To: to.String()})
		},
		Logger: d.log,
	}
	if cfg.HealthCheckEnabled {
		ac.HealthInterval = cfg.HealthCheckInterval
	}
	p, err := articlepool.New(ctx, ac)
	if err != nil {
		return fmt.Errorf("native article pool: %w", err)
	}
	d.article = p
	l := p.Limits()
	d.log.Info("article module served natively", "variable", "ARTICLE_ENGINE", "max_document_bytes", l.MaxDocumentBytes,
		"max_calls", l.MaxCalls, "memory_limit_mb", cfg.ArticleNativeMemoryMB, "timeout", l.Timeout.String())
	return nil
}

// addModule loads one module into its pool and publishes ModuleLoaded.
func (d *Daemon) addModule(ctx context.Context, name string, code []byte) (*wasmpool.Pool, error) {
	trusted := slices.Contains(d.cfg.WASMTrustedModules, name)
	p, err := d.wasm.Add(ctx, name, code, wasm.ModuleOptions{Trusted: trusted})
	if err != nil {
		return nil, err
	}
	d.bus.Publish(events.Event{Kind: events.ModuleLoaded, Pool: name, ABIVersion: p.Module.ABIVersion(), Digest: p.SHA256})
	return p, nil
}

// loadModulesDir loads (or reloads) every *.wasm file of WASM_MODULES_DIR.
// A module that fails is logged and, if it was loaded before, keeps its old
// version.
func (d *Daemon) loadModulesDir(ctx context.Context) {
	dir := d.cfg.WASMModulesDir
	entries, err := os.ReadDir(dir)
	if err != nil {
		d.log.Error("cannot read WASM_MODULES_DIR", "dir", dir, "err", err)
		return
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".wasm")
		if !ok || e.IsDir() {
			continue
		}
		if name == bundled.ArticleName {
			d.log.Warn("module file shadows the bundled module; skipped", "file", e.Name())
			continue
		}
		code, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err == nil {
			if p, gerr := d.wasm.Get(name); gerr == nil && p.SHA256 == sha256Hex(code) {
				continue // unchanged
			}
			_, err = d.addModule(ctx, name, code)
		}
		if err != nil {
			d.log.Error("module refused", "module", name, "file", filepath.Join(dir, e.Name()), "err", err)
		}
	}
}

// Reload reloads WASM_MODULES_DIR (on SIGHUP): changed modules are swapped in
// without failing calls in flight on their old version.
func (d *Daemon) Reload(ctx context.Context) {
	if d.wasm == nil || d.cfg.WASMModulesDir == "" {
		d.log.Info("reload: no WASM_MODULES_DIR to reload")
		return
	}
	d.log.Info("reloading modules", "dir", d.cfg.WASMModulesDir)
	d.loadModulesDir(ctx)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// poolEvent forwards a pool's event to the bus. Checkout and return events
// are built only when a subscriber asked for them: they are on the hot path.
func (d *Daemon) poolEvent(e pool.Event) {
	var out events.Event
	switch e.Kind {
	case pool.EventCreated:
		out.Kind = events.InstanceCreated
	case pool.EventDestroyed:
		out.Kind = events.InstanceDestroyed
		out.Reason = e.Reason.String()
		if e.Detail != "" {
			out.Reason += ": " + e.Detail
		}
	case pool.EventCheckedOut, pool.EventReturned:
		out.Kind = events.InstanceCheckedOut
		if e.Kind == pool.EventReturned {
			out.Kind = events.InstanceReturned
		}
		if !d.bus.Wants(out.Kind) {
			return
		}
	case pool.EventHealthCheckFailed:
		out.Kind = events.HealthCheckFailed
		out.Reason = "health probe failed"
	case pool.EventExhausted:
		out.Kind, out.Waiters = events.PoolExhausted, e.Waiters
	default:
		return
	}
	out.Time, out.Pool, out.Item = e.Time, e.Pool, e.ItemID
	d.bus.Publish(out)
}

// connectionAge maps the configuration's 0 ("never") to grpc-go's
// infinity, which its zero value would also mean but only by accident of
// its defaults.
func connectionAge(d time.Duration) time.Duration {
	if d == 0 {
		return time.Duration(math.MaxInt64)
	}
	return d
}

// grpcServer builds the gRPC server with its interceptors and services.
func (d *Daemon) grpcServer() (*grpc.Server, error) {
	cfg := d.cfg
	grpcMetrics := grpcprom.NewServerMetrics()
	grpcMetrics.EnableHandlingTimeHistogram()
	d.registry.MustRegister(grpcMetrics)

	// grpcwire's options come first: its interceptor must be the outermost.
	opts := append(grpcwire.ServerOptions(server.MaxRecvMessageBytes(cfg.MaxDocumentBytes)),
		grpc.MaxSendMsgSize(cfg.MaxResultBytes+messageSlack),
		// Clients may ping to keep connections through proxies alive, but
		// not so often that pings become a load.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
		// Find dead peers (a crashed client's connection) within a few
		// minutes, and drop connections idle for long.
		// MaxConnectionAge sends GOAWAY to every connection after a while
		// (grpc-go adds ±10% jitter) so that clients re-resolve their target
		// and replicas added since get a share of long-lived clients.
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle:     15 * time.Minute,
			MaxConnectionAge:      connectionAge(cfg.MaxConnectionAge),
			MaxConnectionAgeGrace: cfg.MaxConnectionAgeGrace,
			Time:                  2 * time.Minute,
			Timeout:               20 * time.Second,
		}),
		grpc.ChainUnaryInterceptor(
			grpcMetrics.UnaryServerInterceptor(),
			d.unaryGuard,
		),
		grpc.ChainStreamInterceptor(
			grpcMetrics.StreamServerInterceptor(),
			d.streamGuard,
		),
		grpc.UnknownServiceHandler(server.UnknownMethod),
	)
	if cfg.TLSCertFile != "" {
		creds, err := tlsCredentials(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(creds))
	}

	s := grpc.NewServer(opts...)
	// Every service goes through the Registrar, so that a request too large
	// or malformed to decode gets an ErrorInfo like any other bad request.
	reg := server.Registrar{Server: s, MaxDocumentBytes: cfg.MaxDocumentBytes}
	poolv1.RegisterPoolServiceServer(reg, d.svc)
	d.health = health.NewServer()
	// NOT_SERVING until Serve has finished its start-up work.
	d.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	d.health.SetServingStatus(poolv1.PoolService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(reg, d.health)
	reflection.Register(reg)
	grpcMetrics.InitializeMetrics(s)
	return s, nil
}

// tlsCredentials loads the server certificate and, for mTLS, the client CA.
func tlsCredentials(cfg *config.Config) (credentials.TransportCredentials, error) {
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS_CERT_FILE/TLS_KEY_FILE: %w", err)
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if cfg.TLSClientCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS_CLIENT_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS_CLIENT_CA_FILE=%q: no PEM certificate in the file", cfg.TLSClientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(tc), nil
}

// Listen binds the gRPC socket (TCP or unix) and, unless disabled, the
// metrics socket.
func (d *Daemon) Listen() error {
	network, address := d.cfg.GRPCListenAddr()
	if network == "unix" {
		// A socket file left by a daemon that did not exit cleanly would
		// make Listen fail; remove it, but nothing else.
		if fi, err := os.Lstat(address); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(address)
		}
	}
	lis, err := net.Listen(network, address)
	if err != nil {
		return fmt.Errorf("GRPC_ADDR=%q: %w", d.cfg.GRPCAddr, err)
	}
	d.grpcLis = lis
	d.log.Info("gRPC listening", "addr", lis.Addr().String(), "network", network, "tls", d.cfg.TLSCertFile != "", "mtls", d.cfg.TLSClientCAFile != "")

	if d.cfg.MetricsAddr != "" {
		mlis, err := net.Listen("tcp", d.cfg.MetricsAddr)
		if err != nil {
			lis.Close()
			return fmt.Errorf("METRICS_ADDR=%q: %w", d.cfg.MetricsAddr, err)
		}
		d.metricsLis = mlis
		d.log.Info("metrics listening", "addr", mlis.Addr().String(), "path", "/metrics")
	}
	return nil
}

// GRPCAddr is the bound gRPC address; valid after Listen.
func (d *Daemon) GRPCAddr() net.Addr { return d.grpcLis.Addr() }

// MetricsAddr is the bound metrics address, or nil when metrics are
// disabled; valid after Listen.
func (d *Daemon) MetricsAddr() net.Addr {
	if d.metricsLis == nil {
		return nil
	}
	return d.metricsLis.Addr()
}

// Serve serves until ctx ends, then shuts down gracefully: health goes
// NOT_SERVING, new calls are refused with SHUTTING_DOWN, calls in flight get
// up to SHUTDOWN_GRACE_MS to finish, and then the servers and pools close.
// It returns nil after a clean shutdown.
func (d *Daemon) Serve(ctx context.Context) error {
	if d.grpcLis == nil {
		if err := d.Listen(); err != nil {
			return err
		}
	}
	// Count calls by every method served, including any registered
	// after New.
	d.inflight = newInflight(d.grpc.GetServiceInfo())
	errc := make(chan error, 2)
	go func() {
		if err := d.grpc.Serve(d.grpcLis); err != nil {
			errc <- fmt.Errorf("gRPC server: %w", err)
		}
	}()
	if d.metricsLis != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(d.registry, promhttp.HandlerOpts{
			ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelError),
			EnableOpenMetrics: true,
		}))
		d.metrics = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := d.metrics.Serve(d.metricsLis); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics server: %w", err)
			}
		}()
	}

	if err := d.warmUp(ctx); err != nil && ctx.Err() == nil {
		d.log.Warn("warm-up incomplete; serving while pools keep filling", "err", err)
	}
	if ctx.Err() == nil {
		d.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		d.health.SetServingStatus(poolv1.PoolService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		d.log.Info("serving", "version", d.version, "startup", time.Since(d.started).Round(time.Microsecond).String())
	}

	monitorCtx, stopMonitor := context.WithCancel(context.Background())
	monitorDone := make(chan struct{})
	go func() {
		defer close(monitorDone)
		d.monitor(monitorCtx)
	}()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		d.log.Error("server failed; shutting down", "err", serveErr)
	}
	stopMonitor()
	<-monitorDone
	d.shutdown()
	return serveErr
}

// monitor runs the daemon's periodic work until ctx ends: the health report
// that drives grpc.health.v1 (NOT_SERVING when CRITICAL), the memory
// pressure watch, and the memory sweep every GC_INTERVAL_MS.
func (d *Daemon) monitor(ctx context.Context) {
	healthEvery := d.cfg.HealthCheckInterval
	pressureEvery := min(time.Second, healthEvery)
	healthTick := time.NewTicker(healthEvery)
	defer healthTick.Stop()
	pressureTick := time.NewTicker(pressureEvery)
	defer pressureTick.Stop()
	gcTick := time.NewTicker(d.cfg.GCInterval)
	defer gcTick.Stop()

	serving := true
	level := server.PressureNormal
	conditions := make(map[string]map[string]bool) // by pool, the conditions it is in
	for {
		select {
		case <-ctx.Done():
			return
		case <-healthTick.C:
			r := d.svc.Report()
			if r.Serving() != serving {
				serving = r.Serving()
				st := healthpb.HealthCheckResponse_SERVING
				if !serving {
					st = healthpb.HealthCheckResponse_NOT_SERVING
				}
				d.health.SetServingStatus("", st)
				d.health.SetServingStatus(poolv1.PoolService_ServiceDesc.ServiceName, st)
				d.log.Warn("health changed", "level", r.Level.String(), "score", r.Score, "serving", serving, "reasons", r.Reasons)
			}
		case <-pressureTick.C:
			if d.wasm == nil {
				continue
			}
			d.publishConditions(conditions)
			p := d.wasm.Pressure()
			now := server.PressureNormal
			switch {
			case p >= 1:
				now = server.PressureCritical
			case p >= d.cfg.MemoryPressureThreshold:
				now = server.PressureHigh
			}
			if now != level {
				level = now
				d.log.Warn("memory pressure changed", "level", level, "pressure", p)
				d.bus.Publish(events.Event{Kind: events.MemoryPressure, Level: level, Pressure: p})
			}
			if level != server.PressureNormal {
				reclaimed, recycled, _ := d.svc.Sweep(ctx)
				d.log.Info("memory sweep under pressure", "reclaimed_bytes", reclaimed, "recycled", recycled)
			}
		case <-gcTick.C:
			reclaimed, recycled, took := d.svc.Sweep(ctx)
			d.log.Debug("memory sweep", "reclaimed_bytes", reclaimed, "recycled", recycled, "took", took)
		}
	}
}

// publishConditions publishes a PoolCondition event, and logs a line, for
// each condition a WebAssembly pool entered or left since the last call;
// seen holds, by pool, the conditions it was in.
func (d *Daemon) publishConditions(seen map[string]map[string]bool) {
	live := make(map[string]bool)
	for _, p := range d.wasm.Pools() {
		live[p.Name] = true
		now := make(map[string]bool)
		for _, c := range p.Conditions() {
			now[c.Name] = true
			if !seen[p.Name][c.Name] {
				d.log.Warn("pool entered a condition", "pool", p.Name, "condition", c.Name, "detail", c.Detail)
				d.bus.Publish(events.Event{Kind: events.PoolCondition, Pool: p.Name, Condition: c.Name, Active: true, Reason: c.Detail})
			}
		}
		for c := range seen[p.Name] {
			if !now[c] {
				d.log.Info("pool left a condition", "pool", p.Name, "condition", c)
				d.bus.Publish(events.Event{Kind: events.PoolCondition, Pool: p.Name, Condition: c, Active: false})
			}
		}
		seen[p.Name] = now
	}
	for name := range seen {
		if !live[name] {
			delete(seen, name)
		}
	}
}

// warmUp waits, within a bound, for the warm instances that start-up
// creates, so that the first requests do not pay for creation.
func (d *Daemon) warmUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var errs []error
	if d.native != nil {
		errs = append(errs, d.native.CSS.WaitReady(ctx), d.native.Regex.WaitReady(ctx))
	}
	if d.article != nil {
		errs = append(errs, d.article.Pool.WaitReady(ctx))
	}
	return errors.Join(errs...)
}

// StopBound is how long shutdown may take past SHUTDOWN_GRACE_MS: to cancel
// the calls still running, stop the servers and close the pools. A call
// that ignores its cancellation (a native extraction stuck in a loop)
// cannot be killed in Go; once StopBound is spent, shutdown abandons it and
// the process exits anyway.
const StopBound = time.Second

// shutdown drains and closes everything, logging each step, and returns
// within SHUTDOWN_GRACE_MS plus StopBound whatever still runs. Its last log
// line says what it abandoned, if anything.
func (d *Daemon) shutdown() {
	began := time.Now()
	grace := d.cfg.ShutdownGrace
	d.log.Info("draining", "grace", grace.String())
	deadline := began.Add(grace)
	// From here new calls are refused with SHUTTING_DOWN while the
	// connections stay up, so clients get a clear reason rather than a
	// transport error, and probes see NOT_SERVING.
	d.draining.Store(true)
	d.svc.SetDraining(true)
	d.health.Shutdown()
	for d.inflight.running() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	d.log.Info("calls in flight finished", "remaining", d.inflight.running())
	// Closing the bus ends the PoolEvents streams cleanly (their handlers
	// return), so that GracefulStop does not wait on them until the grace
	// period runs out.
	d.bus.Close()

	stopped := make(chan struct{})
	go func() {
		d.grpc.GracefulStop()
		close(stopped)
	}()
	timer := time.NewTimer(max(time.Until(deadline), 0))
	select {
	case <-stopped:
		d.log.Info("gRPC server stopped")
	case <-timer.C:
		d.log.Warn("grace period over; cancelling calls and streams still open", "calls", d.inflight.methods())
		d.grpc.Stop()
		// Stop cancels every call's context and closes the connections,
		// but GracefulStop, still running, waits for every handler to
		// return, and a handler that does not watch its context never
		// does. Wait a part of StopBound for them, then go on without.
		select {
		case <-stopped:
			d.log.Info("gRPC server stopped")
		case <-time.After(StopBound / 4):
			d.log.Error("calls still running after cancellation; abandoning them", "calls", d.inflight.methods())
		}
	}
	timer.Stop()

	// The pools wait for their instances in use until ctx ends: at most
	// the rest of StopBound once the grace period is over.
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(StopBound*3/4))
	defer cancel()
	if d.metrics != nil {
		if err := d.metrics.Shutdown(ctx); err != nil {
			d.log.Warn("metrics server shutdown", "err", err)
		} else {
			d.log.Info("metrics server stopped")
		}
	}
	d.closePools(ctx)
	if network, address := d.cfg.GRPCListenAddr(); network == "unix" {
		os.Remove(address)
	}
	took := time.Since(began).Round(time.Millisecond).String()
	calls, instances := d.inflight.methods(), d.instancesOut()
	if calls == nil && instances == nil {
		d.log.Info("stopped", "shutdown", took)
		return
	}
	d.log.Warn("stopped; abandoned what still runs", "shutdown", took, "calls", calls, "instances", instances)
}

// instancesOut returns, by pool, the instances not back in their pool:
// held by a call that has not returned, or by a detached WebAssembly call.
// It is nil when there are none.
func (d *Daemon) instancesOut() map[string]int {
	var out map[string]int
	for _, v := range d.svc.Pools() {
		if n := v.Stats.InUse + v.Stats.Closing; n > 0 {
			if out == nil {
				out = make(map[string]int)
			}
			out[v.Name] = n
		}
	}
	return out
}

// closePools closes every pool, waiting for instances still in use until
// ctx ends, then the WebAssembly runtime and the event bus.
func (d *Daemon) closePools(ctx context.Context) {
	// Leases hold instances out of their pools: end them first, so that the
	// pools get their instances back before they close.
	if d.leases != nil {
		if err := d.leases.Close(ctx); err != nil {
			d.log.Warn("leases closed with calls still running", "err", err)
		} else {
			d.log.Info("leases released")
		}
	}
	if d.native != nil {
		if err := errors.Join(d.native.CSS.Close(ctx), d.native.Regex.Close(ctx)); err != nil {
			d.log.Warn("native pools closed with instances still in use", "err", err)
		} else {
			d.log.Info("native pools closed")
		}
	}
	if d.article != nil {
		// An abandoned extraction holds its extractor until it ends: Close
		// waits for it until ctx does.
		if err := d.article.Pool.Close(ctx); err != nil {
			d.log.Warn("native article pool closed with extractions still running", "err", err)
		} else {
			d.log.Info("native article pool closed")
		}
	}
	if d.wasm != nil {
		if err := d.wasm.Close(ctx); err != nil {
			d.log.Warn("WebAssembly pools closed with instances still in use", "err", err)
		} else {
			d.log.Info("WebAssembly pools closed")
		}
	}
	if d.runtime != nil {
		if err := d.runtime.Close(ctx); err != nil {
			d.log.Warn("WebAssembly runtime closed with calls still running", "err", err)
		}
	}
	if d.bus != nil {
		d.bus.Close()
	}
}

// snapshot gathers the figures the Prometheus collector exports.
func (d *Daemon) snapshot() metrics.Snapshot {
	var snap metrics.Snapshot
	for _, v := range d.svc.Pools() {
		kind := "wasm"
		switch v.Kind {
		case poolv1.ExtractorKind_EXTRACTOR_KIND_CSS:
			kind = "css"
		case poolv1.ExtractorKind_EXTRACTOR_KIND_REGEX:
			kind = "regex"
		}
		snap.Pools = append(snap.Pools, metrics.Pool{Name: v.Name, Kind: kind, Stats: v.Stats,
			Leased: v.Leased, BreakerState: int(v.Breaker), MemoryBytes: v.MemoryBytes})
	}
	if np := d.native; np != nil {
		sel, pat, xp := np.Selectors.Stats(), np.Patterns.Stats(), np.Selectors.XPath().Stats()
		snap.Caches = append(snap.Caches,
			metrics.Cache{Name: "selector", Hits: sel.Hits, Misses: sel.Misses, Len: sel.Len, Size: sel.Size,
				Streamed: sel.Streamed, StreamGaveUp: sel.StreamGaveUp},
			metrics.Cache{Name: "pattern", Hits: pat.Hits, Misses: pat.Misses, Len: pat.Len, Size: pat.Size},
			metrics.Cache{Name: "xpath", Hits: xp.Hits, Misses: xp.Misses, Len: xp.Len, Size: xp.Size},
		)
	}
	if d.wasm != nil {
		snap.WASMMemoryBudgetBytes = d.wasm.Memory().BudgetBytes
	}
	if d.leases != nil {
		ls := d.leases.Stats()
		snap.LeasesExpired = ls.Expired
		snap.LeaseDuration = ls.Duration
	}
	bs := d.bus.Stats()
	snap.EventsPublished, snap.EventsDropped, snap.EventSubscribers = bs.Published, bs.Dropped, bs.Subscribers
	return snap
}

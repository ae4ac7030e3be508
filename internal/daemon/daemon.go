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
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/metrics"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// messageSlack is what the gRPC message size limits allow beyond the
// document and result limits, so that a document a little over
// MAX_DOCUMENT_BYTES reaches the handler and gets the API's
// DOCUMENT_TOO_LARGE reason rather than the transport's bare error.
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
	metrics  *http.Server

	grpcLis, metricsLis net.Listener
	draining            atomic.Bool
	inflight            atomic.Int64 // unary PoolService calls being handled
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

	limits := server.Limits{
		Limits:          nativeLimits(cfg),
		MaxFields:       64,
		CheckoutTimeout: cfg.CheckoutTimeout,
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

	d.svc = server.New(server.Config{
		Logger:      log,
		Version:     d.version,
		Started:     d.started,
		Limits:      limits,
		Native:      d.native,
		Extractions: metrics.NewExtractions(d.registry),
	})
	d.registry.MustRegister(metrics.NewCollector(d.snapshot))

	grpcServer, err := d.grpcServer()
	if err != nil {
		d.closePools(ctx)
		return nil, err
	}
	d.grpc = grpcServer
	return d, nil
}

// nativeLimits derives the per-request limits from the configuration.
func nativeLimits(cfg *config.Config) native.Limits {
	l := native.DefaultLimits()
	l.MaxDocumentBytes = cfg.MaxDocumentBytes
	l.MaxResultBytes = cfg.MaxResultBytes
	return l
}

// nativePools creates the css and regex pools and warms their caches.
func (d *Daemon) nativePools(ctx context.Context, limits native.Limits) (*server.NativePools, error) {
	cfg := d.cfg
	np := &server.NativePools{
		Selectors: native.NewSelectorCache(cfg.SelectorCacheSize),
		Patterns:  native.NewPatternCache(cfg.PatternCacheSize),
	}
	if err := np.Selectors.Warm(cfg.WarmSelectors); err != nil {
		return nil, fmt.Errorf("WARM_SELECTORS: %w", err)
	}
	if err := np.Patterns.Warm(cfg.WarmPatterns); err != nil {
		return nil, fmt.Errorf("WARM_PATTERNS: %w", err)
	}
	poolConfig := func(name string) pool.Config {
		pc := pool.Config{
			Name:               name,
			MinSize:            cfg.NativePoolSize,
			MaxSize:            cfg.NativeMaxInstances,
			IdleTimeout:        cfg.NativeIdleTimeout,
			CheckoutTimeout:    cfg.CheckoutTimeout,
			ValidateOnCheckout: cfg.HealthCheckEnabled,
			Logger:             d.log.With("pool", name),
		}
		if cfg.HealthCheckEnabled {
			pc.HealthInterval = cfg.HealthCheckInterval
		}
		return pc
	}
	var err error
	np.CSS, err = pool.New(ctx, poolConfig(server.PoolCSS), func(context.Context) (*native.CSS, error) {
		return native.NewCSS(np.Selectors, limits), nil
	})
	if err != nil {
		return nil, fmt.Errorf("css pool: %w", err)
	}
	np.Regex, err = pool.New(ctx, poolConfig(server.PoolRegex), func(context.Context) (*native.Regex, error) {
		return native.NewRegex(np.Patterns, limits), nil
	})
	if err != nil {
		np.CSS.Close(ctx)
		return nil, fmt.Errorf("regex pool: %w", err)
	}
	return np, nil
}

// grpcServer builds the gRPC server with its interceptors and services.
func (d *Daemon) grpcServer() (*grpc.Server, error) {
	cfg := d.cfg
	grpcMetrics := grpcprom.NewServerMetrics()
	grpcMetrics.EnableHandlingTimeHistogram()
	d.registry.MustRegister(grpcMetrics)

	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxDocumentBytes + messageSlack),
		grpc.MaxSendMsgSize(cfg.MaxResultBytes + messageSlack),
		// Clients may ping to keep connections through proxies alive, but
		// not so often that pings become a load.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             10 * time.Second,
			PermitWithoutStream: true,
		}),
		// Find dead peers (a crashed client's connection) within a few
		// minutes, and drop connections idle for long.
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 15 * time.Minute,
			Time:              2 * time.Minute,
			Timeout:           20 * time.Second,
		}),
		grpc.ChainUnaryInterceptor(
			grpcMetrics.UnaryServerInterceptor(),
			d.unaryGuard,
		),
		grpc.ChainStreamInterceptor(
			grpcMetrics.StreamServerInterceptor(),
			d.streamGuard,
		),
	}
	if cfg.TLSCertFile != "" {
		creds, err := tlsCredentials(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(creds))
	}

	s := grpc.NewServer(opts...)
	poolv1.RegisterPoolServiceServer(s, d.svc)
	d.health = health.NewServer()
	// NOT_SERVING until Serve has finished its start-up work.
	d.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	d.health.SetServingStatus(poolv1.PoolService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(s, d.health)
	reflection.Register(s)
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

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		d.log.Error("server failed; shutting down", "err", serveErr)
	}
	d.shutdown()
	return serveErr
}

// warmUp waits, within a bound, for the warm instances that start-up
// creates, so that the first requests do not pay for creation.
func (d *Daemon) warmUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if d.native == nil {
		return nil
	}
	return errors.Join(d.native.CSS.WaitReady(ctx), d.native.Regex.WaitReady(ctx))
}

// shutdown drains and closes everything, logging each step.
func (d *Daemon) shutdown() {
	began := time.Now()
	grace := d.cfg.ShutdownGrace
	d.log.Info("draining", "grace", grace.String())
	deadline := began.Add(grace)
	// From here new calls are refused with SHUTTING_DOWN while the
	// connections stay up, so clients get a clear reason rather than a
	// transport error, and probes see NOT_SERVING.
	d.draining.Store(true)
	d.health.Shutdown()
	for d.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	d.log.Info("calls in flight finished", "remaining", d.inflight.Load())

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
		d.log.Warn("grace period over; cancelling calls and streams still open")
		d.grpc.Stop()
		<-stopped
	}
	timer.Stop()

	ctx, cancel := context.WithTimeout(context.Background(), grace)
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
	d.log.Info("stopped", "shutdown", time.Since(began).Round(time.Millisecond).String())
}

// closePools closes every pool, waiting for instances still in use until
// ctx ends.
func (d *Daemon) closePools(ctx context.Context) {
	if d.native == nil {
		return
	}
	err := errors.Join(d.native.CSS.Close(ctx), d.native.Regex.Close(ctx))
	if err != nil {
		d.log.Warn("native pools closed with instances still in use", "err", err)
		return
	}
	d.log.Info("native pools closed")
}

// snapshot gathers the figures the Prometheus collector exports.
func (d *Daemon) snapshot() metrics.Snapshot {
	var snap metrics.Snapshot
	if np := d.native; np != nil {
		snap.Pools = append(snap.Pools,
			metrics.Pool{Name: server.PoolCSS, Kind: "css", Stats: np.CSS.Stats()},
			metrics.Pool{Name: server.PoolRegex, Kind: "regex", Stats: np.Regex.Stats()},
		)
		sel, pat := np.Selectors.Stats(), np.Patterns.Stats()
		snap.Caches = append(snap.Caches,
			metrics.Cache{Name: "selector", Hits: sel.Hits, Misses: sel.Misses, Len: sel.Len, Size: sel.Size},
			metrics.Cache{Name: "pattern", Hits: pat.Hits, Misses: pat.Misses, Len: pat.Len, Size: pat.Size},
		)
	}
	return snap
}

package server_test

// The harness of the grpc_*_test.go files: the native pools built as
// internal/daemon builds them, served by server.New over a real gRPC
// transport (in-memory bufconn or a loopback TCP socket) to a real
// generated client, so that every assertion is about what a client sees on
// the wire.

import (
	"context"
	"github.com/riptidecrawler/riptide-poold/internal/grpcwire"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/articlepool"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/lease"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// grpcMessageSlack mirrors internal/daemon's messageSlack, what the send
// limit allows beyond MAX_RESULT_BYTES.
const grpcMessageSlack = 1 << 20

// grpcOptions configure a harness. The zero value, after defaults, is the
// daemon's default configuration.
type grpcOptions struct {
	// cfg is the daemon configuration the pools are built from; nil means
	// config.Default().
	cfg *config.Config
	// limits, when set, replaces the limits derived from cfg.
	limits *server.Limits
	// network is "tcp" for a 127.0.0.1 socket, "unix" for a unix socket
	// (GRPC_ADDR=unix:///path), or "" for an in-memory bufconn.
	network string
	// tunedClient gives the client grpcwire.DialOptions, the settings
	// recommended to Go clients; otherwise it has grpc-go's defaults, as a
	// client in any language would.
	tunedClient bool
	// article, when set, serves the bundled article module natively from a
	// pool of this configuration (ARTICLE_ENGINE=native).
	article *articlepool.Config
	// leases serves Checkout, RenewLease and ReleaseLease.
	leases bool
}

// grpcHarness is one served Service and a client connected to it.
type grpcHarness struct {
	native  *server.NativePools
	article *articlepool.Pool // nil unless grpcOptions.article
	svc     *server.Service
	limits  server.Limits
	conn    *grpc.ClientConn
	client  poolv1.PoolServiceClient
}

// newGRPCHarness builds the native pools and the Service as internal/daemon
// does with WASM_POOL_ENABLED=false, serves it, and dials it. Everything is torn down with tb.Cleanup.
func newGRPCHarness(tb testing.TB, opts grpcOptions) *grpcHarness {
	tb.Helper()
	cfg := opts.cfg
	if cfg == nil {
		cfg = config.Default()
	}
	limits := server.Limits{
		Limits:                daemonLimits(cfg),
		MaxFields:             64,
		CheckoutTimeout:       cfg.CheckoutTimeout,
		LeaseDefaultTTL:       cfg.LeaseDefaultTTL,
		LeaseMaxTTL:           cfg.LeaseMaxTTL,
		InstanceMemoryLimitMB: cfg.WASMInstanceMemoryLimitMB,
		ExtractTimeout:        cfg.WASMExtractTimeout,
	}
	if opts.limits != nil {
		limits = *opts.limits
	}
	np := newNativePools(tb, cfg, limits.Limits)
	h := &grpcHarness{
		native:  np,
		limits:  limits,
		article: newArticlePool(tb, opts.article),
	}
	var leases *lease.Table
	if opts.leases {
		var err error
		if leases, err = lease.New(lease.Config{DefaultTTL: cfg.LeaseDefaultTTL, MaxTTL: cfg.LeaseMaxTTL}); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { leases.Close(context.Background()) })
	}
	h.svc = server.New(server.Config{
		Version: "test",
		Limits:  limits,
		Native:  np,
		Article: h.article,
		Leases:  leases,
	})

	// No recovering interceptor: a panic in a handler must fail the test
	// (and the fuzzer), not turn into a status.
	srv := grpc.NewServer(append(grpcwire.ServerOptions(server.MaxRecvMessageBytes(limits.MaxDocumentBytes)),
		grpc.MaxSendMsgSize(limits.MaxResultBytes+grpcMessageSlack),
		grpc.UnknownServiceHandler(server.UnknownMethod),
	)...)
	poolv1.RegisterPoolServiceServer(server.Registrar{Server: srv, MaxDocumentBytes: limits.MaxDocumentBytes}, h.svc)

	var (
		lis    net.Listener
		target string
		dial   []grpc.DialOption
	)
	switch opts.network {
	case "tcp":
		var err error
		lis, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("listen on loopback: %v", err)
		}
		target = lis.Addr().String()
	case "unix":
		// Socket paths are short on some systems; TempDir can be long.
		dir, err := os.MkdirTemp("", "poold")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
		path := filepath.Join(dir, "s")
		if lis, err = net.Listen("unix", path); err != nil {
			tb.Fatalf("listen on %s: %v", path, err)
		}
		target = "unix://" + path
	default:
		bl := bufconn.Listen(1 << 20)
		lis, target = bl, "passthrough:///bufconn"
		dial = append(dial, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return bl.DialContext(ctx)
		}))
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()

	dial = append(dial,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limits.MaxResultBytes+grpcMessageSlack)),
	)
	if opts.tunedClient {
		dial = append(dial, grpcwire.DialOptions(limits.MaxDocumentBytes+grpcMessageSlack)...)
	}
	conn, err := grpc.NewClient(target, dial...)
	if err != nil {
		tb.Fatalf("grpc.NewClient(%q): %v", target, err)
	}
	h.conn = conn
	h.client = poolv1.NewPoolServiceClient(conn)

	tb.Cleanup(func() {
		conn.Close()
		srv.Stop()
		if err := <-served; err != nil {
			tb.Errorf("grpc Serve: %v", err)
		}
	})
	return h
}

// daemonLimits derives the native limits from cfg as internal/daemon does.
func daemonLimits(cfg *config.Config) native.Limits {
	l := native.DefaultLimits()
	l.MaxDocumentBytes = cfg.MaxDocumentBytes
	l.MaxResultBytes = cfg.MaxResultBytes
	return l
}

// newNativePools creates the css and regex pools and their shared caches
// from cfg as internal/daemon does, and closes them on cleanup.
func newNativePools(tb testing.TB, cfg *config.Config, limits native.Limits) *server.NativePools {
	tb.Helper()
	pc := pool.Config{
		MinSize:            cfg.NativePoolSize,
		MaxSize:            cfg.NativeMaxInstances,
		IdleTimeout:        cfg.NativeIdleTimeout,
		CheckoutTimeout:    cfg.CheckoutTimeout,
		ValidateOnCheckout: cfg.HealthCheckEnabled,
	}
	if cfg.HealthCheckEnabled {
		pc.HealthInterval = cfg.HealthCheckInterval
	}
	ctx := context.Background()
	np, err := server.NewNativePools(ctx, server.NativePoolsConfig{
		SelectorCacheSize: cfg.SelectorCacheSize,
		PatternCacheSize:  cfg.PatternCacheSize,
		WarmSelectors:     cfg.WarmSelectors,
		WarmXPath:         cfg.WarmXPath,
		WarmPatterns:      cfg.WarmPatterns,
		Pool:              pc,
		Limits:            limits,
	})
	if err != nil {
		tb.Fatalf("native pools: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := np.CSS.Close(ctx); err != nil {
			tb.Errorf("close css pool: %v", err)
		}
		if err := np.Regex.Close(ctx); err != nil {
			tb.Errorf("close regex pool: %v", err)
		}
	})
	ready, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := np.CSS.WaitReady(ready); err != nil {
		tb.Fatalf("css pool not ready: %v", err)
	}
	if err := np.Regex.WaitReady(ready); err != nil {
		tb.Fatalf("regex pool not ready: %v", err)
	}
	return np
}

// statusDetail is what a client can learn from an error status: the code,
// and the google.rpc details the API contract promises.
type statusDetail struct {
	code     codes.Code
	message  string
	reason   string // ErrorInfo.reason, "" when there is no ErrorInfo
	domain   string
	metadata map[string]string
	fields   []string // BadRequest field violations, in order
	retry    *time.Duration
	// isStatus is false when err did not come from a gRPC status at all.
	isStatus bool
}

// detailOf takes err apart. It reports a nil error as codes.OK.
func detailOf(err error) statusDetail {
	st, ok := status.FromError(err)
	d := statusDetail{code: st.Code(), message: st.Message(), isStatus: ok}
	for _, x := range st.Details() {
		switch x := x.(type) {
		case *errdetails.ErrorInfo:
			d.reason, d.domain, d.metadata = x.GetReason(), x.GetDomain(), x.GetMetadata()
		case *errdetails.BadRequest:
			for _, v := range x.GetFieldViolations() {
				d.fields = append(d.fields, v.GetField())
			}
		case *errdetails.RetryInfo:
			r := x.GetRetryDelay().AsDuration()
			d.retry = &r
		}
	}
	return d
}

// htmlDoc and rawDoc build an ExtractRequest's document.
func htmlDoc(s string) *poolv1.ExtractRequest_Html { return &poolv1.ExtractRequest_Html{Html: s} }
func rawDoc(b []byte) *poolv1.ExtractRequest_RawHtml {
	return &poolv1.ExtractRequest_RawHtml{RawHtml: b}
}

// cssReq, regexReq and fieldsReq build specs.
func cssReq(spec *poolv1.CssSpec) *poolv1.ExtractRequest_Css {
	return &poolv1.ExtractRequest_Css{Css: spec}
}
func regexReq(spec *poolv1.RegexSpec) *poolv1.ExtractRequest_Regex {
	return &poolv1.ExtractRequest_Regex{Regex: spec}
}
func fieldsReq(fields map[string]*poolv1.FieldSpec) *poolv1.ExtractRequest_Fields {
	return &poolv1.ExtractRequest_Fields{Fields: &poolv1.FieldsSpec{Fields: fields}}
}
func cssField(spec *poolv1.CssSpec) *poolv1.FieldSpec {
	return &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Css{Css: spec}}
}
func regexField(spec *poolv1.RegexSpec) *poolv1.FieldSpec {
	return &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Regex{Regex: spec}}
}

// medianPage is the corpus page of median size.
func medianPage(tb testing.TB) testenv.Page {
	pages := testenv.CorpusPages(tb)
	return pages[len(pages)/2]
}

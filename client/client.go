package client

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/riptidecrawler/riptide-poold/client/bufpool"
	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
)

// Defaults of the options.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxAttempts = 4
	// DefaultMaxRetryDelay bounds one wait between attempts, whatever a
	// RetryInfo asks for: a breaker's 30 s open time is better answered with
	// CircuitOpen than with a call that hangs for it.
	DefaultMaxRetryDelay = 2 * time.Second
)

// Transport settings for whole pages, the same as the daemon's
// (internal/grpcwire): a stream window that lets a page under 1 MiB arrive
// without waiting for a window update, and room for 16 on a connection.
const (
	streamWindow = 1 << 20
	connWindow   = 16 << 20
	// messageSlack is room for the rest of a message around its document
	// or result; the daemon allows as much.
	messageSlack = 1 << 20
	// bootstrapMessage bounds the messages of the ListExtractors call that
	// reads the limits, before they are known.
	bootstrapMessage = 4 << 20
)

// roundRobin is the default service config: calls are spread over every
// address the target resolves to, and a replica that fails is skipped
// until it is back.
const roundRobin = `{"loadBalancingConfig": [{"round_robin": {}}]}`

type options struct {
	timeout       time.Duration
	maxAttempts   int
	maxRetryDelay time.Duration
	creds         credentials.TransportCredentials
	serviceConfig string
	dial          []grpc.DialOption
}

// An Option configures a Client.
type Option func(*options)

// WithTimeout sets the deadline of calls whose context has none (default
// DefaultTimeout). It covers every attempt of a call.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxAttempts sets how many times an idempotent call is sent at most
// (default DefaultMaxAttempts); 1 turns retries off.
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = max(n, 1) } }

// WithMaxRetryDelay bounds one wait between attempts (default
// DefaultMaxRetryDelay). A RetryInfo asking for longer ends the retries.
func WithMaxRetryDelay(d time.Duration) Option { return func(o *options) { o.maxRetryDelay = d } }

// WithTransportCredentials sets the connection's credentials (default:
// plaintext, as the daemon serves without TLS_CERT_FILE).
func WithTransportCredentials(c credentials.TransportCredentials) Option {
	return func(o *options) { o.creds = c }
}

// WithServiceConfig replaces the default service config (round_robin).
func WithServiceConfig(json string) Option { return func(o *options) { o.serviceConfig = json } }

// WithDialOptions adds grpc dial options, after the client's own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dial = append(o.dial, opts...) }
}

// Client calls one daemon or a fleet of them. It is safe for concurrent
// use; Close it when done.
type Client struct {
	conn   *grpc.ClientConn
	opts   options
	target string
	limits *poolv1.Limits
	caller caller
}

// New connects to target and reads the daemon's limits (ListExtractors),
// waiting for a replica to be ready until ctx is done. See the package
// documentation for the targets it accepts.
func New(ctx context.Context, target string, opts ...Option) (*Client, error) {
	o := options{
		timeout:       DefaultTimeout,
		maxAttempts:   DefaultMaxAttempts,
		maxRetryDelay: DefaultMaxRetryDelay,
		creds:         insecure.NewCredentials(),
		serviceConfig: roundRobin,
	}
	for _, opt := range opts {
		opt(&o)
	}
	conn, err := dial(target, &o)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, opts: o, target: target}
	c.caller = caller{rpc: poolv1.NewPoolServiceClient(conn), opts: &c.opts,
		callOpts: []grpc.CallOption{grpc.MaxCallRecvMsgSize(bootstrapMessage)}}
	// WaitForReady: a fleet that is still starting is not an error yet.
	c.caller.callOpts = append(c.caller.callOpts, grpc.WaitForReady(true))
	resp, err := call(ctx, &c.caller, idempotent, c.caller.rpc.ListExtractors, &poolv1.ListExtractorsRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("riptide-poold %s: reading limits: %w", target, err)
	}
	c.limits = resp.GetLimits()
	c.caller.setLimits(c.limits)
	return c, nil
}

func dial(target string, o *options) (*grpc.ClientConn, error) {
	return grpc.NewClient(target, dialOptions(o)...)
}

func dialOptions(o *options) []grpc.DialOption {
	d := []grpc.DialOption{
		grpc.WithTransportCredentials(o.creds),
		grpc.WithDefaultServiceConfig(o.serviceConfig),
		experimental.WithBufferPool(bufpool.New(bootstrapMessage)),
		grpc.WithInitialWindowSize(streamWindow),
		grpc.WithInitialConnWindowSize(connWindow),
		grpc.WithResolvers(staticResolver{"ipv4"}, staticResolver{"ipv6"}),
	}
	return append(d, o.dial...)
}

// Close closes the client's connections. Leases still open are not
// released; they expire on the daemon after their TTL.
func (c *Client) Close() error { return c.conn.Close() }

// Limits returns the daemon's request limits as read by New.
func (c *Client) Limits() *poolv1.Limits { return c.limits }

// Raw returns the generated client over the same connection, for calls
// this package does not wrap. Its calls get none of the client's
// deadlines, retries or limits.
func (c *Client) Raw() poolv1.PoolServiceClient { return c.caller.rpc }

// Health answers the health report.
func (c *Client) Health(ctx context.Context) (*poolv1.HealthResponse, error) {
	return call(ctx, &c.caller, idempotent, c.caller.rpc.Health, &poolv1.HealthRequest{})
}

// GetMetrics answers per-pool and memory statistics of the pools named
// (all when none).
func (c *Client) GetMetrics(ctx context.Context, pools ...string) (*poolv1.GetMetricsResponse, error) {
	return call(ctx, &c.caller, idempotent, c.caller.rpc.GetMetrics, &poolv1.GetMetricsRequest{Pools: pools})
}

// ListExtractors answers the pools, modules, modes and limits.
func (c *Client) ListExtractors(ctx context.Context) (*poolv1.ListExtractorsResponse, error) {
	return call(ctx, &c.caller, idempotent, c.caller.rpc.ListExtractors, &poolv1.ListExtractorsRequest{})
}

// ForceGC runs the memory sweep now on the replica the call reaches.
func (c *Client) ForceGC(ctx context.Context) (*poolv1.ForceGCResponse, error) {
	return call(ctx, &c.caller, idempotent, c.caller.rpc.ForceGC, &poolv1.ForceGCRequest{})
}

// call runs one unary RPC with the caller's deadline, limits and retries.
// The first attempt is a plain call of rpc: the retry logic runs only once
// an attempt has failed, so a call that succeeds costs little more than the
// generated stub's (docs/CLIENTS.md, "Overhead").
func call[Req, Resp any](ctx context.Context, c *caller, class retryClass,
	rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := c.deadline(ctx)
	if cancel != nil {
		defer cancel()
	}
	for n := 1; ; n++ {
		resp, err := rpc(ctx, req, c.callOpts...)
		if err == nil {
			return resp, nil
		}
		if err := c.again(ctx, class, err, n); err != nil {
			var zero Resp
			return zero, err
		}
	}
}

// caller runs calls on one connection: the client's, or a lease's pinned
// one.
type caller struct {
	rpc      poolv1.PoolServiceClient
	opts     *options
	callOpts []grpc.CallOption
	maxDoc   int // 0 until the limits are known
}

func (c *caller) setLimits(l *poolv1.Limits) {
	c.maxDoc = clampInt(l.GetMaxDocumentBytes())
	c.callOpts = []grpc.CallOption{
		grpc.MaxCallRecvMsgSize(clampInt(l.GetMaxResultBytes()) + messageSlack),
		grpc.MaxCallSendMsgSize(c.maxDoc + messageSlack),
	}
}

func clampInt(v uint64) int {
	if v > math.MaxInt32-messageSlack {
		return math.MaxInt32 - messageSlack
	}
	return int(v)
}

// deadline gives ctx the client's timeout unless it has a deadline; the
// CancelFunc is nil when ctx is used as it is.
func (c *caller) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.opts.timeout <= 0 {
		return ctx, nil
	}
	return context.WithTimeout(ctx, c.opts.timeout)
}

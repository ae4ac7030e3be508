package client

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/durationpb"
)

// releaseTimeout bounds the release that Close sends, so that a deferred
// Close never hangs on a daemon that went away.
const releaseTimeout = 5 * time.Second

// Lease is an instance taken out of its pool for this caller. A lease
// lives on the daemon that granted it, so its calls go there on a
// connection of its own, never round-robin; they are not retried.
//
// Close releases it; deferring Close right after Lease succeeds is all the
// bookkeeping a caller needs. A Lease may be used by several goroutines;
// the daemon runs their calls one at a time.
type Lease struct {
	ID         string
	Pool       string
	InstanceID string
	ExpiresAt  time.Time

	conn   *grpc.ClientConn
	caller caller

	mu     sync.Mutex
	closed bool
}

// Lease checks out an instance of pool for ttl (0: the daemon's
// LEASE_DEFAULT_TTL_MS).
func (c *Client) Lease(ctx context.Context, pool string, ttl time.Duration) (*Lease, error) {
	req := &poolv1.CheckoutRequest{Pool: pool}
	if ttl > 0 {
		req.Ttl = durationpb.New(ttl)
	}
	var p peer.Peer
	cc := c.caller
	cc.callOpts = append(cc.callOpts[:len(cc.callOpts):len(cc.callOpts)], grpc.Peer(&p))
	resp, err := call(ctx, &cc, refused, cc.rpc.Checkout, req)
	if err != nil {
		return nil, err
	}
	l := &Lease{
		ID: resp.GetLease().GetLeaseId(), Pool: resp.GetLease().GetPool(),
		InstanceID: resp.GetLease().GetInstanceId(), ExpiresAt: resp.GetLease().GetExpiresAt().AsTime(),
	}
	conn, err := grpc.NewClient(pinnedTarget(p.Addr), dialOptions(&c.opts)...)
	if err != nil {
		// The lease exists but cannot be reached: give it back through the
		// client's connection, which may reach the same daemon.
		c.releaseOrphan(l.ID)
		return nil, fmt.Errorf("riptide-poold: connecting to the lease's daemon %v: %w", p.Addr, err)
	}
	l.conn = conn
	l.caller = caller{rpc: poolv1.NewPoolServiceClient(conn), opts: &c.opts}
	l.caller.setLimits(c.limits)
	return l, nil
}

func (c *Client) releaseOrphan(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	_, _ = c.caller.rpc.ReleaseLease(ctx, &poolv1.ReleaseLeaseRequest{LeaseId: id})
}

// pinnedTarget is a target that reaches exactly addr: the daemon that
// answered a call.
func pinnedTarget(addr net.Addr) string {
	if addr == nil {
		return "passthrough:///invalid"
	}
	if addr.Network() == "unix" {
		return "unix://" + addr.String()
	}
	return "passthrough:///" + addr.String()
}

// CSS answers a CSS question on the leased instance.
func (l *Lease) CSS(ctx context.Context, doc Document, q CSS) (*Values, error) {
	return l.caller.css(ctx, doc, q, l.ID)
}

// XPath answers an XPath question on the leased instance.
func (l *Lease) XPath(ctx context.Context, doc Document, q XPath) (*Values, error) {
	return l.caller.xpath(ctx, doc, q, l.ID)
}

// Structured answers doc's structured data on the leased instance (a
// lease of the css pool).
func (l *Lease) Structured(ctx context.Context, doc Document, q Structured) (*Result, error) {
	return l.caller.structured(ctx, doc, q, l.ID)
}

// Regex answers a regular-expression question on the leased instance.
func (l *Lease) Regex(ctx context.Context, doc Document, q Regex) (*Matches, error) {
	return l.caller.regex(ctx, doc, q, l.ID)
}

// Fields answers named questions on the leased instance.
func (l *Lease) Fields(ctx context.Context, doc Document, fields map[string]Field) (*Fields, error) {
	return l.caller.fields(ctx, doc, fields, l.ID)
}

// WASM runs a module's extraction on the leased instance.
func (l *Lease) WASM(ctx context.Context, doc Document, q WASM) (*Result, error) {
	return l.caller.wasm(ctx, doc, q, l.ID)
}

// Renew extends the lease by ttl from now (0: the daemon's default).
func (l *Lease) Renew(ctx context.Context, ttl time.Duration) error {
	req := &poolv1.RenewLeaseRequest{LeaseId: l.ID}
	if ttl > 0 {
		req.Ttl = durationpb.New(ttl)
	}
	resp, err := call(ctx, &l.caller, never, l.caller.rpc.RenewLease, req)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.ExpiresAt = resp.GetLease().GetExpiresAt().AsTime()
	l.mu.Unlock()
	return nil
}

// Release returns the instance to its pool, or closes it for good when
// discard is set, and closes the lease's connection. Only the first
// Release or Close does anything.
func (l *Lease) Release(ctx context.Context, discard bool) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	_, err := call(ctx, &l.caller, never, l.caller.rpc.ReleaseLease,
		&poolv1.ReleaseLeaseRequest{LeaseId: l.ID, Discard: discard})
	if cerr := l.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close releases the lease, waiting at most five seconds for the daemon.
func (l *Lease) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	return l.Release(ctx, false)
}

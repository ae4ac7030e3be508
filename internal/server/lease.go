package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/lease"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// What a lease holds, by kind. Each returns its instance to its pool the
// way a one-call checkout would.
type (
	nativeHeld[T pool.Poolable] struct{ h *pool.Handle[T] }
	wasmHeld                    struct {
		p *wasmpool.Pool
		h *pool.Handle[*wasmpool.Instance]
		// err is the last call's error; only the lease's serialized
		// calls touch it. An instance a call left unusable is discarded
		// when the lease ends.
		err error
	}
)

func (n nativeHeld[T]) Release()              { n.h.Release() }
func (n nativeHeld[T]) Discard(reason string) { n.h.Discard(reason) }
func (w *wasmHeld) Release()                  { w.p.Done(w.h, w.err) }
func (w *wasmHeld) Discard(reason string) {
	w.p.Done(w.h, fmt.Errorf("%w: %s", wasm.ErrUnusable, reason))
}

// Checkout leases an instance of a pool.
func (s *Service) Checkout(ctx context.Context, req *poolv1.CheckoutRequest) (*poolv1.CheckoutResponse, error) {
	if s.leases == nil {
		return nil, unimplemented("checkout leases")
	}
	ttl, err := s.leaseTTL(req.GetTtl())
	if err != nil {
		return nil, err
	}
	name := req.GetPool()
	var (
		held     lease.Held
		instance string
	)
	switch {
	case name == "":
		return nil, invalidArgument("pool", "a pool is required: css, regex or a module name")
	case name == PoolCSS || name == PoolRegex:
		np, err := s.nativePools()
		if err != nil {
			return nil, err
		}
		if name == PoolCSS {
			h, err := np.CSS.Checkout(ctx)
			if err != nil {
				return nil, s.poolError(err, name, np.CSS.Stats)
			}
			held, instance = nativeHeld[*native.CSS]{h}, instanceID(name, h.ID())
		} else {
			h, err := np.Regex.Checkout(ctx)
			if err != nil {
				return nil, s.poolError(err, name, np.Regex.Stats)
			}
			held, instance = nativeHeld[*native.Regex]{h}, instanceID(name, h.ID())
		}
	case s.nativeArticle(name):
		var err error
		if held, instance, err = s.checkoutArticle(ctx); err != nil {
			return nil, err
		}
	default:
		var p *wasmpool.Pool
		if s.wasm != nil {
			p, _ = s.wasm.Get(name)
		}
		if p == nil {
			return nil, invalidArgument("pool", "unknown pool %q; ListExtractors lists the pools", name)
		}
		h, err := p.Checkout(ctx)
		if err != nil {
			return nil, s.wasmError(name, err, p.Pool.Stats)
		}
		held, instance = &wasmHeld{p: p, h: h}, instanceID(name, h.ID())
	}
	l, err := s.leases.Add(name, instance, held, ttl)
	if err != nil {
		held.Release()
		return nil, s.leaseError(err, "")
	}
	return &poolv1.CheckoutResponse{Lease: leaseProto(l)}, nil
}

// RenewLease extends a lease from now.
func (s *Service) RenewLease(ctx context.Context, req *poolv1.RenewLeaseRequest) (*poolv1.RenewLeaseResponse, error) {
	if s.leases == nil {
		return nil, unimplemented("checkout leases")
	}
	if req.GetLeaseId() == "" {
		return nil, invalidArgument("lease_id", "a lease ID is required")
	}
	ttl, err := s.leaseTTL(req.GetTtl())
	if err != nil {
		return nil, err
	}
	l, err := s.leases.Renew(req.GetLeaseId(), ttl)
	if err != nil {
		return nil, s.leaseError(err, req.GetLeaseId())
	}
	return &poolv1.RenewLeaseResponse{Lease: leaseProto(l)}, nil
}

// ReleaseLease ends a lease: its instance goes back to its pool, or is
// discarded. A call running on the lease finishes first.
func (s *Service) ReleaseLease(ctx context.Context, req *poolv1.ReleaseLeaseRequest) (*poolv1.ReleaseLeaseResponse, error) {
	if s.leases == nil {
		return nil, unimplemented("checkout leases")
	}
	if req.GetLeaseId() == "" {
		return nil, invalidArgument("lease_id", "a lease ID is required")
	}
	if err := s.leases.Release(ctx, req.GetLeaseId(), req.GetDiscard()); err != nil {
		return nil, s.leaseError(err, req.GetLeaseId())
	}
	return &poolv1.ReleaseLeaseResponse{}, nil
}

// leaseTTL validates a requested TTL; zero means the default.
func (s *Service) leaseTTL(d *durationpb.Duration) (time.Duration, error) {
	if d == nil {
		return 0, nil
	}
	if err := d.CheckValid(); err != nil {
		return 0, invalidArgument("ttl", "%v", err)
	}
	ttl := d.AsDuration()
	if ttl == 0 {
		return 0, nil
	}
	if ttl < minLeaseTTL || (s.limits.LeaseMaxTTL > 0 && ttl > s.limits.LeaseMaxTTL) {
		return 0, invalidArgument("ttl", "%v is not in %v..%v (LEASE_MAX_TTL_MS); 0 means the default of %v",
			ttl, minLeaseTTL, s.limits.LeaseMaxTTL, s.limits.LeaseDefaultTTL)
	}
	return ttl, nil
}

// minLeaseTTL is the shortest TTL a Checkout or RenewLease may ask for: the
// lower bound of LEASE_DEFAULT_TTL_MS and LEASE_MAX_TTL_MS too (internal/config),
// so that a client can ask for no lease the configuration could not set,
// and none born expired (a TTL of 1ns) that only makes the reaper work.
const minLeaseTTL = time.Millisecond

// knownPool reports whether name is a pool this daemon serves now.
func (s *Service) knownPool(name string) bool {
	switch name {
	case PoolCSS, PoolRegex:
		return s.native != nil
	}
	if s.wasm == nil {
		return false
	}
	_, err := s.wasm.Get(name)
	return err == nil
}

// leaseError maps an error of the lease table.
func (s *Service) leaseError(err error, id string) error {
	var ttl *lease.TTLError
	switch {
	case errors.Is(err, lease.ErrNotFound):
		return statusError(codes.NotFound, ReasonLeaseNotFound,
			"no such lease: it is unknown, released or expired", nil)
	case errors.Is(err, lease.ErrClosed):
		return ShuttingDown()
	case errors.As(err, &ttl):
		return invalidArgument("ttl", "%v", err)
	}
	return contextOr(err, func() error { return statusError(codes.Internal, ReasonExtractorFailed, err.Error(), nil) })
}

// leaseMismatch answers a lease used for a request of another pool.
func leaseMismatch(leasePool, want string) error {
	return statusError(codes.FailedPrecondition, ReasonLeaseMismatch,
		fmt.Sprintf("the lease is of pool %q but the request needs pool %q", leasePool, want),
		[]string{"pool", want, "lease_pool", leasePool})
}

// onLease runs fn with the lease's instance, serialized with the lease's
// other calls. It checks that the lease is of pool want.
func (s *Service) onLease(ctx context.Context, id, want string, fn func(lease.Held) error) error {
	if s.leases == nil {
		return unimplemented("checkout leases")
	}
	l, err := s.leases.Get(id)
	if err != nil {
		return s.leaseError(err, id)
	}
	if l.Pool != want {
		return leaseMismatch(l.Pool, want)
	}
	err = s.leases.Use(ctx, id, fn)
	if errors.Is(err, lease.ErrNotFound) || errors.Is(err, lease.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// The call gave up (or found the lease gone) while waiting for the
		// lease's call in flight; fn's own errors are already statuses.
		return s.leaseError(err, id)
	}
	return err
}

// leased is the number of instances of a pool out on a lease.
func (s *Service) leased(pool string) int {
	if s.leases == nil {
		return 0
	}
	return s.leases.ActiveByPool(pool)
}

func leaseProto(l lease.Lease) *poolv1.Lease {
	return &poolv1.Lease{
		LeaseId:    l.ID,
		Pool:       l.Pool,
		InstanceId: l.InstanceID,
		ExpiresAt:  timestamppb.New(l.ExpiresAt),
	}
}

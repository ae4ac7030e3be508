package server

import (
	"context"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
)

// The RPCs below belong to capabilities that are still being built; they
// answer UNIMPLEMENTED naming the capability rather than pretend.

// Checkout is not implemented yet.
func (s *Service) Checkout(context.Context, *poolv1.CheckoutRequest) (*poolv1.CheckoutResponse, error) {
	return nil, unimplemented("checkout leases")
}

// RenewLease is not implemented yet.
func (s *Service) RenewLease(context.Context, *poolv1.RenewLeaseRequest) (*poolv1.RenewLeaseResponse, error) {
	return nil, unimplemented("checkout leases")
}

// ReleaseLease is not implemented yet.
func (s *Service) ReleaseLease(context.Context, *poolv1.ReleaseLeaseRequest) (*poolv1.ReleaseLeaseResponse, error) {
	return nil, unimplemented("checkout leases")
}

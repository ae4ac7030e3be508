package client

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc/codes"
)

// retryClass says which failures of a call may be retried.
type retryClass int

const (
	// never: the call is not retried (calls on a lease, whose daemon is
	// the only one that knows it).
	never retryClass = iota
	// idempotent: retried on UNAVAILABLE, whatever its cause, and on
	// POOL_EXHAUSTED. Sending it twice does no harm.
	idempotent
	// refused: retried only when the daemon says it did nothing
	// (POOL_EXHAUSTED, or UNAVAILABLE with SHUTTING_DOWN, CIRCUIT_OPEN or
	// CREATION_FAILED). A Checkout whose connection broke mid-call may
	// have leased an instance, and a retry would lease a second.
	refused
)

// Backoff between attempts when the daemon gives no RetryInfo (a replica
// that went away): short, since round-robin sends the next attempt to
// another replica.
const (
	backoffBase = 25 * time.Millisecond
	backoffMax  = time.Second
)

func (class retryClass) retries(code codes.Code, reason Reason) bool {
	switch {
	case class == never:
		return false
	case reason == ReasonPoolExhausted:
		return true
	case code != codes.Unavailable:
		return false
	case class == idempotent:
		return true
	}
	return reason == ReasonShuttingDown || reason == ReasonCircuitOpen || reason == ReasonCreationFailed
}

// again decides, after the n-th attempt of a call failed with err, whether
// to send it again: it waits the delay and returns nil to retry, or returns
// the *Error to give up with when class does not retry err, the call has
// run opts.maxAttempts times, or the wait would pass ctx's deadline or
// opts.maxRetryDelay.
func (c *caller) again(ctx context.Context, class retryClass, err error, n int) error {
	code, reason, delay := reasonOf(err)
	if n >= c.opts.maxAttempts || ctx.Err() != nil || !class.retries(code, reason) {
		return asError(err, n)
	}
	if delay <= 0 {
		delay = backoff(n)
	}
	if delay > c.opts.maxRetryDelay {
		return asError(err, n)
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= delay {
		return asError(err, n)
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return asError(err, n)
	case <-t.C:
		return nil
	}
}

// backoff is the wait after the n-th failed attempt: exponential from
// backoffBase, at most backoffMax, with jitter so that many callers failing
// at once do not come back at once.
func backoff(n int) time.Duration {
	d := min(backoffBase<<min(n-1, 16), backoffMax)
	return d/2 + rand.N(d/2+1)
}

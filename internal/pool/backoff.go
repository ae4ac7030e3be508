package pool

import "time"

// Backoff is the state of a pool's retries after failed creations: while
// it is below MinSize and its latest creation failed, refilling waits for
// a retry, each later than the last (see Config.RetryBackoff).
type Backoff struct {
	// Pending is true while refilling to MinSize waits for a retry.
	Pending bool
	// Delay is the wait of the pending retry, or of the latest one; 0
	// once a creation succeeded.
	Delay time.Duration
	// RetryAt is when the pending retry is due; zero unless Pending.
	RetryAt time.Time
	// Failures is the number of creations that failed in a row, since
	// the latest that succeeded (or since the start).
	Failures uint64
	// First and Max bound Delay: the first retry waits First, each next
	// one twice the one before, at most Max.
	First, Max time.Duration
}

// Backoff returns the state of p's creation retries. It takes the pool's
// lock briefly.
func (p *Pool[T]) Backoff() Backoff {
	b := Backoff{First: p.cfg.RetryBackoff, Max: maxRetryBackoff(p.cfg.RetryBackoff)}
	p.mu.Lock()
	b.Pending, b.Delay, b.Failures = p.retryPending, p.backoff, p.failStreak
	if b.Pending {
		b.RetryAt = p.retryAt
	}
	p.mu.Unlock()
	return b
}

// maxRetryBackoff is the longest wait of a pool whose first is first.
func maxRetryBackoff(first time.Duration) time.Duration { return 64 * first }

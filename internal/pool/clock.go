package pool

import "time"

// Clock is the pool's source of time. Production code leaves Config.Clock nil
// and gets the runtime's monotonic clock; tests pass a fake to drive idle
// timeouts, lifetimes, checkout timeouts and the health loop without sleeping.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that delivers on C once d has elapsed.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer the pool uses.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did so.
	Stop() bool
}

// realClock adapts package time to Clock. The pool never calls it on the hot
// path: it reads the monotonic clock through time.Since instead (see now).
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Package breaker is the per-pool circuit breaker of riptide-poold.
//
// A Breaker wraps github.com/sony/gobreaker/v2 and adds what the daemon
// needs on top of it: a classification of errors into extractor faults and
// everything else, the time left until the breaker half-opens (for a gRPC
// RetryInfo), and a typed rejection error.
//
// The state machine is gobreaker's:
//
//	closed    --FailureThreshold consecutive failures-->  open
//	open      --OpenTimeout elapsed (checked lazily)---> half-open
//	half-open --SuccessThreshold consecutive successes-> closed
//	half-open --any failure----------------------------> open
//
// In the half-open state gobreaker lets at most MaxRequests calls through
// and closes after MaxRequests consecutive successes, so one number is both
// the probe bound and the success threshold. Config.SuccessThreshold is
// mapped onto it: half-open admits exactly SuccessThreshold probes, and all
// of them must succeed to close the breaker. A probe whose outcome is
// ignored (see below) gives its place back to the next caller.
//
// Each call's outcome is one of three:
//
//   - nil: a success;
//   - an error for which Config.IsFailure reports true: a failure (a trap,
//     a timeout of the guest, an instance that could not be created);
//   - any other error: ignored, neither a success nor a failure. A caller's
//     bad input or cancelled context tells nothing about the extractor, so
//     it neither trips the breaker nor helps it close.
//
// A panic in the wrapped function counts as a failure and is re-raised.
//
// gobreaker reads time.Now directly and has no injectable clock; the tests
// run it under testing/synctest, whose bubble gives it a fake clock.
package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Defaults used for zero or negative Config values; they match the
// daemon's CB_FAILURE_THRESHOLD, CB_SUCCESS_THRESHOLD and CB_TIMEOUT_MS.
const (
	DefaultFailureThreshold = 5
	DefaultSuccessThreshold = 2
	DefaultOpenTimeout      = 30 * time.Second
)

// State is the state of a Breaker.
type State int

// The states of a Breaker. The zero value is StateClosed.
const (
	StateClosed State = iota
	StateHalfOpen
	StateOpen
)

// String returns "closed", "half-open" or "open".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateHalfOpen:
		return "half-open"
	case StateOpen:
		return "open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// ParseState returns the State whose String is s.
func ParseState(s string) (State, bool) {
	for _, st := range []State{StateClosed, StateHalfOpen, StateOpen} {
		if st.String() == s {
			return st, true
		}
	}
	return 0, false
}

func fromGobreaker(s gobreaker.State) State {
	switch s {
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	case gobreaker.StateOpen:
		return StateOpen
	}
	return StateClosed
}

// ErrOpen is matched, with errors.Is, by every *OpenError.
var ErrOpen = errors.New("circuit breaker open")

// OpenError is returned, without calling the wrapped function, when the
// breaker rejects a call: it is open, or it is half-open and all its probes
// are already in flight.
type OpenError struct {
	Name  string // the breaker's (the pool's) name
	State State  // StateOpen or StateHalfOpen
	// RetryAfter is the time left until the breaker half-opens. It is zero
	// when the breaker is already half-open: its probes are in flight and
	// the caller may retry as soon as it likes.
	RetryAfter time.Duration
}

func (e *OpenError) Error() string {
	if e.State == StateHalfOpen {
		return fmt.Sprintf("circuit breaker %q is half-open and probing", e.Name)
	}
	return fmt.Sprintf("circuit breaker %q is open (retry in %v)", e.Name, e.RetryAfter)
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// Config configures a Breaker.
type Config struct {
	// Name names the breaker in errors and state changes; use the pool name.
	Name string
	// FailureThreshold is the number of consecutive failures that opens a
	// closed breaker. Zero or less means DefaultFailureThreshold.
	FailureThreshold int
	// SuccessThreshold is the number of consecutive half-open successes
	// that closes the breaker, and also the number of probes half-open lets
	// through. Zero or less means DefaultSuccessThreshold.
	SuccessThreshold int
	// OpenTimeout is how long the breaker stays open before half-opening.
	// Zero or less means DefaultOpenTimeout.
	OpenTimeout time.Duration
	// IsFailure reports whether a non-nil error is a fault of the extractor.
	// Errors for which it reports false are ignored. Nil means
	// DefaultIsFailure.
	IsFailure func(error) bool
	// OnStateChange, if not nil, is called on every transition. It runs
	// synchronously while the breaker holds its lock, in the goroutine of
	// the call that caused the transition: it must be quick (publishing an
	// event or setting a gauge) and must not call the Breaker.
	OnStateChange func(name string, from, to State)
}

// DefaultIsFailure counts every error as a failure except a cancelled
// context, which is the caller giving up.
func DefaultIsFailure(err error) bool {
	return !errors.Is(err, context.Canceled)
}

// Counts are the breaker's counters for its current state. They start
// from zero on every state change.
type Counts struct {
	Requests             uint32 // calls let through
	Successes            uint32
	Failures             uint32
	Ignored              uint32 // calls whose error IsFailure did not count
	ConsecutiveSuccesses uint32
	ConsecutiveFailures  uint32
}

// errPanicked stands for a panic of the wrapped function, so that the
// classification counts it as a failure.
var errPanicked = errors.New("breaker: wrapped function panicked")

// A Breaker is a circuit breaker. It is safe for concurrent use.
type Breaker struct {
	name      string
	timeout   time.Duration
	isFailure func(error) bool
	cb        *gobreaker.TwoStepCircuitBreaker[struct{}]

	// epoch is the monotonic origin of openedAt.
	epoch time.Time
	// openedAt is when the breaker last opened, as an offset from epoch.
	// It is written under gobreaker's lock and read without it.
	openedAt atomic.Int64
}

// New returns a closed Breaker configured by cfg.
func New(cfg Config) *Breaker {
	failures := cfg.FailureThreshold
	if failures <= 0 {
		failures = DefaultFailureThreshold
	}
	successes := cfg.SuccessThreshold
	if successes <= 0 {
		successes = DefaultSuccessThreshold
	}
	b := &Breaker{
		name:      cfg.Name,
		timeout:   cfg.OpenTimeout,
		isFailure: cfg.IsFailure,
		epoch:     time.Now(),
	}
	if b.timeout <= 0 {
		b.timeout = DefaultOpenTimeout
	}
	if b.isFailure == nil {
		b.isFailure = DefaultIsFailure
	}
	onChange := cfg.OnStateChange
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        cfg.Name,
		MaxRequests: uint32(successes),
		Timeout:     b.timeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= uint32(failures)
		},
		IsSuccessful: func(err error) bool { return err == nil },
		IsExcluded:   b.ignored,
		OnStateChange: func(name string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.openedAt.Store(int64(time.Since(b.epoch)))
			}
			if onChange != nil {
				onChange(name, fromGobreaker(from), fromGobreaker(to))
			}
		},
	})
	return b
}

// ignored reports whether a call's error should be neither a success nor a
// failure.
func (b *Breaker) ignored(err error) bool {
	if err == nil || err == errPanicked {
		return false
	}
	return !b.isFailure(err)
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// State returns the breaker's state. An open breaker whose OpenTimeout has
// elapsed half-opens here, which may call OnStateChange.
func (b *Breaker) State() State { return fromGobreaker(b.cb.State()) }

// Counts returns the counters of the current state.
func (b *Breaker) Counts() Counts {
	c := b.cb.Counts()
	return Counts{
		Requests:             c.Requests,
		Successes:            c.TotalSuccesses,
		Failures:             c.TotalFailures,
		Ignored:              c.TotalExclusions,
		ConsecutiveSuccesses: c.ConsecutiveSuccesses,
		ConsecutiveFailures:  c.ConsecutiveFailures,
	}
}

// RetryAfter returns the time left until an open breaker half-opens, and
// zero when it is not open.
func (b *Breaker) RetryAfter() time.Duration {
	if b.State() != StateOpen {
		return 0
	}
	return b.retryAfter()
}

func (b *Breaker) retryAfter() time.Duration {
	// openedAt is read before the clock: read after, it could be a
	// re-opening that happened since, and the wait come out longer than
	// the timeout.
	opened := time.Duration(b.openedAt.Load())
	left := b.timeout - (time.Since(b.epoch) - opened)
	return min(max(left, 0), b.timeout)
}

// Allow asks the breaker to let one call through. If it does, the caller
// must call done exactly once with the call's outcome; otherwise err is an
// *OpenError. Allow is for calls that do not fit in a function, such as a
// checkout followed later by a release; prefer Do or Execute.
func (b *Breaker) Allow() (done func(err error), err error) {
	done, err = b.cb.Allow()
	if err != nil {
		return nil, b.rejection(err)
	}
	return done, nil
}

func (b *Breaker) rejection(err error) error {
	switch {
	case errors.Is(err, gobreaker.ErrOpenState):
		return &OpenError{Name: b.name, State: StateOpen, RetryAfter: b.retryAfter()}
	case errors.Is(err, gobreaker.ErrTooManyRequests):
		return &OpenError{Name: b.name, State: StateHalfOpen}
	}
	return err
}

// Do calls fn if the breaker allows it, records the outcome and returns
// fn's error; if the breaker rejects the call, Do returns an *OpenError
// without calling fn.
func (b *Breaker) Do(fn func() error) error {
	_, err := Execute(b, func() (struct{}, error) { return struct{}{}, fn() })
	return err
}

// Execute is Do for a function that returns a value.
func Execute[T any](b *Breaker, fn func() (T, error)) (T, error) {
	done, err := b.Allow()
	if err != nil {
		var zero T
		return zero, err
	}
	finished := false
	defer func() {
		if !finished {
			// fn panicked: count it, and let the panic go on.
			done(errPanicked)
		}
	}()
	v, err := fn()
	finished = true
	done(err)
	return v, err
}

// WrapFactory returns a factory that creates through the breaker: while
// the breaker is open, the returned factory fails at once with an
// *OpenError instead of calling f.
func WrapFactory[T any](b *Breaker, f func(context.Context) (T, error)) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		return Execute(b, func() (T, error) { return f(ctx) })
	}
}

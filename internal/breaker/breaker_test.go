package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

var (
	errFault    = errors.New("guest trapped")
	errBadInput = errors.New("bad selector")
)

// isFault is the classification the tests use: only errFault and panics
// are extractor faults.
func isFault(err error) bool { return errors.Is(err, errFault) }

// step is one action on a breaker in a transition table.
type step struct {
	do    string        // "ok", "fail", "ignore", "cancel" or "wait"
	wait  time.Duration // for "wait"
	state State         // expected state after the step
	// rejected is true when the call must be refused with an *OpenError.
	rejected bool
}

func (s step) run(b *Breaker) error {
	switch s.do {
	case "wait":
		time.Sleep(s.wait)
		return nil
	case "ok":
		return b.Do(func() error { return nil })
	case "fail":
		return b.Do(func() error { return fmt.Errorf("instance 3: %w", errFault) })
	case "ignore":
		return b.Do(func() error { return errBadInput })
	case "cancel":
		return b.Do(func() error { return context.Canceled })
	}
	panic("unknown step " + s.do)
}

type transition struct {
	name     string
	from, to State
}

func (tr transition) String() string { return fmt.Sprintf("%s:%v->%v", tr.name, tr.from, tr.to) }

// transitionRecorder records OnStateChange calls.
type transitionRecorder struct {
	mu  sync.Mutex
	got []transition
}

func (r *transitionRecorder) record(name string, from, to State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, transition{name, from, to})
}

func (r *transitionRecorder) transitions() []transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]transition(nil), r.got...)
}

func TestTransitions(t *testing.T) {
	const timeout = 30 * time.Second
	tests := []struct {
		name        string
		steps       []step
		transitions []string
	}{
		{
			name: "closed stays closed below the threshold",
			steps: []step{
				{do: "fail", state: StateClosed},
				{do: "fail", state: StateClosed},
				{do: "ok", state: StateClosed},
				{do: "fail", state: StateClosed},
				{do: "fail", state: StateClosed},
			},
		},
		{
			name: "closed opens after consecutive failures",
			steps: []step{
				{do: "fail", state: StateClosed},
				{do: "fail", state: StateClosed},
				{do: "fail", state: StateOpen},
				{do: "ok", state: StateOpen, rejected: true},
			},
			transitions: []string{"p:closed->open"},
		},
		{
			name: "open stays open until the timeout",
			steps: []step{
				{do: "fail"}, {do: "fail"}, {do: "fail", state: StateOpen},
				{do: "wait", wait: timeout - time.Second, state: StateOpen},
				{do: "ok", state: StateOpen, rejected: true},
			},
			transitions: []string{"p:closed->open"},
		},
		{
			name: "open half-opens after the timeout",
			steps: []step{
				{do: "fail"}, {do: "fail"}, {do: "fail", state: StateOpen},
				{do: "wait", wait: timeout + time.Millisecond, state: StateHalfOpen},
			},
			transitions: []string{"p:closed->open", "p:open->half-open"},
		},
		{
			name: "half-open closes after SuccessThreshold successes",
			steps: []step{
				{do: "fail"}, {do: "fail"}, {do: "fail", state: StateOpen},
				{do: "wait", wait: timeout + time.Millisecond, state: StateHalfOpen},
				{do: "ok", state: StateHalfOpen},
				{do: "ok", state: StateClosed},
				{do: "fail", state: StateClosed},
			},
			transitions: []string{"p:closed->open", "p:open->half-open", "p:half-open->closed"},
		},
		{
			name: "a half-open failure reopens",
			steps: []step{
				{do: "fail"}, {do: "fail"}, {do: "fail", state: StateOpen},
				{do: "wait", wait: timeout + time.Millisecond, state: StateHalfOpen},
				{do: "ok", state: StateHalfOpen},
				{do: "fail", state: StateOpen},
				{do: "ok", state: StateOpen, rejected: true},
				{do: "wait", wait: timeout + time.Millisecond, state: StateHalfOpen},
				{do: "ok", state: StateHalfOpen},
				{do: "ok", state: StateClosed},
			},
			transitions: []string{
				"p:closed->open", "p:open->half-open", "p:half-open->open",
				"p:open->half-open", "p:half-open->closed",
			},
		},
		{
			name: "ignored errors neither trip nor reset the failure streak",
			steps: []step{
				{do: "fail", state: StateClosed},
				{do: "ignore", state: StateClosed},
				{do: "cancel", state: StateClosed},
				{do: "ignore", state: StateClosed},
				{do: "fail", state: StateClosed},
				{do: "ignore", state: StateClosed},
				{do: "fail", state: StateOpen},
			},
			transitions: []string{"p:closed->open"},
		},
		{
			name: "ignored errors in half-open neither close nor reopen",
			steps: []step{
				{do: "fail"}, {do: "fail"}, {do: "fail", state: StateOpen},
				{do: "wait", wait: timeout + time.Millisecond, state: StateHalfOpen},
				{do: "ignore", state: StateHalfOpen},
				{do: "cancel", state: StateHalfOpen},
				{do: "ok", state: StateHalfOpen},
				{do: "ignore", state: StateHalfOpen},
				{do: "ok", state: StateClosed},
			},
			transitions: []string{"p:closed->open", "p:open->half-open", "p:half-open->closed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec transitionRecorder
				b := New(Config{
					Name:             "p",
					FailureThreshold: 3,
					SuccessThreshold: 2,
					OpenTimeout:      timeout,
					IsFailure:        isFault,
					OnStateChange:    rec.record,
				})
				for i, s := range tt.steps {
					err := s.run(b)
					if got := errors.Is(err, ErrOpen); got != s.rejected {
						t.Fatalf("step %d (%s): rejected = %v (err %v), want %v", i, s.do, got, err, s.rejected)
					}
					if got := b.State(); got != s.state {
						t.Fatalf("step %d (%s): state = %v, want %v", i, s.do, got, s.state)
					}
				}
				if got := rec.transitions(); fmt.Sprint(got) != fmt.Sprint(tt.transitions) {
					t.Errorf("transitions = %v, want %v", got, tt.transitions)
				}
			})
		})
	}
}

// TestSuccessThresholdBoundsProbes checks how SuccessThreshold maps onto
// gobreaker's MaxRequests: half-open admits exactly that many concurrent
// probes, and closes only after that many successes.
func TestSuccessThresholdBoundsProbes(t *testing.T) {
	for _, threshold := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint(threshold), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := New(Config{Name: "p", FailureThreshold: 1, SuccessThreshold: threshold, OpenTimeout: time.Second})
				_ = b.Do(func() error { return errFault })
				time.Sleep(2 * time.Second)
				if got := b.State(); got != StateHalfOpen {
					t.Fatalf("state = %v, want half-open", got)
				}

				// Hold threshold probes in flight; the next call is refused.
				dones := make([]func(error), threshold)
				for i := range dones {
					done, err := b.Allow()
					if err != nil {
						t.Fatalf("probe %d refused: %v", i, err)
					}
					dones[i] = done
				}
				_, err := b.Allow()
				var oe *OpenError
				if !errors.As(err, &oe) || oe.State != StateHalfOpen || oe.RetryAfter != 0 || oe.Name != "p" {
					t.Fatalf("extra probe: err = %#v, want *OpenError{Name: p, State: half-open}", err)
				}

				for i, done := range dones {
					if got := b.State(); got != StateHalfOpen {
						t.Fatalf("after %d successes: state = %v, want half-open", i, got)
					}
					done(nil)
				}
				if got := b.State(); got != StateClosed {
					t.Fatalf("after %d successes: state = %v, want closed", threshold, got)
				}
			})
		})
	}
}

// TestIgnoredProbeFreesItsPlace checks that a half-open probe whose error
// is ignored (the caller gave up) lets another probe through, so that the
// breaker cannot stay half-open forever.
func TestIgnoredProbeFreesItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{Name: "p", FailureThreshold: 1, SuccessThreshold: 1, OpenTimeout: time.Second})
		_ = b.Do(func() error { return errFault })
		time.Sleep(2 * time.Second)
		done, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
			t.Fatalf("second probe: err = %v, want ErrOpen", err)
		}
		done(context.Canceled)
		if err := b.Do(func() error { return nil }); err != nil {
			t.Fatalf("probe after an ignored one: %v", err)
		}
		if got := b.State(); got != StateClosed {
			t.Fatalf("state = %v, want closed", got)
		}
	})
}

func TestClassification(t *testing.T) {
	tests := []struct {
		name      string
		isFailure func(error) bool
		err       error
		want      Counts
	}{
		{"nil is a success", nil, nil, Counts{Requests: 1, Successes: 1, ConsecutiveSuccesses: 1}},
		{"default: any error fails", nil, errBadInput, Counts{Requests: 1, Failures: 1, ConsecutiveFailures: 1}},
		{"default: deadline fails", nil, context.DeadlineExceeded, Counts{Requests: 1, Failures: 1, ConsecutiveFailures: 1}},
		{"default: cancellation ignored", nil, context.Canceled, Counts{Requests: 1, Ignored: 1}},
		{"default: wrapped cancellation ignored", nil, fmt.Errorf("checkout: %w", context.Canceled), Counts{Requests: 1, Ignored: 1}},
		{"custom: fault fails", isFault, fmt.Errorf("x: %w", errFault), Counts{Requests: 1, Failures: 1, ConsecutiveFailures: 1}},
		{"custom: bad input ignored", isFault, errBadInput, Counts{Requests: 1, Ignored: 1}},
		{"custom: nil is still a success", isFault, nil, Counts{Requests: 1, Successes: 1, ConsecutiveSuccesses: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(Config{Name: "p", IsFailure: tt.isFailure})
			if err := b.Do(func() error { return tt.err }); err != tt.err {
				t.Fatalf("Do returned %v, want the function's error %v", err, tt.err)
			}
			if got := b.Counts(); got != tt.want {
				t.Errorf("Counts = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPanicCountsAsFailure(t *testing.T) {
	// The classification ignores everything: only the panic can fail.
	b := New(Config{Name: "p", FailureThreshold: 1, IsFailure: func(error) bool { return false }})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the original panic value", r)
			}
		}()
		_ = b.Do(func() error { panic("boom") })
	}()
	if got := b.State(); got != StateOpen {
		t.Errorf("state after a panic = %v, want open", got)
	}
}

func TestRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{Name: "css", FailureThreshold: 1, OpenTimeout: 30 * time.Second})
		if got := b.RetryAfter(); got != 0 {
			t.Errorf("closed: RetryAfter = %v, want 0", got)
		}
		_ = b.Do(func() error { return errFault })
		time.Sleep(10 * time.Second)
		if got := b.RetryAfter(); got != 20*time.Second {
			t.Errorf("10s after opening: RetryAfter = %v, want 20s", got)
		}

		err := b.Do(func() error { t.Error("called while open"); return nil })
		if !errors.Is(err, ErrOpen) {
			t.Fatalf("err = %v, want ErrOpen", err)
		}
		var oe *OpenError
		if !errors.As(err, &oe) {
			t.Fatalf("err = %T, want *OpenError", err)
		}
		want := OpenError{Name: "css", State: StateOpen, RetryAfter: 20 * time.Second}
		if *oe != want {
			t.Errorf("OpenError = %+v, want %+v", *oe, want)
		}
		if oe.Error() == "" {
			t.Error("empty error message")
		}

		time.Sleep(20*time.Second + time.Nanosecond)
		if got := b.RetryAfter(); got != 0 {
			t.Errorf("after the timeout: RetryAfter = %v, want 0", got)
		}
	})
}

func TestDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{Name: "p"})
		for i := range DefaultFailureThreshold {
			if got := b.State(); got != StateClosed {
				t.Fatalf("after %d failures: state = %v, want closed", i, got)
			}
			_ = b.Do(func() error { return errFault })
		}
		if got := b.State(); got != StateOpen {
			t.Fatalf("after %d failures: state = %v, want open", DefaultFailureThreshold, got)
		}
		if got := b.RetryAfter(); got != DefaultOpenTimeout {
			t.Errorf("RetryAfter = %v, want %v", got, DefaultOpenTimeout)
		}
		time.Sleep(DefaultOpenTimeout + time.Nanosecond)
		for i := range DefaultSuccessThreshold {
			if got := b.State(); got != StateHalfOpen {
				t.Fatalf("after %d probes: state = %v, want half-open", i, got)
			}
			_ = b.Do(func() error { return nil })
		}
		if got := b.State(); got != StateClosed {
			t.Fatalf("state = %v, want closed", got)
		}
	})
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{
		StateClosed: "closed", StateHalfOpen: "half-open", StateOpen: "open", State(7): "State(7)",
	} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestParseState(t *testing.T) {
	for _, s := range []State{StateClosed, StateHalfOpen, StateOpen} {
		if got, ok := ParseState(s.String()); !ok || got != s {
			t.Errorf("ParseState(%q) = %v, %v; want %v, true", s.String(), got, ok, s)
		}
	}
	for _, bad := range []string{"", "OPEN", "half_open", "State(7)"} {
		if _, ok := ParseState(bad); ok {
			t.Errorf("ParseState(%q) succeeded", bad)
		}
	}
}

func TestExecuteReturnsValue(t *testing.T) {
	b := New(Config{Name: "p"})
	v, err := Execute(b, func() (int, error) { return 42, nil })
	if v != 42 || err != nil {
		t.Errorf("Execute = %v, %v; want 42, nil", v, err)
	}
}

func TestWrapFactory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(Config{Name: "article", FailureThreshold: 2, SuccessThreshold: 1, OpenTimeout: time.Minute})
		var calls atomic.Int32
		var failing atomic.Bool
		failing.Store(true)
		type instance struct{ id int32 }
		factory := WrapFactory(b, func(ctx context.Context) (*instance, error) {
			n := calls.Add(1)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if failing.Load() {
				return nil, errFault
			}
			return &instance{id: n}, nil
		})
		ctx := t.Context()

		for range 2 {
			if _, err := factory(ctx); !errors.Is(err, errFault) {
				t.Fatalf("factory err = %v, want errFault", err)
			}
		}
		inst, err := factory(ctx)
		if !errors.Is(err, ErrOpen) || inst != nil {
			t.Fatalf("while open: factory = %v, %v; want nil, ErrOpen", inst, err)
		}
		if got := calls.Load(); got != 2 {
			t.Fatalf("factory called %d times, want 2 (not while open)", got)
		}

		// A cancelled creation while half-open does not close the breaker.
		time.Sleep(time.Minute + time.Nanosecond)
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := factory(cancelled); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled creation: err = %v", err)
		}
		if got := b.State(); got != StateHalfOpen {
			t.Fatalf("state = %v, want half-open", got)
		}

		failing.Store(false)
		inst, err = factory(ctx)
		if err != nil || inst == nil || inst.id != 4 {
			t.Fatalf("probe: factory = %v, %v; want instance 4", inst, err)
		}
		if got := b.State(); got != StateClosed {
			t.Fatalf("state = %v, want closed", got)
		}
	})
}

// TestConcurrent hammers one breaker from many goroutines (run it with
// -race) and checks that the reported transitions form one chain.
func TestConcurrent(t *testing.T) {
	var rec transitionRecorder
	b := New(Config{
		Name:             "p",
		FailureThreshold: 3,
		SuccessThreshold: 2,
		OpenTimeout:      time.Millisecond,
		IsFailure:        isFault,
		OnStateChange:    rec.record,
	})
	var wg sync.WaitGroup
	var rejected atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				var err error
				switch (g + i) % 5 {
				case 0, 1:
					err = b.Do(func() error { return errFault })
				case 2:
					err = b.Do(func() error { return errBadInput })
				default:
					err = b.Do(func() error { return nil })
				}
				if errors.Is(err, ErrOpen) {
					rejected.Add(1)
				}
				_ = b.State()
				_ = b.Counts()
				if ra := b.RetryAfter(); ra < 0 || ra > time.Millisecond {
					t.Errorf("RetryAfter = %v, outside [0, OpenTimeout]", ra)
					return
				}
			}
		})
	}
	wg.Wait()

	transitions := rec.transitions()
	prev := StateClosed
	for i, tr := range transitions {
		if tr.from != prev || tr.from == tr.to {
			t.Fatalf("transition %d %v does not follow state %v", i, tr, prev)
		}
		prev = tr.to
	}
	if len(transitions) == 0 || rejected.Load() == 0 {
		t.Errorf("%d transitions, %d rejections: the load did not exercise the breaker",
			len(transitions), rejected.Load())
	}
}

func BenchmarkDo(b *testing.B) {
	br := New(Config{Name: "p"})
	fn := func() error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		_ = br.Do(fn)
	}
}

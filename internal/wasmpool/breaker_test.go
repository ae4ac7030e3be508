package wasmpool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestOpenBreakerRefusesCheckout trips a pool's breaker from outside, as a
// run of extractor faults would, and checks that Checkout refuses at once
// without taking or making an instance, then lets calls through again once
// the breaker half-opens, and that a good probe closes it.
func TestOpenBreakerRefusesCheckout(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Second, wasmpool.Config{
		MinSize: 0, MaxSize: 1,
		FailureThreshold: 2, SuccessThreshold: 1, OpenTimeout: 200 * time.Millisecond,
	})
	p := add(t, s, "echo", testModule(t, "echo"), wasm.ModuleOptions{})
	fault := &wasmpool.CreationError{Module: "echo", Err: errors.New("injected")}
	for range 2 {
		if err := p.Breaker.Do(func() error { return fault }); !errors.Is(err, fault) {
			t.Fatalf("Do = %v", err)
		}
	}
	if st := p.Breaker.State(); st != breaker.StateOpen {
		t.Fatalf("breaker %v after 2 faults, want open", st)
	}
	ctx := context.Background()
	_, err := p.Checkout(ctx)
	var open *breaker.OpenError
	if !errors.As(err, &open) || !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Checkout while open: %v, want *breaker.OpenError", err)
	}
	if open.RetryAfter <= 0 {
		t.Errorf("RetryAfter = %v, want > 0", open.RetryAfter)
	}
	if st := p.Pool.Stats(); st.Created != 0 || st.Checkouts != 0 {
		t.Errorf("an open breaker let a checkout reach the pool: %+v", st)
	}

	eventually(t, "the breaker half-opens", func() bool { return p.Breaker.State() != breaker.StateOpen })
	h, err := p.Checkout(ctx)
	if err != nil {
		t.Fatalf("Checkout once half-open: %v", err)
	}
	res, err := p.Run(ctx, h, wasm.Request{HTML: okDoc})
	p.Done(h, err)
	if err != nil || res.GetFields()["n"].GetNumberValue() != 1 || len(res.GetFields()) != 1 {
		t.Fatalf("probe: %s, %v", res, err)
	}
	if st := p.Breaker.State(); st != breaker.StateClosed {
		t.Errorf("breaker %v after a good probe, want closed", st)
	}
}

// TestGuestErrorIsNotAFault checks that a guest's verdict on a request (an
// error envelope) neither trips the breaker nor costs the instance.
func TestGuestErrorIsNotAFault(t *testing.T) {
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 0, MaxSize: 1, FailureThreshold: 1, OpenTimeout: time.Hour})
	p := add(t, s, "echo", testModule(t, "echo"), wasm.ModuleOptions{})
	ctx := context.Background()
	for range 3 {
		h, err := p.Checkout(ctx)
		if err != nil {
			t.Fatalf("Checkout: %v", err)
		}
		_, err = p.Run(ctx, h, wasm.Request{HTML: `{"error":{"code":"INVALID_ARGUMENT","message":"no"}}`})
		var guest *wasm.GuestError
		if !errors.As(err, &guest) || !guest.InvalidArgument() {
			t.Fatalf("Run = %v, want an INVALID_ARGUMENT *wasm.GuestError", err)
		}
		if reason := p.Done(h, err); reason != "" {
			t.Errorf("Done discarded the instance after a guest error: %s", reason)
		}
	}
	if st := p.Breaker.State(); st != breaker.StateClosed {
		t.Errorf("breaker %v after guest errors, want closed", st)
	}
	if st := p.Pool.Stats(); st.Created != 1 {
		t.Errorf("%d instances created for three guest errors, want 1", st.Created)
	}
}

// TestHangingResetOpensBreaker runs a module whose calls succeed but whose
// riptide_reset never returns: each reset overruns the housekeeping
// timeout, costs the instance and counts against the module in place of
// the call's success, so that the breaker opens.
func TestHangingResetOpensBreaker(t *testing.T) {
	s := newSet(t, 100*time.Millisecond, wasmpool.Config{MinSize: 0, MaxSize: 1, FailureThreshold: 3, OpenTimeout: time.Hour})
	p := add(t, s, "hangreset", testModule(t, "hangreset"), wasm.ModuleOptions{})
	ctx := context.Background()
	for i := range 3 {
		h, err := p.Checkout(ctx)
		if err != nil {
			t.Fatalf("Checkout %d: %v", i, err)
		}
		if _, err := p.Run(ctx, h, wasm.Request{HTML: "x"}); err != nil {
			t.Fatalf("Run %d: %v", i, err)
		}
		p.Done(h, nil)
	}
	if st := p.Breaker.State(); st != breaker.StateOpen {
		t.Errorf("breaker %v after three resets that hung; want open", st)
	}
	if st := p.Pool.Stats(); st.Destroyed[pool.ReasonResetFailed] != 3 {
		t.Errorf("destroyed %v; want three failed resets", st.Destroyed)
	}
}

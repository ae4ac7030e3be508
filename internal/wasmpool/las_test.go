package wasmpool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestShortCallOvertakesLongOne gives a Set one call slot, has a module
// that never returns hold it, and calls another module: the short call is
// answered while the long one still runs (the long one gives its slot up
// at its interruption checks once it has held it a quantum longer), and
// the long call gets the slot back and runs on until it is cancelled.
// Without the yield the short call would wait for the long one's end, a
// cancellation that comes only after the short call's answer.
func TestShortCallOvertakesLongOne(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Minute, wasmpool.Config{MaxSize: 1, MaxConcurrentCalls: 1, CheckoutTimeout: time.Minute})
	spin := add(t, s, "spin", testModule(t, "loop"), wasm.ModuleOptions{})
	echo := add(t, s, "echo", testModule(t, "echo"), wasm.ModuleOptions{})

	cancelLong, long := runEndless(t, s, spin)

	for i := range 3 {
		ctx := context.Background()
		eh, err := echo.Checkout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := echo.Run(ctx, eh, wasm.Request{HTML: `{"ok":{"n":1}}`})
		echo.Done(eh, err)
		if err != nil || res.GetFields()["n"].GetNumberValue() != 1 {
			t.Fatalf("short call %d beside a call that never returns: %v, %v", i, res, err)
		}
		select {
		case err := <-long:
			t.Fatalf("the long call ended (%v) before the short one was answered", err)
		default:
		}
	}
	cancelLong()
	if err := <-long; !errors.Is(err, wasm.ErrCanceled) {
		t.Errorf("the long call, cancelled: %v, want wasm.ErrCanceled", err)
	}
}

// TestPreemptedCallIsNotTheModulesFault has a call that never returns give
// its slot to a new caller that keeps it, and ends the long call while it
// waits for the slot back: the answer is a *PreemptedError wrapping
// pool.ErrExhausted, the module's breaker does not count it, and the
// instance, stopped mid-call, is replaced.
func TestPreemptedCallIsNotTheModulesFault(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Minute, wasmpool.Config{MaxSize: 1, MaxConcurrentCalls: 1, CheckoutTimeout: time.Minute})
	spin := add(t, s, "spin", testModule(t, "loop"), wasm.ModuleOptions{})

	cancelLong, long := runEndless(t, s, spin)
	release, err := s.HoldSlot(context.Background(), "other") // granted once spin yields
	if err != nil {
		t.Fatal(err)
	}
	if n := s.SlotsRunning("spin"); n != 0 {
		t.Fatalf("spin holds %d slots while another caller has it", n)
	}
	cancelLong()
	err = <-long
	release()
	var pe *wasmpool.PreemptedError
	if !errors.As(err, &pe) || !errors.Is(err, pool.ErrExhausted) || pe.Module != "spin" || pe.Ran < 40*time.Millisecond {
		t.Fatalf("the long call ended while waiting for its slot: %v, want a *PreemptedError after 40 ms or more", err)
	}
	if c := spin.Breaker.Counts(); c.Failures != 0 || c.Ignored == 0 {
		t.Errorf("spin's breaker counts %+v for a call the daemon preempted, want it ignored", c)
	}
	eventually(t, "spin's instance is discarded", func() bool {
		var n uint64
		for _, d := range spin.Pool.Stats().Destroyed {
			n += d
		}
		return n == 1
	})
}

// runEndless starts a call of spin, a module whose calls never return, and
// waits until it holds a call slot. The call ends when cancel is called;
// its error arrives on ended.
func runEndless(t *testing.T, s *wasmpool.Set, spin *wasmpool.Pool) (cancel func(), ended <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h, err := spin.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := spin.Run(ctx, h, wasm.Request{HTML: "x"})
		spin.Done(h, err)
		done <- err
	}()
	eventually(t, "spin's call holds the slot", func() bool { return s.SlotsRunning(spin.Name) == 1 })
	return cancel, done
}

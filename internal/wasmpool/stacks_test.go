package wasmpool_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestCallStacksCharged runs calls of the deep module (it recurses as many
// calls deep as its document has bytes) under budgets of several sizes: a
// call's stack past its first 2 MiB is charged to its module while the
// call runs, and given back after it; a call the budget has no room for is
// stopped with a *MemoryError saying it was the stack, not counted by the
// breaker, and its instance replaced; with room, a call past the stack
// bound still fails as the module's fault.
func TestCallStacksCharged(t *testing.T) {
	checkGoroutines(t)
	code := testModule(t, "deep")
	instance := figure(t, code)
	const deep = 50000 // some 17 MiB of estimated frames: given 2+4+8+16 MiB
	tests := []struct {
		name   string
		budget uint64
		depth  int
		charge uint64 // of stack, at the call's deepest
		want   error
		grow   bool // the budget refuses the instance's memory first (its request buffer)
	}{
		{"no budget", 0, deep, 30 << 20, nil, false},
		{"room", instance + 64<<20, deep, 30 << 20, nil, false},
		{"room, past the bound", instance + 64<<20, 300000, 62 << 20, wasm.ErrStackLimit, false},
		{"no room", instance + 8<<20, deep, 8 << 20, wasmpool.ErrMemoryLimit, false}, // 2+4, and 2 of 8
		{"no room at all", instance, deep, 0, wasmpool.ErrMemoryLimit, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSet(t, 20*time.Second, wasmpool.Config{
				MinSize: 1, MaxSize: 1, CheckoutTimeout: 10 * time.Second,
				MemoryBudgetBytes: tt.budget, PressureThreshold: 1,
				FailureThreshold: 1, OpenTimeout: time.Minute,
			})
			ctx := context.Background()
			p := add(t, s, "deep", code, wasm.ModuleOptions{})
			h, err := p.Checkout(ctx)
			if err != nil {
				t.Fatal(err)
			}
			held := p.MemoryBytes()
			_, err = p.Run(ctx, h, wasm.Request{HTML: strings.Repeat("x", tt.depth)})
			reason := p.Done(h, err)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Run %d deep: %v, want %v", tt.depth, err, tt.want)
			}
			// The instance's linear memory grows too (by the request
			// buffer), after the stack is given back: up to some pages.
			const growth = 1 << 20
			if peak := p.PeakMemoryBytes(); peak < held+tt.charge || peak > held+tt.charge+growth {
				t.Errorf("the module's memory peaked at %d, want its instance's %d and %d of stack", peak, held, tt.charge)
			}
			eventually(t, "the stack is given back and the instance replaced", func() bool {
				// An open breaker makes no instance.
				return p.MemoryBytes() <= held+growth && (p.Pool.Stats().Total == 1 || p.Breaker.State() == breaker.StateOpen)
			})
			var me *wasmpool.MemoryError
			switch {
			case tt.grow:
				if !errors.As(err, &me) || !me.Grow || !errors.Is(err, wasm.ErrMemoryRefused) || errors.Is(err, wasm.ErrTrap) ||
					!strings.Contains(err.Error(), "grew past the budget") {
					t.Errorf("Run error %q: want a *MemoryError for the instance's memory, saying so", err)
				}
			case errors.Is(tt.want, wasmpool.ErrMemoryLimit):
				if !errors.As(err, &me) || !me.Stack || !errors.Is(err, wasm.ErrStackRefused) || errors.Is(err, wasm.ErrTrap) ||
					!strings.Contains(err.Error(), "no room for a call's stack") || !strings.Contains(err.Error(), "WASM_MAX_STACK_KB") {
					t.Errorf("Run error %q: want a *MemoryError for the stack, saying so", err)
				}
			case tt.want != nil:
				if st := p.Breaker.State(); st != breaker.StateOpen {
					t.Errorf("breaker %v after a call past the stack bound, want open (the module's fault)", st)
				}
			}
			if errors.Is(tt.want, wasmpool.ErrMemoryLimit) {
				if reason == "" {
					t.Error("the stopped call's instance went back to the pool")
				}
				if st := p.Breaker.State(); st != breaker.StateClosed {
					t.Errorf("breaker %v after a call the budget stopped, want closed", st)
				}
			}
		})
	}
}

// TestDeepCallsStayWithinTheirShare is the adversarial case: four callers
// of a module whose every call recurses without end run at once beside a
// well-behaved module, under a budget of two shares whose pressure
// threshold is one share. The hostile module's calls take the stack its
// share has free, and no more: its memory never passes its share (but for
// what its instances' linear memory grows in a call), each of
// its calls ends with MEMORY_LIMIT_EXCEEDED before the stack bound (which
// the share is too small for), its breaker stays closed, and every call of
// the other module is answered.
func TestDeepCallsStayWithinTheirShare(t *testing.T) {
	checkGoroutines(t)
	const budget = 64 << 20
	s := newSet(t, 20*time.Second, wasmpool.Config{
		MinSize: 1, MaxSize: 4, CheckoutTimeout: 20 * time.Second, MaxConcurrentCalls: 4,
		MemoryBudgetBytes: budget, PressureThreshold: 0.5,
		FailureThreshold: 3, OpenTimeout: time.Minute,
	})
	ctx := context.Background()
	hostile := add(t, s, "hostile", testModule(t, "deep"), wasm.ModuleOptions{})
	good := add(t, s, "good", testModule(t, "echo"), wasm.ModuleOptions{})
	share, _ := s.MemoryShare()
	if share != budget/2 {
		t.Fatalf("share %d, want half the budget", share)
	}

	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		mu      sync.Mutex
		refused int
	)
	var stopOnce sync.Once
	end := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer end()
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				h, err := hostile.Checkout(ctx)
				if err != nil {
					if !errors.Is(err, wasmpool.ErrMemoryLimit) {
						t.Errorf("hostile checkout: %v", err)
					}
					continue
				}
				_, err = hostile.Run(ctx, h, wasm.Request{HTML: strings.Repeat("x", 300000)})
				hostile.Done(h, err)
				// Its stack, or the growth of its instance's memory
				// (for the request buffer) once its stacks took the
				// share.
				var me *wasmpool.MemoryError
				if !errors.As(err, &me) || !(me.Stack && errors.Is(err, wasm.ErrStackRefused) || me.Grow && errors.Is(err, wasm.ErrMemoryRefused)) {
					t.Errorf("hostile call: %v, want its stack or memory refused by its share", err)
					continue
				}
				mu.Lock()
				refused++
				mu.Unlock()
			}
		})
	}
	eventually(t, "hostile calls are refused", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return refused >= 8
	})
	for k := range 20 {
		h, err := good.Checkout(ctx)
		if err != nil {
			t.Fatalf("good checkout %d: %v", k, err)
		}
		_, err = good.Run(ctx, h, wasm.Request{HTML: `{"ok":{"n":1}}`})
		good.Done(h, err)
		if err != nil {
			t.Errorf("good call %d: %v", k, err)
		}
	}
	end()
	// What an instance's linear memory grows to in a call is charged as
	// it grows, and refused past the share under pressure; a grow
	// charged just under the share may pass it by that grow: the request
	// buffer, under 512 KiB.
	if peak := hostile.PeakMemoryBytes(); peak > share+512<<10 || peak < share/2 {
		t.Errorf("the hostile module's memory peaked at %d, want up to its share of %d, and its calls' stacks charged", peak, share)
	}
	if peak := s.Memory().PeakBytes; peak > budget {
		t.Errorf("the budget's use peaked at %d, over %d", peak, budget)
	}
	if st := hostile.Breaker.State(); st != breaker.StateClosed {
		t.Errorf("hostile breaker %v, want closed: the budget stopped its calls", st)
	}
	eventually(t, "the stacks are given back", func() bool {
		return s.Memory().UsedBytes == hostile.MemoryBytes()+good.MemoryBytes() &&
			hostile.MemoryBytes() <= 4*hostile.Module.FreshMemoryBytes()
	})
}

// TestCreationStackCharged makes an instance of a module whose
// _initialize recurses some 17 MiB of the stack bound deep (2 MiB and
// 2+4+8+16 granted), beside a module that borrowed eight 3.6 MiB
// instances of a 40 MiB budget, past its threshold of 28 MiB and its share
// of 20: the budget has 10 MiB left, so the new instance's initialization
// goes deeper than it has room for, and the creation is refused with a
// *MemoryError saying it was the stack, not counted by the breaker; the
// module holds nothing after it. Once the other module's instances are
// closed, the creation succeeds.
func TestCreationStackCharged(t *testing.T) {
	checkGoroutines(t)
	const budget = 40 << 20
	s := newSet(t, 20*time.Second, wasmpool.Config{
		MaxSize: 8, CheckoutTimeout: 10 * time.Second,
		MemoryBudgetBytes: budget, PressureThreshold: 0.7,
		FailureThreshold: 1, OpenTimeout: time.Minute,
	})
	ctx := context.Background()
	deep := add(t, s, "deepinit", ownModule(t, "deepinit"), wasm.ModuleOptions{})
	big := add(t, s, "big", ownModule(t, "bigmem"), wasm.ModuleOptions{})
	var held []func()
	defer func() {
		for _, done := range held {
			done()
		}
	}()
	for len(held) < 8 {
		h, err := big.Checkout(ctx)
		if err != nil {
			t.Fatalf("big instance %d, under the threshold: %v", len(held)+1, err)
		}
		// Discarded when given back, so that the budget has room again.
		held = append(held, func() { big.Done(h, wasm.ErrUnusable) })
	}
	_, err := deep.Checkout(ctx)
	var me *wasmpool.MemoryError
	if !errors.As(err, &me) || !me.Stack || !errors.Is(err, wasm.ErrStackRefused) || me.Module != "deepinit" {
		t.Fatalf("a deepinit instance beside big over its share: %v, want its initialization's stack refused", err)
	}
	if st := deep.Breaker.State(); st != breaker.StateClosed {
		t.Errorf("breaker %v after a creation the budget stopped, want closed", st)
	}
	if n := deep.MemoryBytes(); n != 0 {
		t.Errorf("deepinit holds %d bytes after its refused creation, want 0", n)
	}
	for _, done := range held {
		done()
	}
	held = nil
	eventually(t, "a deepinit instance is made once big is back within its share", func() bool {
		h, err := deep.Checkout(ctx)
		if err != nil {
			return false
		}
		deep.Done(h, nil)
		return true
	})
}

package wasmpool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestConcurrentCreationsStayWithinBudget has many callers of several
// modules make instances at once (each call discards its instance, so
// that the next makes another) under a budget of a few instances, with
// as many creations allowed at once as there are callers: the accounted
// memory never passes the budget, whatever the threshold, and every
// refusal is MEMORY_LIMIT_EXCEEDED.
func TestConcurrentCreationsStayWithinBudget(t *testing.T) {
	checkGoroutines(t)
	const (
		modules = 4
		callers = 6 // per module
		calls   = 8 // per caller
	)
	instance := figure(t, ownModule(t, "bigmem"))
	for _, tt := range []struct {
		name      string
		budget    uint64
		threshold float64
	}{
		{"room for 4, threshold 0.5", 4*instance + instance/2, 0.5},
		{"room for 4, threshold 1", 4*instance + instance/2, 1},
		{"room for 1, threshold 0.1", instance + instance/2, 0.1},
		{"no room", instance - 1, 0.8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSet(t, 5*time.Second, wasmpool.Config{
				MaxSize: callers, CheckoutTimeout: 10 * time.Second,
				MemoryBudgetBytes: tt.budget, PressureThreshold: tt.threshold,
				MaxConcurrentCalls: modules * callers,
			})
			ctx := context.Background()
			var pools []*wasmpool.Pool
			for m := range modules {
				pools = append(pools, add(t, s, fmt.Sprintf("m%d", m), ownModule(t, "bigmem"), wasm.ModuleOptions{}))
			}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				served  int
				refused int
				seen    uint64 // the most memory accounted while a caller held an instance
			)
			start := make(chan struct{})
			for _, p := range pools {
				for range callers {
					wg.Go(func() {
						<-start
						for range calls {
							h, err := p.Checkout(ctx)
							if err != nil {
								if !errors.Is(err, wasmpool.ErrMemoryLimit) {
									t.Errorf("%s: Checkout: %v, want a MemoryError", p.Name, err)
								}
								mu.Lock()
								refused++
								mu.Unlock()
								continue
							}
							used := s.Memory().UsedBytes
							h.Discard("test")
							mu.Lock()
							served++
							seen = max(seen, used)
							mu.Unlock()
						}
					})
				}
			}
			close(start)
			wg.Wait()
			m := s.Memory()
			t.Logf("%d served, %d refused; peak %d of %d", served, refused, m.PeakBytes, tt.budget)
			if seen > tt.budget {
				t.Errorf("%d bytes accounted while a caller held an instance, over the budget of %d", seen, tt.budget)
			}
			if m.PeakBytes > tt.budget {
				t.Errorf("the accounted memory peaked at %d bytes, over the budget of %d", m.PeakBytes, tt.budget)
			}
			if tt.budget >= instance && served == 0 {
				t.Errorf("no caller served with room for an instance")
			}
			if served+refused != modules*callers*calls {
				t.Errorf("%d served and %d refused of %d calls", served, refused, modules*callers*calls)
			}
		})
	}
}

// TestProbeInstanceCounted checks that the instance a module is checked
// with as it loads is in the memory figures from the moment Add returns, as
// the pool's first instance, when the pool keeps one warm and the budget
// has room for it, and is closed otherwise: it is never outside the
// account, nor over the budget.
func TestProbeInstanceCounted(t *testing.T) {
	checkGoroutines(t)
	instance := figure(t, ownModule(t, "bigmem"))
	for _, tt := range []struct {
		name     string
		minSize  int
		budget   uint64
		accounts uint64 // right after Add
		kept     bool
	}{
		{"kept", 1, 10 * instance, instance, true},
		{"no warm instance", 0, 10 * instance, 0, false},
		{"no room", 1, instance - 1, 0, false},
		{"no budget", 1, 0, instance, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSet(t, 5*time.Second, wasmpool.Config{
				MinSize: tt.minSize, MaxSize: 2, CheckoutTimeout: 5 * time.Second,
				MemoryBudgetBytes: tt.budget, PressureThreshold: 0.8,
			})
			p := add(t, s, "big", ownModule(t, "bigmem"), wasm.ModuleOptions{})
			if used := s.Memory().UsedBytes; used != tt.accounts || p.MemoryBytes() != tt.accounts {
				t.Errorf("right after Add, %d bytes accounted (%d to the module), want %d", used, p.MemoryBytes(), tt.accounts)
			}
			if tt.kept {
				eventually(t, "the pool holds its warm instance", func() bool { return p.Pool.Stats().Idle == 1 })
				if st, used := p.Pool.Stats(), s.Memory().UsedBytes; st.Created != 1 || used != instance {
					t.Errorf("the pool made %d instances, %d bytes accounted; want the probe's instance alone, %d", st.Created, used, instance)
				}
			}
			if tt.budget > 0 && tt.budget < instance {
				h, err := p.Checkout(context.Background())
				if err == nil {
					p.Done(h, nil)
				}
				if !errors.Is(err, wasmpool.ErrMemoryLimit) {
					t.Errorf("Checkout with no room for an instance: %v, want ErrMemoryLimit", err)
				}
			}
			if m := s.Memory(); tt.budget > 0 && m.PeakBytes > tt.budget {
				t.Errorf("the accounted memory peaked at %d bytes, over the budget of %d", m.PeakBytes, tt.budget)
			}
		})
	}
}

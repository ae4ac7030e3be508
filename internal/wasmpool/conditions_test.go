package wasmpool_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestConditions puts pools in each condition the health report scores: a
// pool whose module the budget has no room for has no instance and, its
// creations failing, is in creation backoff; a module holding more than its
// share while the budget is over its pressure threshold is over its memory
// share; a pool with its instances and the budget under its threshold is
// in none.
func TestConditions(t *testing.T) {
	checkGoroutines(t)
	echo := testModule(t, "echo")
	instance := figure(t, echo)
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  wasmpool.Config
		// hold is how many instances the test checks out of the pool.
		hold int
		want []string
	}{
		{"well", wasmpool.Config{MinSize: 1, MemoryBudgetBytes: 4 * instance, PressureThreshold: 0.9}, 1, nil},
		{"no room for an instance", wasmpool.Config{MinSize: 1, MemoryBudgetBytes: instance / 2, PressureThreshold: 0.9}, 0,
			[]string{wasmpool.ConditionNoInstance, wasmpool.ConditionCreationBackoff}},
		// Two modules share the budget: the first borrows a third
		// instance under the threshold of three, and then holds more
		// than its share of two with the budget at the threshold.
		{"over its share", wasmpool.Config{MinSize: 0, MaxSize: 3, MemoryBudgetBytes: 4 * instance, PressureThreshold: 0.75}, 3,
			[]string{wasmpool.ConditionOverMemoryShare}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.CheckoutTimeout = 10 * time.Second
			s := newSet(t, 10*time.Second, tt.cfg)
			p := add(t, s, "echo", echo, wasm.ModuleOptions{})
			add(t, s, "other", echo, wasm.ModuleOptions{})
			for range tt.hold {
				h, err := p.Checkout(ctx)
				if err != nil {
					t.Fatalf("Checkout: %v", err)
				}
				defer p.Done(h, nil)
			}
			var got []string
			eventually(t, "the pool's conditions settle", func() bool {
				got = got[:0]
				for _, c := range p.Conditions() {
					if c.Detail == "" {
						t.Errorf("condition %s without a detail", c.Name)
					}
					got = append(got, c.Name)
				}
				return slices.Equal(got, tt.want)
			})
		})
	}
}

package wasmpool_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestMemoryShares loads two modules whose instances are large and a small
// one, under a budget two large instances put over its threshold: the first
// large module is refused a third instance with a message that says it is
// over its share; the second, loaded after it, still gets its share; and
// once the budget is used up even the small module, under its share, is
// refused, with a message that says the budget is.
func TestMemoryShares(t *testing.T) {
	checkGoroutines(t)
	const instance = 40 * 64 << 10 // bigmem's 2.5 MiB
	s := newSet(t, time.Second, wasmpool.Config{
		MaxSize: 8, CheckoutTimeout: time.Minute,
		MemoryBudgetBytes: 8 << 20, PressureThreshold: 0.5, // the threshold at 4 MiB; three shares of 2.67 MiB
	})
	ctx := context.Background()
	big := add(t, s, "big", ownModule(t, "bigmem"), wasm.ModuleOptions{})
	late := add(t, s, "late", ownModule(t, "bigmem"), wasm.ModuleOptions{})
	small := add(t, s, "small", testModule(t, "echo"), wasm.ModuleOptions{})
	var held []func()
	defer func() {
		for _, done := range held {
			done()
		}
	}()
	take := func(p *wasmpool.Pool) error {
		h, err := p.Checkout(ctx)
		if err == nil {
			held = append(held, func() { p.Done(h, nil) })
		}
		return err
	}
	var me *wasmpool.MemoryError
	overShare := func(p *wasmpool.Pool, err error) {
		t.Helper()
		if !errors.As(err, &me) || !errors.Is(err, wasmpool.ErrMemoryLimit) || errors.Is(err, pool.ErrExhausted) {
			t.Fatalf("%s over its share and the threshold: %v, want a *MemoryError", p.Name, err)
		}
		if me.Module != p.Name || me.Held != 2*instance || me.Share != (8<<20)/3 || !strings.Contains(err.Error(), "over its share") {
			t.Errorf("MemoryError = %+v (%v)", me, err)
		}
	}

	for i := range 2 { // 0 then 2.5 MiB used: under the threshold, borrowing
		if err := take(big); err != nil {
			t.Fatalf("big instance %d under the threshold: %v", i+1, err)
		}
	}
	if got := big.MemoryBytes(); got != 2*instance {
		t.Fatalf("big holds %d bytes, want %d", got, 2*instance)
	}
	overShare(big, take(big))

	// late is under its share, and the budget not used up.
	for i := range 2 {
		if err := take(late); err != nil {
			t.Fatalf("late instance %d, under its share: %v", i+1, err)
		}
	}
	overShare(late, take(late))

	// 10 MiB of 8 used: small, under its share, is refused for the budget.
	err := take(small)
	if !errors.As(err, &me) || me.Module != "small" || me.Held != 0 || !strings.Contains(err.Error(), "budget is used up") {
		t.Errorf("small with the budget used up: %v, want a *MemoryError saying so", err)
	}
}

package wasmpool_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestReloadServesQueuedCallers queues callers on a module whose only
// instance is taken, reloads the module, and checks that every queued
// caller is served by the new version rather than told the pool closed;
// only closing the Set answers pool.ErrClosed.
func TestReloadServesQueuedCallers(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 1, MaxSize: 1, CheckoutTimeout: 20 * time.Second})
	ctx := context.Background()
	old := add(t, s, "m", testModule(t, "echo"), wasm.ModuleOptions{})
	held, err := old.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}

	const callers = 6
	results := make(chan error, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			h, err := old.Checkout(ctx)
			if err != nil {
				results <- err
				return
			}
			res, err := old.Run(ctx, h, wasm.Request{HTML: `{"ok":{}}`})
			old.Done(h, err)
			if err == nil && len(res.GetFields()) != 0 {
				err = fmt.Errorf("answered %v", res)
			}
			results <- err
		})
	}
	eventually(t, "every caller is queued on the old pool", func() bool {
		return old.Pool.Stats().Waiters == callers
	})

	// The new version answers as echo does, from other bytes; the
	// checkouts of its pool tell who served the callers.
	cur := add(t, s, "m", ownModule(t, "bigmem"), wasm.ModuleOptions{})
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("a caller queued across the reload: %v", err)
		}
	}
	if got := cur.Pool.Stats().Checkouts; got != callers {
		t.Errorf("the new pool served %d checkouts, want %d", got, callers)
	}

	// The call that held the old version's instance finishes on it.
	res, err := old.Run(ctx, held, wasm.Request{HTML: okDoc})
	old.Done(held, err)
	if err != nil || len(res.GetFields()) != 1 || res.GetFields()["n"].GetNumberValue() != 1 {
		t.Errorf("the call on the old version: %v, %v", res, err)
	}

	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*wasmpool.Pool{old, cur} {
		if _, err := p.Checkout(ctx); !errors.Is(err, pool.ErrClosed) {
			t.Errorf("Checkout after the Set closed: %v, want pool.ErrClosed", err)
		}
	}
}

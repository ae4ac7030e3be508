package wasmpool_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestReloadUnderLoadLeavesNoMemory reloads a module, alternately as two
// versions of different sizes, while callers keep it busy and one caller
// holds an instance of the first version across every reload. While that
// instance is out, it counts toward the module's memory (a reload does not
// give the module a second share); once the load stops and it is returned,
// it is closed, and the budget holds the current version's instances alone:
// the Set's figure, the module's, and the pool events' count of instances
// made less those destroyed all agree. No caller is told the pool closed.
func TestReloadUnderLoadLeavesNoMemory(t *testing.T) {
	checkGoroutines(t)
	var created, destroyed atomic.Int64
	s := newSet(t, 5*time.Second, wasmpool.Config{
		MinSize: 2, MaxSize: 4, CheckoutTimeout: 20 * time.Second,
		MemoryBudgetBytes: 64 << 20, PressureThreshold: 0.8,
		OnEvent: func(e pool.Event) {
			switch e.Kind {
			case pool.EventCreated:
				created.Add(1)
			case pool.EventDestroyed:
				destroyed.Add(1)
			}
		},
	})
	ctx := context.Background()
	versions := [][]byte{ownModule(t, "bigmem"), testModule(t, "echo")}
	first := add(t, s, "m", versions[0], wasm.ModuleOptions{})
	held, err := first.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	heldBytes := held.Value().MemoryBytes()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				h, err := first.Checkout(ctx) // follows the reloads
				if err != nil {
					t.Errorf("Checkout under reloads: %v", err)
					return
				}
				_, err = first.Run(ctx, h, wasm.Request{HTML: okDoc})
				first.Done(h, err)
				if err != nil {
					t.Errorf("Run under reloads: %v", err)
					return
				}
			}
		})
	}
	cur := first
	for n := range 6 {
		cur = add(t, s, "m", versions[(n+1)%2], wasm.ModuleOptions{})
		if got := cur.MemoryBytes(); got < heldBytes {
			t.Errorf("reload %d: the module's memory is %d bytes, less than its first version's instance still out (%d)", n+1, got, heldBytes)
		}
	}
	close(stop)
	wg.Wait()
	if _, err := first.Run(ctx, held, wasm.Request{HTML: okDoc}); err != nil {
		t.Errorf("the call on the first version: %v", err)
	}
	if reason := first.Done(held, nil); reason != "" {
		t.Errorf("Done on the first version: %s", reason)
	}

	size := cur.Module.FreshMemoryBytes()
	eventually(t, "the replaced versions' instances are closed", func() bool {
		st := cur.Pool.Stats()
		used := s.Memory().UsedBytes
		return st.InUse == 0 && used == uint64(st.Total)*size && cur.MemoryBytes() == used &&
			created.Load()-destroyed.Load() == int64(st.Total)
	})
	h, err := cur.Checkout(ctx)
	if err != nil {
		t.Fatalf("Checkout after the reloads: %v", err)
	}
	cur.Done(h, nil)
}

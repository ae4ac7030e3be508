package wasmpool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestMemoryGrowthStaysWithinBudget is the adversarial case of linear
// memory: three modules whose every call grows its memory a page at a
// time until refused (bomb), called by two callers each at once, beside a
// well-behaved module, under a 32 MiB budget (shares of 8 MiB, the
// pressure threshold at 24 MiB) far below what the three could grow to
// (the instance cap, 64 MiB, each). Each grow is charged before it
// happens: the budget's use, and the memory the instances really have,
// sampled throughout, never pass the budget; each bomb call ends with
// MEMORY_LIMIT_EXCEEDED saying its instance grew past the budget, its
// instance is replaced, its breaker stays closed; and every call of the
// well-behaved module is answered.
func TestMemoryGrowthStaysWithinBudget(t *testing.T) {
	checkGoroutines(t)
	const budget = 32 << 20
	s := newSet(t, 20*time.Second, wasmpool.Config{
		MinSize: 1, MaxSize: 2, CheckoutTimeout: 20 * time.Second, MaxConcurrentCalls: 4,
		MemoryBudgetBytes: budget, PressureThreshold: 0.75,
		FailureThreshold: 3, OpenTimeout: time.Minute,
	})
	ctx := context.Background()
	good := add(t, s, "good", testModule(t, "echo"), wasm.ModuleOptions{})
	// Its instance's request buffer, before the bombs fill the budget.
	call(t, good, `{"ok":{"n":1}}`)
	bombs := []*wasmpool.Pool{
		add(t, s, "bomb1", testModule(t, "bomb"), wasm.ModuleOptions{}),
		add(t, s, "bomb2", testModule(t, "bomb"), wasm.ModuleOptions{}),
		add(t, s, "bomb3", testModule(t, "bomb"), wasm.ModuleOptions{}),
	}

	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		stopOnce sync.Once
		refused  atomic.Int64
		samples  atomic.Int64
	)
	end := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer end()
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if used, live := s.Memory().UsedBytes, s.LiveMemoryBytes(); used > budget || live > budget {
				t.Errorf("the budget's use is %d, its instances' memory %d: over the budget of %d", used, live, budget)
				return
			}
			samples.Add(1)
			time.Sleep(100 * time.Microsecond)
		}
	})
	for _, bomb := range append(bombs, bombs...) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				h, err := bomb.Checkout(ctx)
				if err != nil {
					if !errors.Is(err, wasmpool.ErrMemoryLimit) {
						t.Errorf("%s checkout: %v", bomb.Name, err)
					}
					continue
				}
				_, err = bomb.Run(ctx, h, wasm.Request{HTML: "x"})
				reason := bomb.Done(h, err)
				var me *wasmpool.MemoryError
				if !errors.As(err, &me) || !me.Grow || !errors.Is(err, wasm.ErrMemoryRefused) || errors.Is(err, wasm.ErrOutOfMemory) ||
					!strings.Contains(err.Error(), "grew past the budget") || me.Size <= me.Need {
					t.Errorf("%s call: %v, want its memory's growth refused by the budget", bomb.Name, err)
					continue
				}
				if reason == "" {
					t.Errorf("%s: the stopped call's instance went back to the pool", bomb.Name)
				}
				refused.Add(1)
			}
		})
	}
	eventually(t, "bomb calls are refused, the memory sampled meanwhile", func() bool { return refused.Load() >= 20 && samples.Load() >= 10 })
	for k := range 20 {
		if err := call(t, good, `{"ok":{"n":1}}`); err != nil {
			t.Errorf("good call %d beside the bombs: %v", k, err)
		}
	}
	end()
	if peak := s.Memory().PeakBytes; peak > budget {
		t.Errorf("the budget's use peaked at %d, over %d", peak, budget)
	}
	for _, bomb := range bombs {
		if st := bomb.Breaker.State(); st != breaker.StateClosed {
			t.Errorf("%s breaker %v, want closed: the budget stopped its calls", bomb.Name, st)
		}
	}
}

// call runs one extraction of p and returns its error.
func call(t *testing.T, p *wasmpool.Pool, doc string) error {
	t.Helper()
	h, err := p.Checkout(context.Background())
	if err != nil {
		return err
	}
	_, err = p.Run(context.Background(), h, wasm.Request{HTML: doc})
	p.Done(h, err)
	return err
}

// TestInUseCountsCallStacks runs a call that recurses 50,000 calls deep
// (its stack granted 2+4+8+16 MiB past its first part) and stays there:
// while it runs, the memory in use counts its stack as well as its
// instance, and both go back when it ends.
func TestInUseCountsCallStacks(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, 20*time.Second, wasmpool.Config{
		MinSize: 1, MaxSize: 1, CheckoutTimeout: 10 * time.Second,
		MemoryBudgetBytes: 256 << 20, PressureThreshold: 0.8,
	})
	p := add(t, s, "deepspin", ownModule(t, "deepspin"), wasm.ModuleOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h, err := p.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := p.MemoryBytes()
	const stack = 30 << 20
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, h, wasm.Request{HTML: strings.Repeat("x", 50000)})
		p.Done(h, err)
		done <- err
	}()
	eventually(t, "the call's stack is granted", func() bool { return p.MemoryBytes() >= held+stack })
	if m := s.Memory(); m.InUseBytes != m.UsedBytes || m.InUseBytes < held+stack {
		t.Errorf("in use %d of %d used, while the one instance's call holds %d of stack: want all of it in use", m.InUseBytes, m.UsedBytes, stack)
	}
	cancel()
	if err := <-done; !errors.Is(err, wasm.ErrCanceled) {
		t.Errorf("the call: %v, want it canceled", err)
	}
	if m := s.Memory(); m.InUseBytes != 0 {
		t.Errorf("in use %d once the call ended, want 0", m.InUseBytes)
	}
}

// TestGrowthTakesMemoryBack grows the memory of an instance of a module
// under its share while the budget is full of another module's idle
// instances, borrowed under the pressure threshold: the grow is charged
// as it happens, and, since the budget has no room for it, one of the
// other module's idle instances is taken back for it, on the growing
// call's goroutine, before the memory grows. The budget's use never
// passes the budget.
func TestGrowthTakesMemoryBack(t *testing.T) {
	checkGoroutines(t)
	growCode, err := os.ReadFile(filepath.Join("..", "daemon", "testdata", "grow.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	bigCode := ownModule(t, "bigmem")
	grower, hog := figure(t, growCode), figure(t, bigCode)
	grower += 2 * 64 << 10 // a warm call's page and request buffer
	// Three hog instances and the grower's stay under the threshold, a
	// fourth takes the budget past it; 40 pages more for the grower then
	// fit only once a hog instance is taken back.
	budget := grower + 4*hog + 1<<20
	s := newSet(t, 20*time.Second, wasmpool.Config{
		MaxSize: 4, CheckoutTimeout: 10 * time.Second,
		MemoryBudgetBytes: budget, PressureThreshold: 0.8,
		FailureThreshold: 1, OpenTimeout: time.Minute,
	})
	ctx := context.Background()
	g := add(t, s, "grow", growCode, wasm.ModuleOptions{})
	big := add(t, s, "big", bigCode, wasm.ModuleOptions{})
	gh, err := g.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Done(gh, nil)
	if _, err := g.Run(ctx, gh, wasm.Request{HTML: "x"}); err != nil {
		t.Fatalf("a warm call of grow: %v", err)
	}
	var hs []*pool.Handle[*wasmpool.Instance]
	for range 4 {
		h, err := big.Checkout(ctx)
		if err != nil {
			t.Fatalf("big instance %d, under the threshold: %v", len(hs)+1, err)
		}
		hs = append(hs, h)
	}
	for _, h := range hs[1:] {
		big.Done(h, nil) // idle, borrowed past its share
	}
	defer big.Done(hs[0], nil)
	before := g.MemoryBytes()
	if _, err := g.Run(ctx, gh, wasm.Request{HTML: strings.Repeat("x", 40)}); err != nil {
		t.Fatalf("grow by 40 pages with the budget full of big's idle instances: %v", err)
	}
	if got := g.MemoryBytes(); got < before+40*64<<10 {
		t.Errorf("grow holds %d after growing by 40 pages from %d", got, before)
	}
	if n := big.Pool.Stats().Destroyed[pool.ReasonReclaimed]; n != 1 {
		t.Errorf("big instances taken back: %d, want 1", n)
	}
	if peak := s.Memory().PeakBytes; peak > budget {
		t.Errorf("the budget's use peaked at %d, over %d", peak, budget)
	}
}

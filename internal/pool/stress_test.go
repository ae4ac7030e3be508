package pool

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStress runs many goroutines that check out, release and discard
// items, give up at random and meet a factory that is slow and sometimes
// fails, while the health loop, MaxUses, MaxLifetime and IdleTimeout recycle
// items underneath them. It asserts the pool's invariants rather than any
// timing.
func TestStress(t *testing.T) {
	const maxSize = 6
	workers, rounds := 32, 300
	if testing.Short() {
		workers, rounds = 8, 100
	}

	var (
		alive, peak     atomic.Int32 // items between factory start and Close
		factoryFailures atomic.Uint64
		mu              sync.Mutex
		items           []*testItem
	)
	factory := func(ctx context.Context) (*testItem, error) {
		n := alive.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		if rand.IntN(10) == 0 || ctx.Err() != nil {
			alive.Add(-1)
			factoryFailures.Add(1)
			return nil, errFactory
		}
		it := &testItem{}
		mu.Lock()
		it.n = int64(len(items))
		items = append(items, it)
		mu.Unlock()
		return it, nil
	}
	wrapClose := func(it *testItem) { alive.Add(-1) }

	p, err := New(context.Background(), Config{
		Name: "stress", MinSize: 2, MaxSize: maxSize,
		IdleTimeout: 2 * time.Millisecond, MaxLifetime: 20 * time.Millisecond, MaxUses: 7,
		CheckoutTimeout: 5 * time.Millisecond, ValidateOnCheckout: true,
		HealthInterval: time.Millisecond, RetryBackoff: time.Millisecond,
		OnEvent: func(e Event) {}, // exercise the event path under -race
	}, func(ctx context.Context) (*testItem, error) {
		it, err := factory(ctx)
		if err == nil {
			it.onClose = wrapClose
		}
		return it, err
	})
	if err != nil {
		t.Fatal(err)
	}

	var checkouts atomic.Uint64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if rand.IntN(3) == 0 {
					ctx, cancel = context.WithTimeout(ctx, time.Duration(rand.IntN(2000))*time.Microsecond)
				}
				h, err := p.Checkout(ctx)
				cancel()
				if err != nil {
					if !errors.Is(err, ErrExhausted) && !errors.Is(err, errFactory) &&
						!errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Checkout: unexpected error %v", err)
					}
					continue
				}
				checkouts.Add(1)
				it := h.Value()
				if n := it.holders.Add(1); n != 1 {
					t.Errorf("item %d has %d holders", it.n, n)
				}
				if it.closes.Load() != 0 {
					t.Errorf("closed item %d handed out", it.n)
				}
				if it.sick.Load() {
					t.Errorf("unhealthy item %d handed out", it.n)
				}
				if n := alive.Load(); n > maxSize {
					t.Errorf("%d items alive, MaxSize %d", n, maxSize)
				}
				time.Sleep(time.Duration(rand.IntN(100)) * time.Microsecond)
				it.holders.Add(-1)
				switch r := rand.IntN(20); {
				case r == 0:
					h.Discard("stress")
				case r == 1:
					it.badReset.Store(true)
					h.Release()
				case r == 2:
					it.sick.Store(true)
					h.Release()
				default:
					h.Release()
				}
			}
		}()
	}
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	if n := peak.Load(); n > maxSize {
		t.Errorf("peak of %d items alive, MaxSize %d", n, maxSize)
	}
	if n := alive.Load(); n != 0 {
		t.Errorf("%d items alive after Close", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, it := range items {
		if c := it.closes.Load(); c != 1 {
			t.Errorf("item %d closed %d times", it.n, c)
		}
	}
	s := p.Stats()
	if s.Total != 0 || s.InUse != 0 || s.Idle != 0 || s.Creating != 0 || s.Closing != 0 || s.Waiters != 0 {
		t.Errorf("gauges after Close: %+v", s)
	}
	if s.Created != uint64(len(items)) || s.DestroyedTotal() != s.Created {
		t.Errorf("created %d (factory made %d), destroyed %d", s.Created, len(items), s.DestroyedTotal())
	}
	if s.CreateFailures != factoryFailures.Load() {
		t.Errorf("CreateFailures %d, factory failed %d times", s.CreateFailures, factoryFailures.Load())
	}
	if s.Checkouts != checkouts.Load() {
		t.Errorf("Checkouts %d, workers got %d items", s.Checkouts, checkouts.Load())
	}
	t.Logf("checkouts %d, waits %d, timeouts %d, canceled %d, created %d, failures %d, destroyed %v",
		s.Checkouts, s.Waits, s.Timeouts, s.Canceled, s.Created, s.CreateFailures, s.Destroyed)
}

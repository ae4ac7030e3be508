package pool

import (
	"context"
	"errors"
	"github.com/riptidecrawler/riptide-poold/internal/clock/clocktest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	errFactory = errors.New("factory failed")
	errReset   = errors.New("reset failed")
)

// testItem is a Poolable whose behaviour the tests switch at run time and
// that records how it was used.
type testItem struct {
	n        int64
	sick     atomic.Bool // IsHealthy reports false
	badReset atomic.Bool // Reset fails
	closes   atomic.Int32
	holders  atomic.Int32 // set by the stress test while it holds the item
	onClose  func(*testItem)
}

func (it *testItem) IsHealthy(context.Context) bool { return !it.sick.Load() }

func (it *testItem) Reset(context.Context) error {
	if it.badReset.Load() {
		return errReset
	}
	return nil
}

func (it *testItem) Close() error {
	if it.closes.Add(1) == 1 && it.onClose != nil {
		it.onClose(it)
	}
	return nil
}

// testFactory makes testItems. It can fail, or block until gate is closed
// (honouring ctx unless ignoreCtx).
type testFactory struct {
	fail      atomic.Bool
	sick      atomic.Bool // every item it makes is unhealthy
	calls     atomic.Int32
	gate      chan struct{}
	ignoreCtx bool

	mu    sync.Mutex
	items []*testItem
}

func (f *testFactory) new(ctx context.Context) (*testItem, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		if f.ignoreCtx {
			<-f.gate
		} else {
			select {
			case <-f.gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	if f.fail.Load() {
		return nil, errFactory
	}
	it := &testItem{n: int64(n)}
	it.sick.Store(f.sick.Load())
	f.mu.Lock()
	f.items = append(f.items, it)
	f.mu.Unlock()
	return it, nil
}

func (f *testFactory) all() []*testItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*testItem(nil), f.items...)
}

// fakeClock is the shared fake clock of the tests.
type fakeClock = clocktest.Fake

func newFakeClock() *fakeClock { return clocktest.New() }

// waitFor polls cond until it holds, failing the test after a generous
// deadline. It synchronises with background goroutines; it asserts no
// timing.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// newTestPool builds a pool over f and waits for warm-up. Close runs at
// cleanup if the test did not close the pool itself.
func newTestPool(t testing.TB, cfg Config, f *testFactory) *Pool[*testItem] {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	p, err := New(context.Background(), cfg, f.new)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if f.gate == nil && !f.fail.Load() {
		if err := p.WaitReady(context.Background()); err != nil {
			t.Fatalf("WaitReady: %v", err)
		}
	}
	return p
}

func mustCheckout(t testing.TB, p *Pool[*testItem]) *Handle[*testItem] {
	t.Helper()
	h, err := p.Checkout(context.Background())
	if err != nil {
		t.Fatalf("Checkout: %v", err)
	}
	return h
}

// settled waits until no creation is in flight and the pool holds want
// live items.
func settled(t testing.TB, p *Pool[*testItem], want int) Stats {
	t.Helper()
	var s Stats
	waitFor(t, "pool to settle", func() bool {
		s = p.Stats()
		return s.Creating == 0 && s.Total == want
	})
	return s
}

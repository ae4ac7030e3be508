package pool

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// noLoop is a HealthInterval beyond the time any fake-clock test advances:
// those tests run sweeps themselves, and a background one would race them.
const noLoop = 1000 * time.Hour

func TestNewValidatesConfig(t *testing.T) {
	f := &testFactory{}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" = valid
	}{
		{"valid", Config{Name: "p", MinSize: 1, MaxSize: 2}, ""},
		{"min zero", Config{Name: "p", MaxSize: 1}, ""},
		{"no name", Config{MaxSize: 1}, "Name"},
		{"max zero", Config{Name: "p"}, "MaxSize"},
		{"min above max", Config{Name: "p", MinSize: 3, MaxSize: 2}, "MinSize"},
		{"negative min", Config{Name: "p", MinSize: -1, MaxSize: 2}, "MinSize"},
		{"negative uses", Config{Name: "p", MaxSize: 2, MaxUses: -1}, "MaxUses"},
		{"negative timeout", Config{Name: "p", MaxSize: 2, CheckoutTimeout: -time.Second}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(context.Background(), tt.cfg, f.new)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				p.Close(context.Background())
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := New[*testItem](context.Background(), Config{Name: "p", MaxSize: 1}, nil); err == nil {
		t.Error("New with a nil factory succeeded")
	}
}

func TestWarmUpCreatesMinSize(t *testing.T) {
	for _, min := range []int{0, 1, 5} {
		f := &testFactory{}
		p := newTestPool(t, Config{MinSize: min, MaxSize: 8}, f)
		s := p.Stats()
		if s.Total != min || s.Idle != min || s.Created != uint64(min) || s.InUse != 0 {
			t.Errorf("min %d: stats after warm-up = %+v", min, s)
		}
	}
}

func TestNewDoesNotWaitForFactory(t *testing.T) {
	f := &testFactory{gate: make(chan struct{})}
	p := newTestPool(t, Config{MinSize: 2, MaxSize: 2}, f)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := p.WaitReady(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitReady with blocked factory = %v, want deadline exceeded", err)
	}
	close(f.gate)
	if err := p.WaitReady(context.Background()); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
}

func TestMaxSizeIsAHardCap(t *testing.T) {
	f := &testFactory{}
	clk := newFakeClock()
	p := newTestPool(t, Config{MaxSize: 3, CheckoutTimeout: time.Second, Clock: clk}, f)
	var hs []*Handle[*testItem]
	for range 3 {
		hs = append(hs, mustCheckout(t, p))
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.Checkout(context.Background())
		errc <- err
	}()
	waitFor(t, "checkout to queue with its timer", func() bool { return clk.Timers() == 1 })
	if s := p.Stats(); s.Total != 3 || s.InUse != 3 || s.Waiters != 1 || s.Creating != 0 {
		t.Fatalf("stats at cap = %+v", s)
	}
	clk.Advance(time.Second)
	err := <-errc
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("Checkout at cap = %v, want ErrExhausted", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ErrExhausted also matches context.DeadlineExceeded: %v", err)
	}
	for _, h := range hs {
		h.Release()
	}
	s := p.Stats()
	// MinSize is 0: the first three checkouts waited for creations too.
	if s.Timeouts != 1 || s.Waits != 4 || s.Waiters != 0 || s.Idle != 3 || f.calls.Load() != 3 {
		t.Errorf("stats after timeout = %+v, factory calls %d", s, f.calls.Load())
	}
}

func TestCheckoutContextErrors(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 5*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(5*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"already cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPool(t, Config{MaxSize: 1, CheckoutTimeout: time.Hour}, &testFactory{})
			h := mustCheckout(t, p)
			defer h.Release()
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := p.Checkout(ctx)
			if !errors.Is(err, tt.want) || errors.Is(err, ErrExhausted) {
				t.Fatalf("Checkout = %v, want %v and not ErrExhausted", err, tt.want)
			}
			if s := p.Stats(); s.Canceled != 1 || s.Waiters != 0 {
				t.Errorf("stats = %+v", s)
			}
		})
	}
}

// TestReleaseRules covers what happens to an item on Release or Discard.
func TestReleaseRules(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		prepare func(p *Pool[*testItem], clk *fakeClock, h *Handle[*testItem])
		finish  func(h *Handle[*testItem])
		reason  DestroyReason // destroyed for this reason, or kept if keep
		keep    bool
	}{
		{name: "clean item kept", keep: true},
		{name: "reset error discards",
			prepare: func(_ *Pool[*testItem], _ *fakeClock, h *Handle[*testItem]) { h.Value().badReset.Store(true) },
			reason:  ReasonResetFailed},
		{name: "max uses", cfg: Config{MaxUses: 1}, reason: ReasonMaxUses},
		{name: "below max uses kept", cfg: Config{MaxUses: 2}, keep: true},
		{name: "max lifetime", cfg: Config{MaxLifetime: time.Minute},
			prepare: func(p *Pool[*testItem], clk *fakeClock, _ *Handle[*testItem]) {
				clk.Advance(time.Minute)
				p.sweep(context.Background(), false) // moves the coarse clock
			},
			reason: ReasonMaxLifetime},
		{name: "within lifetime kept", cfg: Config{MaxLifetime: time.Minute},
			prepare: func(p *Pool[*testItem], clk *fakeClock, _ *Handle[*testItem]) {
				clk.Advance(time.Minute - time.Nanosecond)
				p.sweep(context.Background(), false)
			},
			keep: true},
		{name: "discard", finish: func(h *Handle[*testItem]) { h.Discard("trap") }, reason: ReasonDiscarded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			cfg := tt.cfg
			cfg.MinSize, cfg.MaxSize, cfg.Clock, cfg.HealthInterval = 1, 2, clk, noLoop
			f := &testFactory{}
			p := newTestPool(t, cfg, f)
			h := mustCheckout(t, p)
			it, id := h.Value(), h.ID()
			if tt.prepare != nil {
				tt.prepare(p, clk, h)
			}
			if tt.finish != nil {
				tt.finish(h)
			} else {
				h.Release()
			}
			s := settled(t, p, 1)
			if tt.keep {
				if it.closes.Load() != 0 || s.DestroyedTotal() != 0 || s.Created != 1 {
					t.Fatalf("item not kept: closes %d, stats %+v", it.closes.Load(), s)
				}
				h2 := mustCheckout(t, p)
				defer h2.Release()
				if h2.ID() != id {
					t.Errorf("got item %d back, want %d", h2.ID(), id)
				}
				return
			}
			if it.closes.Load() != 1 || s.Destroyed[tt.reason] != 1 || s.DestroyedTotal() != 1 {
				t.Fatalf("want one item destroyed for %v: closes %d, stats %+v", tt.reason, it.closes.Load(), s)
			}
			// Refilled to MinSize with a new item.
			if s.Created != 2 || s.Idle != 1 {
				t.Errorf("not refilled: %+v", s)
			}
			h2 := mustCheckout(t, p)
			defer h2.Release()
			if h2.ID() == id {
				t.Errorf("destroyed item %d handed out again", id)
			}
		})
	}
}

func TestIdleTimeoutShrinksToMin(t *testing.T) {
	clk := newFakeClock()
	f := &testFactory{}
	p := newTestPool(t, Config{MinSize: 1, MaxSize: 4, IdleTimeout: time.Minute, HealthInterval: noLoop, Clock: clk}, f)
	var hs []*Handle[*testItem]
	for range 4 {
		hs = append(hs, mustCheckout(t, p))
	}
	for _, h := range hs {
		h.Release()
	}
	p.CheckHealth(context.Background()) // stamps the idle items
	clk.Advance(time.Minute - time.Nanosecond)
	p.CheckHealth(context.Background())
	if s := p.Stats(); s.Idle != 4 || s.Destroyed[ReasonIdleTimeout] != 0 {
		t.Fatalf("closed before IdleTimeout: %+v", s)
	}
	clk.Advance(time.Nanosecond)
	p.CheckHealth(context.Background())
	s := p.Stats()
	if s.Total != 1 || s.Idle != 1 || s.Destroyed[ReasonIdleTimeout] != 3 {
		t.Fatalf("after IdleTimeout: %+v", s)
	}
	// The survivor is the most recently released: LIFO keeps the hot one.
	h := mustCheckout(t, p)
	defer h.Release()
	if h.ID() != hs[3].ID() {
		t.Errorf("kept item %d, want most recently used %d", h.ID(), hs[3].ID())
	}
}

func TestIdleTimeoutCountsFromLastRelease(t *testing.T) {
	clk := newFakeClock()
	p := newTestPool(t, Config{MaxSize: 2, IdleTimeout: time.Minute, HealthInterval: noLoop, Clock: clk}, &testFactory{})
	h := mustCheckout(t, p)
	h.Release()
	p.CheckHealth(context.Background())
	clk.Advance(50 * time.Second)
	mustCheckout(t, p).Release() // used again: its idle time starts over
	p.CheckHealth(context.Background())
	clk.Advance(50 * time.Second)
	p.CheckHealth(context.Background())
	if s := p.Stats(); s.Idle != 1 {
		t.Fatalf("item used 50s ago was closed: %+v", s)
	}
	clk.Advance(10 * time.Second)
	p.CheckHealth(context.Background())
	if s := p.Stats(); s.Idle != 0 || s.Destroyed[ReasonIdleTimeout] != 1 {
		t.Fatalf("item idle 60s kept: %+v", s)
	}
}

func TestMaxLifetimeRecyclesIdleItems(t *testing.T) {
	clk := newFakeClock()
	f := &testFactory{}
	p := newTestPool(t, Config{MinSize: 2, MaxSize: 2, MaxLifetime: time.Hour, HealthInterval: noLoop, Clock: clk}, f)
	old := f.all()
	clk.Advance(time.Hour)
	p.CheckHealth(context.Background())
	s := settled(t, p, 2)
	if s.Destroyed[ReasonMaxLifetime] != 2 || s.Created != 4 {
		t.Fatalf("stats = %+v", s)
	}
	for _, it := range old {
		if it.closes.Load() != 1 {
			t.Errorf("expired item %d closed %d times", it.n, it.closes.Load())
		}
	}
}

func TestValidateOnCheckoutReplacesUnhealthy(t *testing.T) {
	f := &testFactory{}
	p := newTestPool(t, Config{MinSize: 1, MaxSize: 1, ValidateOnCheckout: true}, f)
	sick := f.all()[0]
	sick.sick.Store(true)
	h := mustCheckout(t, p)
	defer h.Release()
	if h.Value() == sick {
		t.Fatal("unhealthy item handed out")
	}
	s := p.Stats()
	if s.Destroyed[ReasonUnhealthy] != 1 || sick.closes.Load() != 1 || s.Checkouts != 1 || s.Created != 2 {
		t.Errorf("stats = %+v, sick closes %d", s, sick.closes.Load())
	}
}

// TestValidateOnCheckoutFallsBackToNew checks that a Checkout whose pooled
// items all fail validation stops taking them after a few, waits for a new
// item, and hands that one out without validating it again: the caller
// gets an item, not an error, and the idle items it skipped stay pooled.
func TestValidateOnCheckoutFallsBackToNew(t *testing.T) {
	f := &testFactory{}
	p := newTestPool(t, Config{MinSize: 5, MaxSize: 6, ValidateOnCheckout: true}, f)
	for _, it := range f.all() {
		it.sick.Store(true)
	}
	f.sick.Store(true) // new items would fail validation too, were they validated
	h := mustCheckout(t, p)
	defer h.Release()
	if h.Value().n <= 5 {
		t.Errorf("handed out pooled item %d; want a new one", h.Value().n)
	}
	s := p.Stats()
	if s.Destroyed[ReasonUnhealthy] != maxValidationFailures {
		t.Errorf("destroyed %v; want %d unhealthy", s.Destroyed, maxValidationFailures)
	}
}

func TestHealthLoop(t *testing.T) {
	clk := newFakeClock()
	f := &testFactory{}
	p := newTestPool(t, Config{MinSize: 3, MaxSize: 3, HealthInterval: time.Second, Clock: clk}, f)
	items := f.all()
	items[1].sick.Store(true)
	waitFor(t, "health loop timer", func() bool { return clk.Timers() == 1 })
	clk.Advance(time.Second)
	waitFor(t, "unhealthy item replaced", func() bool {
		s := p.Stats()
		return s.Destroyed[ReasonUnhealthy] == 1 && s.Idle == 3 && s.Created == 4
	})
	if items[1].closes.Load() != 1 || items[0].closes.Load() != 0 || items[2].closes.Load() != 0 {
		t.Errorf("closes = %d %d %d, want 0 1 0", items[0].closes.Load(), items[1].closes.Load(), items[2].closes.Load())
	}
}

func TestHealthProbeSkipsItemsInUse(t *testing.T) {
	f := &testFactory{}
	p := newTestPool(t, Config{MinSize: 2, MaxSize: 2}, f)
	h := mustCheckout(t, p)
	h.Value().sick.Store(true) // in use: not the health pass's to judge
	p.CheckHealth(context.Background())
	if s := p.Stats(); s.DestroyedTotal() != 0 || s.InUse != 1 || s.Idle != 1 {
		t.Fatalf("stats = %+v", s)
	}
	h.Release()
}

func TestDiscardRefillsAndServesWaiter(t *testing.T) {
	f := &testFactory{}
	p := newTestPool(t, Config{MinSize: 1, MaxSize: 1}, f)
	h := mustCheckout(t, p)
	got := make(chan *Handle[*testItem])
	go func() { got <- mustCheckout(t, p) }()
	waitFor(t, "waiter", func() bool { return p.Stats().Waiters == 1 })
	h.Discard("broken")
	h2 := <-got
	if h2.ID() == h.ID() {
		t.Fatal("discarded item handed out")
	}
	h2.Release()
	s := settled(t, p, 1)
	if s.Destroyed[ReasonDiscarded] != 1 || s.Created != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestFailingFactory(t *testing.T) {
	clk := newFakeClock()
	f := &testFactory{}
	f.fail.Store(true)
	p, err := New(context.Background(), Config{Name: "fail", MinSize: 2, MaxSize: 4, Clock: clk, RetryBackoff: time.Second}, f.new)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	if err := p.WaitReady(context.Background()); !errors.Is(err, errFactory) {
		t.Fatalf("WaitReady = %v, want the factory error", err)
	}
	waitFor(t, "warm-up attempts", func() bool {
		s := p.Stats()
		return s.CreateFailures == 2 && s.Creating == 0
	})
	// Every failed Checkout costs one factory call: no hot loop, and the
	// caller gets the factory's error.
	for i := range 3 {
		if _, err := p.Checkout(context.Background()); !errors.Is(err, errFactory) {
			t.Fatalf("Checkout %d = %v, want the factory error", i, err)
		}
	}
	s := p.Stats()
	if got := f.calls.Load(); got != 5 || s.CreateFailures != 5 || s.Total != 0 || s.Waiters != 0 {
		t.Fatalf("factory calls %d, stats %+v", got, s)
	}
	// Refilling to MinSize waits for the backoff timer; the clock has not
	// moved, so the factory has not been called again.
	waitFor(t, "retry timer", func() bool { return clk.Timers() == 1 })
	if got := f.calls.Load(); got != 5 {
		t.Fatalf("factory retried without backoff: %d calls", got)
	}
	f.fail.Store(false)
	clk.Advance(time.Second)
	settled(t, p, 2)
	mustCheckout(t, p).Release()
}

func TestFactoryErrorGoesToUncoveredWaiterOnly(t *testing.T) {
	// Two waiters, two creations; one creation fails. The failure is not
	// delivered while the other creation still covers every waiter.
	f := &testFactory{gate: make(chan struct{})}
	p := newTestPool(t, Config{MaxSize: 2}, f)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			h, err := p.Checkout(context.Background())
			if err == nil {
				h.Release()
			}
			errs <- err
		}()
	}
	waitFor(t, "two creations", func() bool { s := p.Stats(); return s.Creating == 2 && s.Waiters == 2 })
	f.fail.Store(true)
	f.gate <- struct{}{} // one creation fails
	waitFor(t, "failure", func() bool { return p.Stats().CreateFailures == 1 })
	if err := <-errs; !errors.Is(err, errFactory) {
		t.Fatalf("first waiter: %v, want factory error", err)
	}
	f.fail.Store(false)
	close(f.gate)
	if err := <-errs; err != nil {
		t.Fatalf("second waiter: %v", err)
	}
}

func TestHangingFactory(t *testing.T) {
	t.Run("honours ctx", func(t *testing.T) {
		f := &testFactory{gate: make(chan struct{})}
		p, err := New(context.Background(), Config{Name: "hang", MinSize: 1, MaxSize: 2}, f.new)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		if _, err := p.Checkout(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Checkout = %v", err)
		}
		if err := p.Close(context.Background()); err != nil {
			t.Fatalf("Close = %v; it should cancel the creations", err)
		}
		if s := p.Stats(); s.Total != 0 || s.Creating != 0 {
			t.Errorf("stats after Close = %+v", s)
		}
	})
	t.Run("ignores ctx", func(t *testing.T) {
		f := &testFactory{gate: make(chan struct{}), ignoreCtx: true}
		p, err := New(context.Background(), Config{Name: "hang", MinSize: 1, MaxSize: 1}, f.new)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want deadline exceeded", err)
		}
		close(f.gate) // the factory finally returns: its item is closed
		if err := p.Close(context.Background()); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		items := f.all()
		if len(items) != 1 || items[0].closes.Load() != 1 {
			t.Fatalf("late item not closed once: %d items", len(items))
		}
		if s := p.Stats(); s.Destroyed[ReasonClosed] != 1 || s.Total != 0 {
			t.Errorf("stats = %+v", s)
		}
	})
}

func TestCancelledCheckoutDoesNotAbortCreation(t *testing.T) {
	f := &testFactory{gate: make(chan struct{})}
	p := newTestPool(t, Config{MaxSize: 1}, f)
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error)
	go func() {
		_, err := p.Checkout(ctx)
		first <- err
	}()
	waitFor(t, "creation", func() bool { return p.Stats().Creating == 1 })
	second := make(chan *Handle[*testItem])
	go func() { second <- mustCheckout(t, p) }()
	waitFor(t, "second waiter", func() bool { return p.Stats().Waiters == 2 })
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Checkout = %v", err)
	}
	close(f.gate)
	h := <-second
	h.Release()
	if n := f.calls.Load(); n != 1 {
		t.Errorf("factory called %d times, want 1", n)
	}
}

// TestItemForAbandonedWaiterIsPassedOn forces the race in which an item is
// handed to a waiter at the moment it gives up.
func TestItemForAbandonedWaiterIsPassedOn(t *testing.T) {
	p := newTestPool(t, Config{MaxSize: 1}, &testFactory{})
	h := mustCheckout(t, p)
	// Queue two waiters by hand, as wait does, so the test controls when the
	// first gives up.
	w1 := &waiter[*testItem]{ch: make(chan delivery[*testItem], 1)}
	p.mu.Lock()
	p.waiters.push(w1)
	p.mu.Unlock()
	got := make(chan *Handle[*testItem])
	go func() { got <- mustCheckout(t, p) }()
	waitFor(t, "second waiter", func() bool { return p.Stats().Waiters == 2 })

	h.Release() // goes to w1, which has given up without noticing yet
	errGaveUp := errors.New("gave up")
	if err := p.abandon(w1, errGaveUp); err != errGaveUp {
		t.Fatalf("abandon = %v", err)
	}
	h2 := <-got
	if h2.ID() != h.ID() {
		t.Fatalf("second waiter got %d, want %d", h2.ID(), h.ID())
	}
	h2.Release()
	if s := p.Stats(); s.Total != 1 || s.Idle != 1 || s.InUse != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestWaitersAreServedFIFO(t *testing.T) {
	const n = 8
	p := newTestPool(t, Config{MaxSize: 1}, &testFactory{})
	h := mustCheckout(t, p)
	order := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := mustCheckout(t, p)
			order <- i
			h.Release()
		}()
		waitFor(t, "waiter to queue", func() bool { return p.Stats().Waiters == i+1 })
	}
	h.Release()
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("waiter %d served in position %d", got, want)
		}
		want++
	}
}

func TestClose(t *testing.T) {
	t.Run("idle items closed, checkout fails", func(t *testing.T) {
		f := &testFactory{}
		p := newTestPool(t, Config{MinSize: 3, MaxSize: 3}, f)
		if err := p.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, it := range f.all() {
			if it.closes.Load() != 1 {
				t.Errorf("item %d closed %d times", it.n, it.closes.Load())
			}
		}
		if _, err := p.Checkout(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("Checkout after Close = %v", err)
		}
		if err := p.WaitReady(context.Background()); err != nil {
			t.Errorf("WaitReady after a warm start and Close = %v", err)
		}
	})
	t.Run("waiters woken", func(t *testing.T) {
		p := newTestPool(t, Config{MaxSize: 1}, &testFactory{})
		h := mustCheckout(t, p)
		errc := make(chan error)
		go func() {
			_, err := p.Checkout(context.Background())
			errc <- err
		}()
		waitFor(t, "waiter", func() bool { return p.Stats().Waiters == 1 })
		closed := make(chan error)
		go func() { closed <- p.Close(context.Background()) }()
		if err := <-errc; !errors.Is(err, ErrClosed) {
			t.Fatalf("waiter got %v, want ErrClosed", err)
		}
		h.Release()
		if err := <-closed; err != nil {
			t.Fatalf("Close = %v", err)
		}
	})
	t.Run("waits for in-use items until deadline", func(t *testing.T) {
		f := &testFactory{}
		p := newTestPool(t, Config{MinSize: 2, MaxSize: 2}, f)
		h := mustCheckout(t, p)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close with item out = %v", err)
		}
		it := h.Value()
		if it.closes.Load() != 0 {
			t.Fatal("item closed while in use")
		}
		h.Release()
		if it.closes.Load() != 1 {
			t.Fatal("item not closed on Release after Close")
		}
		h.Release() // no-op: the item is gone
		if err := p.Close(context.Background()); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		s := p.Stats()
		if s.Total != 0 || s.InUse != 0 || s.Destroyed[ReasonClosed] != 2 {
			t.Errorf("stats = %+v", s)
		}
	})
}

func TestHandleMisuse(t *testing.T) {
	p := newTestPool(t, Config{MaxSize: 1}, &testFactory{})
	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			if r := recover(); r == nil {
				t.Errorf("%s did not panic", name)
			} else if !strings.Contains(r.(string), "not checked out") {
				t.Errorf("%s panic = %v", name, r)
			}
		}()
		fn()
	}
	h := mustCheckout(t, p)
	h.Release()
	mustPanic("Value after Release", func() { h.Value() })
	mustPanic("double Release", h.Release)
	mustPanic("Discard after Release", func() { h.Discard("x") })

	h = mustCheckout(t, p)
	h.Discard("broken")
	h.Release() // no-op after Discard, so defer h.Release() is safe
	h.Discard("again")
	mustPanic("Value after Discard", func() { h.Value() })
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	p := newTestPool(t, Config{MinSize: 2, MaxSize: 2, IdleTimeout: time.Minute, MaxLifetime: time.Hour}, &testFactory{})
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		h, err := p.Checkout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		h.Release()
	})
	if allocs != 0 {
		t.Errorf("Checkout+Release allocates %.1f times", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { _ = p.Stats() }); allocs != 0 {
		t.Errorf("Stats allocates %.1f times", allocs)
	}
}

func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var kinds []string
	f := &testFactory{}
	cfg := Config{MinSize: 1, MaxSize: 1, OnEvent: func(e Event) {
		if e.Pool != "test" || e.Time.IsZero() {
			t.Errorf("event %+v lacks pool or time", e)
		}
		mu.Lock()
		kinds = append(kinds, e.Kind.String())
		if e.Kind == EventDestroyed {
			kinds = append(kinds, e.Reason.String()+":"+e.Detail)
		}
		mu.Unlock()
	}}
	p := newTestPool(t, cfg, f)
	h := mustCheckout(t, p)
	h.Release()
	h = mustCheckout(t, p)
	h.Discard("trap")
	settled(t, p, 1)
	mu.Lock()
	got := strings.Join(kinds, " ")
	mu.Unlock()
	want := "created checked_out returned checked_out destroyed discarded:trap created"
	if got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
}

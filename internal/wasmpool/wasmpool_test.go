package wasmpool_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

const page = `<!DOCTYPE html><html lang="en"><head><title>Pools of warm water</title>
<meta name="author" content="A. Writer"></head><body><article><h1>Pools of warm water</h1>
<p>Keeping extractors warm in pools saves the cost of starting them for every request.
A pool hands an instance to one caller at a time and takes it back when the call is over.</p>
<p>When an instance misbehaves it is thrown away and a new one takes its place, so that
one bad document never poisons the next caller's answer. <a href="/more">More</a></p>
</article></body></html>`

// okDoc makes the echo module answer {"ok":{"n":1}}.
const okDoc = `{"ok":{"n":1}}`

// TestArticleCheckoutRunDone runs the bundled module through the Set's whole
// request path, in each of its modes, on instances that go back to the pool.
func TestArticleCheckoutRunDone(t *testing.T) {
	checkGoroutines(t)
	code := articleModule(t)
	s := newSet(t, 30*time.Second, wasmpool.Config{MinSize: 1, MaxSize: 1})
	p := add(t, s, "article", code, wasm.ModuleOptions{Trusted: true})
	ctx := context.Background()
	if err := p.Pool.WaitReady(ctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}

	tests := []struct {
		mode      string
		selectors []string
		want      string // a key of the result that must be present
	}{
		{mode: "article", want: "text"},
		{mode: "full", want: "text"},
		{mode: "metadata", want: "title"},
		{mode: "custom", selectors: []string{"h1"}, want: "title"},
	}
	var ids []uint64
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			h, err := p.Checkout(ctx)
			if err != nil {
				t.Fatalf("Checkout: %v", err)
			}
			ids = append(ids, h.ID())
			res, err := p.Run(ctx, h, wasm.Request{HTML: page, URL: "https://example.com/pools", Mode: tt.mode, Selectors: tt.selectors})
			if reason := p.Done(h, err); reason != "" {
				t.Errorf("Done discarded the instance after a good call: %s", reason)
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			out := res.AsMap()
			if _, ok := out[tt.want]; !ok {
				t.Errorf("result lacks %q: %s", tt.want, res)
			}
			if got, _ := out["title"].(string); got != "Pools of warm water" {
				t.Errorf("title = %q", got)
			}
		})
	}
	// One instance served every call: none was discarded.
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("instances %v served the calls, want one reused", ids)
			break
		}
	}
	st := p.Pool.Stats()
	if st.DestroyedTotal() != 0 || st.Created != 1 || st.Idle != 1 || st.InUse != 0 {
		t.Errorf("stats after good calls: created %d destroyed %d idle %d in use %d; want 1 0 1 0",
			st.Created, st.DestroyedTotal(), st.Idle, st.InUse)
	}
	if b := p.Breaker.State(); b != breaker.StateClosed {
		t.Errorf("breaker %v after good calls", b)
	}
	if m := s.Memory(); m.InUseBytes != 0 || m.UsedBytes == 0 {
		t.Errorf("memory after the calls: used %d in use %d; want used > 0, in use 0", m.UsedBytes, m.InUseBytes)
	}
}

// TestUnusableInstanceDiscardedAndReplaced runs each hostile module once: the
// call fails with its error, Done discards the instance, and the pool makes
// another in its place.
func TestUnusableInstanceDiscardedAndReplaced(t *testing.T) {
	tests := []struct {
		module string
		is     error // nil: an *wasm.ABIError
	}{
		{"trap", wasm.ErrTrap},
		{"loop", wasm.ErrTimeout},
		{"bomb", wasm.ErrOutOfMemory},
		{"exit", wasm.ErrTrap},
		{"oob", nil},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			checkGoroutines(t)
			s := newSet(t, 200*time.Millisecond, wasmpool.Config{MinSize: 1, MaxSize: 2, FailureThreshold: 100})
			p := add(t, s, tt.module, testModule(t, tt.module), wasm.ModuleOptions{})
			ctx := context.Background()
			if err := p.Pool.WaitReady(ctx); err != nil {
				t.Fatalf("WaitReady: %v", err)
			}
			h, err := p.Checkout(ctx)
			if err != nil {
				t.Fatalf("Checkout: %v", err)
			}
			first := h.ID()
			_, err = p.Run(ctx, h, wasm.Request{HTML: "<p>x</p>"})
			var abi *wasm.ABIError
			switch {
			case err == nil:
				t.Fatal("Run succeeded")
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("Run: %v, want %v", err, tt.is)
			case tt.is == nil && !errors.As(err, &abi):
				t.Errorf("Run: %v, want an *wasm.ABIError", err)
			}
			if !wasmpool.Unusable(err) {
				t.Errorf("Unusable(%v) = false", err)
			}
			if reason := p.Done(h, err); !strings.HasPrefix(reason, "unusable") {
				t.Errorf("Done = %q, want the instance discarded as unusable", reason)
			}
			eventually(t, "the pool has a new idle instance", func() bool {
				st := p.Pool.Stats()
				return st.Idle == 1 && st.Created == 2 && st.Destroyed[pool.ReasonDiscarded] == 1
			})
			if h, err := p.Checkout(ctx); err != nil {
				t.Errorf("Checkout after the failure: %v", err)
			} else {
				if h.ID() == first {
					t.Errorf("the failed instance %d was handed out again", first)
				}
				p.Done(h, nil)
			}
			if got := p.Breaker.Counts().Failures; got != 1 {
				t.Errorf("breaker counted %d failures, want 1", got)
			}
		})
	}
}

// TestBreakerOpensAfterFailures drives a module's breaker open with traps:
// Checkout then refuses at once with an *breaker.OpenError carrying the time
// until it half-opens, and the state change is reported.
func TestBreakerOpensAfterFailures(t *testing.T) {
	checkGoroutines(t)
	var (
		mu      sync.Mutex
		changes []string
	)
	s := newSet(t, time.Second, wasmpool.Config{
		MinSize: 1, MaxSize: 2,
		FailureThreshold: 2, SuccessThreshold: 1, OpenTimeout: time.Hour,
		OnBreaker: func(module string, from, to breaker.State) {
			mu.Lock()
			changes = append(changes, module+":"+from.String()+"->"+to.String())
			mu.Unlock()
		},
	})
	p := add(t, s, "trap", testModule(t, "trap"), wasm.ModuleOptions{})
	ctx := context.Background()
	for i := range 2 {
		h, err := p.Checkout(ctx)
		if err != nil {
			t.Fatalf("Checkout %d: %v", i, err)
		}
		_, err = p.Run(ctx, h, wasm.Request{HTML: "x"})
		p.Done(h, err)
		if !errors.Is(err, wasm.ErrTrap) {
			t.Fatalf("Run %d: %v, want a trap", i, err)
		}
	}
	h, err := p.Checkout(ctx)
	if err == nil {
		p.Done(h, nil)
	}
	var open *breaker.OpenError
	if !errors.As(err, &open) {
		t.Fatalf("Checkout with the breaker open: %v, want *breaker.OpenError", err)
	}
	if open.State != breaker.StateOpen || open.RetryAfter <= 0 || open.RetryAfter > time.Hour {
		t.Errorf("OpenError %+v: want open with 0 < RetryAfter <= 1h", open)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"trap:closed->open"}; strings.Join(changes, " ") != strings.Join(want, " ") {
		t.Errorf("state changes %v, want %v", changes, want)
	}
}

// TestCallerCancellationDoesNotTrip checks that a call the caller abandoned
// is not held against the module.
func TestCallerCancellationDoesNotTrip(t *testing.T) {
	s := newSet(t, 10*time.Second, wasmpool.Config{MinSize: 0, MaxSize: 1, FailureThreshold: 1, OpenTimeout: time.Hour})
	p := add(t, s, "loop", testModule(t, "loop"), wasm.ModuleOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	h, err := p.Checkout(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(ctx, h, wasm.Request{HTML: "x"})
	p.Done(h, err)
	if err == nil {
		t.Fatal("an infinite loop returned")
	}
	if st := p.Breaker.State(); st != breaker.StateClosed {
		t.Errorf("breaker %v after the caller's own deadline, want closed", st)
	}
}

// TestMemoryAccounting checks that the Set counts the linear memory of its
// instances, in use and not, and forgets it when they close.
func TestMemoryAccounting(t *testing.T) {
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 2, MaxSize: 2})
	p := add(t, s, "echo", testModule(t, "echo"), wasm.ModuleOptions{})
	ctx := context.Background()
	if err := p.Pool.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	m := s.Memory()
	if m.UsedBytes == 0 || m.InUseBytes != 0 || m.PeakBytes < m.UsedBytes {
		t.Fatalf("memory with two idle instances: %+v", m)
	}
	if got := p.MemoryBytes(); got != m.UsedBytes {
		t.Errorf("pool memory %d, set memory %d: want equal with one module", got, m.UsedBytes)
	}
	h, err := p.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Memory().InUseBytes; got == 0 || got > m.UsedBytes {
		t.Errorf("in use with one of two checked out: %d of %d", got, m.UsedBytes)
	}
	// A document larger than the instance's memory makes it grow.
	doc := okDoc + strings.Repeat(" ", 256<<10)
	if _, err := p.Run(ctx, h, wasm.Request{HTML: doc}); err != nil {
		t.Fatalf("Run: %v", err)
	}
	grown := s.Memory()
	if grown.UsedBytes <= m.UsedBytes || grown.PeakBytes < grown.UsedBytes {
		t.Errorf("memory after growth %+v, before %+v: want more used", grown, m)
	}
	p.Done(h, nil)
	if got := s.Memory().InUseBytes; got != 0 {
		t.Errorf("in use after Done: %d", got)
	}

	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if m := s.Memory(); m.UsedBytes != 0 || m.PeakBytes != grown.PeakBytes {
		t.Errorf("memory after Close: %+v; want nothing used, peak kept", m)
	}
}

// TestMemoryBudgetRefusesCreation gives the Set a budget that one instance
// fills past its threshold: the second instance is refused with
// ErrMemoryLimit, which is not held against the module's breaker.
func TestMemoryBudgetRefusesCreation(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Second, wasmpool.Config{
		MinSize: 0, MaxSize: 2,
		// One fresh instance (a page and its stack allowance) is the
		// whole budget.
		MemoryBudgetBytes: figure(t, testModule(t, "echo")), PressureThreshold: 0.5,
		FailureThreshold: 1, OpenTimeout: time.Hour,
	})
	p := add(t, s, "echo", testModule(t, "echo"), wasm.ModuleOptions{})
	ctx := context.Background()
	h, err := p.Checkout(ctx)
	if err != nil {
		t.Fatalf("first instance, with nothing used: %v", err)
	}
	defer p.Done(h, nil)
	if pr := s.Pressure(); pr < 0.5 {
		t.Fatalf("pressure %.2f with one instance, want >= 0.5", pr)
	}
	_, err = p.Checkout(ctx)
	if !errors.Is(err, wasmpool.ErrMemoryLimit) {
		t.Fatalf("second instance over the budget: %v, want ErrMemoryLimit", err)
	}
	if st := p.Breaker.State(); st != breaker.StateClosed {
		t.Errorf("breaker %v after a refusal of the budget, want closed", st)
	}
	if got := p.Pool.Stats().Created; got != 1 {
		t.Errorf("%d instances created, want 1", got)
	}
}

// TestRecycling sets a recycling threshold every instance that ran a call
// is over: Done recycles an instance it gets back, but not the fresh ones.
func TestRecycling(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 2, MaxSize: 2, RecycleBytes: 1})
	p := add(t, s, "echo", testModule(t, "echo"), wasm.ModuleOptions{})
	ctx := context.Background()
	if err := p.Pool.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}

	h, err := p.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Run(ctx, h, wasm.Request{HTML: okDoc})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if reason := p.Done(h, err); reason != "memory" {
		t.Errorf("Done = %q, want the instance recycled for its memory", reason)
	}
	eventually(t, "the recycled instance is closed and replaced", func() bool {
		st := p.Pool.Stats()
		return s.Memory().Recycled == 1 && st.Idle == 2
	})

	// The two idle instances never grew: however low the threshold, the
	// sweep keeps them, or a module whose fresh instances are over it
	// would be replaced for good.
	if res := s.Sweep(ctx); res.Recycled != 0 {
		t.Errorf("Sweep recycled %d fresh instances, want none", res.Recycled)
	}
}

// TestSweepRecyclesUnderPressure lets instances grow to a size under the
// recycling threshold but over half of it: Done keeps them, and a sweep
// under memory pressure, which halves the threshold, recycles them.
func TestSweepRecyclesUnderPressure(t *testing.T) {
	checkGoroutines(t)
	// echo starts with one 64 KiB page and grows by the request buffer
	// (64 KiB at least) on its first call: two fresh instances leave the
	// budget under pressure, two that ran a call put it over.
	stack := figure(t, testModule(t, "echo")) - 64<<10 // its stack allowance
	budget := 2*stack + 4*64<<10
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 2, MaxSize: 2, RecycleBytes: 3 * 64 << 10,
		MemoryBudgetBytes: budget, PressureThreshold: float64(2*stack+3*64<<10) / float64(budget)})
	p := add(t, s, "echo", testModule(t, "echo"), wasm.ModuleOptions{})
	ctx := context.Background()
	if err := p.Pool.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	var hs []*pool.Handle[*wasmpool.Instance]
	for range 2 {
		h, err := p.Checkout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		_, err := p.Run(ctx, h, wasm.Request{HTML: okDoc})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if size := h.Value().LinearMemoryBytes(); size <= 96<<10 || size > 3*64<<10 {
			t.Fatalf("an instance of %d bytes after a call: the test needs 96 to 192 KiB", size)
		}
		if reason := p.Done(h, err); reason != "" {
			t.Errorf("Done = %q, want the instance kept", reason)
		}
	}
	before := p.Pool.Stats().Created
	if res := s.Sweep(ctx); res.Recycled != 2 {
		t.Errorf("Sweep recycled %d instances, want the 2 idle ones", res.Recycled)
	}
	if m := s.Memory(); m.Recycled != 2 || m.Sweeps != 1 {
		t.Errorf("after the sweep: recycled %d sweeps %d, want 2 and 1", m.Recycled, m.Sweeps)
	}
	eventually(t, "the pool is refilled", func() bool {
		st := p.Pool.Stats()
		return st.Idle == 2 && st.Created == before+2
	})
	if st := p.Pool.Stats(); st.Destroyed[pool.ReasonUnhealthy] != 2 {
		t.Errorf("destroyed as unhealthy by the sweep: %d, want 2", st.Destroyed[pool.ReasonUnhealthy])
	}
}

// TestSweepUnderThresholdKeepsInstances checks that a sweep leaves alone the
// instances under the recycling threshold.
func TestSweepUnderThresholdKeepsInstances(t *testing.T) {
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 2, MaxSize: 2, RecycleBytes: 1 << 30})
	p := add(t, s, "echo", testModule(t, "echo"), wasm.ModuleOptions{})
	if err := p.Pool.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	if res := s.Sweep(context.Background()); res.Recycled != 0 || res.ReclaimedBytes != 0 {
		t.Errorf("Sweep = %+v, want nothing recycled", res)
	}
	if st := p.Pool.Stats(); st.DestroyedTotal() != 0 || st.Idle != 2 {
		t.Errorf("after the sweep: destroyed %d idle %d", st.DestroyedTotal(), st.Idle)
	}
}

// TestAddReplacesModule reloads a module under the same name while a call
// holds an instance of the old version: the call finishes on the old
// version, new calls get the new one, and the old pool closes once its
// instance comes back.
func TestAddReplacesModule(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 1, MaxSize: 2})
	ctx := context.Background()
	old := add(t, s, "m", testModule(t, "echo"), wasm.ModuleOptions{})
	h, err := old.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The new version is the slow module: a different digest, same ABI.
	cur := add(t, s, "m", testModule(t, "slow"), wasm.ModuleOptions{})
	if got, err := s.Get("m"); err != nil || got != cur {
		t.Fatalf("Get after the reload = %v, %v; want the new pool", got, err)
	}
	if cur.SHA256 == old.SHA256 {
		t.Fatal("the two versions have one digest")
	}
	if n := len(s.Pools()); n != 1 {
		t.Errorf("%d pools after a reload, want 1", n)
	}

	// The call in flight on the old version completes normally.
	res, err := old.Run(ctx, h, wasm.Request{HTML: okDoc})
	if err != nil || res.GetFields()["n"].GetNumberValue() != 1 || len(res.GetFields()) != 1 {
		t.Errorf("call on the old version: %v, %v", res, err)
	}
	old.Done(h, err)
	eventually(t, "the old pool is closed", func() bool {
		st := old.Pool.Stats()
		return st.Total == 0
	})
	if _, err := old.Pool.Checkout(ctx); !errors.Is(err, pool.ErrClosed) {
		t.Errorf("checkout from the old pool: %v, want pool.ErrClosed", err)
	}

	// New calls run the new version ("x" is short: slow counts 1<<20).
	h, err = cur.Checkout(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err = cur.Run(ctx, h, wasm.Request{HTML: "x"})
	cur.Done(h, err)
	if err != nil || res == nil || len(res.GetFields()) != 0 {
		t.Errorf("call on the new version: %v, %v", res, err)
	}
}

// TestGetUnknownModule checks the error of a name without a pool.
func TestGetUnknownModule(t *testing.T) {
	s := newSet(t, time.Second, wasmpool.Config{})
	if _, err := s.Get("nope"); !errors.Is(err, wasmpool.ErrNoModule) {
		t.Errorf("Get(nope) = %v, want ErrNoModule", err)
	}
}

// TestAddRefusesNonConformingModule checks that a module that breaks the ABI
// is refused with an *wasm.ABIError and leaves no pool behind.
func TestAddRefusesNonConformingModule(t *testing.T) {
	s := newSet(t, time.Second, wasmpool.Config{MinSize: 1})
	for _, name := range []string{"noexport", "badversion", "badimport"} {
		_, err := s.Add(context.Background(), name, testModule(t, name), wasm.ModuleOptions{})
		var abi *wasm.ABIError
		if !errors.As(err, &abi) {
			t.Errorf("Add(%s) = %v, want an *wasm.ABIError", name, err)
		}
		if _, err := s.Get(name); !errors.Is(err, wasmpool.ErrNoModule) {
			t.Errorf("Get(%s) after a refused load: %v, want ErrNoModule", name, err)
		}
	}
}

package wasmpool_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
)

// TestMemoryShares loads two modules whose instances are large and a small
// one, under a budget two large instances put over its threshold: the first
// large module is refused a third instance with a message that says it is
// over its share; the second, loaded after it, still gets an instance
// while the budget has room for it, and is refused the next, which would
// pass the budget, with a message that says the budget is used up; the
// small module, under its share, gets an instance in the room left.
func TestMemoryShares(t *testing.T) {
	checkGoroutines(t)
	instance := figure(t, ownModule(t, "bigmem")) // 2.5 MiB of linear memory, and its stack allowance
	// Room for three large instances and a small one; the threshold at
	// 1.7 large instances; three shares of 1.1.
	budget := 3*instance + figure(t, testModule(t, "echo"))
	s := newSet(t, time.Second, wasmpool.Config{
		MaxSize: 8, CheckoutTimeout: time.Minute,
		MemoryBudgetBytes: budget, PressureThreshold: 0.5,
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
		if me.Module != p.Name || me.Held != 2*instance || me.Share != budget/3 || !strings.Contains(err.Error(), "over its share") {
			t.Errorf("MemoryError = %+v (%v)", me, err)
		}
	}

	for i := range 2 { // 0 then 1 instance used: under the threshold, borrowing
		if err := take(big); err != nil {
			t.Fatalf("big instance %d under the threshold: %v", i+1, err)
		}
	}
	if got := big.MemoryBytes(); got != 2*instance {
		t.Fatalf("big holds %d bytes, want %d", got, 2*instance)
	}
	overShare(big, take(big))

	// late is under its share, and the budget has room for one instance.
	if err := take(late); err != nil {
		t.Fatalf("late instance 1, under its share: %v", err)
	}
	usedUp := func(p *wasmpool.Pool, held uint64, err error) {
		t.Helper()
		if !errors.As(err, &me) || me.Module != p.Name || me.Held != held || me.Need != instance ||
			!strings.Contains(err.Error(), "budget is used up") || !strings.Contains(err.Error(), "to give back") {
			t.Errorf("%s with the budget used up: %v, want a *MemoryError saying so", p.Name, err)
		}
	}
	// Three large instances used: late, still under its share, would pass
	// the budget; small's instance fits in what is left.
	usedUp(late, instance, take(late))
	if err := take(small); err != nil {
		t.Errorf("small, under its share, with room for its instance: %v", err)
	}
	if m := s.Memory(); m.PeakBytes != m.UsedBytes || m.UsedBytes != 3*instance+small.MemoryBytes() || m.UsedBytes > budget {
		t.Errorf("memory %+v, want three large instances and small's, within the budget", m)
	}
}

// TestReclaimBorrowedMemory lets a module fill the whole budget with
// instances while it is under the pressure threshold, keeps one of them in
// use and the others idle, and checks that a second module, under its
// share, is given an instance at once, twice, each time in exchange for one
// of the first module's idle instances (destroyed as reclaimed), and no
// more once it holds its share; the first module's instance in use serves
// on, and it keeps its own share.
func TestReclaimBorrowedMemory(t *testing.T) {
	checkGoroutines(t)
	instance := figure(t, ownModule(t, "bigmem"))
	budget := 4 * instance
	var (
		mu        sync.Mutex
		reclaimed []string // the pools and details of reclaimed instances
	)
	s := newSet(t, time.Second, wasmpool.Config{
		MaxSize: 8, CheckoutTimeout: time.Minute,
		// Two shares of two instances; the threshold at 3.6: four
		// instances fill the budget, the fourth made at three.
		MemoryBudgetBytes: budget, PressureThreshold: 0.9,
		OnEvent: func(e pool.Event) {
			if e.Kind == pool.EventDestroyed && e.Reason == pool.ReasonReclaimed {
				mu.Lock()
				reclaimed = append(reclaimed, e.Pool+": "+e.Detail)
				mu.Unlock()
			}
		},
	})
	ctx := context.Background()
	hog := add(t, s, "hog", ownModule(t, "bigmem"), wasm.ModuleOptions{})
	small := add(t, s, "small", ownModule(t, "bigmem"), wasm.ModuleOptions{})

	var hogs []*pool.Handle[*wasmpool.Instance]
	for i := range 4 {
		h, err := hog.Checkout(ctx)
		if err != nil {
			t.Fatalf("hog instance %d, under the threshold: %v", i+1, err)
		}
		hogs = append(hogs, h)
	}
	if _, err := hog.Checkout(ctx); !errors.Is(err, wasmpool.ErrMemoryLimit) || !strings.Contains(err.Error(), "over its share") {
		t.Fatalf("a fifth hog instance: %v, want MEMORY_LIMIT over its share", err)
	}
	inUse := hogs[0]
	for _, h := range hogs[1:] {
		if reason := hog.Done(h, nil); reason != "" {
			t.Fatalf("Done: %s", reason)
		}
	}
	if m := s.Memory(); m.UsedBytes != 4*instance || m.InUseBytes != instance {
		t.Fatalf("memory %+v, want 4 instances used, 1 in use", m)
	}

	var smalls []*pool.Handle[*wasmpool.Instance]
	defer func() {
		for _, h := range smalls {
			small.Done(h, nil)
		}
	}()
	for i := range 2 {
		h, err := small.Checkout(ctx)
		if err != nil {
			t.Fatalf("small instance %d, under its share: %v", i+1, err)
		}
		smalls = append(smalls, h)
		if got := hog.Pool.Stats().Destroyed[pool.ReasonReclaimed]; got != uint64(i+1) {
			t.Errorf("after small's instance %d, %d hog instances reclaimed, want %d", i+1, got, i+1)
		}
		if used := s.Memory().UsedBytes; used > budget {
			t.Errorf("%d bytes used after small's instance %d, over the budget", used, i+1)
		}
	}
	// small holds its share: it takes nothing more from the hog's.
	_, err := small.Checkout(ctx)
	if !errors.Is(err, wasmpool.ErrMemoryLimit) || !strings.Contains(err.Error(), "over its share") {
		t.Errorf("small past its share: %v, want MEMORY_LIMIT over its share", err)
	}
	if got := hog.MemoryBytes(); got != 2*instance {
		t.Errorf("the hog holds %d bytes, want its share, %d", got, 2*instance)
	}
	st := hog.Pool.Stats()
	if st.InUse != 1 || st.Idle != 1 || st.Destroyed[pool.ReasonReclaimed] != 2 {
		t.Errorf("hog: %d in use, %d idle, %d reclaimed; want 1, 1, 2", st.InUse, st.Idle, st.Destroyed[pool.ReasonReclaimed])
	}
	res, err := hog.Run(ctx, inUse, wasm.Request{HTML: okDoc})
	if err != nil || res.AsMap()["n"] != 1.0 {
		t.Errorf("the hog's instance in use: %v, %v", res, err)
	}
	if reason := hog.Done(inUse, err); reason != "" {
		t.Errorf("the hog's instance in use was discarded: %s", reason)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range reclaimed {
		if !strings.HasPrefix(r, `hog: memory taken back for module "small"`) {
			t.Errorf("reclaimed event %q, want one of hog's, for small", r)
		}
	}
}

// TestReclaimConcurrent has two modules under their share ask for
// instances together, many times, while a third that filled the budget
// takes and returns its own: every request is answered, the third keeps
// its instances in use, and nothing deadlocks or races.
func TestReclaimConcurrent(t *testing.T) {
	checkGoroutines(t)
	s := newSet(t, time.Second, wasmpool.Config{
		MaxSize: 8, CheckoutTimeout: time.Minute,
		// The hog's four instances fill the budget; shares of 1.3.
		MemoryBudgetBytes: 4 * figure(t, ownModule(t, "bigmem")), PressureThreshold: 0.9,
	})
	ctx := context.Background()
	hog := add(t, s, "hog", ownModule(t, "bigmem"), wasm.ModuleOptions{})
	mods := []*wasmpool.Pool{
		add(t, s, "a", ownModule(t, "bigmem"), wasm.ModuleOptions{}),
		add(t, s, "b", ownModule(t, "bigmem"), wasm.ModuleOptions{}),
	}
	var hogs []*pool.Handle[*wasmpool.Instance]
	for range 4 {
		h, err := hog.Checkout(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hogs = append(hogs, h)
	}
	inUse := hogs[0]
	for _, h := range hogs[1:] {
		hog.Done(h, nil)
	}

	var wg sync.WaitGroup
	for _, p := range mods {
		wg.Go(func() {
			for range 20 {
				h, err := p.Checkout(ctx)
				if err != nil {
					t.Errorf("%s: %v", p.Name, err)
					return
				}
				_, err = p.Run(ctx, h, wasm.Request{HTML: okDoc})
				// Discarding makes the next checkout create an instance.
				h.Discard("test")
				if err != nil {
					t.Errorf("%s: Run: %v", p.Name, err)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			h, err := hog.Checkout(ctx)
			if err == nil {
				hog.Done(h, nil)
			} else if !errors.Is(err, wasmpool.ErrMemoryLimit) {
				t.Errorf("hog: %v", err)
			}
		}
	})
	wg.Wait()
	t.Logf("%d hog instances reclaimed", hog.Pool.Stats().Destroyed[pool.ReasonReclaimed])
	if _, err := hog.Run(ctx, inUse, wasm.Request{HTML: okDoc}); err != nil {
		t.Errorf("the hog's instance in use: %v", err)
	}
	hog.Done(inUse, nil)
}

// TestReclaimMakesRoomForFirstInstance fills the budget short of room for
// one more instance and checks that a module's first instance, whose size
// the module's probe told, is made within the budget, in exchange for one
// of the hog's idle instances, rather than past it.
func TestReclaimMakesRoomForFirstInstance(t *testing.T) {
	checkGoroutines(t)
	instance := figure(t, ownModule(t, "bigmem"))
	s := newSet(t, time.Second, wasmpool.Config{
		MaxSize: 8, CheckoutTimeout: time.Minute,
		// Room for 3.6 instances; shares of 1.8; the threshold at 2.5:
		// the hog's third instance is made at two, and three leave no
		// room for a fourth.
		MemoryBudgetBytes: instance * 18 / 5, PressureThreshold: 0.7,
	})
	ctx := context.Background()
	hog := add(t, s, "hog", ownModule(t, "bigmem"), wasm.ModuleOptions{})
	small := add(t, s, "small", ownModule(t, "bigmem"), wasm.ModuleOptions{})
	var hogs []*pool.Handle[*wasmpool.Instance]
	for i := range 3 {
		h, err := hog.Checkout(ctx)
		if err != nil {
			t.Fatalf("hog instance %d: %v", i+1, err)
		}
		hogs = append(hogs, h)
	}
	for _, h := range hogs[1:] {
		hog.Done(h, nil)
	}
	h, err := small.Checkout(ctx)
	if err != nil {
		t.Fatalf("small's first instance: %v", err)
	}
	if used := s.Memory().UsedBytes; used != 3*instance {
		t.Errorf("%d bytes used with small's first instance, want %d: one hog instance for it", used, 3*instance)
	}
	if n := hog.Pool.Stats().Destroyed[pool.ReasonReclaimed]; n != 1 {
		t.Errorf("%d hog instances reclaimed, want 1", n)
	}
	small.Done(h, nil)
	hog.Done(hogs[0], nil)
}

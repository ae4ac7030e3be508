package wasmpool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/pool"
)

// queued returns how many callers of module wait for a slot.
func (s *slots) queued(module string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.modules[module]; m != nil {
		return len(m.queue)
	}
	return 0
}

// waitQueued polls until module has n callers queued.
func waitQueued(t *testing.T, s *slots, module string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for s.queued(module) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d callers queued, want %d", module, s.queued(module), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// acquireAsync queues a caller of module and returns the channel its
// outcome arrives on.
func acquireAsync(ctx context.Context, s *slots, module string) <-chan error {
	c := make(chan error, 1)
	go func() { c <- s.acquire(ctx, module, 0) }()
	return c
}

// TestSlotsBorrowWhileNobodyWaits: a module alone takes every slot.
func TestSlotsBorrowWhileNobodyWaits(t *testing.T) {
	s := newSlots(3)
	for i := range 3 {
		if err := s.acquire(context.Background(), "hog", time.Nanosecond); err != nil {
			t.Fatalf("slot %d of 3 with nobody else waiting: %v", i+1, err)
		}
	}
}

// TestSlotsFreedSlotGoesToTheModuleWithFewest: a module holding every slot,
// with callers queued before another module's, gives the next free slot
// to the other module; between modules with as many calls running, the
// oldest caller comes first.
func TestSlotsFreedSlotGoesToTheModuleWithFewest(t *testing.T) {
	ctx := context.Background()
	s := newSlots(2)
	for range 2 {
		if err := s.acquire(ctx, "hog", 0); err != nil {
			t.Fatal(err)
		}
	}
	hogs := make([]<-chan error, 3)
	for i := range hogs {
		hogs[i] = acquireAsync(ctx, s, "hog")
		waitQueued(t, s, "hog", i+1)
	}
	article := acquireAsync(ctx, s, "article")
	waitQueued(t, s, "article", 1)

	s.release("hog") // hog 1 running, article 0: article's turn
	if err := <-article; err != nil {
		t.Fatalf("article: %v", err)
	}
	if n := s.queued("hog"); n != 3 {
		t.Fatalf("%d hog callers queued after the slot went to article, want 3", n)
	}
	// hog 1, article 1: a freed hog slot goes to the next hog caller.
	s.release("hog")
	if err := <-hogs[0]; err != nil {
		t.Fatalf("hog: %v", err)
	}
	for _, c := range hogs[1:] {
		s.release("hog")
		if err := <-c; err != nil {
			t.Fatalf("hog: %v", err)
		}
	}
}

// TestSlotsTieGoesToTheOldestCaller: between modules with as many calls
// running, the module whose oldest caller came first gets the slot.
func TestSlotsTieGoesToTheOldestCaller(t *testing.T) {
	ctx := context.Background()
	s := newSlots(3)
	for _, m := range []string{"a", "a", "b"} {
		if err := s.acquire(ctx, m, 0); err != nil {
			t.Fatal(err)
		}
	}
	b := acquireAsync(ctx, s, "b")
	waitQueued(t, s, "b", 1)
	a := acquireAsync(ctx, s, "a")
	waitQueued(t, s, "a", 1)
	s.release("a") // a 1, b 1: b's caller came first
	if err := <-b; err != nil {
		t.Fatalf("b: %v", err)
	}
	if n := s.queued("a"); n != 1 {
		t.Fatalf("%d a callers queued, want 1", n)
	}
	s.release("b")
	if err := <-a; err != nil {
		t.Fatalf("a: %v", err)
	}
}

// TestSlotsExhaustedSaysWhoHoldsThem: a caller that waits in vain gets a
// *SlotsError wrapping pool.ErrExhausted that names the holders.
func TestSlotsExhaustedSaysWhoHoldsThem(t *testing.T) {
	s := newSlots(2)
	ctx := context.Background()
	for range 2 {
		if err := s.acquire(ctx, "hog", 0); err != nil {
			t.Fatal(err)
		}
	}
	err := s.acquire(ctx, "article", time.Millisecond)
	var se *SlotsError
	if !errors.As(err, &se) || !errors.Is(err, pool.ErrExhausted) {
		t.Fatalf("acquire with every slot held: %v, want a *SlotsError wrapping pool.ErrExhausted", err)
	}
	want := []SlotShare{{Module: "hog", Running: 2}}
	if se.Module != "article" || se.Total != 2 || len(se.Modules) != 1 || se.Modules[0] != want[0] {
		t.Errorf("SlotsError = %+v, want article refused, hog holding 2 of 2", se)
	}
	if n := s.queued("article"); n != 0 {
		t.Errorf("%d article callers still queued after giving up", n)
	}
}

// TestSlotsCancelledWaiterLeavesTheQueue: a cancelled caller leaves no
// trace, and the next free slot goes to whoever is still waiting.
func TestSlotsCancelledWaiterLeavesTheQueue(t *testing.T) {
	s := newSlots(1)
	if err := s.acquire(context.Background(), "a", 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := acquireAsync(ctx, s, "b")
	waitQueued(t, s, "b", 1)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	s.release("a")
	if err := s.acquire(context.Background(), "c", time.Nanosecond); err != nil {
		t.Fatalf("the freed slot with nobody waiting: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy != 1 || s.waiting != 0 {
		t.Errorf("busy %d waiting %d, want 1 and 0", s.busy, s.waiting)
	}
}

// yieldAsync has a running call of module that has been served attained
// offer its slot, and returns the channel its outcome arrives on.
func yieldAsync(ctx context.Context, s *slots, module string, attained time.Duration) <-chan error {
	c := make(chan error, 1)
	go func() {
		yielded, err := s.yield(ctx, module, attained)
		if err == nil && !yielded {
			err = errors.New("did not yield")
		}
		c <- err
	}()
	return c
}

// TestSlotsYieldToShorterCalls: a call that has held a slot for a quantum
// longer than a waiting caller gives the slot to it, queues, and gets a
// slot back when one frees; one that has not keeps its slot.
func TestSlotsYieldToShorterCalls(t *testing.T) {
	ctx := context.Background()
	s := newSlots(1)
	if err := s.acquire(ctx, "hog", 0); err != nil {
		t.Fatal(err)
	}
	article := acquireAsync(ctx, s, "article")
	waitQueued(t, s, "article", 1)

	if yielded, err := s.yield(ctx, "hog", yieldQuantum/2); yielded || err != nil {
		t.Fatalf("yield after half a quantum: %v, %v; want the slot kept", yielded, err)
	}
	hog := yieldAsync(ctx, s, "hog", 3*yieldQuantum)
	if err := <-article; err != nil {
		t.Fatalf("article after hog yielded: %v", err)
	}
	waitQueued(t, s, "hog", 1)
	s.release("article")
	if err := <-hog; err != nil {
		t.Fatalf("hog getting its slot back: %v", err)
	}
	s.release("hog")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy != 0 || s.waiting != 0 || len(s.modules) != 0 {
		t.Errorf("busy %d waiting %d modules %v, want all 0", s.busy, s.waiting, s.modules)
	}
}

// TestSlotsYieldNobodyShorter: with only longer-served callers waiting, or
// nobody, a call keeps its slot.
func TestSlotsYieldNobodyShorter(t *testing.T) {
	ctx := context.Background()
	s := newSlots(1)
	if err := s.acquire(ctx, "a", 0); err != nil {
		t.Fatal(err)
	}
	if yielded, err := s.yield(ctx, "a", time.Hour); yielded || err != nil {
		t.Fatalf("yield with nobody waiting: %v, %v", yielded, err)
	}
	// b gives its slot to a (served 0), then a is the running one.
	b := acquireAsync(ctx, s, "b")
	waitQueued(t, s, "b", 1)
	s.release("a")
	if err := <-b; err != nil {
		t.Fatal(err)
	}
	if yielded, err := s.yield(ctx, "b", 10*yieldQuantum); yielded || err != nil {
		t.Fatalf("yield with nobody waiting: %v, %v", yielded, err)
	}
	// c, preempted earlier after 5 quanta, waits; b at 5.5 quanta keeps its slot.
	s.mu.Lock()
	w := s.enqueueLocked(s.module("c"), 5*yieldQuantum, false)
	s.mu.Unlock()
	if yielded, err := s.yield(ctx, "b", 5*yieldQuantum+yieldQuantum/2); yielded || err != nil {
		t.Fatalf("yield to a caller served about as long: %v, %v", yielded, err)
	}
	s.release("b")
	<-w.ready
	s.release("c")
}

// TestSlotsNewCallsBeforePreempted: a freed slot goes to a new call of any
// module before a call that gave its slot up, whatever the modules' running
// counts.
func TestSlotsNewCallsBeforePreempted(t *testing.T) {
	ctx := context.Background()
	s := newSlots(2)
	for _, m := range []string{"hog", "article"} {
		if err := s.acquire(ctx, m, 0); err != nil {
			t.Fatal(err)
		}
	}
	second := acquireAsync(ctx, s, "article") // article: 1 running, 1 new waiting
	waitQueued(t, s, "article", 1)
	hog := yieldAsync(ctx, s, "hog", 2*yieldQuantum) // gives its slot to article's new call
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	waitQueued(t, s, "hog", 1)
	third := acquireAsync(ctx, s, "article") // article 2 running, hog 0: the new call still comes first
	waitQueued(t, s, "article", 1)
	s.release("article")
	if err := <-third; err != nil {
		t.Fatal(err)
	}
	if n := s.queued("hog"); n != 1 {
		t.Fatalf("hog queued %d, want 1 (behind the new call)", n)
	}
	s.release("article")
	if err := <-hog; err != nil {
		t.Fatal(err)
	}
	s.release("hog")
	s.release("article")
}

// TestSlotsYieldDeadline: a call whose context ends while it waits for its
// slot back returns the context's error, holds no slot and leaves the queue.
func TestSlotsYieldDeadline(t *testing.T) {
	s := newSlots(1)
	if err := s.acquire(context.Background(), "hog", 0); err != nil {
		t.Fatal(err)
	}
	article := acquireAsync(context.Background(), s, "article")
	waitQueued(t, s, "article", 1)
	ctx, cancel := context.WithCancel(context.Background())
	hog := yieldAsync(ctx, s, "hog", time.Second)
	if err := <-article; err != nil {
		t.Fatal(err)
	}
	waitQueued(t, s, "hog", 1)
	cancel()
	if err := <-hog; !errors.Is(err, context.Canceled) {
		t.Fatalf("hog cancelled while waiting: %v, want context.Canceled", err)
	}
	s.release("article")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy != 0 || s.waiting != 0 || len(s.modules) != 0 {
		t.Errorf("busy %d waiting %d modules %v, want all 0", s.busy, s.waiting, s.modules)
	}
}

// TestSlotsUsualCallLength: a module whose calls ended after a second
// counts as long from its next call's start: its new caller does not
// take the slot of a call of a short module that has run a little, and a
// call of it that has just started gives its slot to a short module's
// caller.
func TestSlotsUsualCallLength(t *testing.T) {
	ctx := context.Background()
	s := newSlots(1)
	c, err := s.begin(ctx, "hog", 0)
	if err != nil {
		t.Fatal(err)
	}
	c.began = c.began.Add(-time.Second) // as if it had begun a second ago
	c.release()

	if err := s.acquire(ctx, "article", 0); err != nil {
		t.Fatal(err)
	}
	hog := acquireAsync(ctx, s, "hog")
	waitQueued(t, s, "hog", 1)
	if yielded, err := s.yield(ctx, "article", 3*yieldQuantum); yielded || err != nil {
		t.Fatalf("article after 3 quanta beside a new call of a module whose calls take a second: %v, %v; want the slot kept", yielded, err)
	}
	s.release("article")
	if err := <-hog; err != nil {
		t.Fatal(err)
	}
	article := acquireAsync(ctx, s, "article")
	waitQueued(t, s, "article", 1)
	back := yieldAsync(ctx, s, "hog", 0) // just started, but hog's calls are long
	if err := <-article; err != nil {
		t.Fatal(err)
	}
	s.release("article")
	if err := <-back; err != nil {
		t.Fatal(err)
	}
	s.release("hog")
}

// BenchmarkSlotTick measures the slot tick a guest call runs at each of its
// interruption checks (about every 19 µs for the bundled article module),
// when no caller waits: between its looks for waiting callers (every
// yieldCheckEvery) it reads the clock; at a look it also takes the slots'
// lock. BenchmarkCheckInterrupt in internal/wasm times the check around it.
//
//	go test ./internal/wasmpool -run '^$' -bench 'BenchmarkSlotTick' -count 6
func BenchmarkSlotTick(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		look bool
	}{{"between-looks", false}, {"look", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSlots(2)
			call, err := s.begin(ctx, "m", time.Second)
			if err != nil {
				b.Fatal(err)
			}
			defer call.release()
			for b.Loop() {
				if bc.look {
					call.next = time.Time{}
				}
				if err := call.tick(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package lease

import (
	"context"
	"github.com/riptidecrawler/riptide-poold/internal/clock/clocktest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is the shared fake clock of the tests.
type fakeClock = clocktest.Fake

func newFakeClock() *fakeClock { return clocktest.New() }

// fakeHeld records how its lease ended, and catches an end while a callback
// (run through use) is running on it.
type fakeHeld struct {
	running  atomic.Int32 // callbacks running on it now
	overlap  atomic.Bool  // two callbacks ran at once
	endedBad atomic.Bool  // Release or Discard ran during a callback
	releases atomic.Int32
	discards atomic.Int32
	reason   atomic.Pointer[string]
	ended    chan struct{} // closed by the first Release or Discard
	once     sync.Once
}

func newHeld() *fakeHeld { return &fakeHeld{ended: make(chan struct{})} }

func (h *fakeHeld) Release() {
	h.releases.Add(1)
	h.end()
}

func (h *fakeHeld) Discard(reason string) {
	h.reason.Store(&reason)
	h.discards.Add(1)
	h.end()
}

func (h *fakeHeld) end() {
	if h.running.Load() != 0 {
		h.endedBad.Store(true)
	}
	h.once.Do(func() { close(h.ended) })
}

// ends is the number of times the lease ended this instance.
func (h *fakeHeld) ends() int { return int(h.releases.Load() + h.discards.Load()) }

// use returns a Use callback that marks h running while it calls body.
func use(h *fakeHeld, body func() error) func(Held) error {
	return func(got Held) error {
		if got != Held(h) {
			panic("Use passed another lease's Held")
		}
		if h.running.Add(1) != 1 {
			h.overlap.Store(true)
		}
		defer h.running.Add(-1)
		if body == nil {
			return nil
		}
		return body()
	}
}

// checkHeld fails t unless h was ended exactly once, never during a callback.
func checkHeld(t *testing.T, h *fakeHeld) {
	t.Helper()
	if n := h.ends(); n != 1 {
		t.Errorf("instance ended %d times (%d releases, %d discards), want once", n, h.releases.Load(), h.discards.Load())
	}
	if h.endedBad.Load() {
		t.Error("instance ended while a call was running on it")
	}
	if h.overlap.Load() {
		t.Error("two calls ran on one lease at once")
	}
}

// newTable returns a table on clk that records expired leases, closed at the
// end of the test.
func newTable(t *testing.T, clk *fakeClock, cfg Config) (*Table, <-chan Lease) {
	t.Helper()
	expired := make(chan Lease, 1024)
	if cfg.DefaultTTL == 0 {
		cfg.DefaultTTL = 10 * time.Second
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = time.Minute
	}
	cfg.Clock = clk
	cfg.OnExpired = func(l Lease) { expired <- l }
	tbl, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tbl.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tbl, expired
}

// advanceUntil moves clk on by step until done is closed, giving the reaper
// a chance to run between steps. It fails t after a generous real-time
// limit, which only a hung reaper reaches.
func advanceUntil(t *testing.T, clk *fakeClock, step time.Duration, done <-chan struct{}) {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		select {
		case <-done:
			return
		case <-limit:
			t.Fatal("timed out waiting for the reaper")
		case <-time.After(time.Millisecond):
			clk.Advance(step)
		}
	}
}

func mustAdd(t *testing.T, tbl *Table, pool string, h Held, ttl time.Duration) Lease {
	t.Helper()
	l, err := tbl.Add(pool, "inst-1", h, ttl)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return l
}

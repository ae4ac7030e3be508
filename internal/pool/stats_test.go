package pool

import (
	"context"
	"testing"
	"time"
)

func TestStatsGauges(t *testing.T) {
	p := newTestPool(t, Config{MinSize: 2, MaxSize: 4}, &testFactory{})
	h := mustCheckout(t, p)
	s := p.Stats()
	if s.Name != "test" || s.Total != 2 || s.InUse != 1 || s.Idle != 1 || s.Max != 4 || s.Min != 2 ||
		s.Utilization != 0.25 || s.Checkouts != 1 || s.Created != 2 || s.AvgCreate < 0 {
		t.Errorf("stats = %+v", s)
	}
	h.Release()
	if s := p.Stats(); s.InUse != 0 || s.Idle != 2 || s.Checkouts != 1 || s.WaitTime.Counts[0] != 1 {
		t.Errorf("stats after release = %+v", s)
	}
}

func TestReasonAndKindNames(t *testing.T) {
	for r := range NumReasons {
		if r.String() == "" || r.String() == "unknown" {
			t.Errorf("reason %d has no name", r)
		}
	}
	if NumReasons.String() != "unknown" {
		t.Error("NumReasons has a name")
	}
	for k := EventCreated; k <= EventExhausted; k++ {
		if k.String() == "unknown" {
			t.Errorf("event kind %d has no name", k)
		}
	}
}

func TestSweepInterval(t *testing.T) {
	tests := []struct {
		cfg  Config
		want time.Duration
	}{
		{Config{}, 0},
		{Config{HealthInterval: time.Second, IdleTimeout: time.Hour}, time.Second},
		{Config{IdleTimeout: time.Minute}, 15 * time.Second},
		{Config{IdleTimeout: time.Minute, MaxLifetime: 20 * time.Second}, 5 * time.Second},
		{Config{MaxLifetime: time.Millisecond}, minSweepInterval},
	}
	for _, tt := range tests {
		p := &Pool[*testItem]{cfg: tt.cfg}
		if got := p.sweepInterval(); got != tt.want {
			t.Errorf("sweepInterval(%+v) = %v, want %v", tt.cfg, got, tt.want)
		}
	}
}

// TestWatchOverrunning: a call counts as overrunning from the moment its
// context ends until it does, and only then.
func TestWatchOverrunning(t *testing.T) {
	tests := []struct {
		name        string
		ctx         func() (context.Context, context.CancelFunc)
		cancelFirst bool // the context ends while the call runs
		want        int  // Overrunning while the call runs on
	}{
		{"ends within its context", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, false, 0},
		{"runs on after cancellation", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, true, 1},
		{"runs on past its deadline", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}, true, 1},
		{"a context that never ends", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newTestPool(t, Config{MinSize: 1, MaxSize: 2}, &testFactory{})
			ctx, cancel := tt.ctx()
			end := p.Watch(ctx)
			if tt.cancelFirst {
				cancel()
				waitFor(t, "the overrun to count", func() bool { return p.Stats().Overrunning == tt.want })
			}
			if got := p.Stats().Overrunning; got != tt.want {
				t.Errorf("Overrunning = %d while the call runs, want %d", got, tt.want)
			}
			end()
			cancel()
			// AfterFunc, had it been left registered, would count by now.
			time.Sleep(10 * time.Millisecond)
			if got := p.Stats().Overrunning; got != 0 {
				t.Errorf("Overrunning = %d after the call ended, want 0", got)
			}
		})
	}
}

// TestCreateFailing follows the latest factory call: failing after a
// failure, not after a success.
func TestCreateFailing(t *testing.T) {
	f := &testFactory{}
	f.fail.Store(true)
	p := newTestPool(t, Config{MinSize: 0, MaxSize: 2, CheckoutTimeout: time.Second}, f)
	if p.Stats().CreateFailing {
		t.Fatal("CreateFailing before any creation")
	}
	if _, err := p.Checkout(t.Context()); err == nil {
		t.Fatal("checkout with a failing factory succeeded")
	}
	if !p.Stats().CreateFailing {
		t.Error("CreateFailing false after a failed creation")
	}
	f.fail.Store(false)
	h := mustCheckout(t, p)
	defer h.Release()
	if p.Stats().CreateFailing {
		t.Error("CreateFailing true after a successful creation")
	}
}

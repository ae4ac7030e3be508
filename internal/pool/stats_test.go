package pool

import (
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

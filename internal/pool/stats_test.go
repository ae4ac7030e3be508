package pool

import (
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	var h histogram
	for range 98 {
		h.observe(5 * time.Microsecond) // first bucket
	}
	h.observe(3 * time.Millisecond) // (2.5ms, 5ms]
	h.observe(time.Minute)          // +Inf
	s := h.snapshot()
	if s.Count != 100 || s.Counts[0] != 98 || s.Counts[5] != 1 || s.Counts[NumBuckets-1] != 1 {
		t.Fatalf("snapshot = %+v", s)
	}
	if want := (98*5*time.Microsecond + 3*time.Millisecond + time.Minute) / 100; s.Mean() != want {
		t.Errorf("Mean = %v, want %v", s.Mean(), want)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 10 * time.Microsecond * 50 / 98},
		{0.99, 5 * time.Millisecond},           // top of the bucket holding rank 99
		{1, bucketBounds[len(bucketBounds)-1]}, // +Inf reports the largest bound
	}
	for _, tt := range tests {
		if got := s.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	cum := s.Cumulative()
	if len(cum) != NumBuckets-1 || cum[0.00001] != 98 || cum[0.005] != 99 || cum[10] != 99 {
		t.Errorf("Cumulative = %v", cum)
	}
	if (Histogram{}).Quantile(0.99) != 0 || (Histogram{}).Mean() != 0 {
		t.Error("empty histogram not zero")
	}
}

func TestBucketBoundsAscend(t *testing.T) {
	b := BucketBounds()
	for i := 1; i < len(b); i++ {
		if b[i] <= b[i-1] {
			t.Fatalf("bound %d (%v) not above bound %d (%v)", i, b[i], i-1, b[i-1])
		}
	}
}

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

package histogram

import (
	"sync"
	"testing"
	"time"
)

func TestRecorder(t *testing.T) {
	b := NewBounds(10*time.Microsecond, time.Millisecond, 10*time.Millisecond)
	r := New(b)
	for range 98 {
		r.Observe(5 * time.Microsecond)
	}
	r.Observe(5 * time.Millisecond)
	r.Observe(time.Second)
	s := r.Snapshot()
	if s.Count != 100 || s.Counts[0] != 98 || s.Counts[2] != 1 || s.Counts[3] != 1 {
		t.Fatalf("counts %v, count %d", s.Counts[:b.Len()], s.Count)
	}
	if want := 98*5*time.Microsecond + 5*time.Millisecond + time.Second; s.Sum != want {
		t.Errorf("sum %v, want %v", s.Sum, want)
	}
	if got := s.Mean(); got != s.Sum/100 {
		t.Errorf("mean %v", got)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 5102 * time.Nanosecond},    // inside the first bucket
		{0.99, 10 * time.Millisecond},    // the 99th observation fills (1ms, 10ms]
		{1, 10 * time.Millisecond},       // overflow reports the largest bound
		{0.0001, 0 + 10*time.Nanosecond}, // near zero
	}
	for _, tt := range tests {
		got := s.Quantile(tt.q)
		if d := got - tt.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("Quantile(%v) = %v, want about %v", tt.q, got, tt.want)
		}
	}
	cum := s.Cumulative()
	if len(cum) != 3 || cum[0.00001] != 98 || cum[0.001] != 98 || cum[0.01] != 99 {
		t.Errorf("cumulative %v", cum)
	}
	if (Snapshot{}).Quantile(0.99) != 0 || (Snapshot{}).Mean() != 0 || (Snapshot{}).Cumulative() != nil {
		t.Error("an empty snapshot must report zeros")
	}
}

func TestNewBoundsRefusesBadBounds(t *testing.T) {
	for name, upper := range map[string][]time.Duration{
		"none":       nil,
		"descending": {time.Second, time.Millisecond},
		"duplicate":  {time.Second, time.Second},
		"too many":   make([]time.Duration, MaxBuckets),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewBounds did not panic")
				}
			}()
			NewBounds(upper...)
		})
	}
}

func TestConcurrentObserve(t *testing.T) {
	r := New(NewBounds(time.Millisecond))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				r.Observe(time.Microsecond)
			}
		})
	}
	wg.Wait()
	if s := r.Snapshot(); s.Count != 8000 || s.Counts[0] != 8000 {
		t.Errorf("count %d, first bucket %d; want 8000", s.Count, s.Counts[0])
	}
}

func BenchmarkObserve(b *testing.B) {
	r := New(NewBounds(10*time.Microsecond, time.Millisecond, 10*time.Millisecond, time.Second))
	b.ReportAllocs()
	for b.Loop() {
		r.Observe(500 * time.Microsecond)
	}
}

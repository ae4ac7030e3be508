package health

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func record(w *ErrorWindow, ok, failed int) {
	for range ok {
		w.Record(true)
	}
	for range failed {
		w.Record(false)
	}
}

func TestErrorWindowSlides(t *testing.T) {
	clock := newFakeClock()
	w := NewErrorWindow(WindowConfig{Window: 3 * time.Second, Bucket: time.Second, Clock: clock.Now})
	steps := []struct {
		advance       time.Duration
		ok, failed    int // recorded after advancing
		wantOK, wantF uint64
	}{
		{0, 3, 1, 3, 1},                               // bucket 0
		{500 * time.Millisecond, 1, 0, 4, 1},          // still bucket 0
		{500 * time.Millisecond, 0, 2, 4, 3},          // bucket 1
		{time.Second, 5, 0, 9, 3},                     // bucket 2
		{time.Second, 0, 0, 5, 2},                     // bucket 3: bucket 0 aged out
		{time.Second, 1, 1, 6, 1},                     // bucket 4: bucket 1 aged out
		{10 * time.Second, 0, 0, 0, 0},                // everything aged out
		{time.Second, 2, 2, 2, 2},                     // reused slots start from zero
		{3*time.Second - time.Nanosecond, 0, 0, 2, 2}, // last instant of the window
		{time.Nanosecond, 0, 0, 0, 0},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		record(w, s.ok, s.failed)
		if ok, failed := w.Counts(); ok != s.wantOK || failed != s.wantF {
			t.Fatalf("step %d: Counts = %d, %d; want %d, %d", i, ok, failed, s.wantOK, s.wantF)
		}
	}
}

func TestErrorWindowRate(t *testing.T) {
	tests := []struct {
		name       string
		minSamples uint64
		ok, failed int
		want       float64
	}{
		{"empty", 0, 0, 0, 0},
		{"no failures", 0, 10, 0, 0},
		{"all failures", 0, 0, 4, 1},
		{"a quarter", 0, 30, 10, 0.25},
		{"below MinSamples", 20, 0, 19, 0},
		{"at MinSamples", 20, 15, 5, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewErrorWindow(WindowConfig{MinSamples: tt.minSamples, Clock: newFakeClock().Now})
			record(w, tt.ok, tt.failed)
			if got := w.Rate(); got != tt.want {
				t.Errorf("Rate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorWindowDefaults(t *testing.T) {
	clock := newFakeClock()
	w := NewErrorWindow(WindowConfig{Clock: clock.Now})
	w.Record(false)
	clock.Advance(59 * time.Second)
	if _, failed := w.Counts(); failed != 1 {
		t.Fatalf("after 59s: %d failures, want 1", failed)
	}
	clock.Advance(time.Second)
	if _, failed := w.Counts(); failed != 0 {
		t.Fatalf("after 60s: %d failures, want 0", failed)
	}

	// The wall clock works too.
	w = NewErrorWindow(WindowConfig{})
	w.Record(true)
	if ok, _ := w.Counts(); ok != 1 {
		t.Errorf("wall clock: %d successes, want 1", ok)
	}
}

func TestErrorWindowClockBackwards(t *testing.T) {
	clock := newFakeClock()
	w := NewErrorWindow(WindowConfig{Window: 3 * time.Second, Clock: clock.Now})
	clock.Advance(-time.Hour) // before the window's start: bucket 0
	record(w, 1, 1)
	if ok, failed := w.Counts(); ok != 1 || failed != 1 {
		t.Errorf("Counts = %d, %d; want 1, 1", ok, failed)
	}
}

// TestErrorWindowStaleRecord checks that an outcome timed before the
// window a slot now holds does not reset that slot.
func TestErrorWindowStaleRecord(t *testing.T) {
	w := NewErrorWindow(WindowConfig{Window: 2 * time.Second, Clock: newFakeClock().Now})
	add(&w.failed[0], 4) // epoch 4 lives in slot 0
	add(&w.failed[0], 2) // so does epoch 2, older
	if got := w.failed[0].Load(); got != 4<<32|1 {
		t.Errorf("slot = %#x, want epoch 4 with count 1", got)
	}
}

func TestErrorWindowConcurrent(t *testing.T) {
	clock := newFakeClock()
	w := NewErrorWindow(WindowConfig{Window: time.Minute, Clock: clock.Now})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5000 {
				w.Record((g+i)%4 != 0)
				if i%1000 == 0 && g == 0 {
					clock.Advance(time.Second) // move across buckets while others record
				}
				if i%100 == 0 {
					_ = w.Rate()
				}
			}
		})
	}
	wg.Wait()
	if ok, failed := w.Counts(); ok != 30000 || failed != 10000 {
		t.Errorf("Counts = %d, %d; want 30000, 10000 (none lost)", ok, failed)
	}
}

func BenchmarkErrorWindowRecord(b *testing.B) {
	w := NewErrorWindow(WindowConfig{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Record(true)
		}
	})
}

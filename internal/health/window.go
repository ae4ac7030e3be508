package health

import (
	"math"
	"sync/atomic"
	"time"
)

// WindowConfig configures an ErrorWindow. The zero value is a 60 s window
// of 1 s buckets on the wall clock.
type WindowConfig struct {
	// Window is the span of time the rate covers; zero or less means 60 s.
	// It is rounded up to a whole number of buckets.
	Window time.Duration
	// Bucket is the granularity of the window; zero or less means 1 s.
	Bucket time.Duration
	// MinSamples is the number of outcomes below which Rate reports 0, so
	// that one failure on an idle daemon does not read as a 100 % error
	// rate. Zero means every rate is reported.
	MinSamples uint64
	// Clock reads the time; nil means time.Now.
	Clock func() time.Time
}

// An ErrorWindow counts successes and failures over a sliding window of
// time, in buckets. Outcomes age out one bucket at a time, so the window
// covers between Window − Bucket and Window of history. It is safe for
// concurrent use and lock-free: Record is one compare-and-swap.
type ErrorWindow struct {
	clock      func() time.Time
	start      time.Time
	bucket     time.Duration
	minSamples uint64
	// ok and failed hold one word per bucket: the bucket's epoch (the
	// number of buckets since start, modulo 2³²) in the high 32 bits and
	// its count in the low 32. Keeping both in one word lets Record move
	// a bucket to a new epoch and count in the same atomic step.
	ok, failed []atomic.Uint64
}

// NewErrorWindow returns an empty ErrorWindow configured by cfg.
func NewErrorWindow(cfg WindowConfig) *ErrorWindow {
	window, bucket := cfg.Window, cfg.Bucket
	if window <= 0 {
		window = time.Minute
	}
	if bucket <= 0 {
		bucket = time.Second
	}
	n := max((window+bucket-1)/bucket, 1)
	w := &ErrorWindow{
		clock:      cfg.Clock,
		bucket:     bucket,
		minSamples: cfg.MinSamples,
		ok:         make([]atomic.Uint64, n),
		failed:     make([]atomic.Uint64, n),
	}
	if w.clock == nil {
		w.clock = time.Now
	}
	w.start = w.clock()
	return w
}

// epoch returns the number of the current bucket.
func (w *ErrorWindow) epoch() uint32 {
	elapsed := max(w.clock().Sub(w.start), 0)
	return uint32(elapsed / w.bucket)
}

// Record counts one outcome: ok for a success, !ok for a failure.
func (w *ErrorWindow) Record(ok bool) {
	words := w.failed
	if ok {
		words = w.ok
	}
	epoch := w.epoch()
	add(&words[int(epoch)%len(words)], epoch)
}

func add(word *atomic.Uint64, epoch uint32) {
	for {
		old := word.Load()
		next := uint64(epoch)<<32 | 1
		switch e := uint32(old >> 32); {
		case e == epoch:
			if uint32(old) == math.MaxUint32 {
				return // saturated
			}
			next = old + 1
		case int32(epoch-e) < 0:
			// The slot already holds a newer bucket: this outcome, from a
			// goroutine that read the clock long ago, is out of the window.
			return
		}
		if word.CompareAndSwap(old, next) {
			return
		}
	}
}

// Counts returns the successes and failures in the window.
func (w *ErrorWindow) Counts() (ok, failed uint64) {
	epoch := w.epoch()
	return sum(w.ok, epoch), sum(w.failed, epoch)
}

func sum(words []atomic.Uint64, epoch uint32) uint64 {
	var total uint64
	for i := range words {
		word := words[i].Load()
		if age := epoch - uint32(word>>32); age < uint32(len(words)) {
			total += uint64(uint32(word))
		}
	}
	return total
}

// Rate returns the share of failures in the window, 0 to 1. It is 0 when
// the window holds fewer than MinSamples outcomes, or none.
func (w *ErrorWindow) Rate() float64 {
	ok, failed := w.Counts()
	total := ok + failed
	if total == 0 || total < w.minSamples {
		return 0
	}
	return float64(failed) / float64(total)
}

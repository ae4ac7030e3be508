package pool

import (
	"sync/atomic"
	"time"
)

// DestroyReason says why an item was closed.
type DestroyReason uint8

// Reasons an item is destroyed. They index Stats.Destroyed.
const (
	ReasonResetFailed DestroyReason = iota // Reset returned an error on Release
	ReasonUnhealthy                        // IsHealthy returned false on checkout or in the health loop
	ReasonIdleTimeout                      // idle longer than IdleTimeout while above MinSize
	ReasonMaxLifetime                      // older than MaxLifetime
	ReasonMaxUses                          // checked out MaxUses times
	ReasonDiscarded                        // the holder called Discard
	ReasonClosed                           // the pool was closed
	NumReasons                             // number of reasons; not a reason
)

var reasonNames = [NumReasons]string{
	ReasonResetFailed: "reset_failed",
	ReasonUnhealthy:   "unhealthy",
	ReasonIdleTimeout: "idle_timeout",
	ReasonMaxLifetime: "max_lifetime",
	ReasonMaxUses:     "max_uses",
	ReasonDiscarded:   "discarded",
	ReasonClosed:      "closed",
}

// String returns the reason as a metric label value, e.g. "idle_timeout".
func (r DestroyReason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Stats is a snapshot of a pool. Gauges (Total … Waiters) are read together
// under the pool's lock and are consistent with each other; counters and
// histograms are read atomically one by one and may lag each other by the
// few operations that run during the snapshot.
type Stats struct {
	Name string

	Total    int // live items, counted against Max: InUse + Idle + Creating + Closing
	InUse    int // checked out, or handed to a waiter that has not yet woken
	Idle     int // ready to hand out (including items being probed by the health loop)
	Creating int // factory calls in flight
	Closing  int // destroyed items whose Close has not returned yet
	Waiters  int // Checkout calls queued for an item
	Max, Min int

	Utilization float64 // InUse / Max

	Checkouts      uint64 // successful checkouts
	Waits          uint64 // checkouts that found no idle item and queued
	Timeouts       uint64 // checkouts that failed with ErrExhausted
	Canceled       uint64 // checkouts that failed because the caller's context ended
	Created        uint64 // successful factory calls
	CreateFailures uint64 // failed factory calls
	Destroyed      [NumReasons]uint64

	AvgWait   time.Duration // mean time Checkout waited for an item, over all checkouts
	P99Wait   time.Duration // 99th percentile of the same, interpolated from WaitTime
	AvgCreate time.Duration // mean factory time of successful creations

	WaitTime   Histogram // time each successful checkout waited
	CreateTime Histogram // factory time of each successful creation
}

// DestroyedTotal is the sum of Destroyed over all reasons.
func (s Stats) DestroyedTotal() uint64 {
	var n uint64
	for _, d := range s.Destroyed {
		n += d
	}
	return n
}

// NumBuckets is the number of histogram buckets: one per bound in
// BucketBounds, plus one for observations above the largest bound.
const NumBuckets = len(bucketBounds) + 1

// bucketBounds are the upper bounds (inclusive) of the histogram buckets.
// They span an immediate checkout (well under 10µs) to a slow WASM
// instantiation (seconds). Read-only: exported through BucketBounds by value.
var bucketBounds = [...]time.Duration{
	10 * time.Microsecond, 100 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// BucketBounds returns the upper bounds of the first NumBuckets-1 histogram
// buckets; the last bucket is unbounded (+Inf).
func BucketBounds() [NumBuckets - 1]time.Duration { return bucketBounds }

// Histogram is a snapshot of a latency histogram with the fixed bounds of
// BucketBounds.
type Histogram struct {
	// Counts[i] is the number of observations in (bound[i-1], bound[i]];
	// Counts[NumBuckets-1] counts those above the largest bound.
	Counts [NumBuckets]uint64
	Count  uint64        // sum of Counts
	Sum    time.Duration // sum of all observations
}

// Mean is Sum/Count, or 0 when there are no observations.
func (h Histogram) Mean() time.Duration {
	if h.Count == 0 {
		return 0
	}
	return h.Sum / time.Duration(h.Count)
}

// Quantile estimates the q-quantile (0 < q <= 1) by linear interpolation
// within the bucket that holds it, as Prometheus' histogram_quantile does.
// Observations above the largest bound are reported as that bound.
func (h Histogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := q * float64(h.Count)
	var cum float64
	for i, c := range h.Counts {
		if c == 0 {
			continue
		}
		if cum+float64(c) < rank {
			cum += float64(c)
			continue
		}
		if i == len(bucketBounds) {
			return bucketBounds[len(bucketBounds)-1]
		}
		var lo time.Duration
		if i > 0 {
			lo = bucketBounds[i-1]
		}
		hi := bucketBounds[i]
		return lo + time.Duration(float64(hi-lo)*(rank-cum)/float64(c))
	}
	return bucketBounds[len(bucketBounds)-1]
}

// Cumulative returns the cumulative bucket counts keyed by upper bound in
// seconds, without the +Inf bucket: the form prometheus.MustNewConstHistogram
// takes together with Count and Sum.Seconds().
func (h Histogram) Cumulative() map[float64]uint64 {
	m := make(map[float64]uint64, len(bucketBounds))
	var cum uint64
	for i, b := range bucketBounds {
		cum += h.Counts[i]
		m[b.Seconds()] = cum
	}
	return m
}

// histogram is the live, lock-free counterpart of Histogram.
type histogram struct {
	counts [NumBuckets]atomic.Uint64
	sum    atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(bucketBounds) && d > bucketBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) snapshot() Histogram {
	var s Histogram
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
		s.Count += s.Counts[i]
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

package lease

import (
	"time"
)

// Stats is a snapshot of a table, taken under one lock: its figures are
// consistent with each other.
type Stats struct {
	Active    map[string]int // live leases by pool; pools with none are absent
	Created   uint64         // leases added
	Released  uint64         // ended by Release without discard, or by Close
	Discarded uint64         // ended by Release with discard
	Expired   uint64         // ended by expiry
	Duration  Histogram      // how long each ended lease lived, from Add to its end
}

// ActiveTotal is the sum of Active over all pools.
func (s Stats) ActiveTotal() int {
	n := 0
	for _, c := range s.Active {
		n += c
	}
	return n
}

// Stats returns a snapshot of the table's gauges and counters.
func (t *Table) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	active := make(map[string]int, len(t.active))
	for p, n := range t.active {
		active[p] = n
	}
	return Stats{
		Active:    active,
		Created:   t.created,
		Released:  t.ended[released],
		Discarded: t.ended[discarded],
		Expired:   t.ended[expired],
		Duration:  t.durations.Histogram,
	}
}

// bucketBounds are the upper bounds of the lease duration buckets. Leases
// live from a single call (milliseconds) to LEASE_MAX_TTL_MS (minutes to a
// day), so the buckets are wider than the pool's latency buckets.
var bucketBounds = [...]time.Duration{
	100 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour,
}

// NumBuckets is the number of histogram buckets: one per bound in
// BucketBounds, plus one for observations above the largest bound.
const NumBuckets = len(bucketBounds) + 1

// BucketBounds returns the upper bounds of the first NumBuckets-1 histogram
// buckets; the last bucket is unbounded (+Inf).
func BucketBounds() [NumBuckets - 1]time.Duration { return bucketBounds }

// Histogram is a snapshot of a duration histogram with the fixed bounds of
// BucketBounds. It has the methods of pool.Histogram, so that the metrics
// code exports both the same way.
type Histogram struct {
	// Counts[i] is the number of observations in (bound[i-1], bound[i]];
	// Counts[NumBuckets-1] counts those above the largest bound.
	Counts [NumBuckets]uint64
	Count  uint64        // sum of Counts
	Sum    time.Duration // sum of all observations
}

// histogram is the live histogram. Leases end rarely and under the table's
// lock, which guards it, so it needs no atomics.
type histogram struct{ Histogram }

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(bucketBounds) && d > bucketBounds[i] {
		i++
	}
	h.Counts[i]++
	h.Count++
	h.Sum += d
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
	var below float64 // observations in the buckets before i
	for i, c := range h.Counts {
		if c == 0 || below+float64(c) < rank {
			below += float64(c)
			continue
		}
		if i == len(bucketBounds) {
			break
		}
		var lo time.Duration
		if i > 0 {
			lo = bucketBounds[i-1]
		}
		hi := bucketBounds[i]
		return lo + time.Duration(float64(hi-lo)*(rank-below)/float64(c))
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

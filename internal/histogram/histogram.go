// Package histogram keeps fixed-bucket duration histograms: recording is a
// few atomic adds with no allocation and no lock, and a snapshot is a value
// with the counts Prometheus' const histograms take. The pool's checkout
// waits and creations and the lease table's lease lifetimes use it, each with
// bounds of its own.
package histogram

import (
	"fmt"
	"sync/atomic"
	"time"
)

// MaxBuckets is the most buckets a histogram has, the overflow bucket
// above its largest bound included. It is fixed so that snapshots are plain
// values that copy without allocating.
const MaxBuckets = 24

// Bounds are the ascending upper bounds (inclusive) of a histogram's
// buckets; one more bucket counts observations above the largest. Bounds are
// immutable and shared by every histogram that uses them.
type Bounds struct {
	upper []time.Duration
}

// NewBounds returns bounds with the given ascending upper bounds. It panics
// on bounds that do not ascend or are too many: they are fixed in code.
func NewBounds(upper ...time.Duration) *Bounds {
	if len(upper) == 0 || len(upper) >= MaxBuckets {
		panic(fmt.Sprintf("histogram: %d bounds, want 1..%d", len(upper), MaxBuckets-1))
	}
	for i := 1; i < len(upper); i++ {
		if upper[i] <= upper[i-1] {
			panic(fmt.Sprintf("histogram: bound %v does not ascend from %v", upper[i], upper[i-1]))
		}
	}
	return &Bounds{upper: append([]time.Duration(nil), upper...)}
}

// Upper returns a copy of the upper bounds.
func (b *Bounds) Upper() []time.Duration { return append([]time.Duration(nil), b.upper...) }

// Len is the number of buckets, the overflow bucket included.
func (b *Bounds) Len() int { return len(b.upper) + 1 }

// Recorder is a live histogram, safe for concurrent use.
type Recorder struct {
	bounds *Bounds
	counts [MaxBuckets]atomic.Uint64
	sum    atomic.Int64
}

// New returns an empty recorder with bounds b.
func New(b *Bounds) *Recorder { return &Recorder{bounds: b} }

// Observe records one duration.
func (r *Recorder) Observe(d time.Duration) {
	i := 0
	for i < len(r.bounds.upper) && d > r.bounds.upper[i] {
		i++
	}
	r.counts[i].Add(1)
	r.sum.Add(int64(d))
}

// Snapshot returns the counts so far. Buckets are read one by one, so a
// snapshot taken while others record may lag by the observations in flight.
func (r *Recorder) Snapshot() Snapshot {
	s := Snapshot{Bounds: r.bounds}
	for i := range r.bounds.Len() {
		s.Counts[i] = r.counts[i].Load()
		s.Count += s.Counts[i]
	}
	s.Sum = time.Duration(r.sum.Load())
	return s
}

// Snapshot is a histogram's counts at one moment.
type Snapshot struct {
	Bounds *Bounds
	// Counts[i] is the number of observations in (upper[i-1], upper[i]];
	// Counts[Bounds.Len()-1] counts those above the largest bound.
	Counts [MaxBuckets]uint64
	Count  uint64        // sum of Counts
	Sum    time.Duration // sum of all observations
}

// Mean is Sum/Count, or 0 when there are no observations.
func (s Snapshot) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Count)
}

// Quantile estimates the q-quantile (0 < q <= 1) by linear interpolation
// within the bucket that holds it, as Prometheus' histogram_quantile does.
// Observations above the largest bound are reported as that bound.
func (s Snapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 || s.Bounds == nil {
		return 0
	}
	upper := s.Bounds.upper
	rank := q * float64(s.Count)
	var cum float64
	for i, c := range s.Counts[:s.Bounds.Len()] {
		if c == 0 {
			continue
		}
		if cum+float64(c) < rank {
			cum += float64(c)
			continue
		}
		if i == len(upper) {
			break
		}
		var lo time.Duration
		if i > 0 {
			lo = upper[i-1]
		}
		return lo + time.Duration(float64(upper[i]-lo)*(rank-cum)/float64(c))
	}
	return upper[len(upper)-1]
}

// Cumulative returns the cumulative bucket counts keyed by upper bound in
// seconds, without the +Inf bucket: the form prometheus.MustNewConstHistogram
// takes together with Count and Sum.Seconds().
func (s Snapshot) Cumulative() map[float64]uint64 {
	if s.Bounds == nil {
		return nil
	}
	m := make(map[float64]uint64, len(s.Bounds.upper))
	var cum uint64
	for i, b := range s.Bounds.upper {
		cum += s.Counts[i]
		m[b.Seconds()] = cum
	}
	return m
}

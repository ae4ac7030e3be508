package pool

import (
	"github.com/riptidecrawler/riptide-poold/internal/histogram"
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
	ReasonReclaimed                        // idle above MinSize, closed by ShedIdle for another pool
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
	ReasonReclaimed:   "reclaimed",
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
	CreateFailing  bool   // the latest factory call failed: the pool may not be able to grow
	Overrunning    int    // calls still running after their context ended (see Pool.Watch)
	Destroyed      [NumReasons]uint64

	AvgWait   time.Duration // mean time Checkout waited for an item, over all checkouts
	P99Wait   time.Duration // 99th percentile of the same, interpolated from WaitTime
	AvgCreate time.Duration // mean factory time of successful creations

	WaitTime   histogram.Snapshot // time each successful checkout waited
	CreateTime histogram.Snapshot // factory time of each successful creation
}

// DestroyedTotal is the sum of Destroyed over all reasons.
func (s Stats) DestroyedTotal() uint64 {
	var n uint64
	for _, d := range s.Destroyed {
		n += d
	}
	return n
}

// LatencyBounds are the bounds of the pool's checkout-wait and creation
// histograms. They span an immediate checkout (well under 10µs) to a slow WASM
// instantiation (seconds).
var LatencyBounds = histogram.NewBounds(
	10*time.Microsecond, 100*time.Microsecond, 500*time.Microsecond,
	time.Millisecond, 2500*time.Microsecond, 5*time.Millisecond,
	10*time.Millisecond, 25*time.Millisecond, 50*time.Millisecond,
	100*time.Millisecond, 250*time.Millisecond, 500*time.Millisecond,
	time.Second, 2500*time.Millisecond, 5*time.Second, 10*time.Second,
)

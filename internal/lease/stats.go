package lease

import (
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/histogram"
)

// Stats is a snapshot of a table, taken under one lock: its figures are
// consistent with each other.
type Stats struct {
	Active    map[string]int     // live leases by pool; pools with none are absent
	Created   uint64             // leases added
	Released  uint64             // ended by Release without discard, or by Close
	Discarded uint64             // ended by Release with discard
	Expired   uint64             // ended by expiry
	Duration  histogram.Snapshot // how long each ended lease lived, from Add to its end
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
		Duration:  t.durations.Snapshot(),
	}
}

// DurationBounds are the bounds of the lease-lifetime histogram. Leases
// live from milliseconds to LEASE_MAX_TTL_MS (a day at most), so the buckets
// are wider than the pool's latency buckets.
var DurationBounds = histogram.NewBounds(
	100*time.Millisecond, 500*time.Millisecond,
	time.Second, 5*time.Second, 10*time.Second, 30*time.Second,
	time.Minute, 2*time.Minute, 5*time.Minute, 10*time.Minute,
	30*time.Minute, time.Hour, 6*time.Hour, 24*time.Hour,
)

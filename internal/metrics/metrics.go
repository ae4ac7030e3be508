// Package metrics exports the daemon's own Prometheus series, named
// riptide_*. Pool figures are read from the pools' Stats snapshots at scrape
// time, so the pools' hot paths pay nothing for them; only extraction
// outcomes, which no pool sees, are observed as they happen.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riptidecrawler/riptide-poold/internal/histogram"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
)

// Pool is one pool's snapshot as the collector exports it.
type Pool struct {
	Name  string
	Kind  string // "css", "regex" or "wasm"
	Stats pool.Stats
	// Leased is the number of instances out on a lease (part of InUse).
	Leased int
	// BreakerState is 0 closed, 1 half-open, 2 open.
	BreakerState int
	// MemoryBytes is the WASM linear memory of the pool's instances.
	MemoryBytes uint64
}

// Cache is a compiled-selector, -XPath expression or -pattern cache's
// counters.
type Cache struct {
	Name         string // "selector", "xpath" or "pattern"
	Hits, Misses uint64
	Len, Size    int
	// Streamed and StreamGaveUp are the selector cache's CSS questions
	// answered from the token stream, and given up on for the tree.
	Streamed, StreamGaveUp uint64
}

// Snapshot is everything the collector exports at one scrape.
type Snapshot struct {
	Pools  []Pool
	Caches []Cache
	// WASMMemoryBudgetBytes is WASM_MEMORY_LIMIT_MB in bytes; zero leaves
	// the pressure series out.
	WASMMemoryBudgetBytes uint64
	LeasesExpired         uint64
	LeaseDuration         histogram.Snapshot
	EventsPublished       uint64
	EventsDropped         uint64
	EventSubscribers      int
}

// Collector is a prometheus.Collector over a snapshot function.
type Collector struct {
	snapshot func() Snapshot

	instances, max, min, waiters, utilization *prometheus.Desc
	checkouts, waits, timeouts, created       *prometheus.Desc
	createFailures, destroyed, healthFailures *prometheus.Desc
	waitTime, createTime                      *prometheus.Desc
	breaker, memory, pressure, leases         *prometheus.Desc
	leasesExpired, cacheHits, cacheMisses     *prometheus.Desc
	leaseDuration, cssStream                  *prometheus.Desc
	cacheEntries, eventsPublished, eventsDrop *prometheus.Desc
	eventSubscribers                          *prometheus.Desc
}

// NewCollector returns a collector that calls snapshot once per scrape.
func NewCollector(snapshot func() Snapshot) *Collector {
	pl := []string{"pool"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("riptide_"+name, help, labels, nil)
	}
	return &Collector{
		snapshot:         snapshot,
		instances:        d("pool_instances", "Live instances by state (idle, in_use, creating; leased is part of in_use).", "pool", "state"),
		max:              d("pool_max_instances", "Most instances a pool keeps alive at once.", pl...),
		min:              d("pool_min_instances", "Warm instances a pool keeps.", pl...),
		waiters:          d("pool_waiters", "Requests waiting for an instance.", pl...),
		utilization:      d("pool_utilization_ratio", "Instances in use over max instances.", pl...),
		checkouts:        d("pool_checkouts_total", "Instances handed out.", pl...),
		waits:            d("pool_checkout_waits_total", "Checkouts that found no idle instance and waited.", pl...),
		timeouts:         d("pool_exhausted_total", "Checkouts that found no instance within the checkout timeout.", pl...),
		created:          d("pool_instances_created_total", "Instances created.", pl...),
		createFailures:   d("pool_creation_failures_total", "Instance creations that failed.", pl...),
		destroyed:        d("pool_instances_destroyed_total", "Instances destroyed, by reason.", "pool", "reason"),
		healthFailures:   d("pool_health_check_failures_total", "Instances that failed a health check.", pl...),
		waitTime:         d("pool_checkout_wait_seconds", "Time a checkout waited for an instance.", pl...),
		createTime:       d("pool_creation_seconds", "Time to create an instance.", pl...),
		breaker:          d("breaker_state", "The pool's circuit breaker: 0 closed, 1 half-open, 2 open.", pl...),
		memory:           d("wasm_memory_bytes", "WebAssembly linear memory of the pool's instances.", pl...),
		pressure:         d("wasm_memory_pressure_ratio", "WebAssembly memory in use over WASM_MEMORY_LIMIT_MB."),
		leases:           d("leases_active", "Instances out on a lease.", pl...),
		leasesExpired:    d("leases_expired_total", "Leases that expired and were reaped."),
		leaseDuration:    d("lease_duration_seconds", "How long ended leases lived."),
		cacheHits:        d("cache_hits_total", "Compiled selector, XPath expression or pattern cache hits.", "cache"),
		cacheMisses:      d("cache_misses_total", "Compiled selector, XPath expression or pattern cache misses (compilations).", "cache"),
		cacheEntries:     d("cache_entries", "Entries in a compiled selector, XPath expression or pattern cache.", "cache"),
		cssStream:        d("css_stream_total", "CSS questions tried on the token stream, by result: answered, or gave_up (answered from the parsed tree).", "result"),
		eventsPublished:  d("events_published_total", "Pool events published."),
		eventsDrop:       d("events_dropped_total", "Pool events dropped because a subscriber fell behind."),
		eventSubscribers: d("events_subscribers", "PoolEvents subscribers."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.instances, c.max, c.min, c.waiters, c.utilization, c.checkouts, c.waits,
		c.timeouts, c.created, c.createFailures, c.destroyed, c.healthFailures,
		c.waitTime, c.createTime, c.breaker, c.memory, c.pressure, c.leases,
		c.leasesExpired, c.leaseDuration, c.cacheHits, c.cacheMisses, c.cacheEntries, c.cssStream,
		c.eventsPublished, c.eventsDrop, c.eventSubscribers,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	snap := c.snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	hist := func(d *prometheus.Desc, h histogram.Snapshot, labels ...string) {
		ch <- prometheus.MustNewConstHistogram(d, h.Count, h.Sum.Seconds(), h.Cumulative(), labels...)
	}
	var memory uint64
	for _, p := range snap.Pools {
		st := p.Stats
		gauge(c.instances, float64(st.Idle), p.Name, "idle")
		gauge(c.instances, float64(st.InUse), p.Name, "in_use")
		gauge(c.instances, float64(st.Creating), p.Name, "creating")
		gauge(c.max, float64(st.Max), p.Name)
		gauge(c.min, float64(st.Min), p.Name)
		gauge(c.waiters, float64(st.Waiters), p.Name)
		gauge(c.utilization, st.Utilization, p.Name)
		counter(c.checkouts, st.Checkouts, p.Name)
		counter(c.waits, st.Waits, p.Name)
		counter(c.timeouts, st.Timeouts, p.Name)
		counter(c.created, st.Created, p.Name)
		counter(c.createFailures, st.CreateFailures, p.Name)
		for r, n := range st.Destroyed {
			counter(c.destroyed, n, p.Name, pool.DestroyReason(r).String())
		}
		counter(c.healthFailures, st.Destroyed[pool.ReasonUnhealthy], p.Name)
		hist(c.waitTime, st.WaitTime, p.Name)
		hist(c.createTime, st.CreateTime, p.Name)
		gauge(c.breaker, float64(p.BreakerState), p.Name)
		gauge(c.leases, float64(p.Leased), p.Name)
		if p.Kind == "wasm" {
			gauge(c.memory, float64(p.MemoryBytes), p.Name)
			memory += p.MemoryBytes
		}
	}
	if snap.WASMMemoryBudgetBytes > 0 {
		gauge(c.pressure, float64(memory)/float64(snap.WASMMemoryBudgetBytes))
	}
	for _, cache := range snap.Caches {
		counter(c.cacheHits, cache.Hits, cache.Name)
		counter(c.cacheMisses, cache.Misses, cache.Name)
		gauge(c.cacheEntries, float64(cache.Len), cache.Name)
		if cache.Name == "selector" {
			counter(c.cssStream, cache.Streamed, "answered")
			counter(c.cssStream, cache.StreamGaveUp, "gave_up")
		}
	}
	counter(c.leasesExpired, snap.LeasesExpired)
	hist(c.leaseDuration, snap.LeaseDuration)
	counter(c.eventsPublished, snap.EventsPublished)
	counter(c.eventsDrop, snap.EventsDropped)
	gauge(c.eventSubscribers, float64(snap.EventSubscribers))
}

// Extractions observes each extraction's duration by pool, extractor kind
// and outcome.
type Extractions struct {
	duration *prometheus.HistogramVec
}

// NewExtractions returns the extraction histograms, registered with reg.
func NewExtractions(reg prometheus.Registerer) *Extractions {
	e := &Extractions{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "riptide_extraction_duration_seconds",
		Help: "Time to answer an extraction, by pool, extractor kind and outcome (ok or the error reason).",
		// From tens of microseconds (a selector on a small page) to
		// seconds (a WASM article on a megabyte page).
		Buckets: prometheus.ExponentialBucketsRange(50e-6, 10, 16),
	}, []string{"pool", "extractor", "outcome"})}
	reg.MustRegister(e.duration)
	return e
}

// Observe records one extraction.
func (e *Extractions) Observe(pool, extractor, outcome string, d time.Duration) {
	if e == nil {
		return
	}
	e.duration.WithLabelValues(pool, extractor, outcome).Observe(d.Seconds())
}

// BuildInfo registers riptide_build_info{version} = 1.
func BuildInfo(reg prometheus.Registerer, version string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "riptide_build_info",
		Help:        "The daemon's version, as a label; always 1.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	g.Set(1)
	reg.MustRegister(g)
}

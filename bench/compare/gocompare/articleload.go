package main

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article/quality"
	"google.golang.org/grpc/status"
)

// articleLoad runs n callers, each making back-to-back article Extract calls
// (the bundled module, mode article) on every corpus page in turn, for dur
// at each caller count, and prints throughput, latency percentiles, the
// failures by status, and the daemon's resident memory (peak since it
// started, and now) after each count. Counts run in rising order on one
// daemon, so the peak is that of the highest count so far.
func articleLoad(ctx context.Context, c poolv1.PoolServiceClient, corpus string, counts []int, dur time.Duration, pid int) error {
	pages, err := loadPages(corpus)
	if err != nil {
		return err
	}
	reqs := make([]*poolv1.ExtractRequest, len(pages))
	for i, p := range pages {
		reqs[i] = &poolv1.ExtractRequest{
			Document: &poolv1.ExtractRequest_Html{Html: p.src},
			Url:      quality.PageURL,
			Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Module: "article", Mode: "article"}},
		}
	}
	info, err := c.ListExtractors(ctx, &poolv1.ListExtractorsRequest{})
	if err != nil {
		return err
	}
	engine := "?"
	for _, e := range info.GetExtractors() {
		if e.GetPool() == "article" {
			engine = e.GetEngine().String()
		}
	}
	hwm0, rss0 := procMemKB(pid)
	fmt.Printf("# article load: %d pages in turn, mode article; %v per caller count; engine %s; GOMAXPROCS %d; RSS before %d KiB (peak %d)\n",
		len(pages), dur, engine, runtime.GOMAXPROCS(0), rss0, hwm0)
	for _, n := range counts {
		lat, fails, wall := loadRunCodes(ctx, c, reqs, n, dur)
		slices.Sort(lat)
		pct := func(p float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(p*float64(len(lat))))]
		}
		hwm, rss := procMemKB(pid)
		fmt.Printf("articleload callers=%d calls=%d rps=%.1f p50_ms=%.1f p99_ms=%.1f failures=%v rss_peak_kb=%d rss_kb=%d\n",
			n, len(lat), float64(len(lat))/wall.Seconds(), float64(pct(0.5).Microseconds())/1e3,
			float64(pct(0.99).Microseconds())/1e3, fails, hwm, rss)
	}
	return nil
}

// loadRunCodes is loadRun counting failures by status code.
func loadRunCodes(ctx context.Context, c poolv1.PoolServiceClient, reqs []*poolv1.ExtractRequest, n int, dur time.Duration) ([]time.Duration, map[string]int, time.Duration) {
	type result struct {
		lat   []time.Duration
		fails map[string]int
	}
	results := make(chan result, n)
	start := time.Now()
	deadline := start.Add(dur)
	for w := range n {
		go func() {
			r := result{fails: map[string]int{}}
			for k := w * len(reqs) / n; time.Now().Before(deadline); k++ {
				t0 := time.Now()
				if _, err := c.Extract(ctx, reqs[k%len(reqs)]); err != nil {
					r.fails[status.Code(err).String()]++
					continue
				}
				r.lat = append(r.lat, time.Since(t0))
			}
			results <- r
		}()
	}
	var (
		lat   []time.Duration
		fails = map[string]int{}
	)
	for range n {
		r := <-results
		lat = append(lat, r.lat...)
		for k, v := range r.fails {
			fails[k] += v
		}
	}
	return lat, fails, time.Since(start)
}

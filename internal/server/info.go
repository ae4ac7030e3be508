package server

import (
	"context"
	"slices"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"google.golang.org/protobuf/types/known/durationpb"
)

// GetMetrics answers per-pool statistics.
func (s *Service) GetMetrics(ctx context.Context, req *poolv1.GetMetricsRequest) (*poolv1.GetMetricsResponse, error) {
	want := func(name string) bool {
		return len(req.GetPools()) == 0 || slices.Contains(req.GetPools(), name)
	}
	resp := &poolv1.GetMetricsResponse{}
	if np := s.native; np != nil {
		css, regex := np.CSS.Stats(), np.Regex.Stats()
		if want(PoolCSS) {
			resp.Pools = append(resp.Pools, poolStats(css, poolv1.ExtractorKind_EXTRACTOR_KIND_CSS))
		}
		if want(PoolRegex) {
			resp.Pools = append(resp.Pools, poolStats(regex, poolv1.ExtractorKind_EXTRACTOR_KIND_REGEX))
		}
		sel, pat := np.Selectors.Stats(), np.Patterns.Stats()
		resp.Native = &poolv1.NativeMetrics{
			CssInUse:            uint32(css.InUse),
			CssTotal:            uint32(css.Total),
			RegexInUse:          uint32(regex.InUse),
			RegexTotal:          uint32(regex.Total),
			SelectorCacheHits:   sel.Hits,
			SelectorCacheMisses: sel.Misses,
			PatternCacheHits:    pat.Hits,
			PatternCacheMisses:  pat.Misses,
		}
	}
	for _, name := range req.GetPools() {
		if !s.hasPool(name) {
			return nil, invalidArgument("pools", "unknown pool %q", name)
		}
	}
	return resp, nil
}

// hasPool reports whether name is a pool of this daemon.
func (s *Service) hasPool(name string) bool {
	return s.native != nil && (name == PoolCSS || name == PoolRegex)
}

// ListExtractors answers the pools and the limits.
func (s *Service) ListExtractors(ctx context.Context, _ *poolv1.ListExtractorsRequest) (*poolv1.ListExtractorsResponse, error) {
	resp := &poolv1.ListExtractorsResponse{Limits: &poolv1.Limits{
		MaxDocumentBytes:  uint64(s.limits.MaxDocumentBytes),
		MaxResultBytes:    uint64(s.limits.MaxResultBytes),
		MaxMatches:        uint32(s.limits.MaxMatches),
		MaxSelectorLength: uint32(s.limits.MaxSelectorLen),
		MaxPatternLength:  uint32(s.limits.MaxPatternLen),
		CheckoutTimeout:   durationpb.New(s.limits.CheckoutTimeout),
		MaxFields:         uint32(s.limits.MaxFields),
	}}
	if np := s.native; np != nil {
		for _, e := range []struct {
			name  string
			kind  poolv1.ExtractorKind
			stats pool.Stats
		}{
			{PoolCSS, poolv1.ExtractorKind_EXTRACTOR_KIND_CSS, np.CSS.Stats()},
			{PoolRegex, poolv1.ExtractorKind_EXTRACTOR_KIND_REGEX, np.Regex.Stats()},
		} {
			resp.Extractors = append(resp.Extractors, &poolv1.Extractor{
				Pool:         e.name,
				Kind:         e.kind,
				MinInstances: uint32(e.stats.Min),
				MaxInstances: uint32(e.stats.Max),
			})
		}
	}
	return resp, nil
}

// poolStats converts a pool's snapshot.
func poolStats(st pool.Stats, kind poolv1.ExtractorKind) *poolv1.PoolStats {
	destroyed := make(map[string]uint64, pool.NumReasons)
	for r, n := range st.Destroyed {
		if n > 0 {
			destroyed[pool.DestroyReason(r).String()] = n
		}
	}
	return &poolv1.PoolStats{
		Pool:           st.Name,
		Kind:           kind,
		Total:          uint32(st.Total),
		InUse:          uint32(st.InUse),
		Idle:           uint32(st.Idle),
		Creating:       uint32(st.Creating),
		Waiters:        uint32(st.Waiters),
		Min:            uint32(st.Min),
		Max:            uint32(st.Max),
		Utilization:    st.Utilization,
		Checkouts:      st.Checkouts,
		Waits:          st.Waits,
		Timeouts:       st.Timeouts,
		Created:        st.Created,
		CreateFailures: st.CreateFailures,
		Destroyed:      destroyed,
		AvgWait:        durationpb.New(st.AvgWait),
		P99Wait:        durationpb.New(st.P99Wait),
		AvgCreation:    durationpb.New(st.AvgCreate),
		BreakerState:   poolv1.BreakerState_BREAKER_STATE_CLOSED,
	}
}

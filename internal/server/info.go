package server

import (
	"context"
	"slices"
	"strings"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/articlepool"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/events"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"github.com/riptidecrawler/riptide-poold/internal/wasmpool"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// PoolView is one pool as the daemon's read-only RPCs and metrics see it.
type PoolView struct {
	Name        string
	Kind        poolv1.ExtractorKind
	Stats       pool.Stats
	Breaker     breaker.State
	MemoryBytes uint64
	Leased      int
	// Module is set for WebAssembly pools.
	Module *wasmpool.Pool
	// Engine says what runs the pool's extractions.
	Engine poolv1.ExtractorEngine
	// Article is set for the bundled article module run natively
	// (ARTICLE_ENGINE=native).
	Article *articlepool.Pool
	// Backoff is the state of the pool's retries of failed creations.
	Backoff pool.Backoff
}

// Pools returns a snapshot of every pool: css, regex, then the modules by
// name.
func (s *Service) Pools() []PoolView {
	var out []PoolView
	if np := s.native; np != nil {
		out = append(out,
			PoolView{Name: PoolCSS, Kind: poolv1.ExtractorKind_EXTRACTOR_KIND_CSS, Stats: np.CSS.Stats(), Engine: engineNative, Backoff: np.CSS.Backoff()},
			PoolView{Name: PoolRegex, Kind: poolv1.ExtractorKind_EXTRACTOR_KIND_REGEX, Stats: np.Regex.Stats(), Engine: engineNative, Backoff: np.Regex.Backoff()},
		)
	}
	modules := len(out)
	if s.wasm != nil {
		for _, p := range s.wasm.Pools() {
			out = append(out, PoolView{
				Name:        p.Name,
				Kind:        poolv1.ExtractorKind_EXTRACTOR_KIND_WASM,
				Stats:       p.Pool.Stats(),
				Breaker:     p.Breaker.State(),
				MemoryBytes: p.MemoryBytes(),
				Module:      p,
				Engine:      poolv1.ExtractorEngine_EXTRACTOR_ENGINE_WASM,
				Backoff:     p.Pool.Backoff(),
			})
		}
	}
	if a := s.article; a != nil {
		// The bundled module, run natively: still a module to its clients.
		out = append(out, PoolView{
			Name:    DefaultModule,
			Kind:    poolv1.ExtractorKind_EXTRACTOR_KIND_WASM,
			Stats:   a.Pool.Stats(),
			Breaker: a.Breaker.State(),
			Engine:  engineNative,
			Article: a,
			Backoff: a.Pool.Backoff(),
		})
		slices.SortFunc(out[modules:], func(a, b PoolView) int { return strings.Compare(a.Name, b.Name) })
	}
	for i := range out {
		out[i].Leased = s.leased(out[i].Name)
	}
	return out
}

// GetMetrics answers per-pool statistics and memory statistics.
func (s *Service) GetMetrics(ctx context.Context, req *poolv1.GetMetricsRequest) (*poolv1.GetMetricsResponse, error) {
	views := s.Pools()
	for _, name := range req.GetPools() {
		if !slices.ContainsFunc(views, func(v PoolView) bool { return v.Name == name }) {
			return nil, invalidArgument("pools", "unknown pool %q", name)
		}
	}
	resp := &poolv1.GetMetricsResponse{Memory: s.memoryStats()}
	for _, v := range views {
		if len(req.GetPools()) == 0 || slices.Contains(req.GetPools(), v.Name) {
			resp.Pools = append(resp.Pools, poolStats(v))
		}
	}
	if np := s.native; np != nil {
		css, regex := views[0].Stats, views[1].Stats
		sel, pat, xp := np.Selectors.Stats(), np.Patterns.Stats(), np.Selectors.XPath().Stats()
		resp.Native = &poolv1.NativeMetrics{
			CssInUse:            uint32(css.InUse),
			CssTotal:            uint32(css.Total),
			RegexInUse:          uint32(regex.InUse),
			RegexTotal:          uint32(regex.Total),
			SelectorCacheHits:   sel.Hits,
			SelectorCacheMisses: sel.Misses,
			PatternCacheHits:    pat.Hits,
			PatternCacheMisses:  pat.Misses,
			XpathCacheHits:      xp.Hits,
			XpathCacheMisses:    xp.Misses,
			XpathCacheEntries:   uint32(xp.Len),
		}
	}
	return resp, nil
}

// ListExtractors answers the pools and the limits.
func (s *Service) ListExtractors(ctx context.Context, _ *poolv1.ListExtractorsRequest) (*poolv1.ListExtractorsResponse, error) {
	resp := &poolv1.ListExtractorsResponse{Limits: &poolv1.Limits{
		MaxDocumentBytes:    uint64(s.limits.MaxDocumentBytes),
		MaxResultBytes:      uint64(s.limits.MaxResultBytes),
		MaxMatches:          uint32(s.limits.MaxMatches),
		MaxSelectorLength:   uint32(s.limits.MaxSelectorLen),
		MaxPatternLength:    uint32(s.limits.MaxPatternLen),
		CheckoutTimeout:     durationpb.New(s.limits.CheckoutTimeout),
		LeaseDefaultTtl:     durationpb.New(s.limits.LeaseDefaultTTL),
		LeaseMaxTtl:         durationpb.New(s.limits.LeaseMaxTTL),
		MaxFields:           uint32(s.limits.MaxFields),
		MaxXpathSteps:       uint64(s.limits.Normalized().MaxXPathSteps),
		MaxJsonLdBytes:      native.MaxJSONLDBytes,
		MaxJsonLdDepth:      native.MaxJSONLDDepth,
		MaxStructuredItems:  native.MaxStructuredItems,
		MaxMicrodataDepth:   native.MaxMicrodataDepth,
		MaxRdfaDepth:        native.MaxRDFaDepth,
		MaxRdfaBytes:        native.MaxRDFaBytes,
		MaxXpathNesting:     native.MaxXPathNesting,
		MaxMicroformatDepth: native.MaxMicroformatDepth,
		MaxMicroformatBytes: native.MaxMicroformatBytes,
		MaxWork:             uint64(s.limits.Normalized().MaxWork),
		CssMaxElementWork:   uint64(s.limits.Normalized().MaxElementWork),
		CssMaxHasDepth:      uint32(s.limits.Normalized().MaxHasDepth),
	}}
	for _, v := range s.Pools() {
		e := &poolv1.Extractor{
			Pool:         v.Name,
			Kind:         v.Kind,
			MinInstances: uint32(v.Stats.Min),
			MaxInstances: uint32(v.Stats.Max),
		}
		e.Specs = poolSpecs(v.Kind)
		e.Engine = v.Engine
		e.CreationBackoff = creationBackoff(v.Backoff)
		if a := v.Article; a != nil {
			l := a.Limits()
			e.Modes = article.Modes()
			e.AbiVersion = articleABIVersion
			e.ExtractTimeout = durationpb.New(l.Timeout)
			e.MaxDocumentBytes = uint64(min(l.MaxDocumentBytes, s.limits.MaxDocumentBytes))
		}
		if m := v.Module; m != nil {
			e.Modes = m.Module.Modes()
			e.AbiVersion = uint32(m.Module.ABIVersion())
			e.Trusted = m.Module.Trusted()
			e.Sha256 = m.SHA256
			e.InstanceMemoryLimitMb = uint32(s.limits.InstanceMemoryLimitMB)
			e.ExtractTimeout = durationpb.New(s.limits.ExtractTimeout)
			e.ModuleLimits = s.moduleLimits(m)
			e.MaxDocumentBytes = e.ModuleLimits.GetMaxDocumentBytes()
		}
		resp.Extractors = append(resp.Extractors, e)
	}
	return resp, nil
}

// engineNative is the engine of the pools that run in the daemon's process.
const engineNative = poolv1.ExtractorEngine_EXTRACTOR_ENGINE_NATIVE

// articleABIVersion is the guest ABI version of the bundled article module,
// which the native engine reports in its place: its answers are the same.
const articleABIVersion = 1

// moduleLimits are the published bounds of one module's calls.
func (s *Service) moduleLimits(p *wasmpool.Pool) *poolv1.ModuleLimits {
	rt := p.Module.Runtime()
	doc := uint64(p.Module.DocumentLimit())
	if daemon := uint64(s.limits.MaxDocumentBytes); daemon > 0 {
		doc = min(doc, daemon)
	}
	return &poolv1.ModuleLimits{
		MaxDocumentBytes:     doc,
		DocumentBlameBytes:   uint64(p.Module.BlameDocumentBytes()),
		MaxResultBytes:       uint64(rt.ResultLimitBytes()),
		MaxResultDepth:       wasm.MaxResultDepth,
		MaxErrorTextBytes:    wasm.MaxGuestTextBytes,
		MaxTableEntries:      wasm.MaxTableEntries,
		HousekeepingTimeout:  durationpb.New(rt.HousekeepingTimeout()),
		MaxStackBytes:        p.Module.StackLimitBytes(),
		FirstStackBytes:      p.Module.FirstStackBytes(),
		StackAllowanceBytes:  p.Module.StackAllowanceBytes(),
		TableBytes:           p.Module.TableBytes(),
		FreshInstanceBytes:   p.Module.FreshMemoryBytes(),
		CallStackChargeBytes: p.Module.CallStackChargeBytes(),
		MaxFailureLogLines:   wasm.FailureLogLines,
		FailureLogWindow:     durationpb.New(wasm.FailureLogWindow),
		MaxEventReasonBytes:  events.MaxReasonBytes,
	}
}

// creationBackoff converts the state of a pool's creation retries.
func creationBackoff(b pool.Backoff) *poolv1.CreationBackoff {
	out := &poolv1.CreationBackoff{
		Active:              b.Pending,
		Delay:               durationpb.New(b.Delay),
		ConsecutiveFailures: b.Failures,
		FirstDelay:          durationpb.New(b.First),
		MaxDelay:            durationpb.New(b.Max),
	}
	if b.Pending {
		out.NextRetry = timestamppb.New(b.RetryAt)
	}
	return out
}

// poolStats converts a pool's snapshot.
func poolStats(v PoolView) *poolv1.PoolStats {
	st := v.Stats
	destroyed := make(map[string]uint64, pool.NumReasons)
	for r, n := range st.Destroyed {
		if n > 0 {
			destroyed[pool.DestroyReason(r).String()] = n
		}
	}
	return &poolv1.PoolStats{
		Pool:           v.Name,
		Kind:           v.Kind,
		Total:          uint32(st.Total),
		InUse:          uint32(st.InUse),
		Idle:           uint32(st.Idle),
		Leased:         uint32(v.Leased),
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
		BreakerState:   breakerState(v.Breaker),
		MemoryBytes:    v.MemoryBytes,
	}
}

// breakerState converts a breaker state.
func breakerState(s breaker.State) poolv1.BreakerState {
	switch s {
	case breaker.StateOpen:
		return poolv1.BreakerState_BREAKER_STATE_OPEN
	case breaker.StateHalfOpen:
		return poolv1.BreakerState_BREAKER_STATE_HALF_OPEN
	}
	return poolv1.BreakerState_BREAKER_STATE_CLOSED
}

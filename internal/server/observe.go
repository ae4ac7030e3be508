package server

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/events"
	"github.com/riptidecrawler/riptide-poold/internal/health"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// errorWindows counts extraction outcomes over a sliding minute, in all and
// per pool, for the health report. Only the daemon's own failures count:
// a caller's bad request or cancellation says nothing about its health.
// A pool's own faults (see poolFault) count in its pool's windows and not
// in all: one failing module is scored as one pool (package health).
type errorWindows struct {
	// all counts the successes and the failures that are no one pool's
	// own fault.
	all    *health.ErrorWindow
	mu     sync.Mutex
	byPool map[string]*poolWindows
}

// poolWindows are one pool's windows, looked up together: a call's outcome
// takes one map lookup whatever it counts in.
type poolWindows struct {
	// errors counts the pool's successes and failures, its own and the
	// daemon's.
	errors *health.ErrorWindow
	// faults counts its successes and its own faults.
	faults *health.ErrorWindow
	// refused counts the callers answered POOL_EXHAUSTED over the same
	// minute (as failures), with no minimum of samples: two refusals are
	// news on an idle daemon too.
	refused *health.ErrorWindow
}

func newErrorWindows() *errorWindows {
	return &errorWindows{all: newWindow(), byPool: make(map[string]*poolWindows)}
}

// minSamples is the number of outcomes below which an error window
// reports no rate, so that one failure on an idle daemon is not a 100 %
// rate.
const minSamples = 10

// newWindow is a one-minute window that reports no rate until it has seen
// minSamples outcomes.
func newWindow() *health.ErrorWindow {
	return health.NewErrorWindow(health.WindowConfig{MinSamples: minSamples})
}

// rateOf is failed over ok + failed, or 0 under minSamples outcomes, as an
// ErrorWindow's Rate.
func rateOf(ok, failed uint64) float64 {
	if ok+failed == 0 || ok+failed < minSamples {
		return 0
	}
	return float64(failed) / float64(ok+failed)
}

// pool returns pool name's windows, made on first use.
func (w *errorWindows) pool(name string) *poolWindows {
	w.mu.Lock()
	defer w.mu.Unlock()
	pw := w.byPool[name]
	if pw == nil {
		pw = &poolWindows{
			errors:  newWindow(),
			faults:  newWindow(),
			refused: health.NewErrorWindow(health.WindowConfig{}),
		}
		w.byPool[name] = pw
	}
	return pw
}

// refusals is the number of callers pool name answered POOL_EXHAUSTED in
// the last minute.
func (w *errorWindows) refusals(name string) uint64 {
	_, n := w.pool(name).refused.Counts()
	return n
}

// poolFault reports whether a call that failed with err (its outcome
// already read) failed by its pool's own fault: what its extractor or
// module did (a trap, a timeout, a failed creation), its breaker's answer
// to that, and memory its module's own share had no room for.
// Exhaustion, the rest of the memory budget's refusals and internal errors
// are the daemon's.
func poolFault(outcome string, err error) bool {
	switch outcome {
	case ReasonExtractorFailed, ReasonExtractorTimeout, ReasonCreationFailed, ReasonCircuitOpen:
		return true
	case ReasonMemoryLimitExceeded:
		for _, d := range status.Convert(err).Details() {
			if info, ok := d.(*errdetails.ErrorInfo); ok {
				return info.GetMetadata()[metadataShare] == shareExceeded
			}
		}
	}
	return false
}

// record counts one extraction's outcome, unless it is the caller's fault;
// fault tells a failure that is the pool's own (poolFault).
func (w *errorWindows) record(pool, outcome string, fault bool) {
	var ok bool
	switch outcome {
	case "ok":
		ok = true
	case ReasonExtractorFailed, ReasonExtractorTimeout, ReasonCreationFailed, ReasonCircuitOpen,
		ReasonPoolExhausted, ReasonMemoryLimitExceeded, ReasonInternalError, codes.Internal.String(), codes.Unknown.String():
		ok = false
	default:
		return
	}
	named := pool != "" && pool != "unknown"
	fault = fault && !ok
	if !fault || !named {
		w.all.Record(ok)
	}
	if named {
		pw := w.pool(pool)
		pw.errors.Record(ok)
		if ok || fault {
			pw.faults.Record(ok)
		}
		if outcome == ReasonPoolExhausted {
			pw.refused.Record(false)
		}
	}
}

// SetDraining tells the service that the daemon is shutting down, for the
// health report.
func (s *Service) SetDraining(v bool) { s.draining.Store(v) }

// Report evaluates the daemon's health now.
func (s *Service) Report() health.Report {
	in := health.Input{Draining: s.draining.Load()}
	for _, v := range s.Pools() {
		in.Pools = append(in.Pools, health.PoolInput{
			Pool:      v.Name,
			Total:     v.Stats.Total,
			InUse:     v.Stats.InUse,
			Idle:      v.Stats.Idle,
			Leased:    v.Leased,
			Waiters:   v.Stats.Waiters,
			Max:       v.Stats.Max,
			Breaker:   v.Breaker,
			ErrorRate: s.errors.pool(v.Name).errors.Rate(),
			FaultRate: s.errors.pool(v.Name).faults.Rate(),

			Refused:       s.errors.refusals(v.Name),
			Overrunning:   v.Stats.Overrunning,
			CreateFailing: v.Stats.CreateFailing,
			Conditions:    s.wasmConditions(v.Name),
		})
	}
	// A failing pool's callers answered POOL_EXHAUSTED were refused because
	// its instances are held by calls that fail by its fault: the refusals
	// are its faults too (package health, Failing), not the daemon's.
	ok, failed := s.errors.all.Counts()
	for i := range in.Pools {
		p := &in.Pools[i]
		if !health.Failing(*p) || p.Refused == 0 {
			continue
		}
		// The windows age apart by a bucket at most: never move more
		// failures than there are.
		moved := min(p.Refused, failed)
		failed -= moved
		fok, ffailed := s.errors.pool(p.Pool).faults.Counts()
		p.FaultRate = rateOf(fok, ffailed+moved)
	}
	in.ErrorRate = rateOf(ok, failed)
	if s.wasm != nil {
		m := s.wasm.Memory()
		in.MemoryUsedBytes, in.MemoryBudgetBytes = m.UsedBytes, m.BudgetBytes
	}
	return health.Evaluate(in)
}

// wasmConditions names the conditions of a WebAssembly pool (none for the
// native pools).
func (s *Service) wasmConditions(name string) []string {
	if s.wasm == nil {
		return nil
	}
	p, err := s.wasm.Get(name)
	if err != nil {
		return nil
	}
	var out []string
	for _, c := range p.Conditions() {
		out = append(out, c.Name)
	}
	return out
}

// Health answers the health report.
func (s *Service) Health(ctx context.Context, _ *poolv1.HealthRequest) (*poolv1.HealthResponse, error) {
	r := s.Report()
	resp := &poolv1.HealthResponse{
		Level:          poolv1.HealthLevel(r.Level),
		Score:          uint32(r.Score),
		Utilization:    r.Utilization,
		MemoryPressure: r.MemoryPressure,
		ErrorRate:      r.ErrorRate,
		Uptime:         durationpb.New(time.Since(s.started)),
		Version:        s.version,
		Reasons:        r.Reasons,
	}
	if s.wasm != nil {
		resp.MemoryUsageMb = mib(s.wasm.Memory().UsedBytes)
	}
	views := make(map[string]PoolView)
	for _, v := range s.Pools() {
		views[v.Name] = v
	}
	for _, p := range r.Pools {
		ph := &poolv1.PoolHealth{
			Pool:         p.Pool,
			Total:        uint32(p.Total),
			InUse:        uint32(p.InUse),
			Idle:         uint32(p.Idle),
			Leased:       uint32(p.Leased),
			Waiters:      uint32(p.Waiters),
			Max:          uint32(p.Max),
			BreakerState: breakerState(p.Breaker),
			ErrorRate:    p.ErrorRate,
			FaultRate:    p.FaultRate,
			PointsLost:   uint32(p.Lost),
			Reasons:      p.Reasons,
		}
		if v, ok := views[p.Pool]; ok {
			ph.Engine = v.Engine
			if a := v.Article; a != nil {
				st := a.Stats()
				ph.AbandonedRunning, ph.AbandonedTotal = uint32(st.Running), st.Abandoned
			}
		}
		resp.Pools = append(resp.Pools, ph)
	}
	return resp, nil
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// memoryStats answers the WebAssembly pools' memory figures.
func (s *Service) memoryStats() *poolv1.MemoryStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out := &poolv1.MemoryStats{GoHeapMb: mib(ms.HeapInuse)}
	if s.wasm != nil {
		m := s.wasm.Memory()
		out.TotalAllocatedMb = mib(m.UsedBytes)
		out.InUseMb = mib(m.InUseBytes)
		out.PeakMb = mib(m.PeakBytes)
		out.GcCount = m.Sweeps
		out.InstancesRecycled = m.Recycled
		out.BudgetMb = mib(m.BudgetBytes)
		out.Pressure = m.Pressure
	}
	return out
}

// minForceGCInterval rate-limits ForceGC: a sweep walks every instance and
// returns memory to the OS, which is not free. Only ForceGC calls count
// against it, not the daemon's own sweeps, which run every second under
// memory pressure, exactly when an operator may want to force one.
const minForceGCInterval = time.Second

// Sweep runs the memory sweep and publishes GcCompleted. The daemon calls it
// every GC_INTERVAL_MS and when memory pressure crosses the threshold.
func (s *Service) Sweep(ctx context.Context) (reclaimed uint64, recycled int, took time.Duration) {
	if s.wasm == nil {
		return 0, 0, 0
	}
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	res := s.wasm.Sweep(ctx)
	s.publish(events.Event{Kind: events.GcCompleted, ReclaimedBytes: res.ReclaimedBytes, Recycled: res.Recycled})
	return res.ReclaimedBytes, res.Recycled, res.Duration
}

// ForceGC runs the memory sweep now.
func (s *Service) ForceGC(ctx context.Context, _ *poolv1.ForceGCRequest) (*poolv1.ForceGCResponse, error) {
	s.forceMu.Lock()
	since := time.Since(s.lastForced)
	if since >= minForceGCInterval {
		s.lastForced = time.Now()
	}
	s.forceMu.Unlock()
	if since < minForceGCInterval {
		wait := minForceGCInterval - since
		return nil, statusError(codes.ResourceExhausted, ReasonRateLimited,
			fmt.Sprintf("ForceGC ran %s ago; it runs at most once a second", since.Round(time.Millisecond)),
			nil, retryAfter(wait))
	}
	before := s.memoryStats()
	reclaimed, recycled, took := s.Sweep(ctx)
	if took == 0 {
		// No WebAssembly pools: still return freed Go memory.
		began := time.Now()
		debug.FreeOSMemory()
		took = time.Since(began)
	}
	return &poolv1.ForceGCResponse{
		Before:         before,
		After:          s.memoryStats(),
		ReclaimedBytes: reclaimed,
		Recycled:       uint32(recycled),
		Duration:       durationpb.New(took),
	}, nil
}

// publish sends an event to the bus, if there is one.
func (s *Service) publish(e events.Event) {
	if s.bus != nil {
		s.bus.Publish(e)
	}
}

// defaultEventBuffer and maxEventBuffer bound a subscriber's buffer.
const (
	defaultEventBuffer = 256
	maxEventBuffer     = 65536
)

// PoolEvents streams pool events until the client goes away or the daemon
// shuts down.
func (s *Service) PoolEvents(req *poolv1.PoolEventsRequest, stream poolv1.PoolService_PoolEventsServer) error {
	if s.bus == nil {
		return unimplemented("the pool event stream")
	}
	var f events.Filter
	for _, k := range req.GetKinds() {
		kind, ok := eventKind(k)
		if !ok {
			return invalidArgument("kinds", "unknown event kind %v", k)
		}
		f.Kinds = append(f.Kinds, kind)
	}
	for i, name := range req.GetPools() {
		if !s.knownPool(name) {
			return invalidArgument(fmt.Sprintf("pools[%d]", i), "unknown pool %q; ListExtractors lists the pools", name)
		}
	}
	f.Pools = req.GetPools()
	buffer := int(req.GetBufferSize())
	switch {
	case buffer == 0:
		buffer = defaultEventBuffer
	case buffer > maxEventBuffer:
		return invalidArgument("buffer_size", "%d is over the maximum of %d", buffer, maxEventBuffer)
	}
	sub := s.bus.Subscribe(f, buffer)
	defer sub.Close()
	ctx := stream.Context()
	for {
		e, err := sub.Next(ctx)
		switch {
		case errors.Is(err, events.ErrClosed):
			return nil // the daemon is shutting down: end the stream cleanly
		case err != nil:
			return status.FromContextError(err).Err()
		}
		if err := stream.Send(&poolv1.PoolEventsResponse{Event: poolEvent(e)}); err != nil {
			return err
		}
	}
}

// eventKinds maps the API's kinds to the bus's, in the proto's order.
var eventKinds = map[poolv1.EventKind]events.Kind{
	poolv1.EventKind_EVENT_KIND_INSTANCE_CREATED:      events.InstanceCreated,
	poolv1.EventKind_EVENT_KIND_INSTANCE_DESTROYED:    events.InstanceDestroyed,
	poolv1.EventKind_EVENT_KIND_INSTANCE_CHECKED_OUT:  events.InstanceCheckedOut,
	poolv1.EventKind_EVENT_KIND_INSTANCE_RETURNED:     events.InstanceReturned,
	poolv1.EventKind_EVENT_KIND_HEALTH_CHECK_FAILED:   events.HealthCheckFailed,
	poolv1.EventKind_EVENT_KIND_MEMORY_PRESSURE:       events.MemoryPressure,
	poolv1.EventKind_EVENT_KIND_CIRCUIT_STATE_CHANGED: events.CircuitStateChanged,
	poolv1.EventKind_EVENT_KIND_POOL_EXHAUSTED:        events.PoolExhausted,
	poolv1.EventKind_EVENT_KIND_LEASE_EXPIRED:         events.LeaseExpired,
	poolv1.EventKind_EVENT_KIND_GC_COMPLETED:          events.GcCompleted,
	poolv1.EventKind_EVENT_KIND_MODULE_LOADED:         events.ModuleLoaded,
	poolv1.EventKind_EVENT_KIND_EVENTS_DROPPED:        events.EventsDropped,
	poolv1.EventKind_EVENT_KIND_POOL_CONDITION:        events.PoolCondition,
}

func eventKind(k poolv1.EventKind) (events.Kind, bool) {
	kind, ok := eventKinds[k]
	return kind, ok
}

// poolEvent converts a bus event to the API's.
func poolEvent(e events.Event) *poolv1.PoolEvent {
	out := &poolv1.PoolEvent{Time: timestamppb.New(e.Time), Pool: e.Pool, InstanceId: e.InstanceID}
	if out.InstanceId == "" && e.Item != 0 {
		out.InstanceId = instanceID(e.Pool, e.Item)
	}
	switch e.Kind {
	case events.InstanceCreated:
		out.Kind = &poolv1.PoolEvent_InstanceCreated{InstanceCreated: &poolv1.InstanceCreated{}}
	case events.InstanceDestroyed:
		out.Kind = &poolv1.PoolEvent_InstanceDestroyed{InstanceDestroyed: &poolv1.InstanceDestroyed{Reason: e.Reason}}
	case events.InstanceCheckedOut:
		out.Kind = &poolv1.PoolEvent_InstanceCheckedOut{InstanceCheckedOut: &poolv1.InstanceCheckedOut{}}
	case events.InstanceReturned:
		out.Kind = &poolv1.PoolEvent_InstanceReturned{InstanceReturned: &poolv1.InstanceReturned{}}
	case events.HealthCheckFailed:
		out.Kind = &poolv1.PoolEvent_HealthCheckFailed{HealthCheckFailed: &poolv1.HealthCheckFailed{Reason: e.Reason}}
	case events.MemoryPressure:
		out.Kind = &poolv1.PoolEvent_MemoryPressure{MemoryPressure: &poolv1.MemoryPressure{
			Level: pressureLevel(e.Level), Pressure: e.Pressure}}
	case events.CircuitStateChanged:
		out.Kind = &poolv1.PoolEvent_CircuitStateChanged{CircuitStateChanged: &poolv1.CircuitStateChanged{
			From: breakerStateName(e.From), To: breakerStateName(e.To)}}
	case events.PoolExhausted:
		out.Kind = &poolv1.PoolEvent_PoolExhausted{PoolExhausted: &poolv1.PoolExhausted{Waiters: uint32(e.Waiters)}}
	case events.LeaseExpired:
		out.Kind = &poolv1.PoolEvent_LeaseExpired{LeaseExpired: &poolv1.LeaseExpired{LeaseId: e.LeaseID}}
	case events.GcCompleted:
		out.Kind = &poolv1.PoolEvent_GcCompleted{GcCompleted: &poolv1.GcCompleted{
			ReclaimedBytes: e.ReclaimedBytes, Recycled: uint32(e.Recycled)}}
	case events.ModuleLoaded:
		out.Kind = &poolv1.PoolEvent_ModuleLoaded{ModuleLoaded: &poolv1.ModuleLoaded{
			Module: e.Pool, AbiVersion: uint32(e.ABIVersion), Sha256: e.Digest}}
	case events.EventsDropped:
		out.Kind = &poolv1.PoolEvent_EventsDropped{EventsDropped: &poolv1.EventsDropped{Count: e.Count}}
	case events.PoolCondition:
		out.Kind = &poolv1.PoolEvent_PoolCondition{PoolCondition: &poolv1.PoolCondition{
			Condition: e.Condition, Active: e.Active, Detail: e.Reason}}
	}
	return out
}

// Memory pressure levels as the bus carries them.
const (
	PressureNormal   = "normal"
	PressureHigh     = "high"
	PressureCritical = "critical"
)

func pressureLevel(s string) poolv1.MemoryPressureLevel {
	switch s {
	case PressureNormal:
		return poolv1.MemoryPressureLevel_MEMORY_PRESSURE_LEVEL_NORMAL
	case PressureHigh:
		return poolv1.MemoryPressureLevel_MEMORY_PRESSURE_LEVEL_HIGH
	case PressureCritical:
		return poolv1.MemoryPressureLevel_MEMORY_PRESSURE_LEVEL_CRITICAL
	}
	return poolv1.MemoryPressureLevel_MEMORY_PRESSURE_LEVEL_UNSPECIFIED
}

// breakerStateName converts a breaker state carried by name on the bus.
func breakerStateName(name string) poolv1.BreakerState {
	st, ok := breaker.ParseState(name)
	if !ok {
		return poolv1.BreakerState_BREAKER_STATE_UNSPECIFIED
	}
	return breakerState(st)
}

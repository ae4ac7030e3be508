// Package health scores the daemon's health from its pools, memory and
// error rate.
//
// Evaluate is a pure function of an Input: the server gathers the pools'
// stats, the breakers' states, the WASM memory in use and the error rate of
// an ErrorWindow, and maps the Report onto HealthResponse.
//
// # Scoring rules
//
// The score starts at 100. Each rule that applies subtracts points and adds
// one line to Report.Reasons; the score never falls below 0. Some rules
// also cap the score, which forces the level down whatever the other
// rules say. Utilization is ΣInUse / ΣMax over pools with a Max (leased
// instances are in InUse); memory pressure is MemoryUsedBytes /
// MemoryBudgetBytes (0 without a budget).
//
//	| rule | condition                                     | points lost                            | score at most   |
//	|------|-----------------------------------------------|----------------------------------------|-----------------|
//	| U    | utilization u > 0.80                          | 25 × (u − 0.80) / 0.20, at most 25     |                 |
//	| W    | some pool has waiters                         | 10                                     |                 |
//	| X    | a pool is exhausted: every instance in use    | 20 per pool, at most 40                |                 |
//	| R    | POOL_EXHAUSTED answered in the last minute    | 15                                     |                 |
//	| O    | a pool has calls running past their deadline  | 25 per pool, at most 50                |                 |
//	| C    | a pool cannot create an instance and has none | 30 per pool, at most 60                |                 |
//	|      | idle (its latest creation failed)             |                                        |                 |
//	| M1   | memory pressure ≥ 0.70                        | 10                                     |                 |
//	| M2   | memory pressure ≥ 0.90                        | 25 (instead of M1)                     |                 |
//	| M3   | memory pressure ≥ 1.00                        | 40 (instead of M2)                     | 49 (UNHEALTHY)  |
//	| E1   | error rate > 1 %                              | 5                                      |                 |
//	| E2   | error rate > 5 %                              | 15 (instead of E1)                     |                 |
//	| E3   | error rate > 20 %                             | 30 (instead of E2)                     |                 |
//	| B1   | a pool's breaker is open                      | 30 per pool (B1 + B2 at most 60)       |                 |
//	| B2   | a pool's breaker is half-open                 | 10 per pool (B1 + B2 at most 60)       |                 |
//	| B3   | every pool's breaker is open (≥ 1 pool)       | none beyond B1                         | 19 (CRITICAL)   |
//	| P    | a pool is in a condition (PoolInput.Conditions) | 10 per pool, at most 30              |                 |
//	| D    | the daemon is draining                        | none                                   | 49 (UNHEALTHY)  |
//
// Points are rounded to the nearest integer. The level follows from the
// final score:
//
//	| level     | score    | grpc.health.v1 |
//	|-----------|----------|----------------|
//	| HEALTHY   | 80 – 100 | SERVING        |
//	| DEGRADED  | 50 – 79  | SERVING        |
//	| UNHEALTHY | 20 – 49  | SERVING        |
//	| CRITICAL  | 0 – 19   | NOT_SERVING    |
//
// A draining daemon is NOT_SERVING whatever its level (Report.Serving).
// With no pools, no memory budget and no errors, the report is HEALTHY 100.
//
// A pool's own ErrorRate is reported but not scored: the daemon-wide rate
// already counts its failures, and its breaker reacts to them. X, R, O and
// C see what the error rate cannot: a pool so busy that callers wait or are
// refused (the rate needs a few outcomes in the window before it counts),
// work that was asked to stop and still holds an instance and a core, and
// a pool that cannot grow.
package health

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/riptidecrawler/riptide-poold/internal/breaker"
)

// Level is a health report's verdict. Its values are those of the API's
// HealthLevel enum (HEALTHY is 1); the zero value is not a level.
type Level int

// The levels, from best to worst.
const (
	LevelHealthy Level = iota + 1
	LevelDegraded
	LevelUnhealthy
	LevelCritical
)

// String returns the level's name, as in the API ("HEALTHY").
func (l Level) String() string {
	switch l {
	case LevelHealthy:
		return "HEALTHY"
	case LevelDegraded:
		return "DEGRADED"
	case LevelUnhealthy:
		return "UNHEALTHY"
	case LevelCritical:
		return "CRITICAL"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// LevelOf returns the level a score falls in.
func LevelOf(score int) Level {
	switch {
	case score >= 80:
		return LevelHealthy
	case score >= 50:
		return LevelDegraded
	case score >= 20:
		return LevelUnhealthy
	}
	return LevelCritical
}

// The scores that the caps hold a report to: the top of a level.
const (
	capUnhealthy = 49
	capCritical  = 19
)

// PoolInput is one pool's state, as the server read it.
type PoolInput struct {
	Pool    string
	Total   int // live instances: idle, in use and leased
	InUse   int // serving a request or leased
	Idle    int
	Leased  int // out on a lease; included in InUse
	Waiters int
	Max     int
	Breaker breaker.State
	// ErrorRate is the pool's share of failed extractions; reported, not
	// scored.
	ErrorRate float64
	// Refused is the number of callers answered POOL_EXHAUSTED by the pool
	// in the last minute.
	Refused uint64
	// Overrunning is the number of calls still running on the pool's
	// instances after their deadline or cancellation.
	Overrunning int
	// CreateFailing is true when the pool's latest instance creation
	// failed.
	CreateFailing bool
	// Conditions are the states of a WebAssembly pool that lower the
	// score (rule P): "no_instance", "creation_backoff",
	// "over_memory_share" (see wasmpool.Conditions).
	Conditions []string
}

// Input is everything Evaluate looks at.
type Input struct {
	Pools             []PoolInput
	MemoryUsedBytes   uint64 // WASM linear memory in use
	MemoryBudgetBytes uint64 // WASM_MEMORY_LIMIT_MB in bytes; 0 = no budget
	ErrorRate         float64
	Draining          bool
}

// Report is the outcome of Evaluate.
type Report struct {
	Level Level
	Score int // 0 to 100
	// Utilization is ΣInUse / ΣMax, 0 to 1.
	Utilization float64
	// MemoryPressure is MemoryUsedBytes / MemoryBudgetBytes; above 1 when
	// over the budget.
	MemoryPressure float64
	ErrorRate      float64
	// Reasons says, one line per rule that applied, why the score is below
	// 100 or the level was capped.
	Reasons  []string
	Pools    []PoolInput
	Draining bool
}

// Serving reports whether the daemon should answer SERVING to
// grpc.health.v1: it is neither CRITICAL nor draining.
func (r Report) Serving() bool {
	return r.Level != LevelCritical && !r.Draining
}

// evaluation accumulates the rules' verdicts.
type evaluation struct {
	score   int
	cap     int
	reasons []string
}

func (ev *evaluation) lose(points int, reason string) {
	ev.score -= points
	ev.reasons = append(ev.reasons, fmt.Sprintf("%s (-%d)", reason, points))
}

func (ev *evaluation) capAt(score int, reason string) {
	ev.cap = min(ev.cap, score)
	ev.reasons = append(ev.reasons, fmt.Sprintf("%s (at most %v)", reason, LevelOf(score)))
}

// Evaluate scores in by the rules of the package documentation.
func Evaluate(in Input) Report {
	r := Report{
		Utilization:    utilization(in.Pools),
		MemoryPressure: pressure(in.MemoryUsedBytes, in.MemoryBudgetBytes),
		ErrorRate:      clampRate(in.ErrorRate),
		Pools:          slices.Clone(in.Pools),
		Draining:       in.Draining,
	}
	ev := evaluation{score: 100, cap: 100}

	if u := r.Utilization; u > 0.80 {
		points := int(math.Round(min(25*(u-0.80)/0.20, 25)))
		ev.lose(points, fmt.Sprintf("utilization %.2f above 0.80", u))
	}

	if waiters, pools := waiting(in.Pools); waiters > 0 {
		ev.lose(10, fmt.Sprintf("%d requests waiting for an instance in %d pools", waiters, pools))
	}

	if pools := exhausted(in.Pools); len(pools) > 0 {
		ev.lose(min(20*len(pools), 40), fmt.Sprintf("pools exhausted, every instance in use: [%s]", strings.Join(pools, " ")))
	}

	if refused, pools := sumBy(in.Pools, func(p PoolInput) uint64 { return p.Refused }); refused > 0 {
		ev.lose(15, fmt.Sprintf("%d callers answered POOL_EXHAUSTED in the last minute by [%s]", refused, strings.Join(pools, " ")))
	}

	if calls, pools := sumBy(in.Pools, func(p PoolInput) uint64 { return uint64(max(p.Overrunning, 0)) }); calls > 0 {
		ev.lose(min(25*len(pools), 50), fmt.Sprintf("%d calls running past their deadline in [%s]", calls, strings.Join(pools, " ")))
	}

	var stuck []string
	for _, p := range in.Pools {
		if p.CreateFailing && p.Idle == 0 {
			stuck = append(stuck, p.Pool)
		}
	}
	if len(stuck) > 0 {
		ev.lose(min(30*len(stuck), 60), fmt.Sprintf("pools that cannot create an instance and have none idle: [%s]", strings.Join(stuck, " ")))
	}

	switch p := r.MemoryPressure; {
	case p >= 1:
		ev.lose(40, fmt.Sprintf("memory pressure %.2f at or over the budget", p))
		ev.capAt(capUnhealthy, "memory budget reached")
	case p >= 0.90:
		ev.lose(25, fmt.Sprintf("memory pressure %.2f at or above 0.90", p))
	case p >= 0.70:
		ev.lose(10, fmt.Sprintf("memory pressure %.2f at or above 0.70", p))
	}

	switch e := r.ErrorRate; {
	case e > 0.20:
		ev.lose(30, fmt.Sprintf("error rate %.1f%% above 20%%", 100*e))
	case e > 0.05:
		ev.lose(15, fmt.Sprintf("error rate %.1f%% above 5%%", 100*e))
	case e > 0.01:
		ev.lose(5, fmt.Sprintf("error rate %.1f%% above 1%%", 100*e))
	}

	var open, halfOpen []string
	for _, p := range in.Pools {
		switch p.Breaker {
		case breaker.StateOpen:
			open = append(open, p.Pool)
		case breaker.StateHalfOpen:
			halfOpen = append(halfOpen, p.Pool)
		}
	}
	if len(open)+len(halfOpen) > 0 {
		points := min(30*len(open)+10*len(halfOpen), 60)
		ev.lose(points, fmt.Sprintf("breakers open: [%s], half-open: [%s]",
			strings.Join(open, " "), strings.Join(halfOpen, " ")))
	}
	var inCondition []string
	for _, p := range in.Pools {
		if len(p.Conditions) > 0 {
			inCondition = append(inCondition, p.Pool+": "+strings.Join(p.Conditions, ", "))
		}
	}
	if len(inCondition) > 0 {
		ev.lose(min(10*len(inCondition), 30), "pools in a condition: ["+strings.Join(inCondition, "; ")+"]")
	}

	if len(in.Pools) > 0 && len(open) == len(in.Pools) {
		ev.capAt(capCritical, "every pool's breaker is open")
	}

	if in.Draining {
		ev.capAt(capUnhealthy, "draining")
	}

	r.Score = min(max(ev.score, 0), ev.cap)
	r.Level = LevelOf(r.Score)
	r.Reasons = ev.reasons
	return r
}

// utilization returns ΣInUse / ΣMax over the pools that have a max.
func utilization(pools []PoolInput) float64 {
	var inUse, capacity int
	for _, p := range pools {
		if p.Max > 0 {
			inUse += min(max(p.InUse, 0), p.Max)
			capacity += p.Max
		}
	}
	if capacity == 0 {
		return 0
	}
	return float64(inUse) / float64(capacity)
}

// exhausted names the pools with a max whose every instance is in use.
func exhausted(pools []PoolInput) []string {
	var out []string
	for _, p := range pools {
		if p.Max > 0 && p.InUse >= p.Max {
			out = append(out, p.Pool)
		}
	}
	return out
}

// sumBy sums f over the pools and names those where it is not zero.
func sumBy(pools []PoolInput, f func(PoolInput) uint64) (sum uint64, names []string) {
	for _, p := range pools {
		if n := f(p); n > 0 {
			sum += n
			names = append(names, p.Pool)
		}
	}
	return sum, names
}

func waiting(pools []PoolInput) (waiters, inPools int) {
	for _, p := range pools {
		if p.Waiters > 0 {
			waiters += p.Waiters
			inPools++
		}
	}
	return waiters, inPools
}

func pressure(used, budget uint64) float64 {
	if budget == 0 {
		return 0
	}
	return float64(used) / float64(budget)
}

// clampRate brings a rate into [0, 1]; NaN counts as 0.
func clampRate(r float64) float64 {
	if math.IsNaN(r) || r < 0 {
		return 0
	}
	return min(r, 1)
}

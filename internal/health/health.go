// Package health scores the daemon's health from its pools, memory and
// error rate.
//
// Evaluate is a pure function of an Input: the server gathers the pools'
// stats, the breakers' states, the WASM memory in use and the error rates
// of ErrorWindows, and maps the Report onto HealthResponse.
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
// The daemon's rules look at what every pool shares: capacity, memory and
// the failures that are no one pool's own fault.
//
//	| rule | condition                                     | points lost                            | score at most   |
//	|------|-----------------------------------------------|----------------------------------------|-----------------|
//	| U    | utilization u > 0.80                          | 25 × (u − 0.80) / 0.20, at most 25     |                 |
//	| W    | some pool has waiters                         | 10                                     |                 |
//	| X    | a pool is exhausted: every instance in use    | 20 per pool, at most 40                |                 |
//	| R    | POOL_EXHAUSTED answered in the last minute    | 15                                     |                 |
//	| O    | a pool has calls running past their deadline  | 25 per pool, at most 50                |                 |
//	| M1   | memory pressure ≥ 0.70                        | 10                                     |                 |
//	| M2   | memory pressure ≥ 0.90                        | 25 (instead of M1)                     |                 |
//	| M3   | memory pressure ≥ 1.00                        | 40 (instead of M2)                     | 49 (UNHEALTHY)  |
//	| E1   | the daemon's error rate > 1 %                 | 5                                      |                 |
//	| E2   | the daemon's error rate > 5 %                 | 15 (instead of E1)                     |                 |
//	| E3   | the daemon's error rate > 20 %                | 30 (instead of E2)                     |                 |
//	| D    | the daemon is draining                        | none                                   | 49 (UNHEALTHY)  |
//
// The daemon's error rate (Input.ErrorRate) counts the failures that are
// not one pool's own faults: exhaustion, the memory budget's refusals
// within a module's share, internal errors. A pool's own faults (a trap, a
// timeout, a failed creation, a call its open breaker refused, memory past
// its own share) are in that pool's FaultRate, and score
// by the pool rules below, which add up per pool to at most PoolWorth
// points: one module that fails every call costs the score what one pool
// is worth, and leaves the daemon DEGRADED while the other pools answer.
//
//	| rule | condition (of one pool)                           | points lost            | score at most  |
//	|------|---------------------------------------------------|------------------------|----------------|
//	| C    | its latest creation failed and it has none idle   | 30                     |                |
//	| B1   | its breaker is open                               | 30                     |                |
//	| B2   | its breaker is half-open                          | 10                     |                |
//	| F1   | its fault rate > 1 %                              | 5                      |                |
//	| F2   | its fault rate > 5 %                              | 15 (instead of F1)     |                |
//	| F3   | its fault rate > 20 %                             | 30 (instead of F2)     |                |
//	| P    | it is in a condition (PoolInput.Conditions)       | 10                     |                |
//	| W, X, R, O | of a failing pool (see Failing)             | as above, as its own   |                |
//	|      | a pool's C + B + F + P (+ W + X + R + O)          | at most 30 (PoolWorth) |                |
//	|      | all pools' own                                    | at most 60             |                |
//	| B3   | every pool's breaker is open (≥ 1 pool)           | none beyond B1         | 19 (CRITICAL)  |
//	| F4   | every pool fails: breaker open or F3 (≥ 1 pool)   | none beyond F3         | 49 (UNHEALTHY) |
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
// Why a cap per pool rather than a daemon-wide fault rate: a module's
// faults are its own and its breaker, fault rate, failed creations and
// conditions all say the same thing, that this one pool does not answer;
// added up they counted one failing module up to four times (B1 30 +
// E3 30 + C 30 + P 10), enough to call a daemon CRITICAL whose other
// pools were fine, and fleet routers that pick daemons by level then
// avoided it. Scored once, at most PoolWorth, they keep the signal (the
// level falls to DEGRADED, the pool's reasons say why) without blaming
// the daemon. Failures that no pool owns (POOL_EXHAUSTED, the memory
// budget's refusals within a share, internal errors) still count
// daemon-wide, and a daemon whose every pool fails still falls to
// UNHEALTHY (F4) or CRITICAL (B3).
//
// A pool that fails by its own faults (Failing: its breaker open or its
// fault rate over 20 %) holds its instances in calls that will fail, and
// its callers wait and are refused: its W, X, R and O are its own faults
// too, scored among its points rather than the daemon's, and its
// POOL_EXHAUSTED refusals count in its fault rate, not the daemon's error
// rate. Before it fails (its first calls still running) they count
// daemon-wide, as for any pool.
//
// X, R and O see what the error rates cannot: a pool so busy that callers
// wait or are refused (the rates need a few outcomes in the window before
// they count), and work that was asked to stop and still holds an instance
// and a core.
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
	// ErrorRate is the pool's share of failed extractions, its own faults
	// and the daemon's alike; reported, not scored.
	ErrorRate float64
	// FaultRate is the pool's share of extractions that failed by its own
	// fault (rules F1-F3): a trap, a timeout, a failed creation, a call
	// its open breaker refused, memory past its own share.
	FaultRate float64
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
	// ErrorRate is the share of extractions that failed by no one pool's
	// own fault (rules E1-E3): exhaustion, the memory budget's refusals
	// within a module's share, internal errors.
	ErrorRate float64
	Draining  bool
}

// PoolReport is one pool's part of a Report: its input, and what its own
// faults cost the score.
type PoolReport struct {
	PoolInput
	// Lost is the points the pool's own faults (rules C, B1, B2, F1-F3,
	// P, and W, X, R, O while it is Failing) cost the score, at most
	// PoolWorth. The score may lose less when
	// several pools fail: all pools' faults cost at most twice PoolWorth.
	Lost int
	// Reasons names each of the pool's rules that applied, with its
	// points before the cap, e.g. "breaker open (B1 30)".
	Reasons []string
	// Failing is true when the pool's breaker is open or its fault rate
	// is over 20 % (rule F4).
	Failing bool
}

// PoolWorth is the most one pool's own faults cost the score: as much as
// one open breaker, so that a single failing pool leaves a daemon that
// was HEALTHY at DEGRADED.
const PoolWorth = 30

// maxPoolsLost is the most all pools' own faults cost the score together.
const maxPoolsLost = 2 * PoolWorth

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
	Pools    []PoolReport
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
		Pools:          make([]PoolReport, 0, len(in.Pools)),
		Draining:       in.Draining,
	}
	ev := evaluation{score: 100, cap: 100}

	if u := r.Utilization; u > 0.80 {
		points := int(math.Round(min(25*(u-0.80)/0.20, 25)))
		ev.lose(points, fmt.Sprintf("utilization %.2f above 0.80", u))
	}

	// A failing pool's capacity (W, X, R, O) is its failure's: it counts
	// among its own faults below.
	var sound []PoolInput
	for _, p := range in.Pools {
		if !Failing(p) {
			sound = append(sound, p)
		}
	}

	if waiters, pools := waiting(sound); waiters > 0 {
		ev.lose(10, fmt.Sprintf("%d requests waiting for an instance in %d pools", waiters, pools))
	}

	if pools := exhausted(sound); len(pools) > 0 {
		ev.lose(min(20*len(pools), 40), fmt.Sprintf("pools exhausted, every instance in use: [%s]", strings.Join(pools, " ")))
	}

	if refused, pools := sumBy(sound, func(p PoolInput) uint64 { return p.Refused }); refused > 0 {
		ev.lose(15, fmt.Sprintf("%d callers answered POOL_EXHAUSTED in the last minute by [%s]", refused, strings.Join(pools, " ")))
	}

	if calls, pools := sumBy(sound, func(p PoolInput) uint64 { return uint64(max(p.Overrunning, 0)) }); calls > 0 {
		ev.lose(min(25*len(pools), 50), fmt.Sprintf("%d calls running past their deadline in [%s]", calls, strings.Join(pools, " ")))
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

	if points, above, _ := rateRule(r.ErrorRate); points > 0 {
		ev.lose(points, fmt.Sprintf("error rate %.1f%% above %s, not counting the pools' own faults", 100*r.ErrorRate, above))
	}

	// The pools' own faults: each pool's rules add up to at most
	// PoolWorth, and all pools' to at most maxPoolsLost.
	var lost, open, failing int
	for _, p := range in.Pools {
		pr := judgePool(p)
		r.Pools = append(r.Pools, pr)
		if pr.Lost > 0 {
			ev.lose(pr.Lost, fmt.Sprintf("pool %s: %s", p.Pool, strings.Join(pr.Reasons, ", ")))
			lost += pr.Lost
		}
		if p.Breaker == breaker.StateOpen {
			open++
		}
		if pr.Failing {
			failing++
		}
	}
	if lost > maxPoolsLost {
		// Given back, so that the lines above still add up to the score.
		ev.score += lost - maxPoolsLost
		ev.reasons = append(ev.reasons, fmt.Sprintf("the pools' own faults cost at most %d in all (+%d)", maxPoolsLost, lost-maxPoolsLost))
	}

	if n := len(in.Pools); n > 0 && open == n {
		ev.capAt(capCritical, "every pool's breaker is open")
	} else if n > 0 && failing == n {
		ev.capAt(capUnhealthy, "every pool is failing")
	}

	if in.Draining {
		ev.capAt(capUnhealthy, "draining")
	}

	r.Score = min(max(ev.score, 0), ev.cap)
	r.Level = LevelOf(r.Score)
	r.Reasons = ev.reasons
	return r
}

// judgePool applies the rules of one pool's own faults to p.
func judgePool(p PoolInput) PoolReport {
	pr := PoolReport{PoolInput: p}
	pr.Conditions = slices.Clone(p.Conditions)
	pr.FaultRate = clampRate(p.FaultRate)
	var points int
	rule := func(n int, reason string) {
		points += n
		pr.Reasons = append(pr.Reasons, reason)
	}
	// Conditions first: their names are what operators grep for.
	if len(p.Conditions) > 0 {
		rule(10, fmt.Sprintf("%s (P 10)", strings.Join(p.Conditions, ", ")))
	}
	switch p.Breaker {
	case breaker.StateOpen:
		rule(30, "breaker open (B1 30)")
	case breaker.StateHalfOpen:
		rule(10, "breaker half-open (B2 10)")
	}
	if n, above, step := rateRule(pr.FaultRate); n > 0 {
		rule(n, fmt.Sprintf("fault rate %.1f%% above %s (F%d %d)", 100*pr.FaultRate, above, step, n))
	}
	if p.CreateFailing && p.Idle == 0 {
		rule(30, "cannot create an instance and has none idle (C 30)")
	}
	pr.Failing = Failing(p)
	if pr.Failing {
		if p.Waiters > 0 {
			rule(10, fmt.Sprintf("%d requests waiting for an instance (W 10)", p.Waiters))
		}
		if p.Max > 0 && p.InUse >= p.Max {
			rule(20, "exhausted, every instance in use (X 20)")
		}
		if p.Refused > 0 {
			rule(15, fmt.Sprintf("%d callers answered POOL_EXHAUSTED in the last minute (R 15)", p.Refused))
		}
		if p.Overrunning > 0 {
			rule(25, fmt.Sprintf("%d calls running past their deadline (O 25)", p.Overrunning))
		}
	}
	pr.Lost = min(points, PoolWorth)
	if points > PoolWorth {
		pr.Reasons = append(pr.Reasons, fmt.Sprintf("%d points, at most %d for one pool", points, PoolWorth))
	}
	return pr
}

// Failing reports whether p fails by its own faults: its breaker is open
// or its fault rate is over 20 %. A failing pool's waiters, exhaustion,
// refusals and overrunning calls (rules W, X, R, O) are its failure's,
// and count among its own faults, within PoolWorth; its refusals count in
// its fault rate rather than in the daemon's error rate (the server moves
// them).
func Failing(p PoolInput) bool {
	return p.Breaker == breaker.StateOpen || clampRate(p.FaultRate) > 0.20
}

// rateRule returns the points an error or fault rate loses, the
// threshold it is above, and which step of E1-E3 or F1-F3 applies (0 for
// none).
func rateRule(rate float64) (points int, above string, step int) {
	switch {
	case rate > 0.20:
		return 30, "20%", 3
	case rate > 0.05:
		return 15, "5%", 2
	case rate > 0.01:
		return 5, "1%", 1
	}
	return 0, "", 0
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

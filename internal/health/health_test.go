package health

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/breaker"
)

const mb = 1 << 20

// pool returns a quiet pool of max 10 instances with inUse of them busy.
func pool(name string, inUse int) PoolInput {
	return PoolInput{Pool: name, Total: 10, InUse: inUse, Idle: 10 - inUse, Max: 10}
}

func withBreaker(p PoolInput, s breaker.State) PoolInput { p.Breaker = s; return p }
func withWaiters(p PoolInput, n int) PoolInput           { p.Waiters = n; return p }
func withConditions(p PoolInput, c ...string) PoolInput  { p.Conditions = c; return p }
func withFaults(p PoolInput, rate float64) PoolInput     { p.FaultRate = rate; return p }

func memory(pressure float64) Input {
	return Input{MemoryUsedBytes: uint64(pressure * 100 * mb), MemoryBudgetBytes: 100 * mb}
}

func errorRate(rate float64) Input { return Input{ErrorRate: rate} }

// TestRules checks each rule of the package documentation on its own:
// points lost, the reason given and, for the capping rules, the level.
func TestRules(t *testing.T) {
	tests := []struct {
		rule   string
		in     Input
		score  int
		level  Level
		reason string // a substring of the one reason expected; "" for none
	}{
		// No rule applies.
		{"none: empty input", Input{}, 100, LevelHealthy, ""},
		{"none: idle pools", Input{Pools: []PoolInput{pool("css", 0), pool("regex", 3)}}, 100, LevelHealthy, ""},

		// U: utilization above 0.80, scaled, at most 25.
		{"U: at 0.80", Input{Pools: []PoolInput{pool("css", 8)}}, 100, LevelHealthy, ""},
		{"U: 0.90", Input{Pools: []PoolInput{pool("css", 9)}}, 88, LevelHealthy, "utilization 0.90"},
		// At 1.00 a pool is exhausted too: U 25 + X 20.
		{"U: 1.00", Input{Pools: []PoolInput{pool("css", 10)}}, 55, LevelDegraded, "utilization 1.00"},
		{"U: over max counts as full", Input{Pools: []PoolInput{pool("css", 14)}}, 55, LevelDegraded, "utilization 1.00"},
		{"U: summed over pools", Input{Pools: []PoolInput{pool("css", 10), pool("regex", 7)}}, 74, LevelDegraded, "utilization 0.85"},
		{"U: pools without max ignored", Input{Pools: []PoolInput{pool("css", 10), {Pool: "x", InUse: 5}}}, 55, LevelDegraded, "utilization 1.00"},

		// X: exhausted pools, at any utilization of the whole.
		{"X: one small pool of many", Input{Pools: []PoolInput{{Pool: "article", InUse: 2, Max: 2}, pool("css", 0), pool("regex", 0)}}, 80, LevelHealthy, "pools exhausted, every instance in use: [article]"},
		{"X: two pools at 0.6 overall", Input{Pools: []PoolInput{{Pool: "article", InUse: 2, Max: 2}, {Pool: "css", InUse: 4, Max: 4}, pool("regex", 0)}}, 60, LevelDegraded, "[article css]"},
		{"X: at most 40", Input{Pools: []PoolInput{{Pool: "a", InUse: 1, Max: 1}, {Pool: "b", InUse: 1, Max: 1}, {Pool: "c", InUse: 1, Max: 1}, pool("d", 0), pool("e", 0), pool("f", 0), pool("g", 0)}}, 60, LevelDegraded, "[a b c]"},

		// R: callers refused with POOL_EXHAUSTED, however few.
		{"R: two refusals", Input{Pools: []PoolInput{{Pool: "css", Max: 10, Refused: 2}}}, 85, LevelHealthy, "2 callers answered POOL_EXHAUSTED in the last minute by [css]"},

		// O: calls running past their deadline.
		{"O: one pool", Input{Pools: []PoolInput{{Pool: "css", Max: 10, InUse: 3, Overrunning: 3}}}, 75, LevelDegraded, "3 calls running past their deadline in [css]"},
		{"O: at most 50", Input{Pools: []PoolInput{{Pool: "a", Max: 10, Overrunning: 1}, {Pool: "b", Max: 10, Overrunning: 1}, {Pool: "c", Max: 10, Overrunning: 1}}}, 50, LevelDegraded, "[a b c]"},

		// C: pools that cannot create an instance.
		{"C: failing with none idle", Input{Pools: []PoolInput{{Pool: "article", Max: 10, CreateFailing: true}, pool("css", 0)}}, 70, LevelDegraded, "pool article: cannot create an instance and has none idle (C 30) (-30)"},
		{"C: two pools", Input{Pools: []PoolInput{{Pool: "a", Max: 10, CreateFailing: true}, {Pool: "b", Max: 10, CreateFailing: true}, pool("css", 0)}}, 40, LevelUnhealthy, "pool b: cannot create"},
		{"C: failing with some idle", Input{Pools: []PoolInput{{Pool: "article", Max: 10, Idle: 1, Total: 1, CreateFailing: true}}}, 100, LevelHealthy, ""},

		// W: waiters.
		{"W: one pool", Input{Pools: []PoolInput{withWaiters(pool("css", 0), 3)}}, 90, LevelHealthy, "3 requests waiting"},
		{"W: flat whatever the count", Input{Pools: []PoolInput{withWaiters(pool("css", 0), 300), withWaiters(pool("regex", 0), 1)}}, 90, LevelHealthy, "301 requests waiting for an instance in 2 pools"},

		// M1-M3: memory pressure.
		{"M: below 0.70", memory(0.69), 100, LevelHealthy, ""},
		{"M: no budget", Input{MemoryUsedBytes: 1 << 40}, 100, LevelHealthy, ""},
		{"M1: 0.70", memory(0.70), 90, LevelHealthy, "memory pressure 0.70"},
		{"M2: 0.90", memory(0.90), 75, LevelDegraded, "memory pressure 0.90"},
		{"M3: 1.00", memory(1.00), 49, LevelUnhealthy, "memory pressure 1.00"},
		{"M3: over the budget", memory(1.5), 49, LevelUnhealthy, "memory budget reached (at most UNHEALTHY)"},

		// E1-E3: the daemon's error rate, the pools' own faults aside.
		{"E: at 1%", errorRate(0.01), 100, LevelHealthy, ""},
		{"E1: 2%", errorRate(0.02), 95, LevelHealthy, "error rate 2.0%"},
		{"E2: 6%", errorRate(0.06), 85, LevelHealthy, "error rate 6.0%"},
		{"E3: 21%", errorRate(0.21), 70, LevelDegraded, "error rate 21.0%"},
		{"E3: above 1 clamps to 1", errorRate(7), 70, LevelDegraded, "error rate 100.0%"},
		{"E: negative is 0", errorRate(-1), 100, LevelHealthy, ""},
		{"E: NaN is 0", errorRate(math.NaN()), 100, LevelHealthy, ""},

		// B1-B3: breakers.
		{"B1: one open of three", Input{Pools: []PoolInput{
			withBreaker(pool("article", 0), breaker.StateOpen), pool("css", 0), pool("regex", 0),
		}}, 70, LevelDegraded, "pool article: breaker open (B1 30) (-30)"},
		{"B2: one half-open", Input{Pools: []PoolInput{
			withBreaker(pool("article", 0), breaker.StateHalfOpen), pool("css", 0),
		}}, 90, LevelHealthy, "pool article: breaker half-open (B2 10) (-10)"},
		{"B1+B2: two open, one half-open of four", Input{Pools: []PoolInput{
			withBreaker(pool("a", 0), breaker.StateOpen), withBreaker(pool("b", 0), breaker.StateOpen),
			withBreaker(pool("c", 0), breaker.StateHalfOpen), pool("d", 0),
		}}, 40, LevelUnhealthy, "the pools' own faults cost at most 60 in all (+10)"},
		{"B1: all pools' at most 60", Input{Pools: []PoolInput{
			withBreaker(pool("a", 0), breaker.StateOpen), withBreaker(pool("b", 0), breaker.StateOpen),
			withBreaker(pool("c", 0), breaker.StateOpen), pool("d", 0),
		}}, 40, LevelUnhealthy, "the pools' own faults cost at most 60 in all (+30)"},
		{"B3: the only pool open", Input{Pools: []PoolInput{
			withBreaker(pool("article", 0), breaker.StateOpen),
		}}, 19, LevelCritical, "every pool's breaker is open (at most CRITICAL)"},
		{"B3: every pool open", Input{Pools: []PoolInput{
			withBreaker(pool("a", 0), breaker.StateOpen), withBreaker(pool("b", 0), breaker.StateOpen),
		}}, 19, LevelCritical, "every pool's breaker is open"},

		// P: pools in a condition.
		{"P: one pool, two conditions", Input{Pools: []PoolInput{
			withConditions(pool("big", 0), "no_instance", "creation_backoff"), pool("css", 0),
		}}, 90, LevelHealthy, "pool big: no_instance, creation_backoff (P 10) (-10)"},
		{"P: 10 a pool", Input{Pools: []PoolInput{
			withConditions(pool("a", 0), "demoted"), withConditions(pool("b", 0), "no_instance"),
			withConditions(pool("c", 0), "over_memory_share"), withConditions(pool("d", 0), "no_instance"),
		}}, 60, LevelDegraded, "pool d: no_instance (P 10) (-10)"},

		// F1-F3: a pool's own fault rate.
		{"F: at 1%", Input{Pools: []PoolInput{withFaults(pool("m", 0), 0.01), pool("css", 0)}}, 100, LevelHealthy, ""},
		{"F1: 2%", Input{Pools: []PoolInput{withFaults(pool("m", 0), 0.02), pool("css", 0)}}, 95, LevelHealthy, "pool m: fault rate 2.0% above 1% (F1 5) (-5)"},
		{"F2: 6%", Input{Pools: []PoolInput{withFaults(pool("m", 0), 0.06), pool("css", 0)}}, 85, LevelHealthy, "pool m: fault rate 6.0% above 5% (F2 15) (-15)"},
		{"F3: 21%", Input{Pools: []PoolInput{withFaults(pool("m", 0), 0.21), pool("css", 0)}}, 70, LevelDegraded, "pool m: fault rate 21.0% above 20% (F3 30) (-30)"},
		{"F: NaN is 0", Input{Pools: []PoolInput{withFaults(pool("m", 0), math.NaN()), pool("css", 0)}}, 100, LevelHealthy, ""},
		{"F: not the daemon's error rate", Input{Pools: []PoolInput{withFaults(pool("m", 0), 1), pool("css", 0)}}, 70, LevelDegraded, "pool m: fault rate 100.0% above 20% (F3 30) (-30)"},

		// A pool's own faults: at most PoolWorth.
		{"pool: B1 + F3 + C + P at most 30", Input{Pools: []PoolInput{
			withConditions(withFaults(withBreaker(PoolInput{Pool: "trap", Max: 10, CreateFailing: true}, breaker.StateOpen), 1), "no_instance"),
			pool("css", 0), pool("regex", 0),
		}}, 70, LevelDegraded, "pool trap: no_instance (P 10), breaker open (B1 30), fault rate 100.0% above 20% (F3 30), cannot create an instance and has none idle (C 30), 100 points, at most 30 for one pool (-30)"},

		// W, X, R, O of a failing pool: its own, within its 30.
		{"WXRO: a failing pool's", Input{Pools: []PoolInput{
			{Pool: "slow", Max: 2, InUse: 2, Waiters: 3, Refused: 4, FaultRate: 0.5}, pool("css", 0),
		}}, 70, LevelDegraded, "pool slow: fault rate 50.0% above 20% (F3 30), 3 requests waiting for an instance (W 10), exhausted, every instance in use (X 20), 4 callers answered POOL_EXHAUSTED in the last minute (R 15), 75 points, at most 30 for one pool (-30)"},
		{"WXRO: a pool not failing yet", Input{Pools: []PoolInput{
			{Pool: "slow", Max: 2, InUse: 2, Waiters: 3, FaultRate: 0.2}, pool("css", 0),
		}}, 55, LevelDegraded, "pools exhausted, every instance in use: [slow] (-20)"},

		// F4: every pool failing, whether by its breaker or its faults.
		{"F4: the only pool failing half its calls", Input{Pools: []PoolInput{withFaults(pool("article", 0), 0.5)}}, 49, LevelUnhealthy, "every pool is failing (at most UNHEALTHY)"},
		{"F4: every pool failing", Input{Pools: []PoolInput{
			withFaults(pool("a", 0), 0.5), withBreaker(pool("b", 0), breaker.StateOpen), withFaults(pool("c", 0), 0.3),
		}}, 40, LevelUnhealthy, "every pool is failing"},
		{"F4: a fault rate of 20% is not failing", Input{Pools: []PoolInput{withFaults(pool("article", 0), 0.2)}}, 85, LevelHealthy, "pool article: fault rate 20.0% above 5% (F2 15)"},

		// D: draining.
		{"D: draining", Input{Draining: true}, 49, LevelUnhealthy, "draining (at most UNHEALTHY)"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			r := Evaluate(tt.in)
			if r.Score != tt.score || r.Level != tt.level {
				t.Errorf("score %d %v, want %d %v (reasons %q)", r.Score, r.Level, tt.score, tt.level, r.Reasons)
			}
			if tt.reason == "" {
				if len(r.Reasons) != 0 {
					t.Errorf("reasons %q, want none", r.Reasons)
				}
				return
			}
			if !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, tt.reason) }) {
				t.Errorf("reasons %q, want one containing %q", r.Reasons, tt.reason)
			}
		})
	}
}

// TestRulesCombine checks that rules add up, that the score stops at 0,
// and that caps hold whatever the points.
func TestRulesCombine(t *testing.T) {
	tests := []struct {
		name    string
		in      Input
		score   int
		level   Level
		reasons int
	}{
		{
			name: "waiters at full utilization",
			in:   Input{Pools: []PoolInput{withWaiters(pool("css", 10), 4)}},
			// U 25 + W 10 + X 20
			score: 45, level: LevelUnhealthy, reasons: 3,
		},
		{
			name: "everything at once",
			in: Input{
				Pools: []PoolInput{
					withWaiters(withBreaker(pool("a", 10), breaker.StateOpen), 2),
					withBreaker(pool("b", 10), breaker.StateOpen),
				},
				MemoryUsedBytes: 200 * mb, MemoryBudgetBytes: 100 * mb,
				ErrorRate: 0.9, Draining: true,
			},
			// U 25 + M3 40 + E3 30 + 30 a pool (B1 30, W 10 and X 20
			// of a failing pool), caps M3, B3, D
			score: 0, level: LevelCritical, reasons: 8,
		},
		{
			name:  "draining does not raise a worse score",
			in:    Input{Draining: true, ErrorRate: 0.5, MemoryUsedBytes: 95, MemoryBudgetBytes: 100},
			score: 45, level: LevelUnhealthy, reasons: 3, // E3 30 + M2 25, D
		},
		{
			// Issue 14: every css and article instance leased, Extract
			// answered POOL_EXHAUSTED twice, utilization 0.6, error rate 0.
			name: "leased out and refusing at 0.6 utilization",
			in: Input{Pools: []PoolInput{
				{Pool: "css", InUse: 4, Leased: 4, Max: 4, Refused: 2},
				{Pool: "article", InUse: 2, Leased: 2, Max: 2},
				{Pool: "regex", Max: 4},
			}},
			score: 45, level: LevelUnhealthy, reasons: 2, // X 40 + R 15
		},
		{
			// Issue 14: three stuck handlers holding css instances.
			name:  "stuck calls on an otherwise quiet pool",
			in:    Input{Pools: []PoolInput{{Pool: "css", InUse: 3, Max: 100, Overrunning: 3}, {Pool: "regex", Max: 100}}},
			score: 75, level: LevelDegraded, reasons: 1, // O 25
		},
		{
			name: "a cap lowers a good score",
			in: Input{
				Pools:           []PoolInput{pool("css", 0)},
				MemoryUsedBytes: 100, MemoryBudgetBytes: 100,
			},
			score: 49, level: LevelUnhealthy, reasons: 2, // M3 40 and its cap
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(tt.in)
			if r.Score != tt.score || r.Level != tt.level || len(r.Reasons) != tt.reasons {
				t.Errorf("score %d %v with %d reasons %q, want %d %v with %d",
					r.Score, r.Level, len(r.Reasons), r.Reasons, tt.score, tt.level, tt.reasons)
			}
		})
	}
}

func TestLevelOf(t *testing.T) {
	tests := []struct {
		score int
		want  Level
	}{
		{100, LevelHealthy}, {80, LevelHealthy},
		{79, LevelDegraded}, {50, LevelDegraded},
		{49, LevelUnhealthy}, {20, LevelUnhealthy},
		{19, LevelCritical}, {0, LevelCritical},
	}
	for _, tt := range tests {
		if got := LevelOf(tt.score); got != tt.want {
			t.Errorf("LevelOf(%d) = %v, want %v", tt.score, got, tt.want)
		}
	}
}

func TestLevelString(t *testing.T) {
	for l, want := range map[Level]string{
		LevelHealthy: "HEALTHY", LevelDegraded: "DEGRADED", LevelUnhealthy: "UNHEALTHY",
		LevelCritical: "CRITICAL", Level(0): "Level(0)",
	} {
		if got := l.String(); got != want {
			t.Errorf("Level(%d).String() = %q, want %q", int(l), got, want)
		}
	}
}

func TestServing(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		want bool
	}{
		{"healthy", Input{}, true},
		{"unhealthy", memory(1.2), true},
		{"critical", Input{Pools: []PoolInput{withBreaker(pool("css", 0), breaker.StateOpen)}}, false},
		{"draining", Input{Draining: true}, false},
	}
	for _, tt := range tests {
		if got := Evaluate(tt.in).Serving(); got != tt.want {
			t.Errorf("%s: Serving() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReportFields(t *testing.T) {
	pools := []PoolInput{pool("css", 3), pool("article", 5)}
	in := Input{Pools: pools, MemoryUsedBytes: 25 * mb, MemoryBudgetBytes: 100 * mb, ErrorRate: 0.005}
	r := Evaluate(in)
	if r.Utilization != 0.4 || r.MemoryPressure != 0.25 || r.ErrorRate != 0.005 || r.Draining {
		t.Errorf("report %+v: want utilization 0.4, pressure 0.25, error rate 0.005", r)
	}
	want := []PoolReport{{PoolInput: pools[0]}, {PoolInput: pools[1]}}
	if !reflect.DeepEqual(r.Pools, want) {
		t.Errorf("pools %+v, want %+v", r.Pools, want)
	}
	pools[0].Pool = "changed"
	if r.Pools[0].Pool != "css" {
		t.Error("the report shares its pools with the input")
	}
}

// TestOneModuleFailsAlone is issue 15's promise for the health report: a
// module that fails every call, or half of them, costs the score what one
// pool is worth, so the daemon stays DEGRADED while its other pools answer,
// and the module's own part of the report says why; a daemon whose every
// pool fails still falls to UNHEALTHY or CRITICAL. The module's faults are
// in its FaultRate, not in the daemon's ErrorRate (the server keeps them
// apart), as they are at each step of a trapping module's life: its
// breaker open, its creations refused by the open breaker, no instance.
func TestOneModuleFailsAlone(t *testing.T) {
	quiet := []PoolInput{pool("css", 1), pool("regex", 0), pool("article", 2)}
	trap := PoolInput{Pool: "trap", Max: 10}
	beside := func(p PoolInput) []PoolInput { return append(slices.Clone(quiet), p) }
	tests := []struct {
		name      string
		pools     []PoolInput
		level     Level
		score     int
		poolLost  int // what the last pool lost
		failing   bool
		poolWhy   string // a substring of the last pool's reasons
		condition string // a substring of the daemon's reasons
	}{
		{"hangs every call under load, breaker not yet open", beside(PoolInput{Pool: "trap", Max: 10, Total: 10, InUse: 10, Waiters: 5, Refused: 7, Overrunning: 1, FaultRate: 1}),
			LevelDegraded, 70, 30, true, "7 callers answered POOL_EXHAUSTED in the last minute (R 15)", "(W 10), exhausted, every instance in use (X 20), 7 callers answered POOL_EXHAUSTED in the last minute (R 15), 1 calls running past their deadline (O 25), 100 points, at most 30 for one pool (-30)"},
		{"traps every call, breaker open", beside(withFaults(withBreaker(trap, breaker.StateOpen), 1)),
			LevelDegraded, 70, 30, true, "breaker open (B1 30)", "pool trap: breaker open (B1 30), fault rate 100.0% above 20% (F3 30), 60 points, at most 30 for one pool (-30)"},
		{"traps every call, creations refused by its breaker", beside(withConditions(withFaults(withBreaker(PoolInput{Pool: "trap", Max: 10, CreateFailing: true}, breaker.StateOpen), 1), "no_instance", "creation_backoff")),
			LevelDegraded, 70, 30, true, "cannot create an instance and has none idle (C 30)", "pool trap: no_instance, creation_backoff (P 10)"},
		{"traps half its calls, breaker closed", beside(withFaults(trap, 0.5)),
			LevelDegraded, 70, 30, true, "fault rate 50.0% above 20% (F3 30)", "(-30)"},
		{"traps half its calls, breaker half-open", beside(withFaults(withBreaker(trap, breaker.StateHalfOpen), 0.5)),
			LevelDegraded, 70, 30, true, "breaker half-open (B2 10)", "40 points, at most 30 for one pool (-30)"},
		{"every pool traps half its calls", []PoolInput{withFaults(pool("css", 0), 0.5), withFaults(pool("regex", 0), 0.5), withFaults(trap, 0.5)},
			LevelUnhealthy, 40, 30, true, "F3 30", "every pool is failing (at most UNHEALTHY)"},
		{"every pool's breaker open", []PoolInput{withBreaker(pool("css", 0), breaker.StateOpen), withBreaker(pool("regex", 0), breaker.StateOpen), withFaults(withBreaker(trap, breaker.StateOpen), 1)},
			LevelCritical, 19, 30, true, "B1 30", "every pool's breaker is open (at most CRITICAL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Evaluate(Input{Pools: tt.pools})
			if r.Level != tt.level || r.Score != tt.score {
				t.Errorf("%v %d, want %v %d; reasons %q", r.Level, r.Score, tt.level, tt.score, r.Reasons)
			}
			if !slices.ContainsFunc(r.Reasons, func(s string) bool { return strings.Contains(s, tt.condition) }) {
				t.Errorf("reasons %q, want one containing %q", r.Reasons, tt.condition)
			}
			last := r.Pools[len(r.Pools)-1]
			if last.Lost != tt.poolLost || last.Failing != tt.failing ||
				!slices.ContainsFunc(last.Reasons, func(s string) bool { return strings.Contains(s, tt.poolWhy) }) {
				t.Errorf("pool %s: lost %d, failing %v, reasons %q; want %d, %v, one containing %q",
					last.Pool, last.Lost, last.Failing, last.Reasons, tt.poolLost, tt.failing, tt.poolWhy)
			}
			for _, p := range r.Pools[:len(r.Pools)-1] {
				if p.Breaker == breaker.StateClosed && p.FaultRate == 0 && (p.Lost != 0 || p.Failing || len(p.Reasons) != 0) {
					t.Errorf("bystander %s blamed: lost %d, failing %v, reasons %q", p.Pool, p.Lost, p.Failing, p.Reasons)
				}
			}
		})
	}
}

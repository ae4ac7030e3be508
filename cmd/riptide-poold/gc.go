package main

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/riptidecrawler/riptide-poold/internal/config"
)

// cgroupLimitRatio is the share of the cgroup's memory limit that the
// process may use when MEMORY_LIMIT_MB is 0: the rest is headroom for what
// the soft limit cannot hold back (thread stacks outside the Go runtime,
// the overshoot between two collections).
const cgroupLimitRatio = 0.9

// minGoShare is the smallest share of the cgroup's memory limit that a
// derived limit leaves to the Go runtime, however large the WASM budget.
const minGoShare = 0.25

// errWASMBudget reports a WASM budget that leaves the Go runtime less than
// minGoShare of the cgroup's memory limit.
var errWASMBudget = errors.New("the WASM pools' memory budget leaves the Go runtime less than a quarter of the cgroup's memory limit")

// A gcPlan is what the daemon asks of the garbage collector, and on whose
// authority. A setting whose environment variable is present is left as the
// runtime read it at start: GOGC and GOMEMLIMIT keep their usual meaning
// and win over GC_PERCENT and MEMORY_LIMIT_MB.
type gcPlan struct {
	percent     int    // 0: leave the runtime's value (GOGC)
	percentFrom string // "GOGC" or "GC_PERCENT"
	limit       int64  // bytes; 0: leave the runtime's value (GOMEMLIMIT or none)
	limitFrom   string // "GOMEMLIMIT", "MEMORY_LIMIT_MB", "cgroup" or "none"
}

// planGC decides the garbage collector's settings from the configuration,
// the environment (lookup) and the cgroup's memory limit (cgroupLimit, as
// memlimit.FromCgroup reports it). The error, when not nil, is a warning:
// the cgroup's limit could not be read, or the WASM budget leaves the Go
// runtime too little of it; the plan is usable all the same.
func planGC(cfg *config.Config, lookup func(string) (string, bool), cgroupLimit func() (uint64, error)) (gcPlan, error) {
	// The runtime reads an empty GOGC or GOMEMLIMIT as unset, and so does this.
	set := func(name string) bool { v, _ := lookup(name); return v != "" }
	var p gcPlan
	if set("GOGC") {
		p.percentFrom = "GOGC"
	} else {
		p.percent, p.percentFrom = cfg.GCPercent, "GC_PERCENT"
	}

	switch {
	case set("GOMEMLIMIT"):
		p.limitFrom = "GOMEMLIMIT"
	case cfg.MemoryLimitMB > 0:
		p.limit, p.limitFrom = int64(cfg.MemoryLimitMB)<<20, "MEMORY_LIMIT_MB"
	default:
		p.limitFrom = "none"
		n, err := cgroupLimit()
		switch {
		case err == nil && n > 0 && n < 1<<62:
			// WASM linear memory is mapped outside the Go heap, where the
			// soft limit does not see it, so its budget comes off first.
			var wasm int64
			if cfg.WASMPoolEnabled {
				wasm = int64(cfg.WASMMemoryLimitMB) << 20
			}
			p.limit, p.limitFrom = int64(float64(n)*cgroupLimitRatio)-wasm, "cgroup"
			if floor := int64(float64(n) * minGoShare); p.limit < floor {
				p.limit = floor
				return p, fmt.Errorf("%w: WASM_MEMORY_LIMIT_MB=%d of a cgroup limit of %d MiB; the Go runtime's soft limit is %d MiB (lower WASM_MEMORY_LIMIT_MB or raise the container's limit)",
					errWASMBudget, cfg.WASMMemoryLimitMB, n>>20, floor>>20)
			}
		case err == nil, errors.Is(err, memlimit.ErrNoLimit), errors.Is(err, memlimit.ErrNoCgroup),
			errors.Is(err, memlimit.ErrCgroupsNotSupported):
			// No limit to derive one from: the runtime's default, none.
		default:
			return p, fmt.Errorf("reading the cgroup's memory limit: %w", err)
		}
	}
	return p, nil
}

// apply sets the process-wide settings the plan asks for.
func (p gcPlan) apply() {
	if p.percent > 0 {
		debug.SetGCPercent(p.percent)
	}
	if p.limit > 0 {
		debug.SetMemoryLimit(p.limit)
	}
}

// logGC logs the garbage collector's settings in force, as the runtime
// reports them, and where they came from.
func logGC(log *slog.Logger, p gcPlan) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	percent := "off" // GOGC=off reads as -1 converted to uint64
	if s[0].Value.Kind() == metrics.KindUint64 && int64(s[0].Value.Uint64()) >= 0 {
		percent = fmt.Sprint(s[0].Value.Uint64())
	}
	limit := "none"
	if s[1].Value.Kind() == metrics.KindUint64 && s[1].Value.Uint64() < math.MaxInt64 {
		limit = fmt.Sprintf("%d MiB", s[1].Value.Uint64()>>20)
	}
	log.Info("garbage collector",
		"gc_percent", percent, "gc_percent_from", p.percentFrom,
		"memory_limit", limit, "memory_limit_from", p.limitFrom)
}

// envLookup returns a lookup over environ, in the form of os.Environ; like
// os.Getenv, it takes the first of duplicate entries.
func envLookup(environ []string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, kv := range environ {
			if k, v, ok := strings.Cut(kv, "="); ok && k == name {
				return v, true
			}
		}
		return "", false
	}
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/KimMachineGun/automemlimit/memlimit"

	"github.com/riptidecrawler/riptide-poold/internal/config"
)

func TestPlanGC(t *testing.T) {
	const mib = 1 << 20
	cgroup := func(n uint64, err error) func() (uint64, error) {
		return func() (uint64, error) { return n, err }
	}
	errRead := errors.New("permission denied")
	tests := []struct {
		name    string
		percent int // GC_PERCENT
		limitMB int // MEMORY_LIMIT_MB
		noWASM  bool
		env     []string
		cgroup  func() (uint64, error)
		want    gcPlan
		wantErr error
	}{
		{"config, no cgroup limit", 400, 0, false, nil, cgroup(0, memlimit.ErrNoLimit),
			gcPlan{400, "GC_PERCENT", 0, "none"}, nil},
		{"not in a cgroup", 400, 0, false, nil, cgroup(0, memlimit.ErrNoCgroup),
			gcPlan{400, "GC_PERCENT", 0, "none"}, nil},
		{"no cgroups on this system", 400, 0, false, nil, cgroup(0, fmt.Errorf("wrapped: %w", memlimit.ErrCgroupsNotSupported)),
			gcPlan{400, "GC_PERCENT", 0, "none"}, nil},
		{"cgroup limit less the WASM budget", 200, 0, false, nil, cgroup(1000*mib, nil),
			gcPlan{200, "GC_PERCENT", 900*mib - 512*mib, "cgroup"}, nil},
		{"cgroup limit without WASM pools", 200, 0, true, nil, cgroup(1000*mib, nil),
			gcPlan{200, "GC_PERCENT", 900 * mib, "cgroup"}, nil},
		{"WASM budget over the cgroup limit", 200, 0, false, nil, cgroup(512*mib, nil),
			gcPlan{200, "GC_PERCENT", 128 * mib, "cgroup"}, errWASMBudget},
		{"MEMORY_LIMIT_MB over the cgroup", 200, 768, false, nil, cgroup(1000*mib, nil),
			gcPlan{200, "GC_PERCENT", 768 * mib, "MEMORY_LIMIT_MB"}, nil},
		{"GOGC wins", 400, 0, false, []string{"GOGC=50"}, cgroup(0, memlimit.ErrNoLimit),
			gcPlan{0, "GOGC", 0, "none"}, nil},
		{"GOGC=off wins", 400, 0, false, []string{"GOGC=off"}, cgroup(0, memlimit.ErrNoLimit),
			gcPlan{0, "GOGC", 0, "none"}, nil},
		{"GOMEMLIMIT wins over MEMORY_LIMIT_MB", 400, 768, false, []string{"GOMEMLIMIT=1GiB"}, cgroup(1000*mib, nil),
			gcPlan{400, "GC_PERCENT", 0, "GOMEMLIMIT"}, nil},
		{"GOMEMLIMIT wins over the cgroup", 400, 0, false, []string{"GOMEMLIMIT=off"}, cgroup(1000*mib, nil),
			gcPlan{400, "GC_PERCENT", 0, "GOMEMLIMIT"}, nil},
		{"empty GOGC and GOMEMLIMIT are unset", 400, 768, false, []string{"GOGC=", "GOMEMLIMIT="}, cgroup(0, memlimit.ErrNoLimit),
			gcPlan{400, "GC_PERCENT", 768 * mib, "MEMORY_LIMIT_MB"}, nil},
		{"unreadable cgroup", 400, 0, false, nil, cgroup(0, errRead),
			gcPlan{400, "GC_PERCENT", 0, "none"}, errRead},
		{"cgroup not asked when configured", 400, 768, false, nil, cgroup(0, errRead),
			gcPlan{400, "GC_PERCENT", 768 * mib, "MEMORY_LIMIT_MB"}, nil},
		{"absurd cgroup limit", 400, 0, false, nil, cgroup(1<<63, nil),
			gcPlan{400, "GC_PERCENT", 0, "none"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.GCPercent, cfg.MemoryLimitMB, cfg.WASMPoolEnabled = tt.percent, tt.limitMB, !tt.noWASM
			got, err := planGC(cfg, envLookup(tt.env), tt.cgroup)
			if got != tt.want {
				t.Errorf("plan = %+v, want %+v", got, tt.want)
			}
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestLogGC checks that the start-up line names the settings in force and
// where they came from.
func TestLogGC(t *testing.T) {
	var buf bytes.Buffer
	logGC(slog.New(slog.NewTextHandler(&buf, nil)), gcPlan{percentFrom: "GOGC", limitFrom: "none"})
	for _, want := range []string{`msg="garbage collector"`, "gc_percent=", "gc_percent_from=GOGC", "memory_limit=", "memory_limit_from=none"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s: %s", want, buf.String())
		}
	}
}

func TestEnvLookup(t *testing.T) {
	lookup := envLookup([]string{"A=1", "B=", "A=2", "C"})
	for _, tt := range []struct {
		name, want string
		ok         bool
	}{{"A", "1", true}, {"B", "", true}, {"C", "", false}, {"D", "", false}} {
		if got, ok := lookup(tt.name); got != tt.want || ok != tt.ok {
			t.Errorf("lookup(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

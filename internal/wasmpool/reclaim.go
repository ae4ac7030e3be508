package wasmpool

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Borrowed memory is taken back when its owner needs it. Below the
// pressure threshold any module may make instances, borrowing memory no
// other module uses; a module whose instances then sit idle keeps that
// memory until they idle out. When a module under its share needs an
// instance and the budget has no room for it, the Set closes idle
// instances of the modules over their share, the one most over it first,
// until the new instance fits (Set.reclaim). A module never loses an
// instance in use, nor goes below its minimum instances, nor gives
// anything while it is within its share: it gives back only what it
// borrowed.

// donor is a module that may give back memory it borrowed.
type donor interface {
	// held is the linear memory of the module's instances now.
	held() uint64
	// shed closes one of its idle instances, the largest, if it has one
	// above its minimum, and reports whether it did.
	shed() bool
}

// takeBack closes idle instances of donors over share, one at a time and
// each time of the donor most over its share (between equals, the first),
// until fits reports that the new instance fits or no donor over its share
// has an idle instance to give. It returns how many instances each donor
// gave. It asks for at most limit instances in all, so that donors that
// keep making instances meanwhile cannot keep it running.
func takeBack(share uint64, donors []donor, limit int, fits func() bool) []int {
	gave := make([]int, len(donors))
	spent := make([]bool, len(donors)) // nothing idle above its minimum
	for range limit {
		if fits() {
			break
		}
		pick, over := -1, uint64(0)
		for i, d := range donors {
			if h := d.held(); !spent[i] && h > share && h-share > over {
				pick, over = i, h-share
			}
		}
		if pick < 0 {
			break
		}
		if donors[pick].shed() {
			gave[pick]++
		} else {
			spent[pick] = true
		}
	}
	return gave
}

// poolDonor is a module's pool as a donor.
type poolDonor struct {
	p      *Pool
	detail string // the reason its reclaimed instances are destroyed with
}

func (d poolDonor) held() uint64 { return d.p.MemoryBytes() }

func (d poolDonor) shed() bool {
	return d.p.Pool.ShedIdle(func(i *Instance) int64 { return i.size.Load() }, d.detail)
}

// fits reports whether an instance of need bytes fits in the budget now.
func (s *Set) fits(need uint64) bool {
	used := uint64(max(s.used.Load(), 0))
	return used < s.cfg.MemoryBudgetBytes && need <= s.cfg.MemoryBudgetBytes-used
}

// reclaim makes room in the budget for a new instance of p, of need bytes,
// a module under its share, by closing idle instances of modules over their
// share, and reports whether the instance fits now. It is called with
// admitMu held, so reclaims run one at a time and two modules making
// instances together do not both close instances for the same room. No
// pool's lock is held meanwhile: each donor's pool takes its own while it
// picks an instance.
func (s *Set) reclaim(p *Pool, share, need uint64) bool {
	detail := fmt.Sprintf("memory taken back for module %q, under its share of %s, while the budget was used up", p.Name, mib(share))
	var (
		pools  []*Pool
		donors []donor
	)
	for _, q := range s.Pools() {
		if q != p {
			pools = append(pools, q)
			donors = append(donors, poolDonor{q, detail})
		}
	}
	before := s.used.Load()
	gave := takeBack(share, donors, len(donors)*s.cfg.MaxSize, func() bool { return s.fits(need) })
	var (
		from  []string
		total int
	)
	for i, n := range gave {
		if n > 0 {
			from = append(from, fmt.Sprintf("%s:%d", pools[i].Name, n))
			total += n
		}
	}
	ok := s.fits(need)
	if total > 0 {
		s.reclaimLog.LogAttrs(context.Background(), slog.LevelInfo, "", "memory taken back from modules over their share",
			slog.String("module", p.Name), slog.Int("instances", total), slog.String("from", strings.Join(from, ",")),
			slog.Int64("freed_bytes", before-s.used.Load()), slog.Uint64("share_bytes", share), slog.Bool("fits", ok))
	}
	return ok
}

// Log lines about reclaims are rate-limited: two modules that keep taking
// memory back from each other would otherwise write a line per instance
// made.
const (
	reclaimLogBurst  = 10
	reclaimLogWindow = 10 * time.Second
)

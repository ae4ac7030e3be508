package wasmpool

import (
	"context"

	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

// The stacks of calls in flight are charged to their module's memory.
//
// A call of an instrumented module starts with a first part of the stack
// bound (WASM_MAX_STACK_KB), which each instance's memory figure counts as
// its stack allowance; past it, wazero grows the call's stack on the
// host's heap, up to the bound, outside that figure. So that N calls in
// flight cannot hold N bounds of host memory that the budget does not see,
// every call the Set runs (extractions, health checks, resets, instance
// creations and the module's check as it loads) asks its module's share
// for each step its stack grows past the first part (see wasm.StackGrant:
// the budget doubles, five steps from 2 MiB to 64 MiB), and gives all
// back when it returns. A step is charged at its size in the frame
// estimates, which covers the host memory wazero holds for it: the
// estimates cover wazero's frames at least four times, and wazero holds
// at most three times what a call needs (its stack doubles as it grows,
// and the old one lives while it is copied).
//
// A step is granted as much as the module may take (Set.stackRoom); one
// granted less is the call's last, and a call that goes deeper ends with
// wasm.ErrStackRefused wrapping a *MemoryError: MEMORY_LIMIT_EXCEEDED, the
// instance replaced, and no failure of the module's breaker (the module
// went deep where the memory was wanted elsewhere, as a new instance
// refused by the budget is no failure either).

// callStack is what one call was granted of stack, charged to its
// module's account, and counted in the memory in use, until the call
// ends. A call runs on one goroutine, so it needs no lock. Each Instance
// has one, which its calls reuse (they run one at a time), so that a call
// that never goes deep costs nothing here; the module's check as it loads
// makes one for itself (withStack).
type callStack struct {
	set     *Set
	acct    *account
	module  string
	granted uint64
}

// withStack returns ctx with a wasm.StackGrant that charges the module
// whose account is a, and the callStack to end once the call returns.
func (s *Set) withStack(ctx context.Context, a *account, module string) (context.Context, *callStack) {
	c := &callStack{set: s, acct: a, module: module}
	return wasm.WithStackGrant(ctx, c.grow), c
}

func (c *callStack) grow(_ context.Context, want uint64) (uint64, error) {
	n, err := c.set.growStack(c.acct, c.module, want)
	c.granted += n
	return n, err
}

// end gives back what the call was granted.
func (c *callStack) end() {
	if c.granted == 0 {
		return
	}
	c.set.inUse.Add(-int64(c.granted))
	c.set.chargeAccount(c.acct, -int64(c.granted))
	c.granted = 0
}

// growStack charges a's module for want more bytes of a call's stack, or
// as much of it as stackRoom allows, and returns how much; if less than
// want, a *MemoryError says why.
func (s *Set) growStack(a *account, module string, want uint64) (uint64, error) {
	// A running call's stack is memory in use, as its instance is.
	if s.cfg.MemoryBudgetBytes == 0 {
		s.chargeAccount(a, int64(want))
		s.inUse.Add(int64(want))
		return want, nil
	}
	s.admitMu.Lock()
	defer s.admitMu.Unlock()
	n := min(want, s.stackRoom(a))
	s.chargeAccount(a, int64(n))
	s.inUse.Add(int64(n))
	if n == want {
		return n, nil
	}
	share, modules := s.MemoryShare()
	return n, &MemoryError{Module: module, Held: a.bytes(), Share: share, Modules: modules, Need: want - n, Stack: true,
		Used: uint64(max(s.used.Load(), 0)), InUse: uint64(max(s.inUse.Load(), 0)),
		Budget: s.cfg.MemoryBudgetBytes, Threshold: s.cfg.PressureThreshold}
}

// stackRoom is how much more a call's stack may take of the budget for the
// module whose account is a: what its share has free, or, below the
// pressure threshold, up to the threshold, if more (a module borrows
// memory nobody uses, as it does for instances). A call's stack never
// takes its module past its share, or the budget past the threshold:
// unlike an idle instance, it cannot be taken back until the call ends.
// It is called with admitMu held.
func (s *Set) stackRoom(a *account) uint64 {
	budget := s.cfg.MemoryBudgetBytes
	used := uint64(max(s.used.Load(), 0))
	if used >= budget {
		return 0
	}
	var room uint64
	if threshold := uint64(s.cfg.PressureThreshold * float64(budget)); used < threshold {
		room = threshold - used
	}
	if share, _ := s.MemoryShare(); a.bytes() < share {
		room = max(room, min(share-a.bytes(), budget-used))
	}
	return room
}

// The linear memory of instances is charged as it grows.
//
// An instance is charged its memory figure (wasm.Instance.MemoryBytes)
// from before it is made (see admit). Linear memory grows in calls, when
// the guest runs memory.grow: each instance's wasm.MemoryGrant
// (Instance.growMemory) is asked before it grows, and the module's account
// charged the difference, under the same rule as a new instance (see
// room): so what instances grow to in their calls, at once, never passes
// the budget, nor, while the budget is under pressure, a module's share.
// A grow the budget has no room for is refused: the guest sees
// memory.grow fail and usually traps, and the call ends with
// wasm.ErrMemoryRefused wrapping a *MemoryError: MEMORY_LIMIT_EXCEEDED,
// the instance replaced, and no failure of the module's breaker.

// growMemory is the instance's wasm.MemoryGrant: asked on the guest's
// goroutine, with its call running (or the instance being made), before
// its linear memory grows so that its memory figure becomes figure. It
// charges the module the part of the growth the instance's charge does
// not cover yet.
func (i *Instance) growMemory(figure uint64) error {
	need := int64(figure) - i.size.Load()
	if need <= 0 {
		return nil // within what it was charged as it was made
	}
	if err := i.set.growInstance(i.pool, figure, uint64(need)); err != nil {
		return err
	}
	i.size.Add(need)
	if i.checkout.Load() {
		i.set.inUse.Add(need)
	}
	return nil
}

// growInstance charges p's module need more bytes for an instance whose
// memory grows to figure, if the budget has room for them as it would
// for a new instance (see room), and otherwise says why not.
func (s *Set) growInstance(p *Pool, figure, need uint64) error {
	if s.cfg.MemoryBudgetBytes == 0 {
		s.charge(p, int64(need))
		return nil
	}
	s.admitMu.Lock()
	defer s.admitMu.Unlock()
	if s.room(p, need) {
		s.charge(p, int64(need))
		return nil
	}
	err := s.memoryError(p, need)
	err.Grow, err.Size = true, figure
	return err
}

package pool

import (
	"fmt"
	"sync/atomic"
)

// Handle states. Only the holder of a checked-out item sees stateHeld.
const (
	stateFree uint32 = iota // idle, being created, probed or handed over
	stateHeld               // checked out
	stateDead               // retired; the handle is never handed out again
)

// Handle is a checked-out item. There is exactly one Handle per item for the
// item's whole life, so Checkout allocates nothing; a Handle is valid from
// Checkout until Release or Discard and must not be used after that.
//
// Misuse is caught where it can be without a per-checkout allocation: Value,
// Release and Discard panic on a handle that is not checked out, except that
// Release and Discard of a handle whose item is already destroyed are no-ops,
// so that `defer h.Release()` composes with an early h.Discard. A stale
// handle whose item has since been checked out by someone else cannot be
// told apart from that holder's: like a file descriptor, it must not be kept.
type Handle[T Poolable] struct {
	pool  *Pool[T]
	value T
	id    uint64
	state atomic.Uint32

	// Guarded by pool.mu, or owned by the holder while checked out.
	uses       int
	created    int64 // pool.now() at creation
	idleSince  int64 // pool.now() when first seen idle by a sweep, or unstamped
	probeRound uint64
}

// Value returns the item. It panics if the handle is not checked out.
func (h *Handle[T]) Value() T {
	if h.state.Load() != stateHeld {
		h.misuse("Value")
	}
	return h.value
}

// ID returns the item's id, unique within its pool and stable for the item's
// life.
func (h *Handle[T]) ID() uint64 { return h.id }

// Release resets the item and returns it to the pool. The item is destroyed
// instead when it has reached Config.MaxUses or Config.MaxLifetime, when
// Reset fails, or when the pool is closed.
func (h *Handle[T]) Release() {
	if !h.state.CompareAndSwap(stateHeld, stateFree) {
		h.misuse("Release")
		return
	}
	p := h.pool
	switch {
	case p.closedFlag.Load():
		p.destroyInUse(h, ReasonClosed, "", nil, false)
		return
	case p.cfg.MaxUses > 0 && h.uses >= p.cfg.MaxUses:
		p.destroyInUse(h, ReasonMaxUses, "", nil, false)
		return
	case p.cfg.MaxLifetime > 0 && p.coarseNow.Load()-h.created >= int64(p.cfg.MaxLifetime):
		p.destroyInUse(h, ReasonMaxLifetime, "", nil, false)
		return
	}
	if err := h.value.Reset(p.ctx); err != nil {
		p.log.Debug("pool: reset failed", "pool", p.cfg.Name, "item", h.id, "err", err)
		p.destroyInUse(h, ReasonResetFailed, "", err, false)
		return
	}

	p.mu.Lock()
	p.inUse--
	retired := p.returnLocked(h, unstamped)
	p.mu.Unlock()
	if retired {
		p.closeItem(h, ReasonClosed, "", nil)
		return
	}
	if p.cfg.OnEvent != nil {
		p.emit(Event{Kind: EventReturned, ItemID: h.id})
	}
}

// Discard closes the item instead of returning it, e.g. after a trap or a
// timeout left it in an unknown state. reason is free text for events and
// logs; the item is counted under ReasonDiscarded. The pool refills to
// MinSize in the background.
func (h *Handle[T]) Discard(reason string) {
	if !h.state.CompareAndSwap(stateHeld, stateFree) {
		h.misuse("Discard")
		return
	}
	h.pool.destroyInUse(h, ReasonDiscarded, reason, nil, false)
}

// misuse panics unless the handle's item is already destroyed, in which case
// Release and Discard are no-ops.
func (h *Handle[T]) misuse(op string) {
	if h.state.Load() == stateDead && op != "Value" {
		return
	}
	panic(fmt.Sprintf("pool %q: %s on item %d, which is not checked out (used after Release or Discard?)", h.pool.cfg.Name, op, h.id))
}

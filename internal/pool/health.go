package pool

import (
	"context"
	"time"
)

// sweepInterval is the period of the background sweep: HealthInterval, or,
// when only IdleTimeout or MaxLifetime needs enforcing, a quarter of the
// shorter of them (at least minSweepInterval), so that they are enforced at
// most 25% late. 0 means no sweep.
func (p *Pool[T]) sweepInterval() time.Duration {
	if p.cfg.HealthInterval > 0 {
		return p.cfg.HealthInterval
	}
	d := p.cfg.IdleTimeout
	if l := p.cfg.MaxLifetime; l > 0 && (d == 0 || l < d) {
		d = l
	}
	if d == 0 {
		return 0
	}
	return max(d/4, minSweepInterval)
}

const minSweepInterval = 100 * time.Millisecond

// sweepLoop runs a sweep every d until Close, probing idle items only when
// HealthInterval is set.
func (p *Pool[T]) sweepLoop(d time.Duration) {
	probe := p.cfg.HealthInterval > 0
	for {
		t := p.newTimer(d)
		select {
		case <-p.done:
			t.Stop()
			return
		case <-t.C():
		}
		p.sweep(p.ctx, probe)
	}
}

// CheckHealth runs one health pass now; the health loop calls it every
// Config.HealthInterval. It closes idle items that are older than
// MaxLifetime or, above MinSize, have been idle longer than IdleTimeout;
// probes every other idle item with IsHealthy, one at a time so that
// Checkout is never starved; closes the unhealthy ones; and refills the pool
// to MinSize.
func (p *Pool[T]) CheckHealth(ctx context.Context) { p.sweep(ctx, true) }

// sweep is CheckHealth, with probing optional.
//
// Idle time is measured without touching the clock on Release: an item goes
// back on the idle stack unstamped, and the first sweep that finds it idle
// stamps it. An item is therefore closed between IdleTimeout and
// IdleTimeout plus one sweep interval after it was released; never early.
func (p *Pool[T]) sweep(ctx context.Context, probe bool) {
	now := p.now()
	p.coarseNow.Store(now)
	p.retireExpired(now)
	if probe {
		p.probeIdle(ctx)
	}
	p.mu.Lock()
	p.fillLocked()
	p.mu.Unlock()
}

// retireExpired closes idle items past MaxLifetime or IdleTimeout and stamps
// the idle time of those returned since the last sweep.
func (p *Pool[T]) retireExpired(now int64) {
	type retiree struct {
		h      *Handle[T]
		reason DestroyReason
	}
	var out []retiree

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	// In-use items count towards MinSize: idle ones above it may go.
	excess := p.total - p.cfg.MinSize
	// The bottom of the stack has been idle longest: scan from there.
	keep := p.idle[:0]
	for _, h := range p.idle {
		if h.idleSince == unstamped {
			h.idleSince = now
		}
		switch {
		case p.cfg.MaxLifetime > 0 && now-h.created >= int64(p.cfg.MaxLifetime):
			out = append(out, retiree{h, ReasonMaxLifetime})
			excess--
		case p.cfg.IdleTimeout > 0 && excess > 0 && now-h.idleSince >= int64(p.cfg.IdleTimeout):
			out = append(out, retiree{h, ReasonIdleTimeout})
			excess--
		default:
			keep = append(keep, h)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	for _, r := range out {
		p.retireLocked(r.h, r.reason)
	}
	p.fillLocked()
	p.mu.Unlock()

	for _, r := range out {
		p.closeItem(r.h, r.reason, "", nil)
	}
}

// probeIdle checks each item that is idle when it starts, taking one at a
// time off the idle stack (so it cannot be checked out while probed) and
// putting it back, or handing it to a waiter, when healthy.
func (p *Pool[T]) probeIdle(ctx context.Context) {
	p.mu.Lock()
	p.probeRound++
	round := p.probeRound
	p.mu.Unlock()

	for {
		p.mu.Lock()
		h := p.takeUnprobedLocked(round)
		p.mu.Unlock()
		if h == nil {
			return
		}

		healthy := h.value.IsHealthy(ctx)

		p.mu.Lock()
		p.probing--
		reason := ReasonClosed
		retired := true
		switch {
		case p.closed:
			p.retireLocked(h, reason)
		case !healthy:
			reason = ReasonUnhealthy
			p.retireLocked(h, reason)
		default:
			// Back on top of the stack, keeping its idle age.
			retired = p.returnLocked(h, h.idleSince)
		}
		p.mu.Unlock()
		if !healthy && p.cfg.OnEvent != nil {
			p.emit(Event{Kind: EventHealthCheckFailed, ItemID: h.id})
		}
		if retired {
			p.closeItem(h, reason, "", nil)
		}
	}
}

// takeUnprobedLocked removes and returns the idle item nearest the bottom of
// the stack that this round has not probed yet, or nil.
func (p *Pool[T]) takeUnprobedLocked(round uint64) *Handle[T] {
	if p.closed {
		return nil
	}
	for i, h := range p.idle {
		if h.probeRound == round {
			continue
		}
		h.probeRound = round
		copy(p.idle[i:], p.idle[i+1:])
		p.idle[len(p.idle)-1] = nil
		p.idle = p.idle[:len(p.idle)-1]
		p.probing++
		return h
	}
	return nil
}

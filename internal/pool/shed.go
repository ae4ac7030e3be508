package pool

// ShedIdle closes the idle item that weight scores highest (between equals,
// the one idle longest) and reports whether it closed one. It closes none
// when the pool is closed, has no idle item, or has MinSize live items or
// fewer: items in use, being created or being probed are never closed, and
// count towards MinSize, as for IdleTimeout. The item is destroyed with
// ReasonReclaimed and detail.
//
// It is for an owner that shares one resource between pools (the
// WebAssembly memory budget) and takes back, for another pool, what this
// one borrowed. weight is called with the pool's lock held: it must be
// cheap and must not call the pool.
func (p *Pool[T]) ShedIdle(weight func(T) int64, detail string) bool {
	p.mu.Lock()
	if p.closed || len(p.idle) == 0 || p.total-p.closing <= p.cfg.MinSize {
		p.mu.Unlock()
		return false
	}
	// The bottom of the stack has been idle longest: a later item must
	// weigh more to be chosen over it.
	pick, heaviest := 0, weight(p.idle[0].value)
	for i, h := range p.idle[1:] {
		if w := weight(h.value); w > heaviest {
			pick, heaviest = i+1, w
		}
	}
	h := p.idle[pick]
	copy(p.idle[pick:], p.idle[pick+1:])
	p.idle[len(p.idle)-1] = nil
	p.idle = p.idle[:len(p.idle)-1]
	p.retireLocked(h, ReasonReclaimed)
	p.mu.Unlock()
	p.closeItem(h, ReasonReclaimed, detail, nil)
	return true
}

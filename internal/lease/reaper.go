package lease

import (
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/clock"
)

// reap is the reaper goroutine: it scans, sleeps until the next lease is
// due (or ReapInterval, or a wake-up from Add or Renew), and scans again
// until Close.
func (t *Table) reap() {
	defer close(t.reaperDone)
	var due []*entry // reused between scans
	for {
		now := t.now()
		var next time.Time
		due, next = t.scan(now, due[:0])
		for i, e := range due {
			t.reapOne(e)
			due[i] = nil // do not keep ended leases alive until the next scan
		}
		timer := t.newTimer(next.Sub(now))
		select {
		case <-timer.C():
		case <-t.wake:
			timer.Stop()
		case <-t.stop:
			timer.Stop()
			return
		}
	}
}

// scan appends to due the leases that have expired at now and are not
// already being reaped, and returns when the reaper should scan next.
func (t *Table) scan(now time.Time, due []*entry) ([]*entry, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := now.Add(t.reapInterval)
	for _, e := range t.leases {
		switch at := e.lease.ExpiresAt; {
		case e.ended || e.reaping:
		case !now.Before(at):
			due = append(due, e)
		case at.Before(next):
			next = at
		}
	}
	t.nextReap = next
	return due, next
}

// reapOne ends the expired lease e now if no call is running on it, and
// otherwise hands it to a goroutine that ends it once the call has finished,
// so that one long call does not hold up the whole scan.
func (t *Table) reapOne(e *entry) {
	select {
	case e.token <- struct{}{}:
		t.end(e, expired)
		e.unlock()
		return
	default:
	}
	t.mu.Lock()
	if e.ended || e.reaping || t.closed { // Close takes it from here
		t.mu.Unlock()
		return
	}
	e.reaping = true
	t.reapers.Add(1) // under mu with closed false: Close's Wait comes later
	t.mu.Unlock()
	go t.reapLater(e)
}

// reapLater waits for e's token and ends e as expired, unless meanwhile it
// has ended or been renewed; then the reaper must look at it again.
func (t *Table) reapLater(e *entry) {
	defer t.reapers.Done()
	select {
	case e.token <- struct{}{}:
	case <-e.gone:
		return
	}
	defer e.unlock()
	if t.end(e, expired) {
		return
	}
	t.mu.Lock()
	e.reaping = false
	if !e.ended {
		t.wakeReaperLocked(e.lease.ExpiresAt)
	}
	t.mu.Unlock()
}

// wakeReaperLocked wakes the reaper if a lease expiring at at is due before
// its next scan.
func (t *Table) wakeReaperLocked(at time.Time) {
	if !at.Before(t.nextReap) {
		return
	}
	t.nextReap = at // one wake-up is enough until the reaper scans again
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *Table) newTimer(d time.Duration) clock.Timer {
	if t.clock == nil {
		return clock.Real{}.NewTimer(d)
	}
	return t.clock.NewTimer(d)
}

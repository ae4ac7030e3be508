package wasmpool

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/pool"
)

// slots are the Set's guest call slots (Config.MaxConcurrentCalls), shared
// fairly between modules.
//
// A module takes a free slot at once while nobody waits. Otherwise its
// caller queues, and each slot that frees goes to the module with the
// fewest calls running among those with callers waiting (its oldest
// caller; between equals, the module whose oldest caller came first). So
// with n modules waiting each gets at least its part, total/n, of the
// slots as calls end, and a module holds more than its part only while no
// other module waits.
//
// A running call also gives its slot up at its interruption ticks (yield)
// once it has been served a quantum more than a waiting caller of another
// module: the slot goes to the caller served least, and the running call
// queues again at the head of its module's queue (a module's own calls
// take turns in order; yielding to them would only starve its longest). A call counts as served the slot
// time it has had, or, if more, what its module's calls usually take (a
// moving average of the length of its calls that ended): a new call of
// a module whose calls run for seconds does not count as short. This is
// least-attained-service scheduling with a per-module prediction: a short
// call (an article page) beside long ones (a module that computes for a
// second) waits about a quantum for a slot instead of a long call's whole
// length, so long calls cost other modules' callers little latency, while
// they still get every slot that short calls leave free.
type slots struct {
	total int

	mu      sync.Mutex
	busy    int
	waiting int // callers queued, all modules
	seq     uint64
	modules map[string]*moduleSlots
	// usual is each module's moving average of the length of its calls
	// that ended (slotCall.release); it outlives moduleSlots, which go
	// when a module has no call.
	usual map[string]time.Duration
}

// moduleSlots is one module's calls: those running and those queued.
type moduleSlots struct {
	running int
	queue   []*slotWaiter // oldest first
}

type slotWaiter struct {
	attained time.Duration // what its call counts as served (slotCall.served)
	seq      uint64
	ready    chan struct{} // closed when granted
	granted  bool          // under slots.mu
}

func newSlots(total int) *slots {
	return &slots{total: total, modules: make(map[string]*moduleSlots), usual: make(map[string]time.Duration)}
}

func (s *slots) module(name string) *moduleSlots {
	m := s.modules[name]
	if m == nil {
		m = new(moduleSlots)
		s.modules[name] = m
	}
	return m
}

// acquire takes a slot for a call of module, waiting up to timeout (0: no
// bound but ctx). It fails with a *SlotsError after timeout, or with
// ctx.Err().
func (s *slots) acquire(ctx context.Context, module string, timeout time.Duration) error {
	s.mu.Lock()
	m := s.module(module)
	if s.busy < s.total && s.waiting == 0 {
		s.busy++
		m.running++
		s.mu.Unlock()
		return nil
	}
	w := s.enqueueLocked(m, s.usual[module], false)
	s.grantLocked()
	s.mu.Unlock()

	began := time.Now()
	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var err error
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-expired:
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted { // granted as the wait ended
		if err == nil {
			return nil
		}
		s.releaseLocked(module)
		return err
	}
	m.queue = slices.DeleteFunc(m.queue, func(x *slotWaiter) bool { return x == w })
	s.waiting--
	if err != nil {
		return err
	}
	return s.exhaustedLocked(module, time.Since(began))
}

// enqueueLocked queues a caller of m that counts as served attained: at the
// end of m's queue, or at its head for a call that gave its slot up (it
// began before the module's callers that wait).
func (s *slots) enqueueLocked(m *moduleSlots, attained time.Duration, head bool) *slotWaiter {
	s.seq++
	w := &slotWaiter{attained: attained, seq: s.seq, ready: make(chan struct{})}
	if head {
		m.queue = slices.Insert(m.queue, 0, w)
	} else {
		m.queue = append(m.queue, w)
	}
	s.waiting++
	return w
}

// yieldQuantum is how much longer than a waiting caller a running call must
// have held slots before it gives its slot up. It is several interruption
// ticks, so that calls of about the same length do not trade slots at
// every tick, and long next to what a slot handover costs (a wake-up).
const yieldQuantum = 40 * time.Millisecond

// yield is called on a running call of module that holds a slot and has
// held slots for attained so far (it counts as served that, or its
// module's usual call if more). If a caller waits that has been served
// at least yieldQuantum less, the call gives its slot to the least served
// caller and queues again until it is given one back. It reports whether
// it gave the slot up. If ctx ends while it waits, it returns ctx's error
// and holds no slot: the caller must not release one.
func (s *slots) yield(ctx context.Context, module string, attained time.Duration) (yielded bool, err error) {
	s.mu.Lock()
	attained = max(attained, s.usual[module])
	if !s.shorterWaitsLocked(module, attained-yieldQuantum) {
		s.mu.Unlock()
		return false, nil
	}
	m := s.module(module)
	w := s.enqueueLocked(m, attained, true)
	s.releaseLocked(module)
	s.mu.Unlock()

	select {
	case <-w.ready:
		return true, nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.granted {
		s.releaseLocked(module)
	} else {
		m.queue = slices.DeleteFunc(m.queue, func(x *slotWaiter) bool { return x == w })
		s.waiting--
		if m.running == 0 && len(m.queue) == 0 {
			delete(s.modules, module)
		}
	}
	return true, ctx.Err()
}

// shorterWaitsLocked reports whether a caller of another module than
// module waits that has been served less than limit. A module's own
// calls are alike and take turns in order: yielding to them would only
// starve its longest call.
func (s *slots) shorterWaitsLocked(module string, limit time.Duration) bool {
	if s.waiting == 0 || limit <= 0 {
		return false
	}
	for name, m := range s.modules {
		if name != module && len(m.queue) > 0 && m.queue[0].attained < limit {
			return true
		}
	}
	return false
}

// slotCall is one guest call's hold on the slots. Its tick, run at the
// guest's interruption checks (wasm.WithTick), offers the slot to callers
// served less (yield); it remembers whether the call ended while waiting
// to get a slot back.
type slotCall struct {
	slots     *slots
	module    string
	held      bool          // holds a slot
	attained  time.Duration // slot time before the current hold
	began     time.Time     // when the call first got a slot
	since     time.Time     // when the current hold began
	next      time.Time     // when tick offers the slot next
	waited    time.Duration // time spent without a slot after yielding
	preempted bool          // ended while waiting for a slot back
}

// yieldCheckEvery is how often a running call looks for shorter callers
// waiting: the guest checks for interruption every 0.1 ms or so, and
// most of those checks should cost only a clock reading.
const yieldCheckEvery = 5 * time.Millisecond

// begin takes a slot for a call of module as acquire does, and returns the
// call's hold on it. The caller must call release once the call is over.
func (s *slots) begin(ctx context.Context, module string, timeout time.Duration) (*slotCall, error) {
	if err := s.acquire(ctx, module, timeout); err != nil {
		return nil, err
	}
	now := time.Now()
	return &slotCall{slots: s, module: module, held: true, began: now, since: now, next: now.Add(yieldCheckEvery)}, nil
}

// tick is the call's wasm.Tick. It runs on the call's goroutine only.
func (c *slotCall) tick(ctx context.Context) error {
	now := time.Now()
	if now.Before(c.next) {
		return nil
	}
	c.next = now.Add(yieldCheckEvery)
	held := c.attained + now.Sub(c.since)
	yielded, err := c.slots.yield(ctx, c.module, held)
	if !yielded {
		return nil
	}
	back := time.Now()
	c.attained, c.since, c.next = held, back, back.Add(yieldCheckEvery)
	c.waited += back.Sub(now)
	if err != nil {
		c.held, c.preempted = false, true
	}
	return err
}

// release gives the call's slot back, if it holds one, and counts the
// call's length toward its module's usual call. The length is the time
// from its first slot to its end, waits after yielding included: a call
// that gave its slot up and never finished wanted at least that much, and
// counting only the slot time it got would make a module that is kept
// waiting look short.
func (c *slotCall) release() {
	total := time.Since(c.began)
	s := c.slots
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.usual[c.module]; ok {
		s.usual[c.module] = u + (total-u)/4
	} else {
		s.usual[c.module] = total
	}
	if c.held {
		c.held = false
		s.releaseLocked(c.module)
	}
}

// PreemptedError reports a call that gave its slot to shorter calls and
// reached its deadline before it got one back: the daemon was busy, the
// module is not at fault. It wraps pool.ErrExhausted and the guest's
// error.
type PreemptedError struct {
	Module      string
	Ran, Waited time.Duration
	Err         error
}

func (e *PreemptedError) Error() string {
	return fmt.Sprintf("module %q ran %v, then waited %v for one of the guest call slots, given to shorter calls, and reached its deadline: %v",
		e.Module, e.Ran.Round(time.Millisecond), e.Waited.Round(time.Millisecond), e.Err)
}

func (e *PreemptedError) Unwrap() []error { return []error{pool.ErrExhausted, e.Err} }

// release gives back a slot of module's.
func (s *slots) release(module string) {
	s.mu.Lock()
	s.releaseLocked(module)
	s.mu.Unlock()
}

func (s *slots) releaseLocked(module string) {
	s.busy--
	m := s.modules[module]
	m.running--
	if m.running == 0 && len(m.queue) == 0 {
		delete(s.modules, module) // a reloaded or removed module leaves nothing
	}
	s.grantLocked()
}

// grantLocked hands free slots to the queued callers served least so far
// (new calls before calls that gave their slot up), and between those to
// the modules with the fewest calls running.
func (s *slots) grantLocked() {
	for s.busy < s.total && s.waiting > 0 {
		var next *moduleSlots
		for _, m := range s.modules {
			if len(m.queue) == 0 {
				continue
			}
			if next == nil {
				next = m
				continue
			}
			w, x := m.queue[0], next.queue[0]
			if w.attained != x.attained {
				if w.attained < x.attained {
					next = m
				}
				continue
			}
			if m.running < next.running || m.running == next.running && w.seq < x.seq {
				next = m
			}
		}
		w := next.queue[0]
		next.queue = next.queue[1:]
		s.waiting--
		s.busy++
		next.running++
		w.granted = true
		close(w.ready)
	}
}

// exhaustedLocked describes the slots for a caller of module that waited in
// vain.
func (s *slots) exhaustedLocked(module string, waited time.Duration) *SlotsError {
	e := &SlotsError{Module: module, Total: s.total, Waited: waited}
	for name, m := range s.modules {
		if m.running > 0 || len(m.queue) > 0 {
			e.Modules = append(e.Modules, SlotShare{Module: name, Running: m.running, Waiting: len(m.queue)})
		}
	}
	slices.SortFunc(e.Modules, func(a, b SlotShare) int {
		return cmp.Or(cmp.Compare(b.Running, a.Running), cmp.Compare(a.Module, b.Module))
	})
	return e
}

// SlotShare is one module's use of the guest call slots.
type SlotShare struct {
	Module           string
	Running, Waiting int
}

// SlotsError reports a call that found no free guest call slot within the
// checkout timeout: it says who holds the slots. It wraps
// pool.ErrExhausted.
type SlotsError struct {
	Module  string
	Total   int
	Waited  time.Duration
	Modules []SlotShare // by calls running, most first
}

func (e *SlotsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "module %q waited %v for one of the %d guest call slots (one per core, shared fairly by the modules with callers waiting); running/waiting:",
		e.Module, e.Waited.Round(time.Millisecond), e.Total)
	for i, m := range e.Modules {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %d/%d", m.Module, m.Running, m.Waiting)
	}
	return b.String()
}

func (e *SlotsError) Unwrap() error { return pool.ErrExhausted }

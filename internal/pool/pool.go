package pool

import (
	"context"
	"errors"
	"fmt"
	"github.com/riptidecrawler/riptide-poold/internal/clock"
	"github.com/riptidecrawler/riptide-poold/internal/histogram"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Poolable is what the pool manages.
type Poolable interface {
	// IsHealthy is a cheap probe, called on an idle item before checkout
	// (when Config.ValidateOnCheckout is set) and by the health loop.
	IsHealthy(ctx context.Context) bool
	// Reset makes the item clean for its next user; an error discards it.
	Reset(ctx context.Context) error
	// Close releases the item's resources for good. The pool calls it
	// exactly once per item.
	Close() error
}

// Factory creates an item. Its context is cancelled when the pool closes.
// Callers wrap it to add a circuit breaker or a memory guard; the pool only
// sees the error.
type Factory[T Poolable] func(ctx context.Context) (T, error)

var (
	// ErrClosed is returned by Checkout once Close has been called.
	ErrClosed = errors.New("pool: closed")
	// ErrExhausted is returned by Checkout when no item became available
	// within Config.CheckoutTimeout. A caller's own context ending yields
	// an error wrapping ctx.Err() instead.
	ErrExhausted = errors.New("pool: exhausted")
)

// Config configures a Pool. The zero value of every optional field disables
// the feature it controls.
type Config struct {
	Name    string // pool name, e.g. "css"; required
	MinSize int    // items created at start and kept alive
	MaxSize int    // hard cap on live items (in use + idle + being created); >= 1

	IdleTimeout time.Duration // idle items above MinSize are closed after this long (0 = never)
	MaxLifetime time.Duration // items older than this are recycled on Release and by the health loop (0 = unlimited)
	MaxUses     int           // items are recycled after this many checkouts (0 = unlimited)

	CheckoutTimeout    time.Duration // how long Checkout waits before ErrExhausted (0 = only ctx)
	ValidateOnCheckout bool          // probe an idle item with IsHealthy before handing it out
	HealthInterval     time.Duration // period of the background CheckHealth pass (0 = none)

	// RetryBackoff is the first delay before the pool retries refilling to
	// MinSize after a factory error; it doubles per failure up to 64 times
	// itself and resets on success. Default 100ms. Creations for queued
	// Checkout calls are not delayed: each failure fails one waiter instead.
	RetryBackoff time.Duration

	// OnEvent, when set, is called synchronously for every Event and must
	// not block. It is never called with the pool's lock held.
	OnEvent func(Event)
	Clock   Clock        // nil = the real clock
	Logger  *slog.Logger // nil = discard
}

const defaultRetryBackoff = 100 * time.Millisecond

// maxValidationFailures is how many pooled items may fail validation for
// one Checkout before it stops taking idle items and waits for a new one,
// as database/sql falls back to a new connection after bad ones.
const maxValidationFailures = 3

func (c Config) validate() error {
	switch {
	case c.Name == "":
		return errors.New("pool: config: Name is required")
	case c.MaxSize < 1:
		return fmt.Errorf("pool %q: config: MaxSize %d must be at least 1", c.Name, c.MaxSize)
	case c.MinSize < 0 || c.MinSize > c.MaxSize:
		return fmt.Errorf("pool %q: config: MinSize %d must be between 0 and MaxSize %d", c.Name, c.MinSize, c.MaxSize)
	case c.MaxUses < 0:
		return fmt.Errorf("pool %q: config: MaxUses %d must not be negative", c.Name, c.MaxUses)
	case c.IdleTimeout < 0, c.MaxLifetime < 0, c.CheckoutTimeout < 0, c.HealthInterval < 0, c.RetryBackoff < 0:
		return fmt.Errorf("pool %q: config: durations must not be negative", c.Name)
	}
	return nil
}

// Pool is a bounded pool of items of type T. All methods are safe for
// concurrent use.
type Pool[T Poolable] struct {
	cfg     Config
	factory Factory[T]
	clock   Clock // nil on the fast real-clock path; see now
	epoch   time.Time
	log     *slog.Logger

	// ctx is handed to the factory and to Reset; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc

	done       chan struct{} // closed by Close; stops background goroutines
	closedFlag atomic.Bool   // mirrors closed, read without the lock by Release
	// coarseNow is pool.now() as of the last sweep. Release checks
	// MaxLifetime against it rather than reading the clock: clock reads
	// were a third of the hot path's cost on virtual machines.
	coarseNow atomic.Int64

	warm       chan struct{} // closed once MinSize items have been created
	warmFailed chan struct{} // closed at the first factory error before warm
	warmErr    error         // set before warmFailed is closed

	mu sync.Mutex
	// Everything below up to the atomics is guarded by mu.
	closed        bool
	idle          []*Handle[T] // a stack: the top is the most recently returned
	waiters       waitQueue[T]
	total         int // inUse + len(idle) + creating + probing + closing
	inUse         int
	creating      int
	probing       int // taken out of idle by CheckHealth
	closing       int // retired, Close not yet returned
	nextID        uint64
	probeRound    uint64
	fastCheckouts uint64 // checkouts served from idle without waiting
	backoff       time.Duration
	retryPending  bool      // a refill retry is scheduled; refills to MinSize wait for it
	retryAt       time.Time // when the pending retry is due (see Backoff)
	failStreak    uint64    // factory calls failed in a row
	warmDone      bool
	warmFailDone  bool
	drained       chan struct{} // closed when closed and nothing is outstanding
	drainedDone   bool

	waits          atomic.Uint64
	timeouts       atomic.Uint64
	canceled       atomic.Uint64
	created        atomic.Uint64
	createFailures atomic.Uint64
	createFailing  atomic.Bool  // the latest factory call failed
	overrunning    atomic.Int64 // calls running on after their context ended; see Watch
	destroyed      [NumReasons]atomic.Uint64
	waitHist       *histogram.Recorder
	createHist     *histogram.Recorder
}

// New validates cfg and returns a pool that starts creating MinSize items in
// the background; WaitReady waits for them. ctx supplies values (not
// cancellation) to factory calls: the pool lives until Close.
func New[T Poolable](ctx context.Context, cfg Config, factory Factory[T]) (*Pool[T], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if factory == nil {
		return nil, fmt.Errorf("pool %q: nil factory", cfg.Name)
	}
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = defaultRetryBackoff
	}
	p := &Pool[T]{
		cfg:        cfg,
		factory:    factory,
		clock:      cfg.Clock,
		log:        cfg.Logger,
		done:       make(chan struct{}),
		warm:       make(chan struct{}),
		warmFailed: make(chan struct{}),
		drained:    make(chan struct{}),
		idle:       make([]*Handle[T], 0, min(cfg.MaxSize, 1024)),
		waitHist:   histogram.New(LatencyBounds),
		createHist: histogram.New(LatencyBounds),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.clock == nil {
		p.epoch = time.Now()
	} else {
		p.epoch = p.clock.Now()
	}
	p.ctx, p.cancel = context.WithCancel(context.WithoutCancel(ctx))

	p.mu.Lock()
	p.checkWarmLocked()
	p.fillLocked()
	p.mu.Unlock()
	if d := p.sweepInterval(); d > 0 {
		go p.sweepLoop(d)
	}
	return p, nil
}

// now returns nanoseconds since the pool's epoch. With the real clock it
// reads only the runtime's monotonic clock (time.Since takes that path when
// its argument carries a monotonic reading), which is cheaper than time.Now.
func (p *Pool[T]) now() int64 {
	if p.clock == nil {
		return int64(time.Since(p.epoch))
	}
	return int64(p.clock.Now().Sub(p.epoch))
}

func (p *Pool[T]) wallNow() time.Time {
	if p.clock == nil {
		return time.Now()
	}
	return p.clock.Now()
}

func (p *Pool[T]) newTimer(d time.Duration) Timer {
	if p.clock == nil {
		return clock.Real{}.NewTimer(d)
	}
	return p.clock.NewTimer(d)
}

func (p *Pool[T]) emit(e Event) {
	e.Pool = p.cfg.Name
	e.Time = p.wallNow()
	p.cfg.OnEvent(e)
}

// WaitReady blocks until the pool has created MinSize items. It returns the
// first factory error if warm-up failed (the pool keeps retrying in the
// background), ErrClosed if the pool was closed, or an error wrapping
// ctx.Err().
func (p *Pool[T]) WaitReady(ctx context.Context) error {
	select {
	case <-p.warm:
		return nil
	default:
	}
	select {
	case <-p.warm:
		return nil
	case <-p.warmFailed:
		return fmt.Errorf("pool %q: warm-up: %w", p.cfg.Name, p.warmErr)
	case <-p.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("pool %q: warm-up: %w", p.cfg.Name, ctx.Err())
	}
}

// Checkout returns an idle item, or creates one while the pool is below
// MaxSize, or waits in FIFO order for one to be released. It fails with
// ErrClosed, with ErrExhausted after Config.CheckoutTimeout, with a factory
// error that stopped the creation this call was waiting on, or with an error
// wrapping ctx.Err().
//
// With Config.ValidateOnCheckout, items that have been pooled are checked
// with IsHealthy first and destroyed when they fail; an item the factory
// made for this very call is handed out as it is, since the factory's
// contract is to return items ready for use. A caller never gets an error
// for items that failed validation: after a few in a row it takes no more
// idle items and waits for a release or a new item instead, so that a
// health check that fails at random costs time, not a failed call.
func (p *Pool[T]) Checkout(ctx context.Context) (*Handle[T], error) {
	var (
		ws        waitState
		unhealthy int // items that failed validation for this call
	)
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			ws.stop()
			return nil, ErrClosed
		}
		var (
			h      *Handle[T]
			waited bool
			fresh  bool
		)
		if n := len(p.idle); n > 0 && (unhealthy < maxValidationFailures || p.total >= p.cfg.MaxSize) {
			h = p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			p.inUse++
			p.fastCheckouts++
			p.mu.Unlock()
		} else {
			var err error
			if h, fresh, err = p.wait(ctx, &ws); err != nil { // unlocks
				ws.stop()
				return nil, err
			}
			waited = true
		}

		if p.cfg.ValidateOnCheckout && !fresh && !h.value.IsHealthy(ctx) {
			if p.cfg.OnEvent != nil {
				p.emit(Event{Kind: EventHealthCheckFailed, ItemID: h.id})
			}
			p.destroyInUse(h, ReasonUnhealthy, "", nil, !waited)
			unhealthy++
			continue
		}
		var d time.Duration
		if waited {
			ws.stop()
			d = time.Duration(p.now() - ws.start)
			p.waitHist.Observe(d)
		}
		return p.handOut(h, d), nil
	}
}

// handOut gives h to the caller of Checkout.
func (p *Pool[T]) handOut(h *Handle[T], waited time.Duration) *Handle[T] {
	h.uses++
	h.state.Store(stateHeld)
	if p.cfg.OnEvent != nil {
		p.emit(Event{Kind: EventCheckedOut, ItemID: h.id, Duration: waited})
	}
	return h
}

// waitState is what one Checkout keeps across the waits it may need (a
// second one follows an item that failed validation): when it first
// waited, and the CheckoutTimeout timer that bounds all of them.
type waitState struct {
	start   int64
	timer   Timer
	timeout <-chan time.Time
}

func (ws *waitState) stop() {
	if ws.timer != nil {
		ws.timer.Stop()
	}
}

// wait queues the caller for an item. It is called with p.mu held and
// releases it.
func (p *Pool[T]) wait(ctx context.Context, ws *waitState) (h *Handle[T], fresh bool, err error) {
	if err := ctx.Err(); err != nil {
		p.mu.Unlock()
		p.canceled.Add(1)
		return nil, false, p.ctxError(err)
	}
	w := &waiter[T]{ch: make(chan delivery[T], 1)}
	p.waiters.push(w)
	queued := p.waiters.len
	exhausted := p.total >= p.cfg.MaxSize
	p.fillLocked()
	p.mu.Unlock()

	p.waits.Add(1)
	if ws.timer == nil {
		ws.start = p.now()
		if d := p.cfg.CheckoutTimeout; d > 0 {
			ws.timer = p.newTimer(d)
			ws.timeout = ws.timer.C()
		}
	}
	if exhausted && p.cfg.OnEvent != nil {
		p.emit(Event{Kind: EventExhausted, Waiters: queued})
	}

	select {
	case d := <-w.ch:
		return d.h, d.fresh, d.err
	case <-ctx.Done():
		p.canceled.Add(1)
		return nil, false, p.abandon(w, p.ctxError(ctx.Err()))
	case <-ws.timeout:
		p.timeouts.Add(1)
		return nil, false, p.abandon(w, fmt.Errorf("pool %q: no item within %v: %w", p.cfg.Name, p.cfg.CheckoutTimeout, ErrExhausted))
	}
}

func (p *Pool[T]) ctxError(err error) error {
	return fmt.Errorf("pool %q: checkout: %w", p.cfg.Name, err)
}

// abandon takes a waiter that gave up out of the queue. If an item was
// handed to it in the meantime, the item goes to the next waiter or back to
// idle, so nothing is lost.
func (p *Pool[T]) abandon(w *waiter[T], err error) error {
	p.mu.Lock()
	if w.queued {
		p.waiters.remove(w)
		p.mu.Unlock()
		return err
	}
	// Deliveries happen under mu, so one is waiting in the buffer.
	d := <-w.ch
	if d.h == nil {
		p.mu.Unlock()
		return err
	}
	p.inUse--
	retired := p.returnLocked(d.h, unstamped)
	p.mu.Unlock()
	if retired {
		p.closeItem(d.h, ReasonClosed, "", nil)
	}
	return err
}

// unstamped is the idleSince of an item put back on the idle stack without
// reading the clock; the next sweep stamps it (see sweep).
const unstamped = math.MinInt64

// returnLocked puts a clean item back: to the first waiter, or on top of the
// idle stack with the given idleSince. Once the pool is closed it retires the item instead and
// reports true: the caller must then closeItem it after unlocking.
func (p *Pool[T]) returnLocked(h *Handle[T], now int64) (retired bool) {
	if p.closed {
		p.retireLocked(h, ReasonClosed)
		return true
	}
	if w := p.waiters.pop(); w != nil {
		p.inUse++
		w.ch <- delivery[T]{h: h}
		return false
	}
	h.idleSince = now
	p.idle = append(p.idle, h)
	return false
}

// retireLocked marks h for closing. The caller must call closeItem after
// unlocking. Until its Close returns the item still counts towards MaxSize:
// the cap bounds the resources alive, not just the items on the books.
func (p *Pool[T]) retireLocked(h *Handle[T], reason DestroyReason) {
	h.state.Store(stateDead)
	p.closing++
	p.destroyed[reason].Add(1)
}

// destroyInUse retires and closes an item that was checked out (or being
// validated for checkout), then refills the pool.
// fastCheckout is set for an item taken from idle by Checkout that failed
// validation: it was counted as a checkout, and was not one after all.
func (p *Pool[T]) destroyInUse(h *Handle[T], reason DestroyReason, detail string, cause error, fastCheckout bool) {
	p.mu.Lock()
	p.inUse--
	if fastCheckout {
		p.fastCheckouts--
	}
	p.retireLocked(h, reason)
	p.mu.Unlock()
	p.closeItem(h, reason, detail, cause)
}

// closeItem closes an item that retireLocked marked, takes it off the books
// and refills the pool.
func (p *Pool[T]) closeItem(h *Handle[T], reason DestroyReason, detail string, cause error) {
	if err := h.value.Close(); err != nil {
		p.log.Warn("pool: close item", "pool", p.cfg.Name, "item", h.id, "reason", reason.String(), "err", err)
	}
	if p.cfg.OnEvent != nil {
		p.emit(Event{Kind: EventDestroyed, ItemID: h.id, Reason: reason, Detail: detail, Err: cause})
	}
	p.mu.Lock()
	p.closing--
	p.total--
	p.fillLocked()
	p.checkDrainedLocked()
	p.mu.Unlock()
}

// fillLocked starts creations for queued callers not already covered by one
// in flight and, unless a retry backoff is pending, up to MinSize live items.
func (p *Pool[T]) fillLocked() {
	if p.closed {
		return
	}
	need := p.waiters.len - p.creating
	if !p.retryPending {
		need = max(need, p.cfg.MinSize-p.total)
	}
	for ; need > 0 && p.total < p.cfg.MaxSize; need-- {
		p.total++
		p.creating++
		p.nextID++
		go p.create(p.nextID)
	}
}

// create runs the factory for a slot that fillLocked reserved.
func (p *Pool[T]) create(id uint64) {
	start := p.now()
	v, err := p.factory(p.ctx)
	end := p.now()
	took := time.Duration(end - start)

	if err != nil {
		p.createFailures.Add(1)
		p.createFailing.Store(true)
		p.mu.Lock()
		p.creating--
		p.total--
		p.failStreak++
		// The error goes to the oldest waiter unless the other creations in
		// flight already cover every waiter. Either way each failure fails
		// at most one caller, so a broken factory is never called in a loop.
		wrapped := fmt.Errorf("pool %q: create: %w", p.cfg.Name, err)
		if p.waiters.len > p.creating {
			p.waiters.pop().ch <- delivery[T]{err: wrapped}
		}
		if !p.warmDone && !p.warmFailDone {
			p.warmErr = err
			p.warmFailDone = true
			close(p.warmFailed)
		}
		p.scheduleRetryLocked()
		p.checkDrainedLocked()
		p.mu.Unlock()
		if !errors.Is(err, context.Canceled) || p.ctx.Err() == nil {
			p.log.Warn("pool: create item", "pool", p.cfg.Name, "err", err)
		}
		if p.cfg.OnEvent != nil {
			p.emit(Event{Kind: EventCreateFailed, Err: err, Duration: took})
		}
		return
	}

	p.created.Add(1)
	p.createFailing.Store(false)
	p.createHist.Observe(took)
	h := &Handle[T]{pool: p, value: v, id: id, created: end}
	if p.cfg.OnEvent != nil {
		p.emit(Event{Kind: EventCreated, ItemID: id, Duration: took})
	}
	p.mu.Lock()
	p.creating--
	p.backoff = 0
	p.failStreak = 0
	if p.closed {
		p.retireLocked(h, ReasonClosed)
		p.mu.Unlock()
		p.closeItem(h, ReasonClosed, "", nil)
		return
	}
	if w := p.waiters.pop(); w != nil {
		p.inUse++
		w.ch <- delivery[T]{h: h, fresh: true}
	} else {
		p.returnLocked(h, end)
	}
	p.checkWarmLocked()
	p.mu.Unlock()
}

// scheduleRetryLocked pauses refilling to MinSize after a factory error and
// schedules a retry with exponential backoff.
func (p *Pool[T]) scheduleRetryLocked() {
	if p.closed || p.retryPending {
		return
	}
	p.backoff = min(max(2*p.backoff, p.cfg.RetryBackoff), maxRetryBackoff(p.cfg.RetryBackoff))
	p.retryPending = true
	p.retryAt = p.wallNow().Add(p.backoff)
	t := p.newTimer(p.backoff)
	go func() {
		select {
		case <-p.done:
			t.Stop()
			return
		case <-t.C():
		}
		p.mu.Lock()
		p.retryPending = false
		p.fillLocked()
		p.mu.Unlock()
	}()
}

func (p *Pool[T]) checkWarmLocked() {
	if !p.warmDone && p.total-p.creating >= p.cfg.MinSize {
		p.warmDone = true
		close(p.warm)
	}
}

func (p *Pool[T]) checkDrainedLocked() {
	if p.closed && !p.drainedDone && p.inUse == 0 && p.creating == 0 && p.probing == 0 && p.closing == 0 {
		p.drainedDone = true
		close(p.drained)
	}
}

// Stats returns a snapshot of the pool's gauges, counters and histograms.
// It takes the pool's lock once, briefly, and does not allocate.
func (p *Pool[T]) Stats() Stats {
	p.mu.Lock()
	s := Stats{
		Total:    p.total,
		InUse:    p.inUse,
		Idle:     len(p.idle) + p.probing,
		Creating: p.creating,
		Closing:  p.closing,
		Waiters:  p.waiters.len,
	}
	fast := p.fastCheckouts
	p.mu.Unlock()

	s.Name = p.cfg.Name
	s.Max, s.Min = p.cfg.MaxSize, p.cfg.MinSize
	s.Utilization = float64(s.InUse) / float64(s.Max)
	s.Waits = p.waits.Load()
	s.Timeouts = p.timeouts.Load()
	s.Canceled = p.canceled.Load()
	s.Created = p.created.Load()
	s.CreateFailures = p.createFailures.Load()
	s.CreateFailing = p.createFailing.Load()
	s.Overrunning = int(max(p.overrunning.Load(), 0))
	for i := range s.Destroyed {
		s.Destroyed[i] = p.destroyed[i].Load()
	}
	// Checkouts served from idle did not wait: they are counted in the
	// first bucket here rather than with an atomic add on the hot path.
	s.WaitTime = p.waitHist.Snapshot()
	s.WaitTime.Counts[0] += fast
	s.WaitTime.Count += fast
	s.CreateTime = p.createHist.Snapshot()
	s.Checkouts = s.WaitTime.Count
	s.AvgWait = s.WaitTime.Mean()
	s.P99Wait = s.WaitTime.Quantile(0.99)
	s.AvgCreate = s.CreateTime.Mean()
	return s
}

// Close stops handing out items: Checkout fails with ErrClosed and queued
// callers are woken with it. Idle items are closed at once; items in use are
// closed as they are released, and creations in flight are cancelled. Close
// waits for all of that until ctx ends, then returns an error wrapping
// ctx.Err() (items still out are then closed when released). Every item is
// closed exactly once. Close may be called more than once.
func (p *Pool[T]) Close(ctx context.Context) error {
	p.mu.Lock()
	var idle []*Handle[T]
	if !p.closed {
		p.closed = true
		p.closedFlag.Store(true)
		p.cancel()
		close(p.done)
		for w := p.waiters.pop(); w != nil; w = p.waiters.pop() {
			w.ch <- delivery[T]{err: ErrClosed}
		}
		idle = p.idle
		p.idle = nil
		for _, h := range idle {
			p.retireLocked(h, ReasonClosed)
		}
		p.checkDrainedLocked()
	}
	p.mu.Unlock()
	for _, h := range idle {
		p.closeItem(h, ReasonClosed, "", nil)
	}

	select {
	case <-p.drained:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		out := p.inUse + p.creating + p.probing + p.closing
		p.mu.Unlock()
		return fmt.Errorf("pool %q: close: %d items still out: %w", p.cfg.Name, out, ctx.Err())
	}
}

// Watch counts a call bound by ctx, running on an item of the pool, as
// overrunning from the moment ctx is done (its deadline passed, or it was
// cancelled) until the returned function is called, when the call ends.
// Stats.Overrunning is the number of such calls now: work that was asked
// to stop and has not, which holds its item and a core meanwhile. Whoever
// runs work on a checked-out item calls Watch around it; it costs one
// context.AfterFunc.
func (p *Pool[T]) Watch(ctx context.Context) (end func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	stop := context.AfterFunc(ctx, func() { p.overrunning.Add(1) })
	return func() {
		if !stop() {
			// The count went up, or is about to (AfterFunc runs its
			// function on a goroutine of its own): take it back. The sum
			// may read -1 for that moment; Stats reads it as 0.
			p.overrunning.Add(-1)
		}
	}
}

// delivery is what a waiter receives: an item, or the error that ends its
// wait.
type delivery[T Poolable] struct {
	h     *Handle[T]
	fresh bool // h comes straight from the factory, never pooled
	err   error
}

// waiter is a Checkout call queued for an item. ch has room for one
// delivery so that the deliverer, which holds mu, never blocks.
type waiter[T Poolable] struct {
	ch         chan delivery[T]
	prev, next *waiter[T]
	queued     bool
}

// waitQueue is an intrusive FIFO list: push, pop and removal of a waiter that
// gave up are all O(1) and allocation-free.
type waitQueue[T Poolable] struct {
	head, tail *waiter[T]
	len        int
}

func (q *waitQueue[T]) push(w *waiter[T]) {
	w.queued = true
	w.prev = q.tail
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.len++
}

func (q *waitQueue[T]) pop() *waiter[T] {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

func (q *waitQueue[T]) remove(w *waiter[T]) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	q.len--
}

// Package events is the daemon's in-process event bus.
//
// Pools, breakers, the lease reaper and the memory sweep Publish events;
// PoolEvents streams Subscribe to them. The bus is built so that a
// publisher never waits for a subscriber:
//
//   - Publish never blocks. With nobody subscribed to an event's kind it
//     costs an atomic load and an atomic add, and allocates nothing.
//   - Each Subscription has its own bounded ring buffer. When it is full,
//     the oldest event is overwritten, and the subscriber's next read
//     returns an EventsDropped event whose Count says how many it lost,
//     before the events that are still buffered.
//   - InstanceCheckedOut and InstanceReturned, which a busy pool would
//     publish on every request, reach only subscribers that list them in
//     their Filter, and Wants lets a pool skip building them at all.
//
// Event is a flat value type: publishing copies it into each matching
// subscriber's buffer and allocates nothing per event.
package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Kind is the kind of an Event.
type Kind uint8

// The kinds of events, as in the PoolEvent of the API.
const (
	InstanceCreated     Kind = iota + 1 // Pool, InstanceID
	InstanceDestroyed                   // Pool, InstanceID, Reason
	InstanceCheckedOut                  // Pool, InstanceID; opt-in
	InstanceReturned                    // Pool, InstanceID; opt-in
	HealthCheckFailed                   // Pool, InstanceID, Reason
	MemoryPressure                      // Level, Pressure
	CircuitStateChanged                 // Pool, From, To
	PoolExhausted                       // Pool, Waiters
	LeaseExpired                        // Pool, InstanceID, LeaseID
	GcCompleted                         // ReclaimedBytes, Recycled
	ModuleLoaded                        // Pool (the module's name)
	EventsDropped                       // Count; made by the bus, never published
	PoolCondition                       // Pool, Condition, Active, Reason (the detail)
	numKinds
)

var kindNames = [numKinds]string{
	InstanceCreated:     "InstanceCreated",
	InstanceDestroyed:   "InstanceDestroyed",
	InstanceCheckedOut:  "InstanceCheckedOut",
	InstanceReturned:    "InstanceReturned",
	HealthCheckFailed:   "HealthCheckFailed",
	MemoryPressure:      "MemoryPressure",
	CircuitStateChanged: "CircuitStateChanged",
	PoolExhausted:       "PoolExhausted",
	LeaseExpired:        "LeaseExpired",
	GcCompleted:         "GcCompleted",
	ModuleLoaded:        "ModuleLoaded",
	EventsDropped:       "EventsDropped",
	PoolCondition:       "PoolCondition",
}

// String returns the kind's name, as in the API ("InstanceCreated").
func (k Kind) String() string {
	if k.valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

func (k Kind) valid() bool { return k > 0 && k < numKinds }

// Kinds returns every kind, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := Kind(1); k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// kindSet is a set of kinds as a bit mask.
type kindSet uint32

func (s kindSet) has(k Kind) bool { return s&(1<<k) != 0 }

const (
	optInKinds = kindSet(1<<InstanceCheckedOut | 1<<InstanceReturned)
	allKinds   = kindSet(1<<numKinds-1) &^ 1 // every valid kind
	// defaultKinds is what an empty Filter.Kinds selects.
	defaultKinds = allKinds &^ optInKinds
)

// Event is one event. Which fields are set depends on the kind (see the
// Kind constants); the others are zero.
type Event struct {
	Time           time.Time // set by Publish when zero
	Kind           Kind
	Pool           string // empty for daemon-wide events
	InstanceID     string
	Reason         string // why an instance was destroyed or failed its check
	Level          string // memory pressure level
	Pressure       float64
	From, To       string // breaker states
	Waiters        int
	LeaseID        string
	ReclaimedBytes uint64
	Recycled       int
	Count          uint64 // events lost, for EventsDropped
	// Item is the instance's number within its pool, for publishers on a
	// hot path that leave InstanceID empty: formatting "pool-N" per event
	// would allocate on every checkout; subscribers derive it instead.
	Item       uint64
	ABIVersion int    // ModuleLoaded: the module's guest ABI version
	Digest     string // ModuleLoaded: SHA-256 of the module's bytes, hex
	Condition  string // PoolCondition: the condition's name
	Active     bool   // PoolCondition: entered (true) or left
}

// Filter selects the events a Subscription receives.
type Filter struct {
	// Kinds lists the kinds to receive. Empty means every kind except
	// InstanceCheckedOut and InstanceReturned, which are received only
	// when listed. EventsDropped is always received.
	Kinds []Kind
	// Pools lists the pools whose events to receive. Empty means all.
	// Daemon-wide events (an empty Event.Pool, such as MemoryPressure and
	// GcCompleted) pass every pool filter.
	Pools []string
}

// ErrClosed is returned by Next once a subscription has ended.
var ErrClosed = errors.New("events: subscription closed")

// DefaultBuffer is the buffer of a subscription when neither Subscribe
// nor Config says otherwise.
const DefaultBuffer = 256

// Config configures a Bus. The zero value is ready to use.
type Config struct {
	// Clock stamps events published without a Time. Nil means time.Now.
	Clock func() time.Time
	// DefaultBuffer is the buffer of subscriptions made with a buffer of
	// zero or less. Zero or less means DefaultBuffer.
	DefaultBuffer int
}

// Stats are a bus's running totals.
type Stats struct {
	Published   uint64 // events given to Publish
	Delivered   uint64 // events returned by Next, EventsDropped excluded
	Dropped     uint64 // events overwritten in a full buffer
	Subscribers int    // open subscriptions
}

// A Bus delivers published events to its subscriptions. It is safe for
// concurrent use.
type Bus struct {
	clock         func() time.Time
	defaultBuffer int

	// wants counts, for each kind, the subscriptions that receive it: the
	// publisher's fast path reads nothing else.
	wants [numKinds]atomic.Int32
	// subs is the current list of subscriptions, replaced (never
	// modified) under mu, so that Publish reads it without a lock.
	subs atomic.Pointer[[]*Subscription]

	mu     sync.Mutex // serializes Subscribe, unsubscribe and Close
	closed bool

	published, delivered, dropped atomic.Uint64
}

// NewBus returns a bus configured by cfg.
func NewBus(cfg Config) *Bus {
	b := &Bus{clock: cfg.Clock, defaultBuffer: cfg.DefaultBuffer}
	if b.clock == nil {
		b.clock = time.Now
	}
	if b.defaultBuffer <= 0 {
		b.defaultBuffer = DefaultBuffer
	}
	b.subs.Store(new([]*Subscription))
	return b
}

// Wants reports whether any subscription receives events of kind k. A
// publisher may use it to skip building an event nobody reads.
func (b *Bus) Wants(k Kind) bool {
	return k.valid() && b.wants[k].Load() > 0
}

// Publish delivers e to every subscription whose filter matches it. It
// never blocks: a full subscription loses its oldest event instead.
// Publishing an EventsDropped event, or one of an unknown kind, does
// nothing.
func (b *Bus) Publish(e Event) {
	if !e.Kind.valid() || e.Kind == EventsDropped {
		return
	}
	b.published.Add(1)
	if b.wants[e.Kind].Load() == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = b.clock()
	}
	e.Reason = sanitize(e.Reason)
	for _, s := range *b.subs.Load() {
		if s.matches(&e) {
			s.push(&e)
		}
	}
}

// MaxReasonBytes bounds an event's Reason. A reason may quote what a
// WebAssembly module wrote (its error text, its standard error); it
// reaches every subscriber, and the API's strings must be valid UTF-8: one
// reason that is not would end every PoolEvents stream it reaches.
const MaxReasonBytes = 4 << 10

// sanitize makes a reason valid UTF-8 of at most MaxReasonBytes, cut at a
// character boundary. Reasons are short and valid almost always, which
// costs one pass over them.
func sanitize(s string) string {
	if len(s) <= MaxReasonBytes && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > MaxReasonBytes {
		const ellipsis = "…"
		cut := MaxReasonBytes - len(ellipsis)
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + ellipsis
	}
	return s
}

// Subscribe returns a subscription to the events that f selects, with room
// for buffer events (zero or less means the bus's default). The caller
// must Close it when done. Subscribing to a closed bus returns a
// subscription that has already ended.
func (b *Bus) Subscribe(f Filter, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = b.defaultBuffer
	}
	s := newSubscription(b, f, buffer)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.end(false)
		return s
	}
	subs := append(slices.Clone(*b.subs.Load()), s)
	b.subs.Store(&subs)
	b.addWants(s.kinds, 1)
	return s
}

func (b *Bus) addWants(kinds kindSet, delta int32) {
	for k := Kind(1); k < numKinds; k++ {
		if kinds.has(k) {
			b.wants[k].Add(delta)
		}
	}
}

// unsubscribe removes s from the bus, if it is still there.
func (b *Bus) unsubscribe(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.subs.Load()
	i := slices.Index(old, s)
	if i < 0 {
		return
	}
	subs := slices.Delete(slices.Clone(old), i, i+1)
	b.subs.Store(&subs)
	b.addWants(s.kinds, -1)
}

// Close ends every subscription: each one's Next returns the events still
// in its buffer, then ErrClosed. Later Publish calls do nothing.
func (b *Bus) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	subs := *b.subs.Load()
	b.subs.Store(new([]*Subscription))
	for _, s := range subs {
		b.addWants(s.kinds, -1)
	}
	b.mu.Unlock()

	for _, s := range subs {
		s.end(false)
	}
}

// Stats returns the bus's totals.
func (b *Bus) Stats() Stats {
	return Stats{
		Published:   b.published.Load(),
		Delivered:   b.delivered.Load(),
		Dropped:     b.dropped.Load(),
		Subscribers: len(*b.subs.Load()),
	}
}

func newSubscription(b *Bus, f Filter, buffer int) *Subscription {
	s := &Subscription{
		bus:   b,
		kinds: defaultKinds,
		buf:   make([]Event, buffer),
		ready: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	if len(f.Kinds) > 0 {
		s.kinds = 0
		for _, k := range f.Kinds {
			if k.valid() {
				s.kinds |= 1 << k
			}
		}
	}
	if len(f.Pools) > 0 {
		s.pools = make(map[string]struct{}, len(f.Pools))
		for _, p := range f.Pools {
			s.pools[p] = struct{}{}
		}
	}
	return s
}

// A Subscription receives the events of a Bus that its Filter selects.
// Next may be called from several goroutines; each event goes to one.
type Subscription struct {
	bus   *Bus
	kinds kindSet
	pools map[string]struct{} // nil: every pool

	mu      sync.Mutex
	buf     []Event // ring buffer of len(buf) events
	head, n int     // oldest event at buf[head]; n events buffered
	lost    uint64  // events dropped since the last EventsDropped
	closed  bool

	ready chan struct{} // holds a token while events may be waiting
	done  chan struct{} // closed when the subscription ends
}

func (s *Subscription) matches(e *Event) bool {
	if !s.kinds.has(e.Kind) {
		return false
	}
	if s.pools == nil || e.Pool == "" {
		return true
	}
	_, ok := s.pools[e.Pool]
	return ok
}

// push adds e to the buffer, overwriting the oldest event when it is full.
func (s *Subscription) push(e *Event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if s.n == len(s.buf) {
		s.buf[s.head] = *e
		s.head = (s.head + 1) % len(s.buf)
		s.lost++
		s.bus.dropped.Add(1)
	} else {
		s.buf[(s.head+s.n)%len(s.buf)] = *e
		s.n++
	}
	s.mu.Unlock()
	s.signal()
}

// signal wakes one goroutine waiting in Next, without blocking.
func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Next returns the next event. If events were dropped since the last call,
// it first returns an EventsDropped event counting them. Next blocks until
// there is an event, ctx is done (it returns ctx.Err()) or the
// subscription has ended (it returns ErrClosed; after Bus.Close, only once
// the buffer is drained).
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	for {
		e, ok, err := s.pop()
		if ok || err != nil {
			return e, err
		}
		select {
		case <-s.ready:
		case <-s.done:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// pop takes the next event from the buffer, if any.
func (s *Subscription) pop() (e Event, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.lost > 0:
		e = Event{Time: s.bus.clock(), Kind: EventsDropped, Count: s.lost}
		s.lost = 0
	case s.n > 0:
		e = s.buf[s.head]
		s.buf[s.head] = Event{} // let the strings go
		s.head = (s.head + 1) % len(s.buf)
		s.n--
		s.bus.delivered.Add(1)
	case s.closed:
		return Event{}, false, ErrClosed
	default:
		return Event{}, false, nil
	}
	if s.n > 0 {
		s.signal() // for another goroutine waiting in Next
	}
	return e, true, nil
}

// Close ends the subscription at once: it leaves the bus, its buffered
// events are discarded, and Next returns ErrClosed. Close is idempotent.
func (s *Subscription) Close() {
	s.bus.unsubscribe(s)
	s.end(true)
}

// end marks the subscription closed, discarding its buffer if discard is
// set, and wakes every goroutine waiting in Next.
func (s *Subscription) end(discard bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if discard {
		clear(s.buf)
		s.head, s.n, s.lost = 0, 0, 0
	}
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}

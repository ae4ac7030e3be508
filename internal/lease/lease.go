package lease

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/riptidecrawler/riptide-poold/internal/histogram"
	"log/slog"
	"sync"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/clock"
)

var (
	// ErrNotFound is returned for an ID that names no live lease: unknown,
	// released, discarded or expired.
	ErrNotFound = errors.New("lease: not found")
	// ErrClosed is returned once Close has been called.
	ErrClosed = errors.New("lease: table closed")
)

// TTLError reports a TTL that Add or Renew refused: negative, or above
// Config.MaxTTL. Such a TTL is an error rather than silently capped so that a
// client learns it will not get the lease it asked for.
type TTLError struct {
	TTL time.Duration // the TTL asked for
	Max time.Duration // Config.MaxTTL
}

func (e *TTLError) Error() string {
	if e.TTL < 0 {
		return fmt.Sprintf("lease: ttl %v is negative", e.TTL)
	}
	return fmt.Sprintf("lease: ttl %v exceeds the maximum %v", e.TTL, e.Max)
}

// Held is what a lease holds: in practice a *pool.Handle, which satisfies it
// as is, or a server-side value wrapping one. A lease calls exactly one of
// the two methods, exactly once, and never while a Use callback runs.
type Held interface {
	// Release returns the instance to its pool, which resets it.
	Release()
	// Discard closes the instance instead, e.g. because the client says it
	// is unhealthy.
	Discard(reason string)
}

// DiscardReason is the reason passed to Held.Discard by Release with discard.
const DiscardReason = "released by client"

// Lease is a snapshot of a live lease.
type Lease struct {
	// ID names the lease: 128 bits from crypto/rand in unpadded base64url,
	// 22 characters. It is all a client needs to use the instance, so it is
	// never logged.
	ID         string
	Pool       string
	InstanceID string
	Created    time.Time
	ExpiresAt  time.Time
}

// Config configures a Table.
type Config struct {
	// DefaultTTL is the TTL of a lease added or renewed with ttl 0. Required.
	DefaultTTL time.Duration
	// MaxTTL is the longest TTL Add and Renew accept; 0 means DefaultTTL.
	MaxTTL time.Duration
	// ReapInterval is the longest the reaper sleeps between scans; it wakes
	// earlier when a lease is due. 0 means min(1s, DefaultTTL/4).
	ReapInterval time.Duration

	// OnExpired, when set, is called once for every lease that expires,
	// after its instance has been released, from the goroutine that ended it
	// (the reaper, or a Use or Release that found it expired) and with no
	// lock held. It should not block: the reaper waits for it.
	OnExpired func(Lease)

	Clock  clock.Clock  // nil = the real clock
	Logger *slog.Logger // nil = discard
}

// Table is the set of live leases. All methods are safe for concurrent use.
type Table struct {
	defaultTTL   time.Duration
	maxTTL       time.Duration
	reapInterval time.Duration
	onExpired    func(Lease)
	clock        clock.Clock // nil = the real clock
	epoch        time.Time   // the real clock's reading at New; see now
	log          *slog.Logger

	mu        sync.Mutex
	leases    map[string]*entry // live leases, and ended ones until their Held has returned
	active    map[string]int    // live leases by pool
	closed    bool
	nextReap  time.Time // when the reaper will scan next; Add and Renew wake it for anything sooner
	created   uint64
	ended     [numEndings]uint64
	durations *histogram.Recorder

	wake       chan struct{} // one slot: a lease is due before nextReap
	stop       chan struct{} // closed by Close
	reaperDone chan struct{} // closed when the reaper goroutine returns
	reapers    sync.WaitGroup
}

// entry is one lease.
type entry struct {
	token chan struct{} // one slot, full while a Use runs or while the lease ends
	gone  chan struct{} // closed once the lease has ended and its Held returned
	held  Held

	// Guarded by Table.mu.
	lease   Lease
	ended   bool // decided; the Held may still be returning
	reaping bool // a goroutine is waiting for the token to end it as expired
}

// ending says how a lease ended. It indexes Table.ended.
type ending uint8

const (
	released  ending = iota // Release without discard, or Close
	discarded               // Release with discard
	expired                 // by the reaper, or found expired by Use or Release
	numEndings
)

// New returns a table and starts its reaper; Close stops it.
func New(cfg Config) (*Table, error) {
	if cfg.DefaultTTL <= 0 {
		return nil, fmt.Errorf("lease: DefaultTTL %v must be positive", cfg.DefaultTTL)
	}
	if cfg.MaxTTL == 0 {
		cfg.MaxTTL = cfg.DefaultTTL
	}
	if cfg.MaxTTL < cfg.DefaultTTL {
		return nil, fmt.Errorf("lease: MaxTTL %v is below DefaultTTL %v", cfg.MaxTTL, cfg.DefaultTTL)
	}
	if cfg.ReapInterval < 0 {
		return nil, fmt.Errorf("lease: ReapInterval %v is negative", cfg.ReapInterval)
	}
	if cfg.ReapInterval == 0 {
		cfg.ReapInterval = min(time.Second, cfg.DefaultTTL/4)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t := &Table{
		defaultTTL:   cfg.DefaultTTL,
		maxTTL:       cfg.MaxTTL,
		reapInterval: cfg.ReapInterval,
		onExpired:    cfg.OnExpired,
		durations:    histogram.New(DurationBounds),
		clock:        cfg.Clock,
		epoch:        time.Now(),
		log:          cfg.Logger,
		leases:       make(map[string]*entry),
		active:       make(map[string]int),
		wake:         make(chan struct{}, 1),
		stop:         make(chan struct{}),
		reaperDone:   make(chan struct{}),
	}
	go t.reap()
	return t, nil
}

// Add starts a lease on held, an instance already checked out of pool, for
// ttl (0 = Config.DefaultTTL). On success the table owns held until the lease
// ends; on error (a *TTLError, or ErrClosed) the caller still owns it.
func (t *Table) Add(pool, instanceID string, held Held, ttl time.Duration) (Lease, error) {
	if held == nil {
		panic("lease: Add with a nil Held")
	}
	ttl, err := t.ttl(ttl)
	if err != nil {
		return Lease{}, err
	}
	now := t.now()
	e := &entry{
		token: make(chan struct{}, 1),
		gone:  make(chan struct{}),
		held:  held,
		lease: Lease{
			ID:         newID(),
			Pool:       pool,
			InstanceID: instanceID,
			Created:    now,
			ExpiresAt:  now.Add(ttl),
		},
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return Lease{}, ErrClosed
	}
	// A collision of 128 random bits is not a case worth code.
	t.leases[e.lease.ID] = e
	t.active[pool]++
	t.created++
	t.wakeReaperLocked(e.lease.ExpiresAt)
	return e.lease, nil
}

// Get returns a snapshot of the lease id.
func (t *Table) Get(id string) (Lease, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.liveLocked(id, now)
	if err != nil {
		return Lease{}, err
	}
	return e.lease, nil
}

// Renew sets the lease id to expire ttl (0 = Config.DefaultTTL) from now,
// which may be sooner than before. It does not wait for a Use in flight.
func (t *Table) Renew(id string, ttl time.Duration) (Lease, error) {
	ttl, err := t.ttl(ttl)
	if err != nil {
		return Lease{}, err
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.liveLocked(id, now)
	if err != nil {
		return Lease{}, err
	}
	e.lease.ExpiresAt = now.Add(ttl)
	t.wakeReaperLocked(e.lease.ExpiresAt)
	return e.lease, nil
}

// Use runs fn on the lease's instance with the lease locked: calls on one
// lease run one at a time, and the lease cannot end while fn runs. Waiting
// for a call in flight honours ctx, and yields an error wrapping ctx.Err().
// Use answers ErrNotFound for a lease that is unknown, has ended, or has
// expired (which it then ends), and otherwise returns fn's error.
func (t *Table) Use(ctx context.Context, id string, fn func(Held) error) error {
	e, err := t.lookup(id)
	if err != nil {
		return err
	}
	if err := e.lock(ctx, t.stop); err != nil {
		return err
	}
	defer e.unlock() // deferred so that a panicking fn does not wedge the lease
	if err := t.check(e); err != nil {
		return err
	}
	return fn(e.held)
}

// Release ends the lease id, after any Use in flight on it: its instance is
// returned to its pool or, with discard, closed as unhealthy. Waiting honours
// ctx. A lease that is unknown, has already ended or has expired answers
// ErrNotFound; an expired one is ended as expired (its instance returned,
// OnExpired called), whatever discard says.
func (t *Table) Release(ctx context.Context, id string, discard bool) error {
	e, err := t.lookup(id)
	if err != nil {
		return err
	}
	if err := e.lock(ctx, t.stop); err != nil {
		return err
	}
	defer e.unlock()
	if err := t.check(e); err != nil {
		return err
	}
	how := released
	if discard {
		how = discarded
	}
	if !t.end(e, how) {
		// Unreachable: check found e live and we hold its token.
		return ErrNotFound
	}
	return nil
}

// Close ends every lease, returning each instance to its pool (Release, not
// Discard) once any Use in flight on it has finished, and stops the reaper.
// Call it before closing the pools. From the start of Close every method
// but Stats and ActiveByPool answers ErrClosed, including calls already
// waiting for a lease. If ctx ends first, Close returns an error wrapping
// ctx.Err(); the remaining leases are then released as their calls finish.
// Close may be called more than once.
func (t *Table) Close(ctx context.Context) error {
	t.mu.Lock()
	first := !t.closed
	t.closed = true
	all := make([]*entry, 0, len(t.leases))
	for _, e := range t.leases {
		all = append(all, e)
	}
	t.mu.Unlock()
	if first {
		close(t.stop)
	}
	for _, e := range all {
		go t.endOnClose(e)
	}
	for _, e := range all {
		select {
		case <-e.gone:
		case <-ctx.Done():
			return fmt.Errorf("lease: close: %w", ctx.Err())
		}
	}
	select {
	case <-t.reaperDone:
	case <-ctx.Done():
		return fmt.Errorf("lease: close: %w", ctx.Err())
	}
	// Every lease has gone, so the reaper's helpers are on their way out.
	t.reapers.Wait()
	return nil
}

// endOnClose releases e once its token is free, unless it ends otherwise
// first (a Release already waiting for the token, say).
func (t *Table) endOnClose(e *entry) {
	select {
	case e.token <- struct{}{}:
	case <-e.gone:
		return
	}
	defer e.unlock()
	t.end(e, released)
}

// ActiveByPool returns the number of live leases on pool's instances,
// counting expired leases until they have been ended.
func (t *Table) ActiveByPool(pool string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.active[pool]
}

// ttl resolves a requested TTL.
func (t *Table) ttl(ttl time.Duration) (time.Duration, error) {
	switch {
	case ttl == 0:
		return t.defaultTTL, nil
	case ttl < 0 || ttl > t.maxTTL:
		return 0, &TTLError{TTL: ttl, Max: t.maxTTL}
	}
	return ttl, nil
}

// lookup finds the entry for id, without judging whether it has expired:
// that is for check, once the caller holds the token.
func (t *Table) lookup(id string) (*entry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	e, ok := t.leases[id]
	if !ok || e.ended {
		return nil, ErrNotFound
	}
	return e, nil
}

// liveLocked finds the entry of the live lease id.
func (t *Table) liveLocked(id string, now time.Time) (*entry, error) {
	if t.closed {
		return nil, ErrClosed
	}
	e, ok := t.leases[id]
	if !ok || e.ended || !now.Before(e.lease.ExpiresAt) {
		return nil, ErrNotFound
	}
	return e, nil
}

// check reports, with e's token held, whether e may be used. A lease found
// expired is ended here: the caller holds the token, so nothing runs on it.
func (t *Table) check(e *entry) error {
	now := t.now()
	t.mu.Lock()
	closed, ended, due := t.closed, e.ended, !now.Before(e.lease.ExpiresAt)
	t.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case ended:
		return ErrNotFound
	case due:
		t.end(e, expired)
		return ErrNotFound
	}
	return nil
}

// end ends e as how, unless it has already ended or, when how is expired, it
// has been renewed; it reports whether it did. The caller holds e's token.
// The entry stays in the map, marked ended, until its Held has returned, so
// that Close can wait for it.
func (t *Table) end(e *entry, how ending) bool {
	now := t.now()
	t.mu.Lock()
	if e.ended || how == expired && now.Before(e.lease.ExpiresAt) {
		t.mu.Unlock()
		return false
	}
	e.ended = true
	l := e.lease
	if t.active[l.Pool]--; t.active[l.Pool] == 0 {
		delete(t.active, l.Pool)
	}
	t.ended[how]++
	t.durations.Observe(now.Sub(l.Created))
	t.mu.Unlock()

	switch how {
	case discarded:
		e.held.Discard(DiscardReason)
	default:
		e.held.Release()
	}
	if how == expired {
		// Debug: OnExpired is where the server reports expiries.
		t.log.Debug("lease expired", "pool", l.Pool, "instance", l.InstanceID,
			"age", now.Sub(l.Created), "late", now.Sub(l.ExpiresAt))
		if t.onExpired != nil {
			t.onExpired(l)
		}
	}

	t.mu.Lock()
	delete(t.leases, l.ID)
	t.mu.Unlock()
	close(e.gone)
	return true
}

// lock takes e's token, waiting while ctx allows. A lease that ends while
// the caller waits answers ErrNotFound at once, and a table closing (stop
// closed) ErrClosed.
func (e *entry) lock(ctx context.Context, stop <-chan struct{}) error {
	select {
	case e.token <- struct{}{}:
		return nil
	default:
	}
	select {
	case e.token <- struct{}{}:
		return nil
	case <-e.gone:
		return ErrNotFound
	case <-stop:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("lease: waiting for a call in flight: %w", ctx.Err())
	}
}

func (e *entry) unlock() { <-e.token }

// now reads the clock. With the real clock it reads only the runtime's
// monotonic clock (time.Since takes that path when its argument carries a
// monotonic reading), which on virtual machines costs a fraction of
// time.Now and was half the cost of Use. Wall times in Lease are therefore
// the table's start plus monotonic time elapsed: they ignore later steps of
// the system clock, as the expiries themselves must.
func (t *Table) now() time.Time {
	if t.clock == nil {
		return t.epoch.Add(time.Since(t.epoch))
	}
	return t.clock.Now()
}

// newID returns 128 random bits in unpadded base64url.
func newID() string {
	var b [16]byte
	// crypto/rand.Read never returns an error: it crashes the program
	// if the system's source of randomness fails.
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

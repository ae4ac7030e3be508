// Package wasmpool keeps one pool of WebAssembly instances per module, each
// behind its own circuit breaker, under one memory budget shared by all
// modules, and swaps modules in place when they are reloaded.
//
// It is the glue between the generic pool (internal/pool), the wazero host
// (internal/wasm) and the breaker (internal/breaker); it knows nothing of
// gRPC. A request goes Checkout, Run, Done: Run passes the call through the
// breaker and classifies its error, and Done returns the instance to its
// pool, or discards it when the call left it unusable or its linear memory
// grew past the recycling threshold (linear memory never shrinks).
//
// Memory is accounted incrementally: each instance remembers the size it
// is charged, and the Set charges the difference as its linear memory
// grows, before it grows (see growMemory), and as a call's stack grows
// (see callStack), so the pressure that gates instance creation is one
// atomic read. An instance is accounted from before it is made: its
// expected size is reserved in the budget, under one lock with the
// decision to make it, so that creations running at once cannot pass the
// budget together (see admit).
package wasmpool

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/breaker"
	"github.com/riptidecrawler/riptide-poold/internal/lograte"
	"github.com/riptidecrawler/riptide-poold/internal/pool"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"google.golang.org/protobuf/types/known/structpb"
)

// ErrMemoryLimit reports that the memory budget refused a new instance:
// pressure is at or over the threshold.
var ErrMemoryLimit = errors.New("wasmpool: memory budget reached")

// errCreated is the outcome the breaker is told of a successful creation:
// neither a success nor a failure (see Add).
var errCreated = errors.New("wasmpool: instance created")

// ErrNoModule reports a module name that has no pool.
var ErrNoModule = errors.New("wasmpool: no such module")

// Config configures a Set.
type Config struct {
	Runtime *wasm.Runtime

	// Pool sizing and upkeep, the same for every module.
	MinSize, MaxSize   int
	IdleTimeout        time.Duration
	HealthInterval     time.Duration // 0: no health loop
	ValidateOnCheckout bool
	CheckoutTimeout    time.Duration

	// MemoryBudgetBytes is the linear memory all instances may use
	// together (WASM_MEMORY_LIMIT_MB); PressureThreshold the share of it at
	// which the Set stops creating instances (MEMORY_PRESSURE_THRESHOLD).
	MemoryBudgetBytes uint64
	PressureThreshold float64
	// RecycleBytes is the linear memory past which an instance is recycled
	// when it is returned or swept (WASM_RECYCLE_MEMORY_MB); 0 means half
	// the runtime's per-instance cap. Linear memory never shrinks, so one
	// large page would otherwise pin its peak in that instance for good.
	// An instance is recycled only once it is also half again larger than
	// it was when created, so that a module whose fresh instances are
	// already past the threshold is not replaced after every call.
	//
	// The daemon's default, 12 MiB, keeps an idle article instance under
	// 16 MB with its host-side structures (about 2 MiB) at the cost of a
	// new instance (5-10 ms) after about one corpus page in twelve: see
	// BenchmarkGuestMemoryLimit in internal/wasm.
	RecycleBytes uint64

	// MaxConcurrentCalls bounds the guest calls running at once across all
	// modules; 0 means GOMAXPROCS. The modules share these call slots
	// fairly (see slots): one with many slow callers cannot take them all
	// while another module's callers wait. A guest call is pure computation: more
	// of them than cores only stretches each one past its time limit, and
	// a healthy module overloaded that way would time out and open its
	// breaker. Calls beyond the bound wait, within CheckoutTimeout, and
	// are answered with a *SlotsError (wrapping pool.ErrExhausted) that
	// says which modules hold the slots.
	//
	// It bounds, separately, the instances being made at once: making one
	// is computation too (the guest's runtime starts), and a pool filling
	// to MinSize would otherwise start MinSize of them together, starving
	// everything else of CPU (at the daemon's start, the goroutine bringing
	// the server up: up to 100 ms more to SERVING on two busy cores).
	MaxConcurrentCalls int

	// AllowUninstrumented loads modules the instrumentation cannot read
	// (WASM_ALLOW_UNINSTRUMENTED), which run with wazero's own checks and
	// without the stack bound: each of their calls may hold up to
	// wazero's limit of stack, so each is charged that
	// (wasm.Module.CallStackChargeBytes) against the memory budget while
	// it runs, and refused with a *MemoryError when the budget has no room
	// for it. Without it, Add refuses them with an *UninstrumentedError.
	AllowUninstrumented bool

	// Breaker settings, one breaker per module.
	FailureThreshold, SuccessThreshold int
	OpenTimeout                        time.Duration

	// OnEvent receives every pool's events; OnBreaker every breaker state
	// change. Both must not block.
	OnEvent   func(pool.Event)
	OnBreaker func(module string, from, to breaker.State)
	Logger    *slog.Logger
}

// Set is the WebAssembly pools, by module name. It is safe for concurrent
// use.
type Set struct {
	cfg Config
	log *slog.Logger

	mu       sync.RWMutex
	pools    map[string]*Pool
	accounts map[string]*account // by module name, across reloads

	used     atomic.Int64 // linear memory of live instances, bytes
	inUse    atomic.Int64 // of those checked out
	peak     atomic.Int64
	sweeps   atomic.Uint64
	recycled atomic.Uint64
	retired  sync.WaitGroup // old pools draining after a reload

	liveMu sync.Mutex
	live   map[*Instance]struct{} // every open instance, for the sweep

	slots *slots // the guest call slots, shared fairly by module

	// admitMu makes the decision to make an instance and the reservation
	// of its memory one step (see admit), and so runs reclaims one at a
	// time.
	admitMu    sync.Mutex
	reclaimLog *lograte.Limiter

	creations chan struct{} // one token per instance being made
}

// New returns an empty Set.
func New(cfg Config) *Set {
	if cfg.RecycleBytes == 0 && cfg.Runtime != nil {
		cfg.RecycleBytes = cfg.Runtime.MemoryLimitBytes() / 2
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConcurrentCalls <= 0 {
		cfg.MaxConcurrentCalls = runtime.GOMAXPROCS(0)
	}
	return &Set{
		cfg:        cfg,
		log:        log,
		reclaimLog: &lograte.Limiter{Logger: log, Burst: reclaimLogBurst, Window: reclaimLogWindow},
		pools:      make(map[string]*Pool),
		accounts:   make(map[string]*account),
		live:       make(map[*Instance]struct{}),
		slots:      newSlots(cfg.MaxConcurrentCalls),
		creations:  make(chan struct{}, cfg.MaxConcurrentCalls),
	}
}

// Pool is one module's pool and breaker.
type Pool struct {
	Name    string
	Module  *wasm.Module
	SHA256  string
	Pool    *pool.Pool[*Instance]
	Breaker *breaker.Breaker
	set     *Set
	acct    *account // its module's memory, shared with its other versions
	// fresh is the memory figure of its newest instance when it was made
	// (before the first, of the module's probe instance): what the budget
	// reserves for the next.
	fresh atomic.Uint64
	// spare is the instance the module was checked with as it loaded,
	// accounted since, until the pool takes it as its first instance.
	spare atomic.Pointer[Instance]
}

// account is the memory of one module's instances, of all its versions: the
// instances of a version replaced by a reload count toward the module's
// share until they close, so that reloading a module does not hand it a
// second share.
type account struct {
	mem  atomic.Int64 // bytes, with the reservations of instances being made and calls' stacks
	peak atomic.Int64 // the highest mem
}

// bytes is the module's memory figure now.
func (a *account) bytes() uint64 { return uint64(max(a.mem.Load(), 0)) }

// Instance is a pooled wasm.Instance with the Set's memory accounting.
type Instance struct {
	*wasm.Instance
	set  *Set
	pool *Pool // the pool that made it, whose breaker judges its calls
	// pending is the breaker's verdict function of the last call, which
	// succeeded, until the instance is reset (see Run).
	pending atomic.Pointer[func(error)]
	initial uint64 // linear memory when created (not its figure)
	// size is the memory figure the instance is charged: its figure at the
	// last accounting, or more while its memory grows in a call (see
	// growMemory) or while it is made (see newInstance).
	size     atomic.Int64
	recycle  atomic.Bool // the sweep asked for it to be closed
	checkout atomic.Bool
	// stack is what the instance's running call was granted of stack:
	// one for the instance, reused by its calls, which run one at a time.
	stack callStack
}

// IsHealthy reports false for an instance the sweep marked for recycling,
// so that the pool's health pass closes it; otherwise it asks the guest.
// A guest that answers unhealthy, fails or overruns the health check counts
// as a failure of its module's breaker: a module whose instances all turn
// unhealthy then stops being given new ones.
func (i *Instance) IsHealthy(ctx context.Context) bool {
	if i.recycle.Load() {
		return false
	}
	unstack, err := i.set.reserveCallStack(i.pool)
	if err != nil {
		return true // no room to check it now: the next pass will
	}
	err = i.Instance.Health(ctx)
	i.stack.end()
	unstack()
	i.blame(err)
	return err == nil
}

// Reset resets the guest between callers; a reset that fails or overruns
// counts as a failure of the module's breaker (in place of the success of
// the call before it), and the pool discards the instance.
func (i *Instance) Reset(ctx context.Context) error {
	unstack, err := i.set.reserveCallStack(i.pool)
	if err != nil {
		return err // the pool discards the instance, unreset
	}
	err = i.Instance.Reset(ctx)
	i.stack.end()
	unstack()
	if !isFailure(err) {
		i.settle(nil)
	} else if !i.settle(err) {
		i.blame(err)
	}
	return err
}

// settle tells the breaker the outcome of the last successful call, if it
// has not been told yet, and reports whether there was one.
func (i *Instance) settle(err error) bool {
	done := i.pending.Swap(nil)
	if done == nil {
		return false
	}
	(*done)(err)
	return true
}

// blame tells the module's breaker of a housekeeping call that failed for
// the module's own reasons.
func (i *Instance) blame(err error) {
	if i.pool == nil || !isFailure(err) {
		return
	}
	if done, aerr := i.pool.Breaker.Allow(); aerr == nil {
		done(err)
	}
}

// Close closes the instance and removes its memory from the account.
func (i *Instance) Close() error {
	i.set.liveMu.Lock()
	delete(i.set.live, i)
	i.set.liveMu.Unlock()
	i.set.charge(i.pool, -i.size.Swap(0))
	if i.recycle.Load() {
		i.set.recycled.Add(1)
	}
	return i.Instance.Close()
}

// account brings the Set's memory figures up to date with i's size.
func (i *Instance) account() {
	now := int64(i.Instance.MemoryBytes())
	if d := now - i.size.Swap(now); d != 0 {
		i.set.charge(i.pool, d)
		if i.checkout.Load() {
			i.set.inUse.Add(d)
		}
	}
}

// charge adds d bytes (or takes them back) to the memory of p's module and
// of the Set.
func (s *Set) charge(p *Pool, d int64) { s.chargeAccount(p.acct, d) }

// chargeAccount adds d bytes (or takes them back) to the memory of the
// module whose account is a, and of the Set.
func (s *Set) chargeAccount(a *account, d int64) {
	if d == 0 {
		return
	}
	raise(&a.peak, a.mem.Add(d))
	raise(&s.peak, s.used.Add(d))
}

// raise sets peak to v if v is higher.
func raise(peak *atomic.Int64, v int64) {
	for {
		p := peak.Load()
		if v <= p || peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// Add loads (compiles and checks) a module and gives it a pool, replacing
// the pool of a module of the same name: calls in flight on the old one
// finish, and its instances are closed as they come back.
func (s *Set) Add(ctx context.Context, name string, code []byte, opts wasm.ModuleOptions) (*Pool, error) {

	// The digest (some 5 ms for the bundled module) is taken on another
	// core while the module loads, which at a daemon's start is the one
	// thing running.
	digest := make(chan [sha256.Size]byte, 1)
	go func() { digest <- sha256.Sum256(code) }()
	// The module's check as it loads is one of its calls: its stack is
	// charged to the module's account too.
	acct := s.account(name)
	lctx, stack := s.withStack(ctx, acct, name)
	mod, err := s.cfg.Runtime.Load(lctx, name, code, opts)
	stack.end()
	sum := <-digest
	if err != nil {
		return nil, err
	}
	if !mod.Instrumented() && !s.cfg.AllowUninstrumented {
		mod.Close(ctx)
		return nil, &UninstrumentedError{Module: name, Charge: mod.CallStackChargeBytes()}
	}
	p := &Pool{Name: name, Module: mod, SHA256: hex.EncodeToString(sum[:]), set: s, acct: acct}
	p.fresh.Store(mod.FreshMemoryBytes())
	p.Breaker = breaker.New(breaker.Config{
		Name:             name,
		FailureThreshold: s.cfg.FailureThreshold,
		SuccessThreshold: s.cfg.SuccessThreshold,
		OpenTimeout:      s.cfg.OpenTimeout,
		IsFailure:        isFailure,
		OnStateChange: func(name string, from, to breaker.State) {
			s.log.Warn("circuit breaker changed state", "pool", name, "from", from.String(), "to", to.String())
			if s.cfg.OnBreaker != nil {
				s.cfg.OnBreaker(name, from, to)
			}
		},
	})
	// Creation goes through the breaker: while it is open no instance is
	// made, and a failed creation counts as a failure. A successful one is
	// not counted as a success: it says nothing about whether extraction
	// works, and counting it would reset the run of failures every time a
	// failed instance is replaced, so a module that traps on every call
	// would never open its breaker.
	create := func(ctx context.Context, reserved uint64) (*Instance, error) {
		i := s.newInstance(p, reserved)
		unstack, err := s.reserveCallStack(p)
		if err != nil {
			s.charge(p, -i.size.Swap(0))
			return nil, err
		}
		done, err := p.Breaker.Allow()
		if err != nil {
			unstack()
			s.charge(p, -i.size.Swap(0))
			return nil, err
		}
		// The guest's initialization grows its memory and stack: both
		// are charged as they grow, as in any call.
		inst, err := mod.NewInstance(wasm.WithMemoryGrant(wasm.WithStackGrant(ctx, i.stack.grow), i.growMemory))
		i.stack.end()
		unstack()
		if errors.Is(err, wasm.ErrStackRefused) || errors.Is(err, wasm.ErrMemoryRefused) {
			// The budget had no room for the guest's initialization:
			// as for an instance it has no room for, no failure of the
			// module's.
			s.charge(p, -i.size.Swap(0))
			done(errCreated)
			return nil, err
		}
		if err != nil {
			s.charge(p, -i.size.Swap(0))
			cerr := &CreationError{Module: name, Err: err}
			done(cerr)
			return nil, cerr
		}
		done(errCreated)
		return s.adopt(i, inst)
	}
	factory := func(ctx context.Context) (*Instance, error) {
		if i := p.spare.Swap(nil); i != nil {
			return i, nil // made and accounted as the module loaded
		}
		// A creation waits for a slot only on ctx (the pool's, ended by
		// Close): waiting is no failure of the module.
		select {
		case s.creations <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-s.creations }()
		// The budget is checked outside the breaker: a full budget is not
		// the module's fault and must not open its circuit.
		reserved, err := s.admit(p)
		if err != nil {
			return nil, err
		}
		return create(ctx, reserved)
	}
	// The instance the module was checked with is the pool's first, if the
	// pool keeps one warm and the budget has room for it; otherwise it is
	// closed now rather than left outside the account.
	if inst, err := mod.NewInstance(ctx); err == nil {
		reserved, ok := uint64(0), false
		if s.cfg.MinSize > 0 {
			reserved, ok = s.reserve(p, inst.MemoryBytes())
		}
		if !ok {
			inst.Close()
		} else if i, err := s.adopt(s.newInstance(p, reserved), inst); err == nil {
			p.spare.Store(i)
		}
	}
	p.Pool, err = pool.New(ctx, pool.Config{
		Name:               name,
		MinSize:            s.cfg.MinSize,
		MaxSize:            s.cfg.MaxSize,
		IdleTimeout:        s.cfg.IdleTimeout,
		CheckoutTimeout:    s.cfg.CheckoutTimeout,
		ValidateOnCheckout: s.cfg.ValidateOnCheckout,
		HealthInterval:     s.cfg.HealthInterval,
		OnEvent:            s.cfg.OnEvent,
		Logger:             s.log.With("pool", name),
	}, factory)
	if err != nil {
		p.closeSpare()
		mod.Close(ctx)
		return nil, err
	}

	s.mu.Lock()
	old := s.pools[name]
	s.pools[name] = p
	s.mu.Unlock()
	if old != nil {
		s.retire(old)
	}
	s.log.Info("module loaded", "module", name, "abi_version", mod.ABIVersion(), "modes", mod.Modes(),
		"trusted", mod.Trusted(), "sha256", p.SHA256, "replaced", old != nil)
	return p, nil
}

// retire closes a replaced pool in the background once its calls finish.
func (s *Set) retire(old *Pool) {
	s.retired.Add(1)
	go func() {
		defer s.retired.Done()
		// In-flight calls on the old module finish within the extract
		// timeout; leases hold instances longer, so wait generously.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		old.closeSpare()
		if err := old.Pool.Close(ctx); err != nil {
			s.log.Warn("replaced module's pool closed with instances still out", "module", old.Name, "err", err)
		}
		old.Module.Close(ctx)
	}()
}

// account returns the memory account of the module name, made on its first
// load and kept across its reloads.
func (s *Set) account(name string) *account {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[name]
	if a == nil {
		a = new(account)
		s.accounts[name] = a
	}
	return a
}

// closeSpare closes p's spare instance if the pool has not taken it.
func (p *Pool) closeSpare() {
	if i := p.spare.Swap(nil); i != nil {
		i.Close()
	}
}

// newInstance returns an instance of p to be made, for which reserved
// bytes were charged to the budget: its grants (growMemory, stack) charge
// p's module for what the guest grows as it is made, and are then its
// calls'.
func (s *Set) newInstance(p *Pool, reserved uint64) *Instance {
	i := &Instance{set: s, pool: p, stack: callStack{set: s, acct: p.acct, module: p.Name}}
	i.size.Store(int64(reserved))
	return i
}

// adopt makes inst, made for i (see newInstance), one of p's instances,
// charged its real size. An instance larger than its charge (a module
// whose instances are not all alike, made without a MemoryGrant) is
// closed if the budget has no room for the difference, and a *MemoryError
// returned: the next reservation is then its size. From now on, its
// calls ask i's grants for their stack and linear memory.
func (s *Set) adopt(i *Instance, inst *wasm.Instance) (*Instance, error) {
	p := i.pool
	size := inst.MemoryBytes()
	p.fresh.Store(size)
	if charged := uint64(max(i.size.Load(), 0)); size > charged {
		if _, ok := s.reserve(p, size-charged); !ok {
			s.charge(p, -i.size.Swap(0))
			inst.Close()
			return nil, s.memoryError(p, size)
		}
		i.size.Store(int64(size))
	}
	i.Instance, i.initial = inst, inst.LinearMemoryBytes()
	inst.SetStackGrant(i.stack.grow)
	inst.SetMemoryGrant(i.growMemory)
	s.liveMu.Lock()
	s.live[i] = struct{}{}
	s.liveMu.Unlock()
	i.account() // gives back what was reserved beyond its size
	return i, nil
}

// overRecycle reports whether i's linear memory is past limit (0: never)
// and half again its size when created (see Config.RecycleBytes). Its
// tables and stack allowance do not grow, and do not count here.
func (i *Instance) overRecycle(limit uint64) bool {
	size := i.LinearMemoryBytes()
	return limit > 0 && size > limit && size > i.initial+i.initial/2
}

// admit decides whether p may make another instance under the memory
// budget and, if so, reserves the memory the instance is expected to take
// (as large as p's last one when made, or the module's probe instance) and
// returns how much: the new instance is charged from now, and a creation
// that fails gives it back. The decision and the reservation are one step,
// so that creations deciding at once (of one module or of several) cannot
// each take the same room: the accounted memory never passes the budget by
// a creation.
//
// Below the pressure threshold any module may make an instance that fits
// (it borrows memory nobody else is using). At or over it, a module may
// still grow to its share, the budget over the number of modules: so
// modules that filled the budget first cannot leave a module loaded after
// them with no instance. If the budget has no room for the new instance,
// idle instances of modules over their share are closed until it has (see
// reclaim); if even that leaves no room, the instance is refused.
func (s *Set) admit(p *Pool) (reserved uint64, err error) {
	need := p.fresh.Load()
	budget := s.cfg.MemoryBudgetBytes
	if budget == 0 {
		s.charge(p, int64(need))
		return need, nil
	}
	s.admitMu.Lock()
	defer s.admitMu.Unlock()
	if s.room(p, need) {
		s.charge(p, int64(need))
		return need, nil
	}
	return 0, s.memoryError(p, need)
}

// room reports whether p may take need more bytes of the budget, for a
// new instance or an instance's growth, taking memory back from modules
// over their share if it must (see admit). It is called with admitMu held.
func (s *Set) room(p *Pool, need uint64) bool {
	used := uint64(max(s.used.Load(), 0))
	if float64(used) < s.cfg.PressureThreshold*float64(s.cfg.MemoryBudgetBytes) && s.fits(need) {
		return true
	}
	share, _ := s.MemoryShare()
	return p.MemoryBytes() < share && (s.fits(need) || s.reclaim(p, share, need))
}

// reserve charges p need bytes if the budget has room for them, and
// reports whether it did.
func (s *Set) reserve(p *Pool, need uint64) (uint64, bool) {
	s.admitMu.Lock()
	defer s.admitMu.Unlock()
	if s.cfg.MemoryBudgetBytes > 0 && !s.fits(need) {
		return 0, false
	}
	s.charge(p, int64(need))
	return need, true
}

// reserveCallStack charges p's module, for one call, the stack such a call
// may hold outside the stack bound (wasm.Module.CallStackChargeBytes):
// nothing for an instrumented module, whose calls' stacks are charged as
// they grow (see withStack); wazero's own limit for one without the bound,
// for every call the Set makes (extractions, creations, health checks,
// resets). It returns the function that gives the charge back, or a
// *MemoryError if the budget has no room for it.
func (s *Set) reserveCallStack(p *Pool) (func(), error) {
	charge := p.Module.CallStackChargeBytes()
	if charge == 0 {
		return func() {}, nil
	}
	if _, ok := s.reserve(p, charge); !ok {
		err := s.memoryError(p, charge)
		err.Call = true
		return nil, err
	}
	s.inUse.Add(int64(charge)) // a running call's stack is memory in use
	return func() {
		s.inUse.Add(-int64(charge))
		s.charge(p, -int64(charge))
	}, nil
}

// memoryError is the refusal of a new instance of p, of need bytes, now.
func (s *Set) memoryError(p *Pool, need uint64) *MemoryError {
	share, modules := s.MemoryShare()
	return &MemoryError{Module: p.Name, Held: p.MemoryBytes(), Share: share, Modules: modules, Need: need,
		Used: uint64(max(s.used.Load(), 0)), InUse: uint64(max(s.inUse.Load(), 0)),
		Budget: s.cfg.MemoryBudgetBytes, Threshold: s.cfg.PressureThreshold}
}

// MemoryShare is what each module is guaranteed of the memory budget (the
// budget over the number of modules), and that number.
func (s *Set) MemoryShare() (share uint64, modules int) {
	s.mu.RLock()
	modules = len(s.pools)
	s.mu.RUnlock()
	return s.cfg.MemoryBudgetBytes / uint64(max(modules, 1)), modules
}

// MemoryError reports a new instance the memory budget refused, saying
// which limit it hit: the module's own share, or the whole budget. It wraps
// ErrMemoryLimit.
type MemoryError struct {
	Module       string
	Held, Share  uint64 // the module's memory and its share, bytes
	Modules      int    // the share is the budget over this many modules
	Need         uint64 // the memory the new instance (or call, or stack) was to take, bytes
	Call         bool   // a call was refused, not a new instance
	Stack        bool   // a call's stack was refused growth, not a new instance
	Grow         bool   // an instance's linear memory was refused growth, not a new instance
	Size         uint64 // if Grow, the instance's memory figure the growth would have given it, bytes
	Used, Budget uint64 // all modules' memory and the budget, bytes
	InUse        uint64 // of Used, the instances checked out and the stacks of calls running, bytes
	Threshold    float64
}

func (e *MemoryError) Error() string {
	used := float64(e.Used) / float64(max(e.Budget, 1))
	switch {
	case e.Grow && e.Held >= e.Share:
		return fmt.Sprintf("module %q's instance grew past the budget: no room for its linear memory to grow by %s, to %s; "+
			"the module holds %s, over its share of %s (WASM_MEMORY_LIMIT_MB %s over %d modules), and may take more only while the budget is under %.0f%% "+
			"(MEMORY_PRESSURE_THRESHOLD): it is at %.0f%% (%s); the call was stopped and its instance replaced",
			e.Module, mib(e.Need), mib(e.Size), mib(e.Held), mib(e.Share), mib(e.Budget), e.Modules, 100*e.Threshold, 100*used, mib(e.Used))
	case e.Grow:
		return fmt.Sprintf("module %q's instance grew past the budget: no room for its linear memory to grow by %s, to %s; "+
			"the module holds %s of its %s share (WASM_MEMORY_LIMIT_MB %s over %d modules), the budget is %.0f%% used (%s, %s of it in use), "+
			"and no module over its share has an idle instance above its minimum to give back; the call was stopped and its instance replaced",
			e.Module, mib(e.Need), mib(e.Size), mib(e.Held), mib(e.Share), mib(e.Budget), e.Modules, 100*used, mib(e.Used), mib(e.InUse))
	case e.Stack:
		return fmt.Sprintf("no room for a call's stack to grow by %s more: module %q holds %s, its share is %s (WASM_MEMORY_LIMIT_MB %s over %d modules), "+
			"and the budget is %.0f%% used (a call's stack may borrow up to MEMORY_PRESSURE_THRESHOLD, %.0f%%, and never past its module's share beyond it); "+
			"the call was stopped and its instance replaced",
			mib(e.Need), e.Module, mib(e.Held), mib(e.Share), mib(e.Budget), e.Modules, 100*used, 100*e.Threshold)
	case e.Call:
		return fmt.Sprintf("the memory budget is used up: %s of %s (WASM_MEMORY_LIMIT_MB) with %s of it in use (instances checked out, calls' stacks), "+
			"no room for a call of module %q, which runs without the stack bound (WASM_ALLOW_UNINSTRUMENTED) and is charged %s of stack while it runs",
			mib(e.Used), mib(e.Budget), mib(e.InUse), e.Module, mib(e.Need))
	case e.Held >= e.Share && used >= e.Threshold:
		return fmt.Sprintf("module %q holds %s, over its share of %s (WASM_MEMORY_LIMIT_MB %s over %d modules), "+
			"and may take more only while the budget is under %.0f%% (MEMORY_PRESSURE_THRESHOLD): it is at %.0f%%",
			e.Module, mib(e.Held), mib(e.Share), mib(e.Budget), e.Modules, 100*e.Threshold, 100*used)
	case e.Held >= e.Share:
		return fmt.Sprintf("the memory budget is used up: %s of %s (WASM_MEMORY_LIMIT_MB) with %s of it in use (instances checked out, calls' stacks), "+
			"no room for a new instance of module %q (%s); the module holds %s, over its share of %s, and takes nothing back from others",
			mib(e.Used), mib(e.Budget), mib(e.InUse), e.Module, mib(e.Need), mib(e.Held), mib(e.Share))
	}
	return fmt.Sprintf("the memory budget is used up: %s of %s (WASM_MEMORY_LIMIT_MB) with %s of it in use (instances checked out, calls' stacks), "+
		"no room for a new instance of module %q (%s); the module holds %s of its %s share, "+
		"and no module over its share has an idle instance above its minimum to give back",
		mib(e.Used), mib(e.Budget), mib(e.InUse), e.Module, mib(e.Need), mib(e.Held), mib(e.Share))
}

func (e *MemoryError) Unwrap() error { return ErrMemoryLimit }

// mib formats a byte count in MiB, to a tenth.
func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// Get returns the pool of a module.
func (s *Set) Get(name string) (*Pool, error) {
	s.mu.RLock()
	p := s.pools[name]
	s.mu.RUnlock()
	if p == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoModule, name)
	}
	return p, nil
}

// Pools returns every pool, by name.
func (s *Set) Pools() []*Pool {
	s.mu.RLock()
	out := make([]*Pool, 0, len(s.pools))
	for _, p := range s.pools {
		out = append(out, p)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Pool) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// MemoryBytes is the memory figure of p's module: of its open instances
// (those of versions a reload replaced included, until they close) and of
// the instances being made.
func (p *Pool) MemoryBytes() uint64 { return p.acct.bytes() }

// PeakMemoryBytes is the highest MemoryBytes of p's module since it was
// first loaded.
func (p *Pool) PeakMemoryBytes() uint64 { return uint64(max(p.acct.peak.Load(), 0)) }

// maxRedirects bounds how many reloads one Checkout follows: each is a
// module swapped while the caller waited, so more than a few in a row is a
// reload loop, not a caller to keep waiting.
const maxRedirects = 4

// Checkout takes an instance of p for one caller. A call already refused by
// an open breaker is refused before it waits for an instance.
//
// A caller that came to p just as its module was reloaded, or that was
// waiting in p's queue when it was, is served by the module's new pool:
// a reload is no shutdown, and only a Set being closed answers
// pool.ErrClosed.
func (p *Pool) Checkout(ctx context.Context) (*pool.Handle[*Instance], error) {
	for redirects := 0; ; redirects++ {
		if p.Breaker.State() == breaker.StateOpen {
			return nil, &breaker.OpenError{Name: p.Name, State: breaker.StateOpen, RetryAfter: p.Breaker.RetryAfter()}
		}
		h, err := p.Pool.Checkout(ctx)
		if err == nil {
			inst := h.Value()
			inst.checkout.Store(true)
			p.set.inUse.Add(inst.size.Load())
			return h, nil
		}
		if !errors.Is(err, pool.ErrClosed) || redirects == maxRedirects {
			return nil, err
		}
		cur, gerr := p.set.Get(p.Name)
		if gerr != nil || cur == p {
			return nil, err // the Set itself is closing
		}
		p = cur
	}
}

// Run runs one extraction on a checked-out instance, through the breaker of
// the pool that made the instance (p's, unless Checkout followed a reload),
// once one of the Set's call slots is free (see Config.MaxConcurrentCalls).
// The call's time limit runs from when it starts, not while it waits.
func (p *Pool) Run(ctx context.Context, h *pool.Handle[*Instance], req wasm.Request) (*structpb.Struct, error) {
	inst := h.Value()
	p = inst.pool
	call, err := p.set.slots.begin(ctx, p.Name, p.set.cfg.CheckoutTimeout)
	if err != nil {
		return nil, err
	}
	defer call.release()
	unstack, err := p.set.reserveCallStack(p)
	if err != nil {
		return nil, err
	}
	defer unstack()
	done, err := p.Breaker.Allow()
	if err != nil {
		return nil, err
	}
	inst.settle(nil) // a call before this one on a lease was a success
	res, err := inst.extract(wasm.WithTick(ctx, call.tick), req)
	if err != nil && call.preempted {
		err = &PreemptedError{Module: p.Name, Ran: call.attained, Waited: call.waited, Err: err}
	}
	switch {
	case err != nil && ctx.Err() != nil:
		// The caller's own deadline or cancellation is not the module's
		// fault: do not count it.
		done(ctx.Err())
	case err != nil:
		done(err)
	default:
		// A success is told to the breaker once the instance is reset
		// (Instance.Reset, Done): a module whose calls succeed but whose
		// resets fail or hang would otherwise have every failure
		// followed by a success, and its breaker would never open.
		inst.pending.Store(&done)
	}
	return res, err
}

// extract runs one extraction on i and settles what the call was
// granted: its stack given back, its memory figure brought up to date.
// What its grants ask of the budget costs nothing unless the call grows
// its stack or memory: they are i's, made once.
func (i *Instance) extract(ctx context.Context, req wasm.Request) (*structpb.Struct, error) {
	res, err := i.Instance.Extract(ctx, req)
	i.stack.end()
	i.account()
	return res, err
}

// Done ends a checkout: the instance goes back to its pool, or is closed if
// err left it unusable or it grew past the recycling threshold. It returns
// the reason the instance was discarded, or "".
func (p *Pool) Done(h *pool.Handle[*Instance], err error) string {
	inst := h.Value()
	p = inst.pool
	if inst.checkout.Swap(false) {
		p.set.inUse.Add(-inst.size.Load())
	}
	reason := ""
	switch {
	case Unusable(err):
		reason = "unusable: " + err.Error()
	case inst.overRecycle(p.set.cfg.RecycleBytes), inst.recycle.Load():
		reason = "memory"
		inst.recycle.Store(true) // Close counts it as recycled
	}
	if reason != "" {
		h.Discard(reason)
		inst.settle(nil)
		return reason
	}
	h.Release() // resets the instance, which settles a pending success
	inst.settle(nil)
	return ""
}

// Unusable reports whether err leaves the instance that returned it unfit
// for another call.
func Unusable(err error) bool {
	if err == nil {
		return false // without the target of errors.As, which escapes
	}
	var abi *wasm.ABIError
	return errors.Is(err, wasm.ErrTimeout) || errors.Is(err, wasm.ErrCanceled) ||
		errors.Is(err, wasm.ErrTrap) || errors.Is(err, wasm.ErrOutOfMemory) ||
		errors.Is(err, wasm.ErrUnhealthy) || errors.Is(err, wasm.ErrDocumentOutOfMemory) ||
		errors.Is(err, wasm.ErrStackRefused) || errors.Is(err, wasm.ErrMemoryRefused) || errors.Is(err, wasm.ErrUnusable) || errors.As(err, &abi)
}

// isFailure tells the breaker which errors are the module's fault: traps,
// timeouts, running out of memory, ABI violations, unhealthy instances and
// failed creations. A guest's verdict on bad input, a result too large
// and the caller's own cancellation are not.
func isFailure(err error) bool {
	if err == nil {
		return false // without the targets of errors.As, which escape
	}
	var (
		ce *CreationError
		pe *PreemptedError
	)
	if errors.As(err, &pe) {
		return false // the daemon was busy
	}
	return errors.As(err, &ce) || errors.Is(err, wasm.ErrTimeout) || errors.Is(err, wasm.ErrTrap) ||
		errors.Is(err, wasm.ErrOutOfMemory) || errors.Is(err, wasm.ErrUnhealthy) || isABI(err)
}

func isABI(err error) bool {
	var abi *wasm.ABIError
	return errors.As(err, &abi)
}

// ErrUninstrumented reports a module refused because the instrumentation
// cannot read it (see Config.AllowUninstrumented).
var ErrUninstrumented = errors.New("wasmpool: module without the stack bound")

// UninstrumentedError reports a module refused because the instrumentation
// cannot read it, and says how to load it anyway. It wraps
// ErrUninstrumented.
type UninstrumentedError struct {
	Module string
	Charge uint64 // what each of its calls would be charged, bytes
}

func (e *UninstrumentedError) Error() string {
	return fmt.Sprintf("module %q cannot be instrumented, so its calls' stacks would be bounded by wazero's own limit alone, "+
		"not WASM_MAX_STACK_KB: set WASM_ALLOW_UNINSTRUMENTED to load it, each call charged %s against the memory budget",
		e.Module, mib(e.Charge))
}

func (e *UninstrumentedError) Unwrap() error { return ErrUninstrumented }

// CreationError reports an instance that could not be made.
type CreationError struct {
	Module string
	Err    error
}

func (e *CreationError) Error() string {
	return fmt.Sprintf("creating an instance of %q: %v", e.Module, e.Err)
}

func (e *CreationError) Unwrap() error { return e.Err }

// MemoryStats are the Set's memory figures.
type MemoryStats struct {
	UsedBytes, InUseBytes, PeakBytes, BudgetBytes uint64
	Pressure                                      float64
	Sweeps, Recycled                              uint64
}

// Memory returns the current memory figures.
func (s *Set) Memory() MemoryStats {
	return MemoryStats{
		UsedBytes:   uint64(max(s.used.Load(), 0)),
		InUseBytes:  uint64(max(s.inUse.Load(), 0)),
		PeakBytes:   uint64(max(s.peak.Load(), 0)),
		BudgetBytes: s.cfg.MemoryBudgetBytes,
		Pressure:    s.Pressure(),
		Sweeps:      s.sweeps.Load(),
		Recycled:    s.recycled.Load(),
	}
}

// Pressure is the linear memory in use over the budget (0 without one).
func (s *Set) Pressure() float64 {
	if s.cfg.MemoryBudgetBytes == 0 {
		return 0
	}
	return float64(max(s.used.Load(), 0)) / float64(s.cfg.MemoryBudgetBytes)
}

// SweepResult tells what a sweep did.
type SweepResult struct {
	ReclaimedBytes uint64
	Recycled       int
	Duration       time.Duration
}

// Sweep recycles instances whose linear memory grew past the recycling
// threshold (half of it while pressure is over the pressure threshold; in
// both cases only instances half again larger than when created), closes idle
// instances above each pool's minimum that have idled past their timeout,
// refills pools to their minimum, and returns freed Go memory to the OS.
// Instances in use are marked and recycled when they come back.
func (s *Set) Sweep(ctx context.Context) SweepResult {
	began := time.Now()
	before := s.used.Load()
	recycledBefore := s.recycled.Load()
	limit := s.cfg.RecycleBytes
	if s.cfg.MemoryBudgetBytes > 0 && s.Pressure() >= s.cfg.PressureThreshold {
		limit /= 2
	}
	if limit > 0 {
		s.liveMu.Lock()
		for inst := range s.live {
			if inst.overRecycle(limit) {
				inst.recycle.Store(true)
			}
		}
		s.liveMu.Unlock()
	}
	for _, p := range s.Pools() {
		p.Pool.CheckHealth(ctx)
	}
	debug.FreeOSMemory()
	s.sweeps.Add(1)
	after := s.used.Load()
	res := SweepResult{Duration: time.Since(began)}
	if after < before {
		res.ReclaimedBytes = uint64(before - after)
	}
	// Marked instances count as recycled when they are closed: now by the
	// health pass if idle, later by Done if in use.
	res.Recycled = int(s.recycled.Load() - recycledBefore)
	return res
}

// Close closes every pool (waiting for instances in use until ctx ends) and
// then the modules.
func (s *Set) Close(ctx context.Context) error {
	var errs []error
	for _, p := range s.Pools() {
		p.closeSpare()
		errs = append(errs, p.Pool.Close(ctx))
	}
	done := make(chan struct{})
	go func() { s.retired.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	for _, p := range s.Pools() {
		errs = append(errs, p.Module.Close(ctx))
	}
	return errors.Join(errs...)
}

// The conditions of a pool that lower the health score (see Conditions).
const (
	ConditionNoInstance      = "no_instance"       // a pool that should have instances has none
	ConditionCreationBackoff = "creation_backoff"  // below its minimum, creations failing and retried later
	ConditionOverMemoryShare = "over_memory_share" // over its memory share while the budget is under pressure
)

// Condition is a state of a pool that the health report scores, and that
// the daemon publishes when it begins and when it ends.
type Condition struct {
	Name   string // one of the Condition constants
	Detail string // for people
}

// Conditions returns the conditions p is in now.
func (p *Pool) Conditions() []Condition {
	var out []Condition
	st := p.Pool.Stats()
	if st.Total == 0 && (st.Min > 0 || st.Waiters > 0) {
		out = append(out, Condition{ConditionNoInstance,
			fmt.Sprintf("no instance (minimum %d, %d callers waiting)", st.Min, st.Waiters)})
	}
	if st.Total < st.Min && st.Creating == 0 && st.CreateFailures > 0 {
		out = append(out, Condition{ConditionCreationBackoff,
			fmt.Sprintf("%d of its %d minimum instances; %d creations failed, retried with backoff", st.Total, st.Min, st.CreateFailures)})
	}
	s := p.set
	if s.cfg.MemoryBudgetBytes > 0 && s.Pressure() >= s.cfg.PressureThreshold {
		if share, n := s.MemoryShare(); p.MemoryBytes() > share {
			out = append(out, Condition{ConditionOverMemoryShare,
				fmt.Sprintf("holds %s, over its share of %s (the budget over %d modules) while the budget is %.0f%% used",
					mib(p.MemoryBytes()), mib(share), n, 100*s.Pressure())})
		}
	}
	return out
}

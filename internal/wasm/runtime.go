package wasm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/riptidecrawler/riptide-poold/internal/lograte"
	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Defaults for the zero values of RuntimeConfig.
const (
	DefaultInstanceMemoryLimitMB = 128
	maxInstanceMemoryLimitMB     = 4096 // 32-bit linear memory
	DefaultMaxStackKB            = interrupt.DefaultStackBytes >> 10
	MaxMaxStackKB                = interrupt.MaxStackBytes >> 10
)

// RuntimeConfig configures a Runtime. The zero value is usable.
type RuntimeConfig struct {
	// CompilationCacheDir keeps compiled modules on disk, so a restart does
	// not compile them again. "" keeps them in memory only.
	CompilationCacheDir string
	// InstanceMemoryLimitMB caps each instance's linear memory; 0 means
	// DefaultInstanceMemoryLimitMB. Go guests are told GOMEMLIMIT at three
	// quarters of it so that their collector works before the cap is hit.
	InstanceMemoryLimitMB int
	// GuestMemoryLimitMB is the soft limit given to Go guests as
	// GOMEMLIMIT: their collector works harder as their heap nears it,
	// keeping linear memory, which never shrinks, small. 0 means three
	// quarters of InstanceMemoryLimitMB; it is capped there.
	GuestMemoryLimitMB int
	// ExtractTimeout bounds every guest call (extract, health, reset, and
	// instantiation) besides the caller's context; 0 means no bound but the
	// caller's.
	ExtractTimeout time.Duration
	// HousekeepingTimeout bounds the calls that are not extractions:
	// riptide_health, riptide_reset and riptide_free between calls; 0
	// means DefaultHousekeepingTimeout, or ExtractTimeout if that is
	// shorter. The ABI asks a module to answer them quickly; one that does
	// not is failed (ErrTimeout) and its instance discarded.
	HousekeepingTimeout time.Duration
	// MaxDocumentBytes bounds the documents given to a module; 0 means an
	// eighth of the instance memory cap (see Module.DocumentLimit). The
	// request JSON and the document together stay within half the cap in
	// any case.
	MaxDocumentBytes int
	// MaxResultBytes bounds the result JSON of one extraction, and
	// separately what the host builds from it (see ValueCost); 0 means the
	// instance memory cap.
	MaxResultBytes int
	// MaxStackKB bounds the stack of each guest call, in KiB of the
	// estimates of its frames (interrupt.FrameBytes, which cover wazero's
	// real frames several times over): a call that recurses deeper traps
	// (ErrStackLimit). 0 means DefaultMaxStackKB; at most MaxMaxStackKB.
	// Modules the instrumentation cannot read are bounded only by
	// wazero's own limit.
	MaxStackKB int
	// GOGC is passed to Go guests in their environment; 0 means
	// DefaultGuestGOGC, a negative value turns their collector off (they
	// then collect only at GOMEMLIMIT).
	GOGC int
	// Logger receives module loads and guest failures; nil discards them.
	Logger *slog.Logger
}

// DefaultHousekeepingTimeout is the default of
// RuntimeConfig.HousekeepingTimeout.
const DefaultHousekeepingTimeout = time.Second

// probeMemoryBytes is the linear memory prepared for a module's first
// instance while the module compiles: a Go guest's runtime takes some
// 6.5 MiB as it starts (the bundled module: 104 pages).
const probeMemoryBytes = 8 << 20

// DefaultGuestGOGC is the GOGC given to Go guests. Go's default: measured
// with the article module, a larger GOGC saves little time (the live heap
// between extractions is small, so collections are cheap) and costs linear
// memory, which never shrinks (see BenchmarkInstanceMemory).
const DefaultGuestGOGC = 100

// Log lines about one module's failures are rate-limited: a module that
// fails on every call, or whose every new instance is unhealthy, would
// otherwise write a line per failure, as fast as the host can make
// instances.
const (
	logBurst  = 10
	logWindow = 10 * time.Second
)

// FailureLogLines is how many lines about one module's failures the host
// writes per FailureLogWindow; the next line after a quiet spell says how
// many were suppressed.
const (
	FailureLogLines  = logBurst
	FailureLogWindow = logWindow
)

// Runtime compiles and instantiates guest modules. It holds two wazero
// runtimes sharing one compilation cache: one for modules instrumented by
// package interrupt, whose code checks for interruption itself, and one that
// checks for the end of the call's context at every loop header and function
// entry (wazero's WithCloseOnContextDone, some five times slower for a Go
// guest), for the modules that the instrumentation cannot read. A Runtime is
// safe for concurrent use.
type Runtime struct {
	cfg         RuntimeConfig
	log         *slog.Logger
	memoryLimit uint64 // bytes
	cache       wazero.CompilationCache
	checked     wazero.Runtime // wazero's checks
	plain       wazero.Runtime // the module's own checks, or none

	calls gate // guest calls running
	// instances maps the api.Module of each instance of an instrumented
	// module to its *Instance, for stackSpent.
	instances sync.Map
	mappings  mappings // linear memories of closed instances, for reuse
	logRate   *lograte.Limiter

	mu     sync.Mutex
	closed bool
}

// NewRuntime makes a Runtime. Close it to release its compiled code.
func NewRuntime(ctx context.Context, cfg RuntimeConfig) (*Runtime, error) {
	limitMB := cfg.InstanceMemoryLimitMB
	switch {
	case limitMB == 0:
		limitMB = DefaultInstanceMemoryLimitMB
	case limitMB < 1 || limitMB > maxInstanceMemoryLimitMB:
		return nil, fmt.Errorf("wasm: instance memory limit %d MiB: want 1 to %d", limitMB, maxInstanceMemoryLimitMB)
	}
	if cfg.ExtractTimeout < 0 {
		return nil, fmt.Errorf("wasm: negative extract timeout %v", cfg.ExtractTimeout)
	}
	if cfg.MaxDocumentBytes < 0 {
		return nil, fmt.Errorf("wasm: negative document limit %d", cfg.MaxDocumentBytes)
	}
	if cfg.HousekeepingTimeout < 0 {
		return nil, fmt.Errorf("wasm: negative housekeeping timeout %v", cfg.HousekeepingTimeout)
	}
	if cfg.HousekeepingTimeout == 0 {
		cfg.HousekeepingTimeout = DefaultHousekeepingTimeout
		if cfg.ExtractTimeout > 0 {
			cfg.HousekeepingTimeout = min(cfg.HousekeepingTimeout, cfg.ExtractTimeout)
		}
	}
	if cfg.MaxResultBytes < 0 {
		return nil, fmt.Errorf("wasm: negative result limit %d", cfg.MaxResultBytes)
	}
	switch {
	case cfg.MaxStackKB == 0:
		cfg.MaxStackKB = DefaultMaxStackKB
	case cfg.MaxStackKB < 0 || cfg.MaxStackKB > MaxMaxStackKB:
		return nil, fmt.Errorf("wasm: stack limit %d KiB: want 1 to %d", cfg.MaxStackKB, MaxMaxStackKB)
	}
	if cfg.GOGC == 0 {
		cfg.GOGC = DefaultGuestGOGC
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	cache := wazero.NewCompilationCache()
	if cfg.CompilationCacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CompilationCacheDir); err != nil {
			return nil, fmt.Errorf("wasm: compilation cache: %w", err)
		}
	}
	r := &Runtime{cfg: cfg, log: log, memoryLimit: uint64(limitMB) << 20, cache: cache, logRate: &lograte.Limiter{Logger: log, Burst: logBurst, Window: logWindow}}
	// wazero keys its cache on the interruption setting too, so the two
	// runtimes can share it.
	var err error
	if r.checked, err = newWazero(ctx, cache, true, r.stackSpent); err == nil {
		r.plain, err = newWazero(ctx, cache, false, r.stackSpent)
	}
	if err != nil {
		r.release(ctx)
		return nil, err
	}
	return r, nil
}

func newWazero(ctx context.Context, cache wazero.CompilationCache, interruptible bool, stackSpent api.GoModuleFunc) (wazero.Runtime, error) {
	cfg := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(cache).
		WithCloseOnContextDone(interruptible)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiating WASI: %w", err)
	}
	if !interruptible {
		_, err := rt.NewHostModuleBuilder(interrupt.HostModule).
			NewFunctionBuilder().
			WithGoFunction(api.GoFunc(checkInterrupt), nil, nil).
			Export(interrupt.HostFunction).
			NewFunctionBuilder().
			WithGoModuleFunction(stackSpent, nil, nil).
			Export(interrupt.StackFunction).
			Instantiate(ctx)
		if err != nil {
			rt.Close(ctx)
			return nil, fmt.Errorf("wasm: instantiating the interruption check: %w", err)
		}
	}
	return rt, nil
}

// checkInterrupt is the host function an instrumented guest calls each time
// its fuel runs out (package interrupt): every Fuel bytes of code it runs,
// about every 20 µs for the bundled module, a few ms at most for any.
//
// Past the call's deadline or cancellation it ends the call: the panic
// unwinds the guest's stack, and wazero returns a *sys.ExitError that is
// not wrapped, exactly as for its own WithCloseOnContextDone, and as WASI's
// proc_exit does; classify makes it ErrTimeout or ErrCanceled. The instance
// is then unusable (its guest stopped anywhere) and is discarded.
//
// Otherwise it runs the call's Tick (WithTick), if any, which may make it
// wait for its turn, and returns. That is the other half of its job: wazero's
// machine code gives Go no point where it can preempt the goroutine, so
// that a stop-the-world (a garbage collection's, say) would wait for the
// guest to return; a call into Go is such a point, so the wait is bounded
// by the time between two checks.
func checkInterrupt(ctx context.Context, _ []uint64) {
	err := ctx.Err()
	if err == nil {
		if tick, ok := ctx.Value(tickKey{}).(Tick); ok {
			err = tick(ctx)
		}
	}
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		panic(sys.NewExitError(sys.ExitCodeContextCanceled))
	default:
		panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
	}
}

// shallowStackBytes is the part of the stack bound an extraction (and
// _initialize) starts with, shallowHousekeepingBytes the part the other
// calls start with (stackSpent gives either the rest): as much as the
// bundled article module needs on the corpus pages (2 MiB at most) and for
// its allocations, frees, resets and health checks (64 to 256 KiB), so that
// it seldom goes deep. Its _initialize, which needs 4 to 6 MiB, goes deep
// once per instance. What a call starts
// with bounds the stack wazero keeps for the function after it, which each
// instance's memory figure counts (Module.StackAllowanceBytes).
const (
	shallowStackBytes        = 2 << 20
	shallowHousekeepingBytes = 256 << 10
)

// firstStackBudget is the part of the stack bound limit that a call of the
// export name starts with.
func firstStackBudget(name string, limit uint64) uint64 {
	switch name {
	case exportExtract, exportExtractTree, exportInitialize:
		return min(limit, shallowStackBytes)
	}
	return min(limit, shallowHousekeepingBytes)
}

// errStackSpent ends a call whose stack budget is spent, and
// errStackRefused one whose StackGrant gave it no more; invoke reports them
// as ErrStackLimit and ErrStackRefused.
var (
	errStackSpent   = errors.New("wasm: the stack budget is spent")
	errStackRefused = errors.New("wasm: the stack budget's growth was refused")
)

// stackSpent is the host function an instrumented guest calls when its
// stack budget is spent (package interrupt). A call starts with
// firstStackBudget of the bound; each time it spends what it has, it is
// given as much again (its budget doubles), up to the bound, and its
// instance notes that the call went deep, so that the stack wazero grew
// for it is dropped after it (wazero keeps a grown stack for the
// function's next calls, outside any memory figure). Past the bound the
// call ends, its budget left below zero.
//
// Doubling, rather than giving the whole rest at once, lets a StackGrant
// of the call's context charge what the call takes as it takes it, in a
// few steps (five from 2 MiB to 64 MiB): a call that goes deeper than it
// grants ends (ErrStackRefused), at the first step it cannot have whole.
func (r *Runtime) stackSpent(ctx context.Context, mod api.Module, _ []uint64) {
	v, ok := r.instances.Load(mod)
	i, _ := v.(*Instance)
	if !ok {
		panic(errStackSpent)
	}
	have := i.shallow + i.grown
	limit := r.StackLimitBytes()
	switch {
	case have >= limit:
		panic(errStackSpent)
	case i.refusal != nil:
		panic(errStackRefused)
	}
	step := min(have, limit-have)
	grant := i.stackGrant
	if grant == nil {
		grant, _ = ctx.Value(stackGrantKey{}).(StackGrant)
	}
	if grant != nil {
		granted, err := grant(ctx, step)
		if granted < step {
			// This step is the call's last: it ends the next time it
			// spends its budget.
			i.refusal = cmp.Or(err, errStackRefused)
			if granted == 0 {
				panic(errStackRefused)
			}
			step = granted
		}
	}
	i.grown += step
	i.deep = true
	i.budget.Set(uint64(uint32(int32(i.budget.Get()) + int32(step))))
}

// StackGrant is asked for more stack by a call of an instrumented module
// that spent what it had, want bytes of the frame estimates (see
// RuntimeConfig.MaxStackKB): it returns how much of it the call may take,
// at most want, and, if less, why. A call given less than it asked for
// ends with ErrStackRefused, wrapping that error, once it spends that
// too. The call's instance is then unusable. StackGrant runs on the call's
// goroutine, at most a few times a call (see stackSpent); what it grants
// is the caller's to take back once the call has returned.
//
// Calls without one (of their instance's, Instance.SetStackGrant, or of
// their context's, WithStackGrant) are given the whole bound.
type StackGrant func(ctx context.Context, want uint64) (granted uint64, err error)

type stackGrantKey struct{}

// WithStackGrant returns a context whose guest calls ask grant for stack
// past the first part of the bound they start with. What they may hold
// of stack beyond that part is then what it grants, up to the bound.
func WithStackGrant(ctx context.Context, grant StackGrant) context.Context {
	return context.WithValue(ctx, stackGrantKey{}, grant)
}

// Tick is called on the goroutine of a guest call each time the guest
// checks for interruption (see checkInterrupt), between two pieces of its
// work: it may block, to let other calls run, and a non-nil error (the
// context's) ends the call as its deadline would. It must be cheap when it
// has nothing to do: it runs about every 0.1 ms of guest work.
type Tick func(ctx context.Context) error

type tickKey struct{}

// WithTick returns a context whose guest calls run tick at their
// interruption checks. Modules that the instrumentation could not read
// (stopped by wazero's own checks) never call it.
func WithTick(ctx context.Context, tick Tick) context.Context {
	return context.WithValue(ctx, tickKey{}, tick)
}

// Close closes every module and instance made by r, and the compilation
// cache, once the guest calls running have returned (at their deadline at
// the latest). If ctx ends first, Close returns its error
// and the runtime is released when the last call returns. Instances closed
// this way fail their next call with ErrUnusable.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	select {
	case <-r.calls.close():
		return r.release(ctx)
	case <-ctx.Done():
		go func() {
			<-r.calls.close()
			r.release(context.Background())
		}()
		return fmt.Errorf("wasm: closing the runtime with guest calls running: %w", ctx.Err())
	}
}

// release closes the wazero runtimes, which must not be running any call:
// they free the memory of the instances.
func (r *Runtime) release(ctx context.Context) error {
	var errs []error
	for _, rt := range []wazero.Runtime{r.checked, r.plain} {
		if rt != nil {
			errs = append(errs, rt.Close(ctx))
		}
	}
	r.mappings.close() // after the runtimes, whose instances put theirs back
	errs = append(errs, r.cache.Close(ctx))
	return errors.Join(errs...)
}

// MemoryLimitBytes is the cap of each instance's linear memory.
func (r *Runtime) MemoryLimitBytes() uint64 { return r.memoryLimit }

// StackLimitBytes is the bound of each guest call's stack, in bytes of
// the instrumentation's frame estimates (RuntimeConfig.MaxStackKB).
func (r *Runtime) StackLimitBytes() uint64 { return uint64(r.cfg.MaxStackKB) << 10 }

// ExtractTimeout is the bound of every guest call (0: none but the
// caller's).
func (r *Runtime) ExtractTimeout() time.Duration { return r.cfg.ExtractTimeout }

// ModuleOptions configure one module.
type ModuleOptions struct {
	// Trusted marks a module built from this repository. It used to run
	// the module without interruption checks, which could not be stopped;
	// every module now checks for interruption by itself (see package
	// interrupt) as cheaply, so Trusted changes nothing but what the
	// daemon reports.
	Trusted bool

	// Uninstrumented loads the module as one the instrumentation cannot
	// read would be: its calls stopped by wazero's own checks, its stack
	// bounded by wazero's limit alone (see Module.CallStackChargeBytes).
	// For tests of what the host does with such modules.
	Uninstrumented bool

	// interruption, for the benchmarks, runs a module as it would
	// otherwise not be: interruptNone is what trusted modules were, and
	// must not serve.
	interruption interruption
}

// interruption is how a module's calls are stopped at their deadline.
type interruption int

const (
	interruptFuel    interruption = iota // instrumented by package interrupt
	interruptChecked                     // wazero's WithCloseOnContextDone
	interruptNone                        // not at all: for measurements only
)

// Load compiles a module, checks it follows the guest ABI and asks it for its
// modes (by instantiating it once). A module that does not conform is
// refused with an *ABIError. name identifies the module in errors and logs.
func (r *Runtime) Load(ctx context.Context, name string, wasm []byte, opts ModuleOptions) (*Module, error) {
	if name == "" {
		return nil, errors.New("wasm: empty module name")
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%w: runtime", ErrClosed)
	}
	start := time.Now()
	// The probe's instance needs a linear memory, whose first touches are
	// page faults (expensive in virtual machines): they are taken on
	// another core while this one compiles.
	go r.mappings.prepare(r.memoryLimit, probeMemoryBytes)
	// Compiling (on a cold cache) is seconds of work per module that
	// wazero can spread over several goroutines; reading the cache is not.
	// Tables are bounded by rewriting their declared maximum (see
	// MaxTableEntries) before compiling. Bytes the host cannot follow go
	// to the compiler as they are, for its own error.
	tabs, readErr := readTables(wasm)
	if readErr == nil && len(tabs.problems) > 0 {
		return nil, &ABIError{Module: name, Reason: strings.Join(tabs.problems, "; ")}
	}
	how, rt, compiled, err := r.compile(ctx, name, wasm, &tabs, opts)
	if err != nil {
		return nil, err
	}
	if readErr != nil { // valid, but in a form the host cannot bound
		compiled.Close(ctx)
		return nil, &ABIError{Module: name, Reason: "its tables cannot be read: " + readErr.Error()}
	}
	compiledAt := time.Now()
	m := &Module{name: name, rt: r, wazero: rt, compiled: compiled, opts: opts, interruption: how, tableBytes: tabs.bytes}
	if err := m.probe(ctx); err != nil {
		compiled.Close(ctx)
		return nil, err
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "wasm module loaded",
		slog.String("module", name), slog.Int("abi_version", m.version),
		slog.Any("modes", m.modes), slog.Bool("trusted", opts.Trusted), slog.Bool("instrumented", how == interruptFuel), slog.Bool("takes_tree", m.TakesTree()),
		slog.Int("bytes", len(wasm)), slog.Duration("took", time.Since(start)),
		slog.Duration("compile", compiledAt.Sub(start)), slog.Duration("probe", time.Since(compiledAt)))
	return m, nil
}

// compile instruments the module (see instrument) and compiles it with
// the wazero runtime that suits how its calls are stopped. Instrumented
// code kept in the cache directory is mapped (see instrumented); should its
// file be truncated while wazero reads it, the module is instrumented
// again.
func (r *Runtime) compile(ctx context.Context, name string, bin []byte, tabs *tables, opts ModuleOptions) (interruption, wazero.Runtime, wazero.CompiledModule, error) {
	for reuse := true; ; reuse = false {
		how, code, release, err := r.instrument(ctx, name, bin, tabs, opts, reuse)
		if err != nil {
			return 0, nil, nil, err
		}
		rt := r.plain
		if how == interruptChecked {
			rt = r.checked
		}
		compiled, err := compileModule(experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0)), rt, code)
		release()
		if errors.Is(err, errFault) && reuse {
			r.log.LogAttrs(ctx, slog.LevelWarn, "wasm module's kept instrumented code could not be read; instrumenting it again",
				slog.String("module", name), slog.Any("error", err))
			continue
		}
		if err != nil {
			return 0, nil, nil, &ABIError{Module: name, Reason: "not a valid WebAssembly module: " + err.Error()}
		}
		return how, rt, compiled, nil
	}
}

// errFault is a memory fault in compileModule: the bytes it compiled were
// a mapped file that was truncated.
var errFault = errors.New("memory fault")

// compileModule is rt.CompileModule with a panic turned into an error:
// wazero v1.12.0's validator indexes out of range on some malformed modules
// (a call of an import whose type index is out of range), and a module file
// must not end the daemon; nor must a mapped file truncated while wazero
// reads it (errFault). wazero reads bin only on this goroutine, which
// debug.SetPanicOnFault covers, before it takes any lock.
func compileModule(ctx context.Context, rt wazero.Runtime, bin []byte) (c wazero.CompiledModule, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if f, ok := p.(interface{ Addr() uintptr }); ok {
				c, err = nil, fmt.Errorf("%w at %#x", errFault, f.Addr())
				return
			}
			c, err = nil, fmt.Errorf("the compiler failed on it: %v", p)
		}
	}()
	return rt.CompileModule(ctx, bin)
}

// instrument adds interruption checks to a module's code (package
// interrupt) and returns it with the function that releases it once
// compiled. A module the pass cannot read runs with wazero's checks
// instead, slower; one that uses the names the pass reserves is refused.
func (r *Runtime) instrument(ctx context.Context, name string, bin []byte, tabs *tables, opts ModuleOptions, reuse bool) (interruption, []byte, func(), error) {
	if opts.Uninstrumented && opts.interruption == interruptFuel {
		return interruptChecked, tabs.bound(bin), noRelease, nil
	}
	if opts.interruption != interruptFuel {
		return opts.interruption, tabs.bound(bin), noRelease, nil
	}
	out, release, err := r.instrumented(ctx, name, bin, tabs, reuse)
	switch {
	case err == nil:
		return interruptFuel, out, release, nil
	case errors.Is(err, interrupt.ErrReserved):
		return 0, nil, nil, &ABIError{Module: name, Reason: err.Error()}
	}
	r.log.LogAttrs(ctx, slog.LevelWarn, "wasm module not instrumented: wazero checks its loops instead, slower",
		slog.String("module", name), slog.Any("error", err))
	return interruptChecked, tabs.bound(bin), noRelease, nil
}

// LoadDir loads every *.wasm file of dir as an untrusted module named after
// the file's base name (without ".wasm"). A file that fails to load is
// reported in the errors; the others are loaded. The modules are in file
// name order (os.ReadDir sorts).
func (r *Runtime) LoadDir(ctx context.Context, dir string) ([]*Module, []error) {
	return r.LoadDirWith(ctx, dir, func(string) ModuleOptions { return ModuleOptions{} })
}

// LoadDirWith is LoadDir with the options of each module chosen by name.
func (r *Runtime) LoadDirWith(ctx context.Context, dir string, options func(name string) ModuleOptions) ([]*Module, []error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{fmt.Errorf("wasm: modules directory: %w", err)}
	}
	var (
		mods []*Module
		errs []error
	)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".wasm") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		name := strings.TrimSuffix(e.Name(), ".wasm")
		bin, err := os.ReadFile(path)
		if err == nil {
			var m *Module
			if m, err = r.Load(ctx, name, bin, options(name)); err == nil {
				mods = append(mods, m)
				continue
			}
		}
		r.log.LogAttrs(ctx, slog.LevelWarn, "wasm module refused", slog.String("path", path), slog.Any("error", err))
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return mods, errs
}

// callContext bounds a guest call by ExtractTimeout.
func (r *Runtime) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.cfg.ExtractTimeout > 0 {
		return context.WithTimeout(ctx, r.cfg.ExtractTimeout)
	}
	return ctx, func() {}
}

// housekeepingContext bounds a call that is not an extraction by
// HousekeepingTimeout.
func (r *Runtime) housekeepingContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.HousekeepingTimeout)
}

// HousekeepingTimeout is the bound of riptide_health, riptide_reset and
// riptide_free between calls.
func (r *Runtime) HousekeepingTimeout() time.Duration { return r.cfg.HousekeepingTimeout }

// ResultLimitBytes is the bound of a result's JSON and, separately, of its
// converted size.
func (r *Runtime) ResultLimitBytes() int { return r.resultLimit() }

func (r *Runtime) logFailure(ctx context.Context, module string, err error) {
	r.logRate.LogAttrs(ctx, slog.LevelWarn, module, "wasm instance failed", slog.Any("error", err), slog.String("module", module))
}

// gate counts the guest calls running and lets Close wait for them.
type gate struct {
	mu      sync.Mutex
	n       int
	closed  bool
	drained chan struct{}
}

// enter counts one more call, unless the gate is closed.
func (g *gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n--; g.n == 0 && g.closed {
		close(g.drained)
	}
}

// close refuses new calls and returns a channel closed once none is running.
func (g *gate) close() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		g.drained = make(chan struct{})
		if g.n == 0 {
			close(g.drained)
		}
	}
	return g.drained
}

// resultLimit is the bound of a result's JSON and of its converted size.
func (r *Runtime) resultLimit() int {
	if r.cfg.MaxResultBytes > 0 {
		return r.cfg.MaxResultBytes
	}
	return int(min(r.memoryLimit, 1<<31-1))
}

// guestMemoryLimit is the GOMEMLIMIT of Go guests, in bytes.
func (r *Runtime) guestMemoryLimit() uint64 {
	limit := r.memoryLimit / 4 * 3
	if soft := uint64(r.cfg.GuestMemoryLimitMB) << 20; soft > 0 && soft < limit {
		limit = soft
	}
	return limit
}

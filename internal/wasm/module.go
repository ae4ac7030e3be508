package wasm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// Module is a compiled guest module that follows the ABI. Instances are made
// from it with NewInstance, concurrently if need be.
type Module struct {
	name     string
	rt       *Runtime
	wazero   wazero.Runtime
	compiled wazero.CompiledModule
	opts     ModuleOptions
	// interruption is how calls are stopped at their deadline.
	interruption interruption
	config       wazero.ModuleConfig // without stderr, which is per instance
	version      int
	modes        []string
	closed       atomic.Bool
	// tableBytes is the host memory the module's tables may take, counted
	// with each instance's memory.
	tableBytes uint64
	// freshBytes is the linear memory of an instance as made, measured on
	// the probe's (see BlameDocumentBytes).
	freshBytes uint64
	// stackBytes is what an instance's function stacks may hold between
	// calls (StackAllowanceBytes), counted with its memory.
	stackBytes uint64

	// spare is the instance the probe made, handed out by the first
	// NewInstance: a pool's first instance is then ready as soon as the
	// module is loaded, and start-up makes one instance fewer.
	spare atomic.Pointer[Instance]
}

// Runtime is the runtime that loaded the module.
func (m *Module) Runtime() *Runtime { return m.rt }

// Name is the module's name, given to Load.
func (m *Module) Name() string { return m.name }

// ABIVersion is the version the module declared.
func (m *Module) ABIVersion() int { return m.version }

// Modes lists the extraction modes the module advertised, its default mode
// (the one used for an empty Request.Mode) first.
func (m *Module) Modes() []string { return slices.Clone(m.modes) }

// TakesTree reports whether the module exports riptide_extract_tree, and
// so is handed documents the host parsed rather than HTML.
func (m *Module) TakesTree() bool {
	_, ok := m.compiled.ExportedFunctions()[exportExtractTree]
	return ok
}

// DocumentLimit is the largest document, in bytes, the host hands the
// module: an eighth of the instance memory cap. An extractor's memory grows
// with its document, several times over (a parsed tree alone is 1.5 to 3
// times the HTML), and a larger document would only run the guest out of
// memory after it spent its time on it: it is refused up front
// (ErrRequestTooLarge). RuntimeConfig.MaxDocumentBytes sets another limit.
//
// The eighth is measured (BenchmarkArticleMemoryPerByte): the bundled
// article module takes 3.3 to 5.3 bytes of linear memory per byte of the
// corpus' largest pages (1.3 to 1.6 MB), the sparsest kind, so that the six
// largest together (7.8 MiB) grow a fresh 64 MiB instance by 29 MiB: a
// document at the limit fits with room to spare, one twice as large would
// not. Denser pages (9.1 bytes per byte at the median of those over 256 KiB)
// run out of memory well below the limit, and are then the document's
// fault (see BlameDocumentBytes).
func (m *Module) DocumentLimit() int {
	if n := m.rt.cfg.MaxDocumentBytes; n > 0 {
		return n
	}
	return int(m.rt.memoryLimit / 8)
}

// BlameDocumentBytes is the document size from which a guest that runs out
// of memory is taken to have done so because of the document
// (ErrDocumentOutOfMemory, which does not count against the module), and
// below which because of the module (ErrOutOfMemory): a 512th of the linear
// memory a fresh instance leaves under the cap (116 KiB for the bundled
// article module, whose instances start at 6 MiB, under 64 MiB).
//
// It is set by the costliest documents known, so that no document can make
// a module's breaker count a failure that is the document's: the bundled
// article module takes up to 73 bytes of linear memory per byte of a corpus
// page beyond a fresh instance (BenchmarkArticleMemoryPerByte), and up to
// 320 per byte of a page of "x<br>" repeated, which runs a 64 MiB instance
// out of memory from about 185 KiB. A sixteenth of the cap, as before, let
// such a page of a few hundred KiB open the article module's breaker for
// every caller; at a 512th of the room, the costliest page leaves over a
// third of it free (TestArticleCostlyDocument).
func (m *Module) BlameDocumentBytes() int {
	return int((m.rt.memoryLimit - min(m.freshBytes, m.rt.memoryLimit)) / 512)
}

// FreshMemoryBytes is the memory figure of an instance as made (its linear
// memory, measured on the instance the module was checked with, its tables
// and its stack allowance; see Instance.MemoryBytes): what a memory budget
// must have room for before it makes one.
func (m *Module) FreshMemoryBytes() uint64 { return m.freshBytes + m.tableBytes + m.stackBytes }

// TableBytes is what one instance's tables may take on the host's heap
// at their maximum (see MaxTableEntries), counted in its memory figure.
func (m *Module) TableBytes() uint64 { return m.tableBytes }

// FirstStackBytes is the part of the stack bound an extraction starts
// with, past which a call asks its context's StackGrant for more; 0 for a
// module without the stack bound.
func (m *Module) FirstStackBytes() uint64 {
	if m.interruption != interruptFuel {
		return 0
	}
	return firstStackBudget(exportExtract, m.rt.StackLimitBytes())
}

// StackAllowanceBytes is what the stacks of an instance's functions may
// hold on the host's heap between calls, outside its linear memory: wazero
// gives each exported function the host keeps bound its own stack, grows
// it by doubling as calls go deeper, and keeps it for the function's next
// calls. A call of an instrumented module starts with a part of the stack
// bound (firstStackBudget); one that spends it goes deep, and the host
// drops the instance's stacks after it. So each function keeps at most the
// stack of a call within its first budget: the stack wazero grows for
// frames a quarter of the estimates' size (the estimates cover wazero's
// frames five to twelve times; TestFrameEstimateCoversWazero), summed over
// the functions the module exports (TestStackAllowanceCoversKeptStacks). A
// module without the stack bound has its stacks dropped after every call
// and keeps only their first allocation.
func (m *Module) StackAllowanceBytes() uint64 { return m.stackBytes }

// CallStackChargeBytes is what a running call of the module may hold of
// stack on the host's heap beyond its instance's figure, for a memory
// budget to charge while the call runs: 0 for an instrumented module, whose
// calls' stacks the stack bound keeps small; for one the instrumentation
// cannot read, wazero's own limit, a stack of some 84 MB grown by copying
// from one of 42 MB, both live at that moment: 128 MiB.
func (m *Module) CallStackChargeBytes() uint64 {
	if m.interruption == interruptFuel {
		return 0
	}
	return wazeroCallStackBytes
}

// wazeroCallStackBytes is CallStackChargeBytes of a module without the
// stack bound.
const wazeroCallStackBytes = 128 << 20

// stackAllowance computes StackAllowanceBytes for an instance's bound
// functions.
func (m *Module) stackAllowance(i *Instance) uint64 {
	var total uint64
	for name, fn := range map[string]api.Function{
		exportAlloc: i.alloc, exportFree: i.free, exportModes: i.modes, exportExtract: i.extract,
		exportExtractTree: i.extractTree, exportHealth: i.health, exportReset: i.reset,
	} {
		switch {
		case fn == nil:
		case m.interruption == interruptFuel:
			total += keptStackBytes(firstStackBudget(name, m.rt.StackLimitBytes()) / frameCover)
		default:
			total += keptStackBytes(0)
		}
	}
	return total
}

// frameCover is how many times over the stack bound's frame estimates are
// taken to cover wazero's frames, for StackAllowanceBytes: at least five
// times on every module measured.
const frameCover = 4

// wazeroFirstStackBytes is the stack wazero v1.12.0 gives a function when
// it is bound (its callEngine's initialStackSizeDefault, with room for the
// parameters and results).
const wazeroFirstStackBytes = 10240 + 1024

// keptStackBytes is the largest stack wazero holds for a function once a
// call needed need bytes of it: the first stack, doubled (and 16 bytes
// more) until it holds need.
func keptStackBytes(need uint64) uint64 {
	size := uint64(wazeroFirstStackBytes)
	for size < need {
		size = 2*size + 16
	}
	return size
}

// Trusted reports whether the module was loaded as trusted. Since every
// module is interruptible, this changes nothing but what is reported.
func (m *Module) Trusted() bool { return m.opts.Trusted }

// StackLimitBytes is the bound of each call's stack, in bytes of estimated
// frames (RuntimeConfig.MaxStackKB), or 0 for a module that is not
// instrumented, bounded only by wazero's own limit.
func (m *Module) StackLimitBytes() uint64 {
	if m.interruption != interruptFuel {
		return 0
	}
	return m.rt.StackLimitBytes()
}

// Instrumented reports whether the module's code checks for interruption
// itself (package interrupt); if not, wazero checks at every loop header,
// some five times slower for a Go guest.
func (m *Module) Instrumented() bool { return m.interruption == interruptFuel }

// Close releases the module's compiled code. Instances made from it must be
// closed by their owners; those still running finish their calls.
func (m *Module) Close(ctx context.Context) error {
	if m.closed.Swap(true) {
		return nil
	}
	if i := m.spare.Swap(nil); i != nil {
		i.Close()
	}
	return m.compiled.Close(ctx)
}

// NewInstance instantiates the module: a fresh linear memory under the
// runtime's cap, the guest's _initialize run, no files, no environment but
// the GOMEMLIMIT and GOGC the host sets, real clocks and a cryptographic
// random source. Under RuntimeConfig.ExtractTimeout.
//
// A new instance must answer riptide_health with 0: one that does not, or
// does not answer within RuntimeConfig.HousekeepingTimeout, is closed and
// its error (ErrUnhealthy, ErrTimeout) returned, so that a module whose
// instances are unhealthy from the start fails its creations, which the
// caller can count and back off from, rather than making instance after
// instance that a health check discards at once.
//
// The guest's initialization asks the StackGrant of ctx (WithStackGrant)
// for stack, and its MemoryGrant (WithMemoryGrant) before its linear
// memory grows; one they refuse fails the creation with ErrStackRefused
// or ErrMemoryRefused. The first instance after Load is the one the
// module was checked with, made before: its memory grew without a grant.
func (m *Module) NewInstance(ctx context.Context) (*Instance, error) {
	if i := m.spare.Swap(nil); i != nil {
		return i, nil // checked by probe
	}
	i, err := m.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	i.bind()
	if err := i.Health(ctx); err != nil {
		i.Close()
		return nil, err
	}
	return i, nil
}

// probe checks the module's ABI and asks it for its modes, on an instance
// made for the purpose and kept as the spare.
func (m *Module) probe(ctx context.Context) (err error) {
	if problems := checkVersionExport(m.compiled, m.rt.memoryLimit, m.interruption == interruptFuel); len(problems) > 0 {
		return &ABIError{Module: m.name, Reason: strings.Join(problems, "; ")}
	}
	m.config = m.moduleConfig()
	i, err := m.instantiate(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			i.Close()
		}
	}()
	version, err := i.callVersion(ctx)
	if err != nil {
		return err
	}
	if version != ABIVersion {
		return &ABIError{Module: m.name, Reason: fmt.Sprintf("%s returned %d: this host speaks version %d", exportVersion, version, ABIVersion)}
	}
	m.version = int(version)
	if problems := checkExports(m.compiled); len(problems) > 0 {
		return &ABIError{Module: m.name, Reason: strings.Join(problems, "; ")}
	}
	i.bind()
	if m.modes, err = i.callModes(ctx); err != nil {
		return err
	}
	// A module whose first instance is not healthy would fail every
	// creation: refuse it now.
	if err = i.Health(ctx); err != nil {
		return err
	}
	m.freshBytes = i.lin.size.Load()
	m.stackBytes = m.stackAllowance(i)
	m.spare.Store(i)
	return nil
}

func (m *Module) moduleConfig() wazero.ModuleConfig {
	gogc := "off"
	if m.rt.cfg.GOGC > 0 {
		gogc = strconv.Itoa(m.rt.cfg.GOGC)
	}
	return wazero.NewModuleConfig().
		// An empty name keeps the instance out of the runtime's namespace,
		// so that one compiled module can have many instances.
		WithName("").
		// No start function: wazero's default, _start, does not exist in a
		// WASI reactor (Go's c-shared build) and would be skipped silently;
		// instantiate calls _initialize itself.
		WithStartFunctions().
		// wazero's defaults are deterministic fakes; extractors parse dates
		// and may seed hashes.
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader).
		// A Go guest's runtime aborts at the memory cap rather than
		// collecting, unless its soft limit is below the cap.
		WithEnv("GOMEMLIMIT", strconv.FormatUint(m.rt.guestMemoryLimit()>>20, 10)+"MiB").
		WithEnv("GOGC", gogc)
}

func (m *Module) instantiate(ctx context.Context) (*Instance, error) {
	if m.closed.Load() {
		return nil, fmt.Errorf("%w: module %q", ErrClosed, m.name)
	}
	alloc := &cappedAllocator{limit: m.rt.memoryLimit, free: &m.rt.mappings, extra: m.tableBytes + m.stackBytes}
	alloc.grant, _ = ctx.Value(memoryGrantKey{}).(MemoryGrant)
	stderr := new(stderrExcerpt)
	cctx, cancel := m.rt.callContext(ctx)
	guest, err := m.wazero.InstantiateModule(experimental.WithMemoryAllocator(cctx, alloc), m.compiled, m.config.WithStderr(stderr))
	cancel()
	if alloc.mem == nil { // a module without memory
		alloc.mem = &cappedMemory{limit: alloc.limit}
	}
	if err != nil {
		if m.closed.Load() {
			return nil, fmt.Errorf("%w: module %q", ErrClosed, m.name)
		}
		var exit *sys.ExitError
		if rerr := alloc.mem.refusedError(m.name, "instantiate", err.Error()); rerr != nil {
			return nil, rerr
		}
		if !errors.As(err, &exit) { // not interrupted: the module itself is at fault
			return nil, &ABIError{Module: m.name, Reason: "cannot be instantiated: " + err.Error()}
		}
		return nil, classify(cctx, m.name, "instantiate", err, alloc.mem, stderr)
	}
	i := &Instance{
		mod:    m,
		guest:  guest,
		mem:    guest.Memory(),
		lin:    alloc.mem,
		stderr: stderr,
		stack:  make([]uint64, 4),
	}
	if m.interruption == interruptFuel {
		i.budget, _ = guest.ExportedGlobal(interrupt.StackExport).(api.MutableGlobal)
		m.rt.instances.Store(guest, i)
	}
	// _initialize is called here rather than as a wazero start function so
	// that it runs under the same deadline and classification as any call.
	if err := i.initialize(ctx); err != nil {
		i.Close()
		return nil, err
	}
	return i, nil
}

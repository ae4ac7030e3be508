package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/riptidecrawler/riptide-poold/internal/htmltree"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/net/html"
	"google.golang.org/protobuf/types/known/structpb"
)

// Request is one extraction.
type Request struct {
	HTML      string   // the document, UTF-8
	URL       string   // base for resolving links
	Mode      string   // one of Module.Modes; "" is the module's default
	Selectors []string // for modes that take them (article's "custom")
}

// Instance is one instantiation of a Module: its own linear memory and guest
// state. It serves one call at a time. It implements the pool's Poolable.
//
// After a call fails with ErrTimeout, ErrCanceled, ErrTrap, ErrOutOfMemory,
// ErrDocumentOutOfMemory, ErrStackRefused, ErrMemoryRefused, ErrUnhealthy
// or an *ABIError the instance is unusable: IsHealthy reports false, further
// calls fail with ErrUnusable, and the caller must Close it and make another.
// A *GuestError or ErrResultTooLarge leaves it usable.
type Instance struct {
	mod    *Module
	guest  api.Module
	mem    api.Memory
	lin    *cappedMemory
	stderr *stderrExcerpt
	stack  []uint64 // reused for every call: CallWithStack does not allocate
	// budget is the stack budget of an instrumented module (package
	// interrupt), set before each call to the part of the bound the call
	// starts with, shallow; nil for other modules. While a call runs,
	// grown is what it was given beyond shallow, deep is set once it has
	// spent shallow, and refusal once its StackGrant gave it less than
	// it asked for (Runtime.stackSpent).
	budget  api.MutableGlobal
	shallow uint64
	grown   uint64
	deep    bool
	refusal error
	// stackGrant, if set, is asked for the stack of every call of the
	// instance, in place of the StackGrant of the call's context.
	stackGrant StackGrant

	alloc, free, modes, extract, health, reset api.Function
	extractTree                                api.Function // nil unless the module takes trees

	// The host's request buffer in guest memory, reused while large enough.
	buf, bufSize uint32

	freed atomic.Bool // closed: its memory, tables and stacks released

	mu          sync.Mutex
	busy        bool  // a caller holds the instance
	broken      error // why the instance is unusable
	closeWanted bool
	closed      bool
}

// bind looks the ABI's functions up, once the module is known to export them.
func (i *Instance) bind() {
	i.alloc = i.guest.ExportedFunction(exportAlloc)
	i.free = i.guest.ExportedFunction(exportFree)
	i.modes = i.guest.ExportedFunction(exportModes)
	i.extract = i.guest.ExportedFunction(exportExtract)
	i.extractTree = i.guest.ExportedFunction(exportExtractTree)
	i.health = i.guest.ExportedFunction(exportHealth)
	i.reset = i.guest.ExportedFunction(exportReset)
}

// Module is the module the instance was made from.
func (i *Instance) Module() *Module { return i.mod }

// SetStackGrant makes every later call of the instance ask grant for
// stack past the first part of the bound, whatever StackGrant its
// context has: an owner that grants each call of the instance alike sets
// it once, and its calls need no context of their own (see
// WithStackGrant). Call it while no call runs.
func (i *Instance) SetStackGrant(grant StackGrant) { i.stackGrant = grant }

// SetMemoryGrant makes the instance ask grant before its linear memory
// grows (see MemoryGrant). Call it while no call runs.
func (i *Instance) SetMemoryGrant(grant MemoryGrant) {
	// The probe's instance was made before its module's stack allowance
	// was known.
	i.lin.grant, i.lin.extra = grant, i.mod.tableBytes+i.mod.stackBytes
}

// MemoryBytes is the current size of the instance's linear memory, plus
// what its tables may take (see MaxTableEntries) and what its functions'
// stacks may hold between calls (Module.StackAllowanceBytes); 0 once it is
// closed. Linear memory never shrinks, so recycle instances that grew too
// large.
func (i *Instance) MemoryBytes() uint64 {
	if i.freed.Load() {
		return 0
	}
	return i.lin.size.Load() + i.mod.tableBytes + i.mod.stackBytes
}

// LinearMemoryBytes is the current size of the instance's linear memory
// alone: the part of MemoryBytes that grows with its calls.
func (i *Instance) LinearMemoryBytes() uint64 { return i.lin.size.Load() }

// Extract runs one extraction and returns the result object, converted from
// the guest's JSON within the bounds of the ABI: at most MaxResultBytes of
// JSON, and as much again of converted size (see ValueCost), at most
// MaxResultDepth levels deep. A result over a bound is ErrResultTooLarge
// (or ErrResultTooDeep) and leaves the instance usable; one that is not
// valid UTF-8, repeats a key, holds a number a double cannot or is not the
// envelope is an *ABIError, like any other broken result.
//
// A module that exports riptide_extract_tree gets the document parsed here,
// natively, with golang.org/x/net/html, and encoded by package htmltree:
// the HTML5 tree construction costs some seven times as much inside a Go
// guest. A blank document, one the parser refuses, or one whose tree would
// not fit where its HTML does goes to riptide_extract as HTML instead, for
// the module's own answer.
func (i *Instance) Extract(ctx context.Context, req Request) (result *structpb.Struct, err error) {
	opts, err := json.Marshal(requestOptions{URL: req.URL, Mode: req.Mode, Selectors: req.Selectors})
	if err != nil {
		return nil, fmt.Errorf("wasm: encoding the request: %w", err)
	}
	// The same document limits as every pool's, and the module's own,
	// before the guest spends anything on the document.
	if limit := i.mod.DocumentLimit(); len(req.HTML) > limit {
		return nil, fmt.Errorf("%w: module %q: a document of %d bytes is over its limit of %d bytes (an eighth of the instance memory cap)", ErrRequestTooLarge, i.mod.name, len(req.HTML), limit)
	}
	tree, err := parseTree(req.HTML)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDocumentUnparsable, err)
	}
	// A request may take up to half of the instance's memory cap.
	budget := i.mod.rt.memoryLimit / 2
	fn, fnName, docLen := i.extract, exportExtract, len(req.HTML)
	// A tree is larger than its HTML, up to several times for pages of
	// many small elements: taking it must not refuse a page that fits as
	// HTML.
	if i.extractTree != nil && tree != nil && uint64(len(opts))+uint64(tree.Len()) <= budget {
		fn, fnName, docLen = i.extractTree, exportExtractTree, tree.Len()
	} else {
		tree = nil
	}
	if err := i.acquire(); err != nil {
		return nil, err
	}
	defer func() { i.release(err) }()
	ctx, cancel := i.mod.rt.callContext(ctx)
	defer cancel()

	need := uint64(len(opts)) + uint64(docLen)
	if need > budget {
		return nil, fmt.Errorf("%w: module %q: a request of %d bytes does not fit an instance of %d MiB", ErrRequestTooLarge, i.mod.name, need, i.mod.rt.memoryLimit>>20)
	}
	ptr, err := i.requestBuffer(ctx, uint32(need))
	if err != nil {
		return nil, i.blameDocument(err, len(req.HTML))
	}
	docPtr := ptr + uint32(len(opts))
	if !i.mem.Write(ptr, opts) || !i.writeDocument(docPtr, req.HTML, tree) {
		return nil, &ABIError{Module: i.mod.name, Reason: fmt.Sprintf("%s returned a buffer outside linear memory", exportAlloc)}
	}
	i.stack[0], i.stack[1] = uint64(ptr), uint64(len(opts))
	i.stack[2], i.stack[3] = uint64(docPtr), uint64(docLen)
	if err := i.invoke(ctx, fnName, fn); err != nil {
		return nil, i.blameDocument(err, len(req.HTML))
	}
	view, err := i.view(fnName, i.stack[0])
	if err != nil {
		return nil, err
	}
	limit := i.mod.rt.resultLimit()
	if len(view) > limit {
		return nil, fmt.Errorf("%w: module %q returned %d bytes, over %d", ErrResultTooLarge, i.mod.name, len(view), limit)
	}
	// The conversion runs here, while the caller holds the instance (and,
	// in the daemon, one of the call slots): what a result costs the host
	// is the module's call's cost.
	ok, code, message, err, reason := decodeEnvelope(view, limit)
	switch {
	case err != nil:
		return nil, fmt.Errorf("module %q: %w", i.mod.name, err)
	case reason != "":
		return nil, &ABIError{Module: i.mod.name, Reason: reason}
	case code != "":
		return nil, &GuestError{Module: i.mod.name, Code: code, Message: message}
	}
	return ok, nil
}

// blameDocument turns running out of memory on a document of docLen bytes
// into ErrDocumentOutOfMemory when the document is large enough to be the
// cause (see Module.BlameDocumentBytes).
func (i *Instance) blameDocument(err error, docLen int) error {
	if errors.Is(err, ErrOutOfMemory) && docLen >= i.mod.BlameDocumentBytes() {
		return fmt.Errorf("%w: module %q: a document of %d bytes (%v)", ErrDocumentOutOfMemory, i.mod.name, docLen, err)
	}
	return err
}

// parseTree parses page as every pool does, and returns its tree for
// riptide_extract_tree, or nil for a blank page, which goes as HTML (the
// module answers that it is empty). It returns the parser's error for a page
// it refuses (over 512 nested elements), which the native pools refuse too.
// Modules that take HTML pay for the parse as well: the same document limits
// apply to every pool.
func parseTree(page string) (*htmltree.Plan, error) {
	if strings.TrimSpace(page) == "" {
		return nil, nil
	}
	root, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, err
	}
	p, err := htmltree.Measure(root)
	if err != nil { // html.Parse makes no tree the format cannot hold
		return nil, nil
	}
	return &p, nil
}

// writeDocument writes the document at ptr in guest memory: the tree's
// encoding if it has one, else the HTML. It reports false if the guest's
// buffer is not in its memory.
func (i *Instance) writeDocument(ptr uint32, page string, tree *htmltree.Plan) bool {
	if tree == nil {
		return i.mem.WriteString(ptr, page)
	}
	view, ok := i.mem.Read(ptr, uint32(tree.Len()))
	if ok {
		tree.Encode(view) // straight into guest memory: view aliases it
	}
	return ok
}

// requestBuffer returns the host's buffer in guest memory, of need bytes at
// least. It is kept across calls: allocating in the guest costs a call and,
// in a garbage-collected guest, work for its collector.
func (i *Instance) requestBuffer(ctx context.Context, need uint32) (uint32, error) {
	if need <= i.bufSize && i.buf != 0 {
		return i.buf, nil
	}
	if err := i.releaseBuffer(ctx); err != nil {
		return 0, err
	}
	// Round up with room to spare so that the next, slightly larger
	// document still fits.
	size := (max(need+need/4, 64<<10) + pageSize - 1) &^ (pageSize - 1)
	i.stack[0] = uint64(size)
	if err := i.invoke(ctx, exportAlloc, i.alloc); err != nil {
		return 0, err
	}
	ptr := uint32(i.stack[0])
	switch {
	case ptr == 0 && i.lin.refusal != nil:
		return 0, i.lin.refusedError(i.mod.name, exportAlloc, fmt.Sprintf("%s(%d) returned 0", exportAlloc, size))
	case ptr == 0:
		return 0, fmt.Errorf("%w: module %q: %s(%d) returned 0", ErrOutOfMemory, i.mod.name, exportAlloc, size)
	case uint64(ptr)+uint64(size) > uint64(i.mem.Size()):
		return 0, &ABIError{Module: i.mod.name, Reason: fmt.Sprintf("%s(%d) returned %#x, outside linear memory of %d bytes", exportAlloc, size, ptr, i.mem.Size())}
	}
	i.buf, i.bufSize = ptr, size
	return ptr, nil
}

// releaseBuffer gives the request buffer back to the guest.
func (i *Instance) releaseBuffer(ctx context.Context) error {
	if i.buf == 0 {
		return nil
	}
	i.stack[0], i.stack[1] = uint64(i.buf), uint64(i.bufSize)
	i.buf, i.bufSize = 0, 0
	return i.invoke(ctx, exportFree, i.free)
}

// view returns the guest buffer whose pointer and length are packed in v. It
// aliases guest memory: use it before the next call into the guest.
func (i *Instance) view(fn string, v uint64) ([]byte, error) {
	ptr, n := unpack(v)
	if n == 0 {
		return nil, &ABIError{Module: i.mod.name, Reason: fmt.Sprintf("%s returned an empty buffer (pointer %#x)", fn, ptr)}
	}
	b, ok := i.mem.Read(ptr, n)
	if !ok {
		return nil, &ABIError{Module: i.mod.name, Reason: fmt.Sprintf("%s returned the buffer [%#x, %#x), outside linear memory of %d bytes", fn, ptr, uint64(ptr)+uint64(n), i.mem.Size())}
	}
	return b, nil
}

// IsHealthy reports whether the instance is usable and its guest says it is
// healthy (riptide_health returns 0). An instance in use by another caller
// reports false: check idle instances.
func (i *Instance) IsHealthy(ctx context.Context) bool { return i.Health(ctx) == nil }

// Health calls riptide_health, within RuntimeConfig.HousekeepingTimeout.
// An instance whose guest answers anything but 0 (ErrUnhealthy), or fails
// or overruns, is unusable afterwards; the error says why.
func (i *Instance) Health(ctx context.Context) (err error) {
	if err := i.acquire(); err != nil {
		return err
	}
	defer func() { i.release(err) }()
	ctx, cancel := i.mod.rt.housekeepingContext(ctx)
	defer cancel()
	if err := i.invoke(ctx, exportHealth, i.health); err != nil {
		return err
	}
	if status := uint32(i.stack[0]); status != 0 {
		return fmt.Errorf("%w: module %q: %s answered %d", ErrUnhealthy, i.mod.name, exportHealth, status)
	}
	return nil
}

// Reset returns the guest to a clean state between callers: the host frees
// its request buffer and calls riptide_reset, both within
// RuntimeConfig.HousekeepingTimeout.
func (i *Instance) Reset(ctx context.Context) (err error) {
	if err := i.acquire(); err != nil {
		return err
	}
	defer func() { i.release(err) }()
	ctx, cancel := i.mod.rt.housekeepingContext(ctx)
	defer cancel()
	if err := i.releaseBuffer(ctx); err != nil {
		return err
	}
	return i.invoke(ctx, exportReset, i.reset)
}

// Close releases the instance. It does not wait: if a call is running, the
// instance is closed when the call returns.
func (i *Instance) Close() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.closed {
		return nil
	}
	i.closeWanted = true
	if i.busy {
		return nil
	}
	return i.closeLocked()
}

func (i *Instance) closeLocked() error {
	i.closed = true
	i.freed.Store(true)
	i.mod.rt.instances.Delete(i.guest)
	err := i.guest.Close(context.Background())
	return err
}

// acquire takes the instance for one call.
func (i *Instance) acquire() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	switch {
	case i.closed || i.closeWanted:
		return fmt.Errorf("%w: module %q: closed", ErrUnusable, i.mod.name)
	case i.broken != nil:
		return fmt.Errorf("%w: after %w", ErrUnusable, i.broken)
	case i.busy:
		return fmt.Errorf("%w: module %q", ErrBusy, i.mod.name)
	}
	// Until release, the host reads and writes guest memory: the runtime
	// must not free it meanwhile.
	if !i.mod.rt.calls.enter() {
		return fmt.Errorf("%w: module %q: the runtime is closed", ErrUnusable, i.mod.name)
	}
	i.busy = true
	return nil
}

// release ends what acquire began, recording a failure that leaves the
// guest in an unknown state.
func (i *Instance) release(err error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if fatal(err) && i.broken == nil {
		i.broken = err
		i.mod.rt.logFailure(context.Background(), i.mod.name, err)
	}
	i.busy = false
	if i.closeWanted && !i.closed {
		i.closeLocked()
	}
	i.mod.rt.calls.leave()
}

// fatal reports whether err leaves the guest unusable.
func fatal(err error) bool {
	var abi *ABIError
	return errors.Is(err, ErrTimeout) || errors.Is(err, ErrCanceled) ||
		errors.Is(err, ErrTrap) || errors.Is(err, ErrOutOfMemory) || errors.Is(err, ErrDocumentOutOfMemory) ||
		errors.Is(err, ErrUnhealthy) || errors.Is(err, ErrStackRefused) || errors.Is(err, ErrMemoryRefused) || errors.As(err, &abi)
}

// initialize runs the guest's _initialize export, if any.
func (i *Instance) initialize(ctx context.Context) (err error) {
	fn := i.guest.ExportedFunction(exportInitialize)
	if fn == nil {
		return nil
	}
	if err := i.acquire(); err != nil {
		return err
	}
	defer func() { i.release(err) }()
	ctx, cancel := i.mod.rt.callContext(ctx)
	defer cancel()
	return i.invoke(ctx, exportInitialize, fn)
}

// callVersion calls riptide_abi_version.
func (i *Instance) callVersion(ctx context.Context) (v uint32, err error) {
	if err := i.acquire(); err != nil {
		return 0, err
	}
	defer func() { i.release(err) }()
	ctx, cancel := i.mod.rt.callContext(ctx)
	defer cancel()
	if err := i.invoke(ctx, exportVersion, i.guest.ExportedFunction(exportVersion)); err != nil {
		return 0, err
	}
	return uint32(i.stack[0]), nil
}

// callModes calls riptide_modes.
func (i *Instance) callModes(ctx context.Context) (modes []string, err error) {
	if err := i.acquire(); err != nil {
		return nil, err
	}
	defer func() { i.release(err) }()
	ctx, cancel := i.mod.rt.callContext(ctx)
	defer cancel()
	if err := i.invoke(ctx, exportModes, i.modes); err != nil {
		return nil, err
	}
	view, err := i.view(exportModes, i.stack[0])
	if err != nil {
		return nil, err
	}
	if modes, err = parseModes(view); err != nil {
		return nil, &ABIError{Module: i.mod.name, Reason: err.Error()}
	}
	return modes, nil
}

// invoke calls fn with the parameters in i.stack, leaving its results there.
// The caller holds the instance (acquire) and has bounded ctx.
func (i *Instance) invoke(ctx context.Context, name string, fn api.Function) error {
	i.lin.begin()
	i.stderr.take() // what earlier, successful calls wrote explains nothing
	if i.budget != nil {
		// A trap leaves the budget anywhere.
		i.shallow = firstStackBudget(name, i.mod.rt.StackLimitBytes())
		i.budget.Set(i.shallow)
		i.grown, i.deep, i.refusal = 0, false, nil
	}
	err := fn.CallWithStack(ctx, i.stack)
	if (i.deep || i.mod.interruption == interruptChecked) && err == nil {
		// Drop the stacks wazero grew for the call: new functions
		// start small. A module without the stack bound grows them to
		// wazero's own limit, so its are dropped after every call.
		i.deep = false
		i.bind()
	}
	if err != nil && i.refusal != nil && int32(i.budget.Get()) < 0 {
		// The call went deeper than its StackGrant allowed.
		err = fmt.Errorf("%w: module %q: %s stopped at %d KiB of stack, short of its bound of %d KiB (WASM_MAX_STACK_KB): %w",
			ErrStackRefused, i.mod.name, name, (i.shallow+i.grown)>>10, i.mod.rt.cfg.MaxStackKB, i.refusal)
		i.refusal = nil
		return err
	}
	if err != nil && i.budget != nil && int32(i.budget.Get()) < 0 {
		// Only the budget's own check leaves it below zero, and traps
		// at once: wazero's error says no more than "unreachable".
		err = fmt.Errorf("%w: module %q: %s: %w at %d KiB (WASM_MAX_STACK_KB)", ErrTrap, i.mod.name, name, ErrStackLimit, i.mod.rt.cfg.MaxStackKB)
		if s := i.stderr.take(); s != "" {
			err = fmt.Errorf("%w; guest stderr: %s", err, s)
		}
		return err
	}
	return classify(ctx, i.mod.name, name, err, i.lin, i.stderr)
}

// classify turns an error of wazero into one of ours.
func classify(ctx context.Context, module, fn string, err error, lin *cappedMemory, stderr *stderrExcerpt) error {
	if err == nil {
		return nil
	}
	var exit *sys.ExitError
	isExit := errors.As(err, &exit)
	if isExit {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("%w: module %q: %s interrupted: %w", ErrTimeout, module, fn, context.DeadlineExceeded)
		case sys.ExitCodeContextCanceled:
			return fmt.Errorf("%w: module %q: %s interrupted: %w", ErrCanceled, module, fn, context.Canceled)
		}
	}
	detail := err.Error()
	if isExit {
		detail = fmt.Sprintf("the guest exited with code %d", exit.ExitCode())
	}
	if s := stderr.take(); s != "" {
		detail += "; guest stderr: " + s
	}
	if lin.refused.Load() {
		return fmt.Errorf("%w: module %q: %s failed after its memory reached the limit of %d MiB: %s", ErrOutOfMemory, module, fn, lin.limit>>20, detail)
	}
	if err := lin.refusedError(module, fn, detail); err != nil {
		return err
	}
	return fmt.Errorf("%w: module %q: %s: %s", ErrTrap, module, fn, detail)
}

// Package interrupt rewrites a WebAssembly module so that its code can be
// interrupted cheaply: the module counts down a fuel of its own at every
// function entry and loop header, and calls into the host each time the
// fuel runs out. The host then checks the call's deadline, and, being in Go
// code for a moment, lets Go's scheduler and collector preempt the
// goroutine.
//
// It also bounds the module's stack: the module counts down a second
// global, its stack budget, by an estimate of each function's frame as the
// function is entered, gives it back as the function leaves, and calls the
// host once the budget is spent, which ends the call or gives it more. wazero grows a call's stack on the
// host's heap up to some 84 MB before it reports an overflow; the budget
// stops a recursion long before.
//
// This is wasmtime's epoch interruption and fuel, done to the binary before
// it is compiled. The alternative wazero offers (WithCloseOnContextDone)
// makes an indirect call out of machine code at every loop header, which
// costs a Go guest some five times its speed. Code compiled without either
// cannot be stopped, and, because Go's stop-the-world cannot preempt a
// goroutine that runs machine code the Go compiler did not make, a guest
// that loops stalls the host's garbage collection, and so every goroutine,
// until it returns.
//
// The countdown is the guest's own, not a flag that a timer goroutine sets:
// such a goroutine cannot run once a collection has begun to stop the
// world, which waits for the guest, which waits for the flag, for ever.
//
// Instrument adds to a module:
//
//   - imports of the host functions HostModule.HostFunction and
//     HostModule.StackFunction, of type () -> (), appended after the
//     module's own function imports, so that every function the module
//     defines moves up two indices (its calls, references, element
//     segments, exports, start function and names are renumbered);
//   - a mutable i32 global, the fuel, appended after the module's globals,
//     starting at Fuel and exported as FuelExport;
//   - at the entry of every function, and at the header of every loop, a
//     check that takes from the fuel the length in bytes of the code it
//     guards (the whole body at a function's entry, the loop's body at its
//     header, at most Fuel) and, once the fuel is below zero, fills it
//     again and calls the host function. A loop in the shape the Go
//     compiler gives every function, whose body begins by dispatching on
//     a local to one of its basic blocks, is checked instead before each
//     branch to it that may go backward (see rewriteBody): a Go function
//     jumps between its blocks by going round that loop, and a jump
//     forward cannot loop;
//   - a mutable i32 global after the fuel, the stack budget, starting at
//     Options.StackBytes and exported as StackExport. Every function
//     but the static ones (see findStatic: they call no other, or only
//     static ones, and take at most 64 KiB of stack with them) takes its
//     frame's estimate (FrameBytes) from it on entry and, if that leaves
//     less than the most a static function takes (the reserve), calls
//     HostModule.StackFunction with the budget less the reserve, below
//     zero, which must either end the call (panic) or give the budget
//     more (the function then begins again: see appendEntrySlow); it
//     gives the estimate back before every return, at its body's end
//     (through a block standing in for the function's label if a branch
//     goes there) and before a tail call. A trap leaves the budget anywhere:
//     the host sets it again before each call. Giving more in steps lets
//     the host learn, at no cost to calls that stay shallow, which calls
//     went deep (wazero keeps a stack a call grew for the next calls of
//     the same function).
//
// Function entries are checked as well as loops because recursion needs no
// loop to run for ever. Charging the length of the code guarded, rather than
// one per check, bounds the work between two calls of the host by some
// Fuel bytes of straight-line code whatever the shape of the module: code
// outside loops runs at most once per call of its function, and a loop's
// body once per round, its nested loops and calls checking for themselves.
// A Go function's jumps forward, left unchecked, run no code twice.
//
// Instrument reads every instruction of every function body, with all their
// immediates, for the features wazero's default configuration accepts
// (WebAssembly 2.0: multi-value, bulk memory, reference types, sign
// extension, non-trapping conversions, SIMD) and tail calls. A module using
// anything else is refused with ErrUnsupported, and should be run by other
// means; a module already using the reserved names is refused with
// ErrReserved.
package interrupt

import (
	"errors"
	"fmt"
)

// The names the instrumentation reserves. A module must neither import
// anything from HostModule nor export anything as FuelExport or
// StackExport.
const (
	HostModule   = "riptide_host"
	HostFunction = "interrupt"
	// StackFunction is called when the stack budget is spent.
	StackFunction = "stack"
	FuelExport    = "riptide_interrupt_fuel"
	StackExport   = "riptide_stack_budget"
)

// Version numbers what Instrument writes: it changes whenever the output
// for some input does, so that an output kept under it (the daemon keeps
// them beside its compilation cache) is never taken for another's.
// TestVersion fails until it is bumped.
const Version = 7

// Fuel is what the guest's countdown starts from, in bytes of code, and is
// filled to again each time it runs out. The guest calls the host about
// once per Fuel bytes of code it runs: on the bundled article module, a Go
// program whose every call and jump backward charges the length of its
// function, about every 35 µs; no module can make it much longer than some
// milliseconds, the time a CPU takes over 2^20 bytes of the slowest
// straight-line code (integer divisions, say).
const Fuel = 1 << 20

// Options tune what Instrument writes.
type Options struct {
	// StackBytes is the stack budget's initial value, in the bytes of
	// FrameBytes: what the module's start function runs with, and what a
	// host should set the budget to before each call. 0 means
	// DefaultStackBytes; at most MaxStackBytes.
	StackBytes int
}

// Bounds of Options.StackBytes.
const (
	// DefaultStackBytes is twice what the bundled article module needs
	// on the deepest documents a host takes, nested 512 elements deep
	// (docs/wasm-abi.md, "Limits").
	DefaultStackBytes = 64 << 20
	// MaxStackBytes is the largest budget an i32 holds.
	MaxStackBytes = 1<<31 - 1
)

// The estimate of a frame (FrameBytes), from wazero's (v1.12) frame
// layout on amd64 and arm64: a return address and the caller's frame
// pointer, 16 bytes for the stack bound check, up to 13 callee-saved
// registers saved at 16 bytes each; a spill slot of 8 bytes (16 for v128)
// for each value kept across a call, which any parameter, local or value
// on the operand stack may be; the parameters and results of calls that
// do not fit in registers. wazero gives every SSA value its own spill
// slot, so a body that pushes many values may need a slot for each: a
// value costs at least two bytes of code (i32.const, local.get), except
// the results of a call or a block with many, counted apart.
const (
	frameBase   = 256 // return address, frame pointer, bound check, saved registers
	frameLocal  = 16  // a parameter or local, v128 included
	frameCode   = 4   // a byte of code: a spilled value per two bytes
	frameResult = 8   // a result of a call or of a block with a type index
	// maxFrame keeps the arithmetic of the check within an i32: a
	// function estimated larger is charged this, more than any budget
	// but MaxStackBytes holds.
	maxFrame = 1 << 30
)

// FrameBytes is the estimate of a function's frame that its entry takes
// from the stack budget: 256 bytes, 16 per parameter and local, 4 per byte
// of its body's code and 8 per result of each call or typed block in it.
func FrameBytes(params, locals, codeBytes, results uint64) int32 {
	return int32(min(frameBase+frameLocal*(params+locals)+frameCode*codeBytes+frameResult*results, maxFrame))
}

var (
	// ErrUnsupported reports a module the pass cannot rewrite: not a
	// WebAssembly binary, malformed, or using an instruction, section or
	// encoding it does not know. The module is unchanged; run it some
	// other way (wazero's own checks will report a malformed one).
	ErrUnsupported = errors.New("interrupt: cannot instrument the module")
	// ErrReserved reports a module that uses a name the instrumentation
	// reserves (HostModule, FuelExport, StackExport).
	ErrReserved = errors.New("interrupt: the module uses a reserved name")
)

// Section ids of the binary format.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// order ranks the known non-custom sections as the format requires them to
// appear; an absent id is not a known section.
var order = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secGlobal: 6, secExport: 7, secStart: 8, secElement: 9, secDataCount: 10,
	secCode: 11, secData: 12,
}

// Import and export kinds.
const (
	kindFunc   = 0x00
	kindTable  = 0x01
	kindMemory = 0x02
	kindGlobal = 0x03
)

type section struct {
	id   byte
	body []byte
}

// funcType is a function type: its parameter and result value types, one
// byte each.
type funcType struct {
	params, results string
}

// module is what Instrument learns of a module before rewriting it.
type module struct {
	sections []section
	// importedFuncs is the number of functions the module imports: the
	// index of the added import, and the first index that moves.
	importedFuncs uint32
	// globals is the number of globals, imported and defined: the index
	// of the fuel; the stack budget's is the next.
	globals uint32
	// types are the module's function types, then those the pass adds
	// (added of them, appended to the type section).
	types []funcType
	added int
	// funcTypes is the type index of every function, imported and
	// defined, by the module's own numbering.
	funcTypes []uint32
	// checkType is the index of the () -> () type.
	checkType uint32
	// stackBytes is the stack budget's initial value.
	stackBytes int32
	// entries are the functions, by the module's own numbering, that
	// code outside the module may call: its exports and start function.
	entries []uint32
	// sharedTables is set when the module imports or exports a table,
	// through which another module may call its functions.
	sharedTables bool
	// static marks the defined functions (by index less importedFuncs)
	// that take nothing from the stack budget, and reserve is the most
	// stack any of them, with what it calls, can take (see findStatic).
	static  []bool
	reserve int32
}

// Instrument returns bin with interruption checks and a stack bound added
// (see the package documentation). It does not change bin. The error wraps
// ErrUnsupported or ErrReserved.
func Instrument(bin []byte, opts Options) ([]byte, error) {
	stack := opts.StackBytes
	switch {
	case stack == 0:
		stack = DefaultStackBytes
	case stack < 0 || stack > MaxStackBytes:
		return nil, fmt.Errorf("interrupt: stack budget %d bytes: want 1 to %d", stack, MaxStackBytes)
	}
	m, err := parse(bin)
	if err != nil {
		return nil, err
	}
	m.stackBytes = int32(stack)
	out := make([]byte, 0, len(bin)+len(bin)/8+64)
	out = append(out, bin[:8]...)
	added := map[byte]bool{}
	emitMissing := func(before int) {
		for _, id := range []byte{secType, secImport, secGlobal, secExport} {
			if order[id] < before && !added[id] {
				added[id] = true
				body, _ := m.rewrite(id, nil) // an empty section cannot fail
				out = appendSection(out, id, body)
			}
		}
	}
	for _, s := range m.sections {
		if s.id == secCustom {
			body, keep := m.rewriteCustom(s.body)
			if keep {
				out = appendSection(out, secCustom, body)
			}
			continue
		}
		emitMissing(order[s.id])
		var body []byte
		switch s.id {
		case secType, secImport, secGlobal, secExport:
			added[s.id] = true
			body, err = m.rewrite(s.id, s.body)
		case secFunction:
			body = s.body
		case secStart:
			body, err = m.rewriteStart(s.body)
		case secElement:
			body, err = m.rewriteElements(s.body)
		case secCode:
			body, err = m.rewriteCode(s.body)
		default:
			body = s.body
		}
		if err != nil {
			return nil, err
		}
		out = appendSection(out, s.id, body)
	}
	emitMissing(len(order) + 1)
	return out, nil
}

// parse splits bin into sections, checks their order and reads what the
// rewriting needs: the import counts, the global count, the function
// types, and the types of the check's host function and of the blocks
// that wrap bodies. It refuses reserved names.
func parse(bin []byte) (*module, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" || string(bin[4:8]) != "\x01\x00\x00\x00" {
		return nil, fmt.Errorf("%w: not a WebAssembly 1.0 binary", ErrUnsupported)
	}
	m := &module{}
	r := &reader{b: bin[8:]}
	last := 0
	seen := map[byte]bool{}
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		body := r.bytes(r.u32())
		if r.err != nil {
			break
		}
		if id != secCustom {
			rank, ok := order[id]
			switch {
			case !ok:
				return nil, fmt.Errorf("%w: unknown section id %d", ErrUnsupported, id)
			case rank <= last:
				return nil, fmt.Errorf("%w: section %d out of order", ErrUnsupported, id)
			}
			last = rank
			seen[id] = true
		}
		m.sections = append(m.sections, section{id: id, body: body})
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: sections: %v", ErrUnsupported, r.err)
	}
	for _, s := range m.sections {
		var err error
		switch s.id {
		case secType:
			err = m.readTypes(s.body)
		case secImport:
			err = m.readImports(s.body)
		case secFunction:
			err = m.readFunctions(s.body)
		case secGlobal:
			err = m.readGlobals(s.body)
		case secExport:
			err = m.readExports(s.body)
		case secStart:
			r := &reader{b: s.body}
			m.entries = append(m.entries, r.u32())
			err = r.end("start")
		}
		if err != nil {
			return nil, err
		}
	}
	m.checkType = m.typeIndex(funcType{})
	// A body is wrapped in a block of its results, which needs a type of
	// its own once there are several.
	for _, t := range m.funcTypes[m.importedFuncs:] {
		if results := m.types[t].results; len(results) > 1 {
			m.typeIndex(funcType{results: results})
		}
	}
	return m, nil
}

// typeIndex returns the index of type t, adding it if the module lacks it.
func (m *module) typeIndex(t funcType) uint32 {
	for i, u := range m.types {
		if u == t {
			return uint32(i)
		}
	}
	m.types = append(m.types, t)
	m.added++
	return uint32(len(m.types) - 1)
}

func (m *module) readTypes(body []byte) error {
	r := &reader{b: body}
	for i, n := uint32(0), r.u32(); i < n && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 && r.err == nil {
			return fmt.Errorf("%w: type %d has form %#x, not a function type", ErrUnsupported, i, form)
		}
		params := r.valTypes()
		results := r.valTypes()
		m.types = append(m.types, funcType{params: string(params), results: string(results)})
	}
	return r.end("types")
}

// readFunctions reads the type of every function the module defines.
func (m *module) readFunctions(body []byte) error {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		m.funcType(r)
	}
	return r.end("functions")
}

// funcType reads a function's type index and appends it to funcTypes.
func (m *module) funcType(r *reader) {
	if t := r.u32(); r.err == nil && t >= uint32(len(m.types)) {
		r.fail(fmt.Sprintf("type index %d out of range", t))
	} else {
		m.funcTypes = append(m.funcTypes, t)
	}
}

func (m *module) readImports(body []byte) error {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		module := r.name()
		r.name()
		if module == HostModule && r.err == nil {
			return fmt.Errorf("%w: imports from module %q", ErrReserved, HostModule)
		}
		switch r.byte() {
		case kindFunc:
			m.funcType(r)
			m.importedFuncs++
		case kindTable:
			r.byte()
			r.limits()
			m.sharedTables = true
		case kindMemory:
			r.limits()
		case kindGlobal:
			r.byte()
			r.byte()
			m.globals++
		default:
			r.fail("unknown import kind")
		}
	}
	return r.end("imports")
}

func (m *module) readGlobals(body []byte) error {
	r := &reader{b: body}
	n := r.u32()
	m.globals += n
	if r.err != nil {
		return fmt.Errorf("%w: globals: %v", ErrUnsupported, r.err)
	}
	return nil
}

func (m *module) readExports(body []byte) error {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		if name := r.name(); (name == FuelExport || name == StackExport) && r.err == nil {
			return fmt.Errorf("%w: exports %q", ErrReserved, name)
		}
		switch kind, idx := r.byte(), r.u32(); kind {
		case kindFunc:
			m.entries = append(m.entries, idx)
		case kindTable:
			m.sharedTables = true
		}
	}
	return r.end("exports")
}

// moved is the index of function f once the host functions are imported.
func (m *module) moved(f uint32) uint32 {
	if f >= m.importedFuncs {
		return f + 2
	}
	return f
}

// rewrite returns the type, import, global or export section with the
// pass's entry appended; body is nil for a section the module lacks. The
// body was read by parse, so its vector count is known good.
func (m *module) rewrite(id byte, body []byte) ([]byte, error) {
	r := &reader{b: body}
	n := uint32(0)
	if body != nil {
		n = r.u32()
	}
	var extra []byte
	add := uint32(1)
	switch id {
	case secType:
		if m.added == 0 {
			return body, nil
		}
		add = uint32(m.added)
		for _, t := range m.types[len(m.types)-m.added:] {
			extra = append(extra, 0x60)
			extra = appendName(extra, t.params)
			extra = appendName(extra, t.results)
		}
	case secImport:
		add = 2
		for _, name := range []string{HostFunction, StackFunction} {
			extra = appendName(extra, HostModule)
			extra = appendName(extra, name)
			extra = append(extra, kindFunc)
			extra = appendU32(extra, m.checkType)
		}
	case secGlobal:
		return m.rewriteGlobals(r, n)
	case secExport:
		return m.rewriteExports(r, n), nil
	}
	out := appendU32(nil, n+add)
	out = append(out, r.b...)
	return append(out, extra...), nil
}

// rewriteGlobals renumbers the functions the globals' initial values refer
// to, and appends the fuel and the stack budget.
func (m *module) rewriteGlobals(r *reader, n uint32) ([]byte, error) {
	out := appendU32(nil, n+2)
	for range n {
		out = append(out, r.byte(), r.byte()) // type, mutability
		out = m.constExpr(r, out)
	}
	if err := r.end("globals"); err != nil {
		return nil, err
	}
	out = appendGlobal(out, Fuel)
	return appendGlobal(out, m.stackBytes), nil
}

// appendGlobal appends a global: mut i32 = i32.const v.
func appendGlobal(out []byte, v int32) []byte {
	out = append(out, 0x7f, 0x01, 0x41)
	out = appendS32(out, v)
	return append(out, 0x0b)
}

// rewriteExports renumbers function exports and appends the fuel's and the
// stack budget's.
func (m *module) rewriteExports(r *reader, n uint32) []byte {
	out := appendU32(nil, n+2)
	for range n {
		out = appendName(out, r.name())
		kind := r.byte()
		idx := r.u32()
		if kind == kindFunc {
			idx = m.moved(idx)
		}
		out = append(out, kind)
		out = appendU32(out, idx)
	}
	out = appendName(out, FuelExport)
	out = append(out, kindGlobal)
	out = appendU32(out, m.globals)
	out = appendName(out, StackExport)
	out = append(out, kindGlobal)
	return appendU32(out, m.globals+1)
}

func (m *module) rewriteStart(body []byte) ([]byte, error) {
	r := &reader{b: body}
	f := r.u32()
	if err := r.end("start"); err != nil {
		return nil, err
	}
	return appendU32(nil, m.moved(f)), nil
}

// rewriteElements renumbers the functions of element segments, given as
// indices or as constant expressions.
func (m *module) rewriteElements(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	out := appendU32(nil, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		if flags > 7 {
			return nil, fmt.Errorf("%w: element segment %d has flags %d", ErrUnsupported, i, flags)
		}
		out = appendU32(out, flags)
		if flags&2 != 0 && flags&1 == 0 { // explicit table index
			out = appendU32(out, r.u32())
		}
		if flags&1 == 0 { // active: offset expression
			out = m.constExpr(r, out)
		}
		if flags&3 != 0 { // element kind or reference type
			out = append(out, r.byte())
		}
		count := r.u32()
		out = appendU32(out, count)
		for range count {
			if r.err != nil {
				break
			}
			if flags&4 == 0 {
				out = appendU32(out, m.moved(r.u32()))
			} else {
				out = m.constExpr(r, out)
			}
		}
	}
	if err := r.end("elements"); err != nil {
		return nil, err
	}
	return out, nil
}

// constExpr copies a constant expression from r to out, renumbering
// ref.func.
func (m *module) constExpr(r *reader, out []byte) []byte {
	for r.err == nil {
		op := r.byte()
		out = append(out, op)
		switch op {
		case 0x0b: // end
			return out
		case 0x41: // i32.const
			out = append(out, r.leb(5)...)
		case 0x42: // i64.const
			out = append(out, r.leb(10)...)
		case 0x43: // f32.const
			out = append(out, r.bytes(4)...)
		case 0x44: // f64.const
			out = append(out, r.bytes(8)...)
		case 0x23: // global.get
			out = appendU32(out, r.u32())
		case 0xd0: // ref.null
			out = append(out, r.byte())
		case 0xd2: // ref.func
			out = appendU32(out, m.moved(r.u32()))
		case 0xfd: // v128.const
			if sub := r.u32(); sub != 12 {
				r.fail(fmt.Sprintf("vector opcode %d in a constant expression", sub))
			}
			out = appendU32(out, 12)
			out = append(out, r.bytes(16)...)
		default:
			r.fail(fmt.Sprintf("opcode %#x in a constant expression", op))
		}
	}
	return out
}

// rewriteCustom renumbers the function names of the "name" section. It
// drops a name section it cannot read: names serve only stack traces.
func (m *module) rewriteCustom(body []byte) ([]byte, bool) {
	r := &reader{b: body}
	if name := r.name(); r.err != nil || name != "name" {
		return body, true
	}
	out := appendName(nil, "name")
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		sub := &reader{b: r.bytes(r.u32())}
		var content []byte
		switch id {
		case 1: // function names: idx -> name
			n := sub.u32()
			content = appendU32(nil, n)
			for range n {
				content = appendU32(content, m.moved(sub.u32()))
				content = appendName(content, sub.name())
			}
		case 2: // local names: funcidx -> (localidx -> name)
			n := sub.u32()
			content = appendU32(nil, n)
			for range n {
				content = appendU32(content, m.moved(sub.u32()))
				locals := sub.u32()
				content = appendU32(content, locals)
				for range locals {
					content = appendU32(content, sub.u32())
					content = appendName(content, sub.name())
				}
			}
		default:
			content = sub.b
			sub.b = nil
		}
		if sub.end("names") != nil {
			return nil, false
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(content)))
		out = append(out, content...)
	}
	if r.err != nil {
		return nil, false
	}
	return out, true
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendU32(out, uint32(len(body)))
	return append(out, body...)
}

func appendName(out []byte, s string) []byte {
	out = appendU32(out, uint32(len(s)))
	return append(out, s...)
}

// appendS32 appends v as a signed LEB128.
func appendS32(out []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// appendU32 appends v as an unsigned LEB128.
func appendU32(out []byte, v uint32) []byte {
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

package interrupt

import (
	"bytes"
	"fmt"
)

// rewriteCode instruments every function body of the code section.
func (m *module) rewriteCode(body []byte) ([]byte, error) {
	r := &reader{b: body}
	n := r.u32()
	if r.err == nil && uint64(n)+uint64(m.importedFuncs) != uint64(len(m.funcTypes)) {
		return nil, fmt.Errorf("%w: %d bodies for %d functions", ErrUnsupported, n, len(m.funcTypes)-int(m.importedFuncs))
	}
	out := make([]byte, 0, len(body)+len(body)/4)
	out = appendU32(out, n)
	m.findStatic(body)
	var s scratch
	for i := uint32(0); i < n && r.err == nil; i++ {
		code := r.bytes(r.u32())
		if r.err != nil {
			break
		}
		f := m.importedFuncs + i
		fn, err := m.rewriteBody(code, m.types[m.funcTypes[f]], m.moved(f), m.static[i], &s)
		if err != nil {
			return nil, fmt.Errorf("%w (function %d)", err, f)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if err := r.end("code"); err != nil {
		return nil, err
	}
	return out, nil
}

// appendCheck appends the check that charges cost to the fuel and calls
// the host when it runs out:
//
//	global.get $fuel; i32.const cost; i32.sub; global.set $fuel
//	global.get $fuel; i32.const 0; i32.lt_s
//	if; i32.const Fuel; global.set $fuel; call $interrupt; end
//
// The second global.get costs nothing: compilers (wazero's among them)
// reuse the value just stored.
func (m *module) appendCheck(out []byte, cost int) []byte {
	return m.appendRefill(m.appendCharge(out, cost))
}

// appendRefill appends the call of the host once the fuel is spent, which
// fills it again:
//
//	global.get $fuel; i32.const 0; i32.lt_s
//	if; i32.const Fuel; global.set $fuel; call $interrupt; end
func (m *module) appendRefill(out []byte) []byte {
	out = append(out, 0x23) // global.get
	out = appendU32(out, m.globals)
	out = append(out, 0x41, 0x00, 0x48, 0x04, 0x40, 0x41) // i32.const 0; i32.lt_s; if; i32.const
	out = appendS32(out, Fuel)
	out = append(out, 0x24) // global.set
	out = appendU32(out, m.globals)
	out = append(out, 0x10) // call
	out = appendU32(out, m.importedFuncs)
	return append(out, 0x0b) // end
}

// appendCharge appends a charge of cost to the fuel:
//
//	global.get $fuel; i32.const cost; i32.sub; global.set $fuel
func (m *module) appendCharge(out []byte, cost int) []byte {
	out = append(out, 0x23) // global.get
	out = appendU32(out, m.globals)
	out = append(out, 0x41) // i32.const
	out = appendS32(out, int32(min(max(cost, 1), Fuel)))
	out = append(out, 0x6b, 0x24) // i32.sub; global.set
	return appendU32(out, m.globals)
}

// appendTest appends the test of the fuel after a charge, which leaves
// for label if it is spent:
//
//	global.get $fuel; i32.const 0; i32.lt_s; br_if label
func (m *module) appendTest(out []byte, label uint32) []byte {
	out = append(out, 0x23) // global.get
	out = appendU32(out, m.globals)
	out = append(out, 0x41, 0x00, 0x48, 0x0d) // i32.const 0; i32.lt_s; br_if
	return appendU32(out, label)
}

// wrapDepth is the number of labels a wrapped loop has outside it.
const wrapDepth = 3

// A loop without a type is wrapped in three blocks,
//
//	block $done; loop $again; block $slow
//	  loop ... end
//	  br $done
//	end
//	i32.const Fuel; global.set $fuel; call $interrupt
//	br $again
//	end; end
//
// so that its checks (at br, a jump backward, for a dispatch loop; at its
// header for others) charge the fuel and leave the loop for $slow if it
// is spent (appendTest); the host is called there, out of the loop, and
// br $again enters the loop again, which is what the br would have done,
// or runs the header's check again, which passes, the fuel being full:
// the loop has no parameters, and its locals are as they were. The call
// in the loop's code, even on a path it seldom takes, cost the article
// module some 4% of its time in its dispatch loops, and a loop of a few
// instructions some 15% (BenchmarkTightLoops): wazero reloads the
// memory's base and the mutable globals after a call, and keeps fewer
// values in registers across it. appendLoopWrap appends what follows the
// loop's end.
func (m *module) appendLoopWrap(out []byte) []byte {
	out = append(out, 0x0c, 0x02, 0x0b, 0x41) // br $done; end $slow; i32.const
	out = appendS32(out, Fuel)
	out = append(out, 0x24) // global.set
	out = appendU32(out, m.globals)
	out = append(out, 0x10) // call
	out = appendU32(out, m.importedFuncs)
	return append(out, 0x0c, 0x00, 0x0b, 0x0b) // br $again; end $again; end $done
}

// appendEntryTest appends the test of a function's entry, after its
// charges to the fuel and the stack budget, which leaves the block the
// function's code is in if either is spent:
//
//	global.get $fuel; global.get $stack; i32.const reserve; i32.sub
//	i32.or; i32.const 0; i32.lt_s; br_if 0
func (m *module) appendEntryTest(out []byte) []byte {
	out = append(out, 0x23)
	out = appendU32(out, m.globals)
	out = append(out, 0x23)
	out = appendU32(out, m.globals+1)
	if m.reserve != 0 {
		out = append(out, 0x41)
		out = appendS32(out, m.reserve)
		out = append(out, 0x6b)
	}
	return append(out, 0x72, 0x41, 0x00, 0x48, 0x0d, 0x00) // i32.or; i32.const 0; i32.lt_s; br_if 0
}

// appendEntrySlow appends what a function runs when its entry finds the
// fuel or the stack budget spent, past the end of the block its code is in
// (appendEntryTest leaves it for here). It calls the host for either:
//
//	global.get $fuel; i32.const 0; i32.lt_s
//	if; i32.const Fuel; global.set $fuel; call $interrupt; end
//	global.get $stack; i32.const reserve; i32.lt_s
//	if
//	  global.get $stack; i32.const reserve; i32.sub; global.set $stack
//	  call $stack
//	  global.get $stack; i32.const reserve; i32.add; global.set $stack
//	end
//
// The host sees the stack budget less the reserve kept for static
// functions (findStatic): below zero when it is called, as without a
// reserve, and still below zero if it ends the call, which tells the
// host's error from the module's own traps; with no reserve the
// adjustments are left out. Then the function calls itself with its
// parameters, which begins it again (nothing but the charges has run: its
// locals are as they were), returns what that returns, and gives its frame
// back. Its frame stays charged meanwhile, and the new call's is charged
// again: where the host gave more, its second test passes, the fuel just
// filled and the budget as it was given.
//
// Out of line, the calls of the host leave no call at the function's
// entry to join its code: wazero reloads the memory's base and every
// mutable global after any call, whatever path it is on.
func (m *module) appendEntrySlow(out []byte, typ funcType, self uint32, frame int32) []byte {
	out = m.appendRefill(out)
	out = append(out, 0x23)
	out = appendU32(out, m.globals+1)
	out = append(out, 0x41) // i32.const
	out = appendS32(out, m.reserve)
	out = append(out, 0x48, 0x04, 0x40) // i32.lt_s; if
	if m.reserve != 0 {
		out = m.appendStack(out, m.reserve, 0x6b)
	}
	out = append(out, 0x10) // call
	out = appendU32(out, m.importedFuncs+1)
	if m.reserve != 0 {
		out = m.appendStack(out, m.reserve, 0x6a)
	}
	out = append(out, 0x0b) // end
	for i := range len(typ.params) {
		out = append(out, 0x20) // local.get
		out = appendU32(out, uint32(i))
	}
	out = append(out, 0x10) // call
	out = appendU32(out, self)
	return m.appendStack(out, frame, 0x6a)
}

// appendStack appends global.get $stack; i32.const frame; op; global.set
// $stack: with i32.add, a function's exit giving its frame back.
func (m *module) appendStack(out []byte, frame int32, op byte) []byte {
	out = append(out, 0x23) // global.get
	out = appendU32(out, m.globals+1)
	out = append(out, 0x41) // i32.const
	out = appendS32(out, frame)
	out = append(out, op, 0x24) // global.set
	return appendU32(out, m.globals+1)
}

// scratch is the space rewriteBody needs for one body, reused for the
// next.
type scratch struct {
	out    []byte   // the body's output
	loops  []loop   // its loops, in the order they begin
	table  []uint32 // the tables of their dispatches
	resume []int    // where their dispatches' blocks end
	labels []int    // the blocks open at an instruction
	wraps  []uint32 // the wrapped loops among them, counted from the outermost
	open   []open   // the same, for the first pass
}

// open is a block, loop or if the first pass of rewriteBody is in.
type open struct {
	start int // offset of the loop's first instruction in code; -1 for other blocks
	slot  int // a loop's, or a dispatch block's loop's, index in loops; -1 for others
	depth int // a dispatch block's depth from the br_table
}

// A loop is what the first pass of rewriteBody learns of a loop.
type loop struct {
	// length is the size of its body, which a check charges for a round.
	length uint32
	// dispatch is set for a loop whose body begins with the Go
	// compiler's dispatch: a branch by local's value, through table, to
	// the end of one of the loop's first blocks. Such a loop is checked
	// at the branches that may go back to it, not at its header.
	dispatch bool
	// wrapped is set for a loop without a type: blocks around it hold,
	// out of the loop, the call of the host for its checks at br (a
	// dispatch loop) or at its header (appendLoopWrap).
	wrapped bool
	local   uint32
	// table is the br_table's labels, its default last: depths among
	// the dispatch's blocks, 0 the innermost.
	table []uint32
	// resume[d] is the offset in the body's code at which execution
	// continues past the end of the dispatch's block of depth d.
	resume []int
}

// readDispatch reports whether code, the start of a loop's body, is the
// dispatch the Go compiler begins every function's loop with:
//
//	block; block; ... block (k of them, without a type)
//	local.get X
//	br_table t* t (every target one of the k blocks)
//
// It returns k, X and the targets, the default last, appended to table.
func readDispatch(code []byte, table []uint32) (k int, local uint32, _ []uint32, ok bool) {
	r := &reader{b: code}
	for len(r.b) >= 2 && r.b[0] == 0x02 && r.b[1] == 0x40 {
		r.b = r.b[2:]
		k++
	}
	if k == 0 || r.byte() != 0x20 {
		return 0, 0, table, false
	}
	local = r.u32()
	if r.byte() != 0x0e {
		return 0, 0, table, false
	}
	start := len(table)
	n := r.u32()
	for i := uint64(0); i <= uint64(n) && r.err == nil; i++ {
		t := r.u32()
		if r.err != nil || t >= uint32(k) {
			return 0, 0, table[:start], false
		}
		table = append(table, t)
	}
	if r.err != nil {
		return 0, 0, table[:start], false
	}
	return k, local, table, true
}

// rewriteBody copies one body of function self (its index once renumbered)
// of type typ to out with the checks inserted and the calls renumbered. It
// reads the body twice: first for the length of each loop, which its check
// charges, its shape, branches to the function's label, and the estimate
// of the frame, then to rewrite it, in s.out, which it returns.
//
// A static function (findStatic) has its entry's fuel check and no more.
// The others begin with a block that holds their code: its first
// instructions take the frame from the stack budget, charge the body to
// the fuel and leave the block if either is spent (appendEntryTest), for
// the slow path after it (appendEntrySlow). The frame is given back
// before every return and at the body's end, which then returns; a tail
// call gives it back before it leaves. A body with branches to the
// function's label is wrapped, inside, in a block of the function's
// results, which stands in for the label, and whose end gives the frame
// back: a return is then a branch to it.
//
// # Dispatch loops
//
// The Go compiler makes every function one loop whose body begins with a
// dispatch (see readDispatch) and then runs the function's basic blocks,
// each beginning past the end of one of the dispatch's blocks; every jump
// between basic blocks, forward or back, is
//
//	i32.const n; local.set X; br $loop
//
// (a conditional one inside an if), and the dispatch sends it to the
// block that n selects. A check at the loop's header would run at every
// jump. Instead, such a loop has no check at its header, and a branch to
// its label is checked where it is, unless it is that shape exactly (br or
// br_if directly after i32.const n and local.set of the dispatch's local)
// and n selects a block whose code begins after the branch: a jump
// forward (a constant past the table's end selects its default). Everything
// else is checked: a constant that selects a block at or before the
// branch, a value not known (any other code between the constant and the
// branch, another local), a br_table among whose targets the loop is.
//
// Why that bounds the work between two checks as a header check does:
// code can only run again after control goes back to where it was, and
// in WebAssembly it can go back only by a branch to a loop that encloses
// both the branch and the code (calls begin again at their own entry,
// which is checked). Straight-line code, branches to blocks, if and else,
// and the unchecked jumps all move forward in the body: a jump runs the
// dispatch's local.get and br_table again, then goes on past the branch.
// So every cycle in a function's control flow passes a check, and between
// two checks the function runs at most its length in bytes of code, plus
// the dispatch's local.get and br_table once per jump, whose own code is
// at least six bytes. The check on a backward branch charges the loop's
// body, which it lets run again; the loop's first entry, at the
// function's entry or inside an enclosing loop, is charged by the check
// of what encloses it, which charges all of its code.
//
// A loop without a type is wrapped in blocks (appendLoopWrap): its checks
// at br (a dispatch loop's) or at its header (another's) charge the fuel
// and, if it is spent, leave the loop for a block after it, which calls
// the host and enters the loop again by a branch to a loop around it. That
// is the br's effect (the loop has no parameters, and its locals are as
// they were), after the same charge and the same call as a check in line,
// whose if and call the loop's code no longer holds; a header's check then
// runs again and passes. Checks at br_if and br_table to a dispatch loop
// keep their call in line (they ran some 2,400 times over the 65
// readability pages, against 60 M checks at br and 10 M at other loops'
// headers). The second pass renumbers the labels of branches out of a
// wrapped loop, past the blocks it adds; the first refuses a label out of
// range, which could otherwise name one of them.

func (m *module) rewriteBody(body []byte, typ funcType, self uint32, static bool, s *scratch) ([]byte, error) {
	// The first pass records, in the order the loops begin, the length of
	// their bodies and the shape of their dispatch.
	r := &reader{b: body}
	locals, err := r.locals()
	if err != nil {
		return nil, err
	}
	loops, table, resume := s.loops[:0], s.table[:0], s.resume[:0]
	defer func() { s.loops, s.table, s.resume = loops, table, resume }()
	code := r.b
	stack := append(s.open[:0], open{start: -1, slot: -1})
	defer func() { s.open = stack }()
	// pending counts the dispatch's blocks still to read, of loop slot
	// pendingSlot.
	pending, pendingSlot := 0, 0
	// entry is set while nothing but blocks and instructions that neither
	// branch nor call has been read: if a loop comes first, its check runs
	// first, and the entry's would be redundant. A dispatch loop has no
	// check at its header, so the entry keeps its own.
	entry, covered := true, false
	var results uint64 // of calls and typed blocks, for the frame's estimate
	// toFunction is set if a branch goes to the function's label: such a
	// branch leaves the function, and its body is then wrapped in a block
	// whose end gives the frame back.
	toFunction := false
	for len(stack) > 0 && r.err == nil {
		if len(r.b) == 0 {
			return nil, fmt.Errorf("%w: the body ends without end", ErrUnsupported)
		}
		at := len(code) - len(r.b)
		op, idx := r.instr()
		switch op {
		case 0x0c, 0x0d: // br, br_if
			toFunction = toFunction || idx == uint32(len(stack)-1)
			if idx >= uint32(len(stack)) {
				r.fail(fmt.Sprintf("label %d out of range", idx))
			}
		case 0x0e: // br_table
			imm := code[at+1 : len(code)-len(r.b)]
			toFunction = toFunction || branchesTo(imm, uint32(len(stack)-1))
			// The second pass moves labels past the blocks it adds: one
			// out of range could name one of them.
			if maxLabel(imm) >= uint32(len(stack)) {
				r.fail("br_table label out of range")
			}
		}
		if entry && op != 0x02 && op != 0x03 && branches(op) {
			entry = false
		}
		switch op {
		case 0x02, 0x04: // block, if
			o := open{start: -1, slot: -1}
			if op == 0x02 && pending > 0 {
				pending--
				o.slot, o.depth = pendingSlot, pending
			}
			stack = append(stack, o)
		case 0x03: // loop
			// The block type as read: empty when the body ends at the
			// opcode (the reader has failed, and reports it below).
			typeless := bytes.Equal(code[at+1:len(code)-len(r.b)], []byte{0x40})
			l := loop{wrapped: typeless}
			k, local, t, ok := readDispatch(r.b, table)
			if ok {
				// Slices of the scratch space, which later appends may
				// move elsewhere: the loop keeps the array it wrote to.
				at := len(resume)
				resume = append(resume, make([]int, k)...)
				l = loop{dispatch: true, wrapped: typeless, local: local, table: t[len(table):], resume: resume[at:]}
				table = t
				pending, pendingSlot = k, len(loops)
			}
			if entry {
				entry, covered = false, !ok
			}
			stack = append(stack, open{start: len(code) - len(r.b), slot: len(loops)})
			loops = append(loops, l)
		case 0x0b: // end
			switch b := stack[len(stack)-1]; {
			case b.start >= 0:
				loops[b.slot].length = uint32(len(code) - len(r.b) - b.start)
			case b.slot >= 0:
				loops[b.slot].resume[b.depth] = len(code) - len(r.b)
			}
			stack = stack[:len(stack)-1]
		case 0x23, 0x24: // global.get, global.set
			// Only the pass's code may touch the fuel and the stack
			// budget, which an invalid module could otherwise name.
			if idx >= m.globals {
				r.fail(fmt.Sprintf("global %d out of range", idx))
			}
		}
		n, ok := m.results(op, idx)
		switch {
		case ok:
			results += n
		case op == 0x10 || op == 0x12:
			r.fail(fmt.Sprintf("function %d out of range", idx))
		default:
			r.fail(fmt.Sprintf("type %d out of range", idx))
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: at byte %d of the body: %v", ErrUnsupported, len(body)-len(r.b), r.err)
	}
	if len(r.b) > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the body's end", ErrUnsupported, len(r.b))
	}
	frame := FrameBytes(uint64(len(typ.params)), locals, uint64(len(code)), results)

	// The second pass copies the body, instruction by instruction, except
	// where one is rewritten. The entry check charges the whole body:
	// what runs outside any loop runs at most once per call. A first loop
	// that stands for it charges the whole body too.
	out := append(s.out[:0], body[:len(body)-len(code)]...)
	defer func() { s.out = out }()
	wrap := !static && toFunction
	if !static {
		covered = false
		out = append(out, 0x02, 0x40) // block $slow
		out = m.appendStack(out, frame, 0x6b)
		out = m.appendCharge(out, len(code))
		out = m.appendEntryTest(out)
	}
	if wrap {
		out = append(out, 0x02) // block
		switch len(typ.results) {
		case 0:
			out = append(out, 0x40)
		case 1:
			out = append(out, typ.results[0])
		default:
			out = appendS32(out, int32(m.typeIndex(funcType{results: typ.results})))
		}
	}
	switch {
	case covered:
		loops[0].length = uint32(len(code))
	case static:
		out = m.appendCheck(out, len(code))
	}
	// Unchanged instructions are copied in runs: code[copied:] is what
	// remains to copy. labels holds, for each block open in the body, the
	// index in loops of a dispatch or wrapped loop, or -1.
	labels := s.labels[:0]
	defer func() { s.labels = labels }()
	// wraps[i] counts the wrapped loops among labels[:i]: each adds
	// wrapDepth labels outside it, which a branch out of it must pass.
	wraps := append(s.wraps[:0], 0)
	defer func() { s.wraps = wraps }()
	push := func(slot int) {
		labels = append(labels, slot)
		n := wraps[len(wraps)-1]
		if slot >= 0 && loops[slot].wrapped {
			n++
		}
		wraps = append(wraps, n)
	}
	// depth returns the label a branch to idx names in the output.
	depth := func(idx uint32) uint32 {
		p := 0 // the position in wraps of the labels inside the target
		if idx < uint32(len(labels)) {
			p = len(labels) - int(idx)
		}
		return idx + wrapDepth*(wraps[len(wraps)-1]-wraps[p])
	}
	// jump is the state of a jump's shape before a branch: 1 after
	// i32.const n, 2 after i32.const n; local.set jumpLocal.
	var (
		jump      int
		jumpN     uint32
		jumpLocal uint32
	)
	r = &reader{b: code}
	next, copied := 0, 0
	for len(r.b) > 1 { // all but the function's end
		at := len(code) - len(r.b)
		op, idx := r.instr()
		shape := jump
		jump = 0
		switch op {
		case 0x02, 0x04: // block, if
			push(-1)
		case 0x03: // loop: the check charges one round of its body
			l := &loops[next]
			if l.wrapped {
				out = append(out, code[copied:at]...)
				copied = at
				out = append(out, 0x02, 0x40, 0x03, 0x40, 0x02, 0x40) // block $done; loop $again; block $slow
			}
			if l.dispatch || l.wrapped {
				push(next)
			} else {
				push(-1)
			}
			next++
			if l.dispatch {
				break
			}
			out = append(out, code[copied:len(code)-len(r.b)]...)
			copied = len(code) - len(r.b)
			if l.wrapped {
				out = m.appendCharge(out, int(l.length))
				out = m.appendTest(out, 1) // to $slow, just outside the loop
			} else {
				out = m.appendCheck(out, int(l.length))
			}
		case 0x0b: // end
			if slot := labels[len(labels)-1]; slot >= 0 && loops[slot].wrapped {
				out = append(out, code[copied:len(code)-len(r.b)]...)
				copied = len(code) - len(r.b)
				out = m.appendLoopWrap(out)
			}
			labels, wraps = labels[:len(labels)-1], wraps[:len(wraps)-1]
		case 0x41: // i32.const
			jump, jumpN = 1, uint32(decodeS32(code[at+1:len(code)-len(r.b)]))
		case 0x21: // local.set
			if shape == 1 {
				jump, jumpLocal = 2, idx
			}
		case 0x0c, 0x0d: // br, br_if
			var l *loop // a dispatch loop it may go back to
			if idx < uint32(len(labels)) {
				if slot := labels[len(labels)-1-int(idx)]; slot >= 0 && loops[slot].dispatch {
					l = &loops[slot]
				}
			}
			if l != nil && shape == 2 && jumpLocal == l.local && l.forward(jumpN, at) {
				l = nil
			}
			d := depth(idx)
			if l == nil && d == idx {
				break
			}
			out = append(out, code[copied:at]...)
			copied = len(code) - len(r.b)
			switch {
			case l != nil && op == 0x0c && l.wrapped:
				out = m.appendCharge(out, int(l.length))
				out = m.appendTest(out, d+1) // to $slow, just outside the loop
			case l != nil:
				out = m.appendCheck(out, int(l.length))
			}
			out = append(out, op)
			out = appendU32(out, d)
		case 0x0e: // br_table: checked if it may go to a dispatch loop
			imm := code[at+1 : len(code)-len(r.b)]
			if cost := m.brTableCost(imm, labels, loops); cost > 0 {
				out = append(out, code[copied:at]...)
				copied = at
				out = m.appendCheck(out, cost)
			}
			if wraps[len(wraps)-1] > 0 {
				out = append(out, code[copied:at]...)
				copied = len(code) - len(r.b)
				out = append(out, op)
				tr := &reader{b: imm}
				n := tr.u32()
				out = appendU32(out, n)
				for range uint64(n) + 1 {
					out = appendU32(out, depth(tr.u32()))
				}
			}
		case 0x0f: // return: a branch to the block's end, or the frame given back first
			switch {
			case wrap:
				out = append(out, code[copied:at]...)
				copied = len(code) - len(r.b)
				out = append(out, 0x0c) // br
				out = appendU32(out, depth(uint32(len(labels))))
			case !static:
				out = append(out, code[copied:at]...)
				copied = at
				out = m.appendStack(out, frame, 0x6a) // i32.add
			}
		case 0x10, 0x12, 0xd2: // call, return_call, ref.func
			if op == 0x12 && !static {
				out = append(out, code[copied:at]...)
				copied = len(code) - len(r.b)
				out = m.appendStack(out, frame, 0x6a) // i32.add
				out = append(out, op)
				out = appendU32(out, m.moved(idx))
				break
			}
			if g := m.moved(idx); g != idx {
				out = append(out, code[copied:at]...)
				copied = len(code) - len(r.b)
				out = append(out, op)
				out = appendU32(out, g)
			}
		case 0x13: // return_call_indirect, never in a static function
			out = append(out, code[copied:at]...)
			copied = len(code) - len(r.b)
			out = m.appendStack(out, frame, 0x6a) // i32.add
			out = append(out, code[at:copied]...)
		}
	}
	out = append(out, code[copied:len(code)-1]...)
	if wrap {
		out = append(out, 0x0b) // the block's end
	}
	if !static {
		out = m.appendStack(out, frame, 0x6a)
		out = append(out, 0x0f, 0x0b) // return; end $slow
		out = m.appendEntrySlow(out, typ, self, frame)
	}
	return append(out, 0x0b), nil
}

// results returns the number of results of a call or a typed block, which
// the frame's estimate counts, and 0 for other instructions; ok is false if
// the function or type idx it names is out of range.
func (m *module) results(op byte, idx uint32) (n uint64, ok bool) {
	switch op {
	case 0x02, 0x03, 0x04, 0x11, 0x13: // typed blocks, indirect calls
		if op <= 0x04 && idx == noIndex {
			return 0, true
		}
		if idx >= uint32(len(m.types)) {
			return 0, false
		}
		return uint64(len(m.types[idx].results)), true
	case 0x10, 0x12: // call, return_call
		if idx >= uint32(len(m.funcTypes)) {
			return 0, false
		}
		return uint64(len(m.types[m.funcTypes[idx]].results)), true
	}
	return 0, true
}

// forward reports whether a dispatch loop's br_table, given n, continues
// past the branch at offset at.
func (l *loop) forward(n uint32, at int) bool {
	t := l.table[len(l.table)-1] // the default
	if n < uint32(len(l.table)-1) {
		t = l.table[n]
	}
	return l.resume[t] > at
}

// branchesTo reports whether a br_table with immediates imm has label
// among its targets.
func branchesTo(imm []byte, label uint32) bool {
	r := &reader{b: imm}
	for n := uint64(r.u32()) + 1; n > 0 && r.err == nil; n-- {
		if r.u32() == label {
			return true
		}
	}
	return false
}

// maxLabel returns the largest label of a br_table with immediates imm.
func maxLabel(imm []byte) uint32 {
	r := &reader{b: imm}
	var l uint32
	for n := uint64(r.u32()) + 1; n > 0 && r.err == nil; n-- {
		l = max(l, r.u32())
	}
	return l
}

// brTableCost returns what a check before a br_table with immediates imm
// must charge: the longest of the dispatch loops among its targets, or 0
// if there is none.
func (m *module) brTableCost(imm []byte, labels []int, loops []loop) int {
	r := &reader{b: imm}
	cost := 0
	for n := uint64(r.u32()) + 1; n > 0 && r.err == nil; n-- {
		if l := r.u32(); l < uint32(len(labels)) {
			if slot := labels[len(labels)-1-int(l)]; slot >= 0 && loops[slot].dispatch {
				cost = max(cost, int(loops[slot].length))
			}
		}
	}
	return cost
}

// decodeS32 decodes a signed LEB128 number of at most 5 bytes, read
// already.
func decodeS32(b []byte) int32 {
	var v int32
	var shift uint
	for _, c := range b {
		v |= int32(c&0x7f) << shift
		shift += 7
	}
	if shift < 32 && b[len(b)-1]&0x40 != 0 {
		v |= -1 << shift
	}
	return v
}

// branches reports whether an instruction is a control instruction (which
// may branch, return, trap or call), opcodes 0x00 to 0x13.
func branches(op byte) bool { return op <= 0x13 }

// locals skips a body's local declarations and returns their number.
func (r *reader) locals() (uint64, error) {
	var total uint64
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		total += uint64(r.u32())
		r.byte()
	}
	if r.err != nil {
		return 0, fmt.Errorf("%w: locals: %v", ErrUnsupported, r.err)
	}
	return total, nil
}

// noIndex is the index instr returns for a block without a type index.
const noIndex = 1<<32 - 1

// instr reads one instruction and returns its opcode and the index it
// names: the function of call, return_call and ref.func, the type of
// call_indirect, return_call_indirect and of a block, loop or if (noIndex
// for one typed by a value type or none), the label of br and br_if, the
// local of local.get, local.set and local.tee, the global of global.get
// and global.set.
func (r *reader) instr() (op byte, idx uint32) {
	switch op = r.byte(); op {
	case 0x02, 0x03, 0x04: // block, loop, if
		idx = noIndex
		if t := r.blockType(); t >= 0 {
			idx = uint32(t)
		}
	case 0x0b: // end
	case 0x0c, 0x0d, 0x10, 0x12, 0x20, 0x21, 0x22, 0x23, 0x24, 0xd2:
		idx = r.u32()
	case 0x11, 0x13: // call_indirect, return_call_indirect: type, table
		idx = r.u32()
		r.u32()
	default:
		r.immediates(op)
	}
	return op, idx
}

// immediates skips the immediates of an instruction other than those instr
// reads itself, and fails on an opcode it does not know.
func (r *reader) immediates(op byte) {
	switch {
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0f || // unreachable, nop, else, return
		op == 0x1a || op == 0x1b || // drop, select
		op >= 0x45 && op <= 0xc4 || // numeric, conversions, sign extension
		op == 0xd1: // ref.is_null
	case op == 0x0c || op == 0x0d || // br, br_if
		op >= 0x20 && op <= 0x26 || // local.*, table.get, table.set
		op == 0x3f || op == 0x40: // memory.size, memory.grow
		r.u32()
	case op == 0x0e: // br_table
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			r.u32()
		}
		r.u32()
	case op == 0x1c: // select t*
		r.skipValTypes()
	case op >= 0x28 && op <= 0x3e: // loads and stores
		r.memarg()
	case op == 0x41: // i32.const
		r.leb(5)
	case op == 0x42: // i64.const
		r.leb(10)
	case op == 0x43: // f32.const
		r.bytes(4)
	case op == 0x44: // f64.const
		r.bytes(8)
	case op == 0xd0: // ref.null
		r.byte()
	case op == 0xfc:
		r.misc()
	case op == 0xfd:
		r.vector()
	default:
		r.fail(fmt.Sprintf("unknown opcode %#x", op))
	}
}

// misc skips a 0xfc instruction: saturating conversions, bulk memory and
// table operations.
func (r *reader) misc() {
	switch sub := r.u32(); {
	case sub <= 7: // *.trunc_sat_*
	case sub == 8: // memory.init data memory
		r.u32()
		r.u32()
	case sub == 9, sub == 13, sub >= 15 && sub <= 17: // data.drop, elem.drop, table.grow/size/fill
		r.u32()
	case sub == 10: // memory.copy dst src
		r.u32()
		r.u32()
	case sub == 11: // memory.fill
		r.u32()
	case sub == 12, sub == 14: // table.init elem table, table.copy dst src
		r.u32()
		r.u32()
	default:
		r.fail(fmt.Sprintf("unknown opcode 0xfc %d", sub))
	}
}

// unassignedVector lists the opcodes below 256 that the SIMD proposal left
// unassigned (those above are relaxed SIMD, which is not supported).
var unassignedVector = map[uint32]bool{
	154: true, 162: true, 165: true, 166: true, 175: true, 176: true, 178: true,
	179: true, 180: true, 187: true, 194: true, 197: true, 198: true, 207: true,
	208: true, 210: true, 211: true, 212: true, 226: true, 238: true,
}

// vector skips a 0xfd (SIMD) instruction.
func (r *reader) vector() {
	switch sub := r.u32(); {
	case r.err != nil:
	case sub <= 11, sub == 92, sub == 93: // v128.load*, v128.store, v128.load*_zero
		r.memarg()
	case sub == 12, sub == 13: // v128.const, i8x16.shuffle
		r.bytes(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		r.byte()
	case sub >= 84 && sub <= 91: // v128.load*_lane, v128.store*_lane
		r.memarg()
		r.byte()
	case sub > 255 || unassignedVector[sub]:
		r.fail(fmt.Sprintf("unknown opcode 0xfd %d", sub))
	}
}

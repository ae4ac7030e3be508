package interrupt

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDispatchChecks counts the checks the pass writes in each function
// (their charges to the fuel): a loop in the Go compiler's dispatch shape
// has none at its header, and one before each branch to it that may go
// backward; a loop of any other shape keeps its header's. It also counts
// the calls of the host for the fuel: one for the entry's checks, out of
// line, one for a loop's checks at br, out of the loop, and one for each
// other check.
func TestDispatchChecks(t *testing.T) {
	tests := []struct {
		module string
		checks []int // by function, in the order of the code section
		calls  []int
	}{
		// Every function has its entry's check (out of line: see
		// appendEntrySlow), and loop, nest and recurse_loop their loop
		// header's.
		{"forever.wasm", []int{2, 1, 2, 2}, []int{2, 1, 2, 2}},
		// Each has its entry's check; forward has only that. computed
		// checks its two jumps; the others their one jump that may
		// go backward, among jumps forward that are not checked. Every
		// dispatch loop has a call of the host outside it, for its
		// checks at br (appendLoopWrap); a check at br_if or br_table
		// has its own.
		{"dispatch.wasm", []int{1, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2}, []int{2, 2, 2, 3, 2, 2, 2, 2, 3, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			bin, err := os.ReadFile(filepath.Join("testdata", tt.module))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Instrument(bin, Options{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := parse(bin)
			if err != nil {
				t.Fatal(err)
			}
			got, calls := checks(t, out, m.globals, m.importedFuncs)
			if len(got) != len(tt.checks) {
				t.Fatalf("%d functions, want %d", len(got), len(tt.checks))
			}
			for i, n := range got {
				if n != tt.checks[i] {
					t.Errorf("function %d has %d checks, want %d", i, n, tt.checks[i])
				}
				if calls[i] != tt.calls[i] {
					t.Errorf("function %d calls the host %d times, want %d", i, calls[i], tt.calls[i])
				}
			}
		})
	}
}

// checks returns the number of charges to global fuel (global.get;
// i32.const; i32.sub; global.set), one per check, and of calls of function
// host, the interruption's host function, in each body of an instrumented
// module.
func checks(t *testing.T, bin []byte, fuel, host uint32) (counts, calls []int) {
	t.Helper()
	eachBody(t, bin, func(body *reader) {
		count, call := 0, 0
		var last [3]byte // the opcodes before, the latest last
		for len(body.b) > 0 && body.err == nil {
			op, idx := body.instr()
			switch {
			case op == 0x10 && idx == host:
				call++
			case op == 0x24 && idx == fuel && last == [3]byte{0x23, 0x41, 0x6b}:
				count++
			}
			last = [3]byte{last[1], last[2], op}
		}
		counts, calls = append(counts, count), append(calls, call)
	})
	return counts, calls
}

// eachBody calls f with each function body of bin's code section, its
// locals read, and fails t if the module or a body cannot be read to its
// end.
func eachBody(t *testing.T, bin []byte, f func(body *reader)) {
	t.Helper()
	sections := &reader{b: bin[8:]}
	for len(sections.b) > 0 && sections.err == nil {
		id, code := sections.byte(), sections.bytes(sections.u32())
		if id != secCode {
			continue
		}
		r := &reader{b: code}
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			body := &reader{b: r.bytes(r.u32())}
			if _, err := body.locals(); err != nil {
				t.Fatal(err)
			}
			f(body)
			if body.err != nil {
				t.Fatal(body.err)
			}
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	if sections.err != nil {
		t.Fatal(sections.err)
	}
}

// TestLoopCallsOutOfLine checks that the calls of the host for a loop's
// checks are out of the loop, in the blocks appendLoopWrap adds around a
// loop without a type, and stay in a loop with a type only.
func TestLoopCallsOutOfLine(t *testing.T) {
	tests := []struct {
		module string
		inLoop []int // calls of the host inside a loop of the module's, by function
	}{
		{"forever.wasm", []int{0, 0, 0, 0}},
		// inc, early (static), sum, calls, nested; typed's loop has a
		// result, and keeps its header's check in line.
		{"loops.wasm", []int{0, 0, 0, 0, 0, 1}},
		// The checks at br_if and br_table to a dispatch loop
		// (backward_if, table_to_loop) keep their call in line.
		{"dispatch.wasm", []int{0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.module, func(t *testing.T) {
			bin, err := os.ReadFile(filepath.Join("testdata", tt.module))
			if err != nil {
				t.Fatal(err)
			}
			m, err := parse(bin)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Instrument(bin, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := callsInLoops(t, out, m.importedFuncs)
			if !slices.Equal(got, tt.inLoop) {
				t.Errorf("calls of the host inside a loop, by function: %v, want %v", got, tt.inLoop)
			}
		})
	}
}

// callsInLoops returns, for each body of an instrumented module, the
// number of calls of function host whose innermost enclosing loop is one
// of the module's own, not one that appendLoopWrap added ($again: a loop
// without a type between a block without a type and the wrapped loop).
func callsInLoops(t *testing.T, bin []byte, host uint32) []int {
	t.Helper()
	var counts []int
	eachBody(t, bin, func(body *reader) {
		// open holds, for each block, loop and if open, whether it is one
		// of the module's loops (1), an added one (2), or neither (0).
		open := []int{0}
		count := 0
		var last byte
		for len(body.b) > 0 && body.err == nil {
			rest := body.b
			op, idx := body.instr()
			switch op {
			case 0x02, 0x04:
				open = append(open, 0)
			case 0x03:
				again := last == 0x02 && rest[1] == 0x40 && bytes.HasPrefix(body.b, []byte{0x02, 0x40, 0x03})
				open = append(open, map[bool]int{false: 1, true: 2}[again])
			case 0x0b:
				open = open[:len(open)-1]
			case 0x10:
				if idx != host {
					break
				}
				for i := len(open) - 1; i >= 0; i-- {
					if open[i] != 0 {
						if open[i] == 1 {
							count++
						}
						break
					}
				}
			}
			last = op
		}
		counts = append(counts, count)
	})
	return counts
}

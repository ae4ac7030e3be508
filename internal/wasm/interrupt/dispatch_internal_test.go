package interrupt

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDispatchChecks counts the checks the pass writes in each function:
// a loop in the Go compiler's dispatch shape has none at its header, and
// one before each branch to it that may go backward; a loop of any other
// shape keeps its header's.
func TestDispatchChecks(t *testing.T) {
	tests := []struct {
		module string
		checks []int // by function, in the order of the code section
	}{
		// Every function has its entry's check (out of line: see
		// appendEntrySlow), and loop, nest and recurse_loop their loop
		// header's.
		{"forever.wasm", []int{2, 1, 2, 2}},
		// Each has its entry's check; forward has only that. computed
		// checks its two jumps; the others their one jump that may
		// go backward, among jumps forward that are not checked.
		{"dispatch.wasm", []int{1, 3, 2, 2, 2, 2, 2, 2, 2, 2}},
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
			got := checks(t, out, m.importedFuncs)
			if len(got) != len(tt.checks) {
				t.Fatalf("%d functions, want %d", len(got), len(tt.checks))
			}
			for i, n := range got {
				if n != tt.checks[i] {
					t.Errorf("function %d has %d checks, want %d", i, n, tt.checks[i])
				}
			}
		})
	}
}

// checks returns the number of calls of function host, the
// interruption's host function, in each body of an instrumented module:
// one per check.
func checks(t *testing.T, bin []byte, host uint32) []int {
	t.Helper()
	var counts []int
	sections := &reader{b: bin[8:]}
	for len(sections.b) > 0 && sections.err == nil {
		id, body := sections.byte(), sections.bytes(sections.u32())
		if id != secCode {
			continue
		}
		r := &reader{b: body}
		for n := r.u32(); n > 0 && r.err == nil; n-- {
			body := &reader{b: r.bytes(r.u32())}
			if _, err := body.locals(); err != nil {
				t.Fatal(err)
			}
			count := 0
			for len(body.b) > 0 && body.err == nil {
				if op, idx := body.instr(); op == 0x10 && idx == host {
					count++
				}
			}
			if body.err != nil {
				t.Fatal(body.err)
			}
			counts = append(counts, count)
		}
	}
	if sections.err != nil {
		t.Fatal(sections.err)
	}
	return counts
}

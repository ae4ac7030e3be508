package interrupt

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFindStatic checks which functions of testdata/static.wasm the stack
// bound leaves out, the reserve kept for them, and that the rewritten
// bodies take from the budget exactly in the others.
func TestFindStatic(t *testing.T) {
	bin, err := os.ReadFile(filepath.Join("testdata", "static.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parse(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.sections {
		if s.id == secCode {
			m.findStatic(s.body)
		}
	}
	// leaf, above_leaf, tail_leaf; not the export, the recursions, the
	// cycle, the table's, the leaf of a large frame or its caller.
	want := []bool{true, true, true, false, false, false, false, false, false, false, false, false, false}
	if !slices.Equal(m.static, want) {
		t.Errorf("static functions %v, want %v", m.static, want)
	}
	// The reserve is above_leaf's height: its frame, 256 + 16 for its
	// parameter + 4 x 7 bytes of code + 8 x 2 results of calls = 316,
	// and leaf's, 256 + 16 + 4 x 6 = 296.
	if m.reserve != 612 {
		t.Errorf("reserve %d, want 612", m.reserve)
	}

	out, err := Instrument(bin, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, takes := checks(t, out, m.globals, m.importedFuncs+1) // calls of the stack's host function
	if len(takes) != len(want) {
		t.Fatalf("%d functions, want %d", len(takes), len(want))
	}
	for f, n := range takes {
		if bounded := n == 1; bounded == want[f] || n > 1 {
			t.Errorf("function %d calls the stack's host function %d times, static %v", f, n, want[f])
		}
	}
}

// TestFindStaticBounds runs findStatic on modules built to its limits: a
// chain of calls too tall, and one longer than the walk could take by
// recursion; a cycle; a module that exports its table.
func TestFindStaticBounds(t *testing.T) {
	tests := []struct {
		name    string
		bin     []byte
		static  int // functions found static
		reserve int32
	}{
		// The last frame is 256 + 16 + 4 x 3 bytes (local.get, end) =
		// 284, the others 256 + 16 + 4 x 5 bytes (local.get, call,
		// end) + 8 for the call's result = 300, or 308 where the call's
		// index takes three bytes: the last 212 fit in 64 KiB.
		{"chain of 100,000", chain(100_000, false), 212, 284 + 211*308},
		{"cycle of 100,000", chain(100_000, true), 0, 0},
		{"chain of 3", chain(3, false), 3, 284 + 2*300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parse(tt.bin)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range m.sections {
				if s.id == secCode {
					m.findStatic(s.body)
				}
			}
			n := 0
			for _, s := range m.static {
				if s {
					n++
				}
			}
			if n != tt.static || m.reserve != tt.reserve {
				t.Errorf("%d static functions, reserve %d; want %d, %d", n, m.reserve, tt.static, tt.reserve)
			}
			if _, err := Instrument(tt.bin, Options{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// chain returns a module of n functions of type (i32) -> (i32), each but
// the last calling the next; the last calls the first if cycle is set, and
// returns its parameter if not. None is exported.
func chain(n int, cycle bool) []byte {
	types := []byte{1, 0x60, 1, 0x7f, 1, 0x7f}
	funcs := appendU32(nil, uint32(n))
	code := appendU32(nil, uint32(n))
	for i := range n {
		funcs = append(funcs, 0)
		var body []byte
		switch {
		case i < n-1:
			body = appendU32([]byte{0, 0x20, 0, 0x10}, uint32(i+1))
		case cycle:
			body = []byte{0, 0x20, 0, 0x10, 0}
		default:
			body = []byte{0, 0x20, 0}
		}
		body = append(body, 0x0b)
		code = appendU32(code, uint32(len(body)))
		code = append(code, body...)
	}
	bin := []byte("\x00asm\x01\x00\x00\x00")
	bin = appendSection(bin, secType, types)
	bin = appendSection(bin, secFunction, funcs)
	return appendSection(bin, secCode, code)
}

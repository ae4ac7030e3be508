package interrupt_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/wasm/interrupt"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// features are what the test runtimes accept: wazero's default and tail
// calls, which the pass supports too.
const features = api.CoreFeaturesV2 | experimental.CoreFeaturesTailCall

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// harness is a wazero runtime with the host functions the test modules
// import; interrupts counts the calls of the pass's host function, which
// onInterrupt may end. The stack budget's host function ends the call with
// errStackSpent.
type harness struct {
	rt          wazero.Runtime
	interrupts  atomic.Int64
	onInterrupt func(ctx context.Context)
	// onStack, if set, is called in place of ending the call when the
	// stack budget is spent.
	onStack func(mod api.Module)
}

var errStackSpent = errors.New("the stack budget is spent")

func newHarness(t testing.TB, cfg wazero.RuntimeConfig) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{rt: wazero.NewRuntimeWithConfig(ctx, cfg.WithCoreFeatures(features))}
	t.Cleanup(func() { h.rt.Close(ctx) })
	_, err := h.rt.NewHostModuleBuilder(interrupt.HostModule).
		NewFunctionBuilder().WithFunc(func(ctx context.Context) {
		h.interrupts.Add(1)
		if h.onInterrupt != nil {
			h.onInterrupt(ctx)
		}
	}).Export(interrupt.HostFunction).
		NewFunctionBuilder().WithFunc(func(_ context.Context, mod api.Module) {
		if h.onStack == nil {
			panic(errStackSpent)
		}
		h.onStack(mod)
	}).Export(interrupt.StackFunction).
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := h.rt.CompileModule(ctx, readTestdata(t, "env.wasm"))
	if err == nil {
		_, err = h.rt.InstantiateModule(ctx, env, wazero.NewModuleConfig().WithName("env"))
	}
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) instantiate(t testing.TB, bin []byte) api.Module {
	t.Helper()
	ctx := context.Background()
	compiled, err := h.rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatalf("compiling: %v", err)
	}
	mod, err := h.rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatalf("instantiating: %v", err)
	}
	t.Cleanup(func() { mod.Close(ctx) })
	return mod
}

// TestTestdataInSync checks every committed .wasm against its .wat, built
// with the flags its ";; wat2wasm flags:" line names.
func TestTestdataInSync(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed (Debian package wabt): cannot check testdata/*.wasm against their sources")
	}
	sources, _ := filepath.Glob("testdata/*.wat")
	if len(sources) == 0 {
		t.Fatal("no testdata/*.wat")
	}
	for _, src := range sources {
		text, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		var flags []string
		for line := range strings.Lines(string(text)) {
			if f, ok := strings.CutPrefix(line, ";; wat2wasm flags:"); ok {
				flags = strings.Fields(f)
			}
		}
		out := filepath.Join(t.TempDir(), "out.wasm")
		if msg, err := exec.Command(wat2wasm, append(flags, src, "-o", out)...).CombinedOutput(); err != nil {
			t.Errorf("wat2wasm %s: %v\n%s", src, err, msg)
			continue
		}
		want, _ := os.ReadFile(strings.TrimSuffix(src, ".wat") + ".wasm")
		if got, _ := os.ReadFile(out); !bytes.Equal(got, want) {
			t.Errorf("%s.wasm is stale: run wat2wasm %s %s", strings.TrimSuffix(src, ".wat"), strings.Join(flags, " "), src)
		}
	}
}

// TestInstrumentKeepsBehavior runs each function of the test modules before
// and after instrumentation, with a full fuel and with none: the results
// are the same, an empty fuel makes the guest call the host, and the stack
// budget is whole again after.
func TestInstrumentKeepsBehavior(t *testing.T) {
	tests := []struct {
		module string
		fn     string
		params []uint64
	}{
		{"features.wasm", "sum", []uint64{100}},
		{"features.wasm", "sum", []uint64{1 << 20}},
		{"features.wasm", "fib", []uint64{15}},
		{"features.wasm", "pair", []uint64{7}},
		{"features.wasm", "classify", []uint64{20}},
		{"features.wasm", "classify", []uint64{1<<32 - 1}},
		{"features.wasm", "indirect", []uint64{30}},
		{"features.wasm", "memory_ops", nil},
		{"features.wasm", "simd", nil},
		{"tailcall.wasm", "count", []uint64{100000}},
		{"static.wasm", "leaf", []uint64{7}},
		{"static.wasm", "big", []uint64{7}},
		{"dispatch.wasm", "forward", []uint64{0, 0}},
		{"dispatch.wasm", "forward", []uint64{0, 1}},
		{"dispatch.wasm", "forward", []uint64{0, 2}},
		{"dispatch.wasm", "forward", []uint64{3, 0}},
		{"dispatch.wasm", "computed", []uint64{0, 5}},
		{"dispatch.wasm", "exits", []uint64{0, 5}},
		{"dispatch.wasm", "exits", []uint64{0, 1 << 17}},
		{"dispatch.wasm", "exits", []uint64{1, 1 << 17}},
		{"dispatch.wasm", "exits", []uint64{2, 1 << 17}},
		{"dispatch.wasm", "exits", []uint64{3, 1 << 17}},
		{"dispatch.wasm", "exits", []uint64{3, 5}},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.module+"/"+tt.fn, func(t *testing.T) {
			h := newHarness(t, wazero.NewRuntimeConfigCompiler())
			bin := readTestdata(t, tt.module)
			out, err := interrupt.Instrument(bin, interrupt.Options{})
			if err != nil {
				t.Fatalf("Instrument: %v", err)
			}
			want, err := h.instantiate(t, bin).ExportedFunction(tt.fn).Call(ctx, tt.params...)
			if err != nil {
				t.Fatalf("original: %v", err)
			}
			for _, fuel := range []uint64{interrupt.Fuel, 0} {
				mod := h.instantiate(t, out)
				g, ok := mod.ExportedGlobal(interrupt.FuelExport).(api.MutableGlobal)
				if !ok {
					t.Fatalf("no mutable global exported as %q", interrupt.FuelExport)
				}
				g.Set(fuel)
				before := h.interrupts.Load()
				got, err := mod.ExportedFunction(tt.fn).Call(ctx, tt.params...)
				if err != nil {
					t.Fatalf("instrumented, fuel %d: %v", fuel, err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("instrumented, fuel %d: %v, want %v", fuel, got, want)
				}
				if n := h.interrupts.Load() - before; fuel == 0 && n == 0 {
					t.Errorf("fuel 0: the host function was not called")
				}
				if left := int32(g.Get()); left < 0 || left > interrupt.Fuel {
					t.Errorf("fuel %d: the guest left %d", fuel, left)
				}
				if b := int32(mod.ExportedGlobal(interrupt.StackExport).Get()); b != interrupt.DefaultStackBytes {
					t.Errorf("fuel %d: the stack budget is %d after the call, want %d", fuel, b, interrupt.DefaultStackBytes)
				}
			}
		})
	}
}

// TestInstrumentKeepsBehaviorAtAnyFuel runs functions of
// testdata/loops.wasm, before and after instrumentation, with every fuel
// from 0 to past the longest charge between two calls of the host: each
// check's slow path, out of line (a loop's header leaving its loop, a
// static function's entry), is taken at one fuel or another, and the
// results are the same; the stack budget is whole again after each call.
func TestInstrumentKeepsBehaviorAtAnyFuel(t *testing.T) {
	tests := []struct {
		fn     string
		params []uint64
	}{
		{"sum", []uint64{40}},
		{"calls", []uint64{9, 0}},
		{"calls", []uint64{9, 1}},
		{"calls", []uint64{9, 2}},
		{"calls", []uint64{9, 3}},
		{"nested", []uint64{6}},
		{"nested", []uint64{50000}},
		{"typed", []uint64{100}},
	}
	ctx := context.Background()
	h := newHarness(t, wazero.NewRuntimeConfigCompiler())
	bin := readTestdata(t, "loops.wasm")
	out, err := interrupt.Instrument(bin, interrupt.Options{})
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	orig, mod := h.instantiate(t, bin), h.instantiate(t, out)
	fuel := mod.ExportedGlobal(interrupt.FuelExport).(api.MutableGlobal)
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.fn, tt.params), func(t *testing.T) {
			want, err := orig.ExportedFunction(tt.fn).Call(ctx, tt.params...)
			if err != nil {
				t.Fatalf("original: %v", err)
			}
			before := h.interrupts.Load()
			for f := range uint64(400) {
				fuel.Set(f)
				got, err := mod.ExportedFunction(tt.fn).Call(ctx, tt.params...)
				if err != nil {
					t.Fatalf("fuel %d: %v", f, err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("fuel %d: %v, want %v", f, got, want)
				}
				if b := int32(mod.ExportedGlobal(interrupt.StackExport).Get()); b != interrupt.DefaultStackBytes {
					t.Fatalf("fuel %d: the stack budget is %d after the call, want %d", f, b, interrupt.DefaultStackBytes)
				}
			}
			if n := h.interrupts.Load() - before; n < 400 {
				t.Errorf("the host was called %d times in 400 calls from fuels 0 to 399", n)
			}
		})
	}
}

// TestInstrumentRenumbers checks that the functions keep their names and
// exports once every defined function has moved up one index.
func TestInstrumentRenumbers(t *testing.T) {
	h := newHarness(t, wazero.NewRuntimeConfigCompiler())
	bin := readTestdata(t, "features.wasm")
	out, err := interrupt.Instrument(bin, interrupt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := h.rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	after, err := h.rt.CompileModule(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	for name, def := range before.ExportedFunctions() {
		got, ok := after.ExportedFunctions()[name]
		if !ok {
			t.Errorf("export %q lost", name)
			continue
		}
		if got.Name() != def.Name() || !slices.Equal(got.ParamTypes(), def.ParamTypes()) || !slices.Equal(got.ResultTypes(), def.ResultTypes()) {
			t.Errorf("export %q: %s%v%v, want %s%v%v", name, got.Name(), got.ParamTypes(), got.ResultTypes(), def.Name(), def.ParamTypes(), def.ResultTypes())
		}
	}
	imports := after.ImportedFunctions()
	for i, want := range []string{interrupt.HostFunction, interrupt.StackFunction} {
		def := imports[len(imports)-2+i]
		if mod, name, _ := def.Import(); mod != interrupt.HostModule || name != want {
			t.Errorf("function import %d is %s.%s, want %s.%s", def.Index(), mod, name, interrupt.HostModule, want)
		}
	}
}

// TestInstrumentInterrupts runs functions that never return, with a host
// function that ends the call the third time it is called: a loop,
// exponential recursion (by a function without a loop, and by one that
// begins with one), a loop in a br_table and if nest, and loops in
// the Go compiler's dispatch shape that go round by every kind of jump the
// pass must check.
func TestInstrumentInterrupts(t *testing.T) {
	tests := []struct{ module, fn string }{
		{"forever.wasm", "loop"},
		{"forever.wasm", "recurse"},
		{"forever.wasm", "nest"},
		{"forever.wasm", "recurse_loop"},
		{"dispatch.wasm", "backward"},
		{"dispatch.wasm", "backward_if"},
		{"dispatch.wasm", "table_backward"},
		{"dispatch.wasm", "default_backward"},
		{"dispatch.wasm", "set_twice"},
		{"dispatch.wasm", "other_local"},
		{"dispatch.wasm", "table_to_loop"},
		{"dispatch.wasm", "nested"},
	}
	for _, tt := range tests {
		t.Run(tt.module+"/"+tt.fn, func(t *testing.T) {
			out := mustInstrument(t, readTestdata(t, tt.module))
			h := newHarness(t, wazero.NewRuntimeConfigCompiler())
			h.onInterrupt = func(context.Context) {
				if h.interrupts.Load() == 3 {
					panic(sys.NewExitError(sys.ExitCodeDeadlineExceeded))
				}
			}
			_, err := h.instantiate(t, out).ExportedFunction(tt.fn).Call(context.Background(), 0)
			var exit *sys.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != sys.ExitCodeDeadlineExceeded {
				t.Fatalf("got %v, want the host function's exit error", err)
			}
		})
	}
}

// TestDispatchForwardJumpsAreFree measures the fuel that calls of the
// dispatch-shaped functions take: jumps forward by a constant take none,
// so every call of "forward" takes the same, its entry's charge, however
// many it makes; each jump of "computed", by a value the pass cannot
// know, takes a round of its loop.
func TestDispatchForwardJumpsAreFree(t *testing.T) {
	h := newHarness(t, wazero.NewRuntimeConfigCompiler())
	mod := h.instantiate(t, mustInstrument(t, readTestdata(t, "dispatch.wasm")))
	fuel := mod.ExportedGlobal(interrupt.FuelExport).(api.MutableGlobal)
	taken := func(fn string, params ...uint64) int64 {
		t.Helper()
		fuel.Set(interrupt.Fuel)
		if _, err := mod.ExportedFunction(fn).Call(context.Background(), params...); err != nil {
			t.Fatalf("%s%v: %v", fn, params, err)
		}
		return interrupt.Fuel - int64(int32(fuel.Get()))
	}
	entry := taken("forward", 3, 0) // block 3 at once: no jump
	if entry <= 0 {
		t.Fatalf("forward(3, 0) took %d fuel, want its entry's charge", entry)
	}
	for _, x := range []uint64{0, 1, 2, 3} { // 2 or 3 jumps forward
		if got := taken("forward", 0, x); got != entry {
			t.Errorf("forward(0, %d) took %d fuel, want %d, as without jumps", x, got, entry)
		}
	}
	c0, c1, c2 := taken("computed", 0, 0), taken("computed", 0, 1), taken("computed", 0, 2)
	if round := c1 - c0; round <= 0 || c2-c1 != round {
		t.Errorf("computed took %d, %d, %d fuel for 0, 2, 4 jumps: want it to grow by the same amount each time", c0, c1, c2)
	}
}

// TestStackBudget runs recursions without end under a small stack budget:
// they call the host, which ends them, leave the budget below zero, and go
// about as deep as the budget over their frame's estimate, which counts a
// frame's locals. Those of static.wasm recur through functions the bound
// leaves out, and through chains of calls that look like them.
func TestStackBudget(t *testing.T) {
	const budget = 1 << 20
	tests := []struct {
		module, fn string
		minFrame   int // bytes the estimate charges a frame at least
	}{
		{"stack.wasm", "down", 256},
		{"stack.wasm", "wide", 1000 * 16},
		{"stack.wasm", "spill", 400 * 8},
		{"static.wasm", "down", 256},
		{"static.wasm", "cycle", 3 * 256},
		{"static.wasm", "indirect", 256},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.module+"/"+tt.fn, func(t *testing.T) {
			out, err := interrupt.Instrument(readTestdata(t, tt.module), interrupt.Options{StackBytes: budget})
			if err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, wazero.NewRuntimeConfigCompiler())
			mod := h.instantiate(t, out)
			left := mod.ExportedGlobal(interrupt.StackExport)
			if got := int32(left.Get()); got != budget {
				t.Fatalf("the budget starts at %d, want %d", got, budget)
			}
			_, err = mod.ExportedFunction(tt.fn).Call(ctx, 1)
			if !errors.Is(err, errStackSpent) {
				t.Fatalf("got %v, want the budget's host function's error", err)
			}
			if got := int32(left.Get()); got >= 0 {
				t.Errorf("the budget is %d after its trap, want it below zero", got)
			}
			depth := int32(mod.ExportedGlobal("depth").Get())
			if max := int32(budget / tt.minFrame); depth < 1 || depth > max {
				t.Errorf("%d frames deep, want 1 to %d", depth, max)
			}
		})
	}
}

// TestFrameEstimateCoversWazero recurses without end under the largest
// budget, so that wazero's own bound ends the recursion: its stack is then
// over 42 MB (it doubles a stack of over 50,000,000 bytes no more), which
// the frames' estimates must cover. On amd64 they cover it six to eight
// times: a frame of down is 55 bytes, estimated 340; one of spill, which
// keeps 400 values across its call, is 1,430 bytes, estimated 11,272.
func TestFrameEstimateCoversWazero(t *testing.T) {
	if testing.Short() {
		t.Skip("grows wazero's stack to its bound, some 130 MB of heap")
	}
	const wazeroStack = 42 << 20
	out, err := interrupt.Instrument(readTestdata(t, "stack.wasm"), interrupt.Options{StackBytes: interrupt.MaxStackBytes})
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"down", "spill"} {
		t.Run(fn, func(t *testing.T) {
			h := newHarness(t, wazero.NewRuntimeConfigCompiler())
			mod := h.instantiate(t, out)
			_, err := mod.ExportedFunction(fn).Call(context.Background(), 1)
			if err == nil || !strings.Contains(err.Error(), "stack overflow") {
				t.Fatalf("got %v, want wazero's stack overflow", err)
			}
			charged := int64(interrupt.MaxStackBytes) - int64(int32(mod.ExportedGlobal(interrupt.StackExport).Get()))
			depth := int64(mod.ExportedGlobal("depth").Get())
			if charged < wazeroStack {
				t.Errorf("%d frames charged %d bytes (%d each), less than wazero's stack of over %d", depth, charged, charged/depth, wazeroStack)
			}
		})
	}
}

// TestStackBudgetGivenBack leaves functions by every way there is, several
// frames deep: each gives its frame back, so the budget is whole after.
func TestStackBudgetGivenBack(t *testing.T) {
	out := mustInstrument(t, readTestdata(t, "stack.wasm"))
	h := newHarness(t, wazero.NewRuntimeConfigCompiler())
	mod := h.instantiate(t, out)
	left := mod.ExportedGlobal(interrupt.StackExport)
	for _, fn := range []string{"ret", "br", "br_if", "br_table", "tail", "tail_indirect", "pair", "fall"} {
		t.Run(fn, func(t *testing.T) {
			for _, n := range []uint64{0, 5} {
				got, err := mod.ExportedFunction(fn).Call(context.Background(), n)
				if err != nil {
					t.Fatalf("%s(%d): %v", fn, n, err)
				}
				if want := n; fn == "tail" || fn == "tail_indirect" {
					want = 0
					if got[0] != want {
						t.Errorf("%s(%d) = %d, want %d", fn, n, got[0], want)
					}
				} else if got[0] != want {
					t.Errorf("%s(%d) = %d, want %d", fn, n, got[0], want)
				}
				if got := int32(left.Get()); got != interrupt.DefaultStackBytes {
					t.Errorf("after %s(%d) the budget is %d, want %d", fn, n, got, interrupt.DefaultStackBytes)
				}
			}
		})
	}
}

// TestStackBudgetGiven has the host give the budget more, once, when a
// recursion spends it, as the daemon does for calls that go deep: the
// function the host was called from, and those it calls, run on, each
// leaving the way it does (return, branch, falling off its end), and the budget is
// what it started from and the host's gift after.
func TestStackBudgetGiven(t *testing.T) {
	const budget, gift = 4 << 10, 1 << 20
	out, err := interrupt.Instrument(readTestdata(t, "stack.wasm"), interrupt.Options{StackBytes: budget})
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"ret", "br", "br_if", "br_table", "fall"} { // "tail" does not go deep
		t.Run(fn, func(t *testing.T) {
			h := newHarness(t, wazero.NewRuntimeConfigCompiler())
			calls := 0
			h.onStack = func(mod api.Module) {
				if calls++; calls > 1 {
					panic(errStackSpent)
				}
				g := mod.ExportedGlobal(interrupt.StackExport).(api.MutableGlobal)
				if left := int32(g.Get()); left >= 0 {
					t.Errorf("the host is called with %d left, want below zero", left)
				}
				g.Set(uint64(uint32(int32(g.Get()) + gift)))
			}
			mod := h.instantiate(t, out)
			const n = 100 // frames of over 256 bytes: more than the budget
			got, err := mod.ExportedFunction(fn).Call(context.Background(), n)
			if err != nil {
				t.Fatalf("%s(%d): %v", fn, n, err)
			}
			if want := uint64(n); got[0] != want {
				t.Errorf("%s(%d) = %d, want %d", fn, n, got[0], want)
			}
			if calls != 1 {
				t.Errorf("the host was called %d times, want once", calls)
			}
			if left := int32(mod.ExportedGlobal(interrupt.StackExport).Get()); left != budget+gift {
				t.Errorf("the budget is %d after the call, want %d", left, budget+gift)
			}
		})
	}
}

// TestStackOptions checks the bounds of Options.StackBytes.
func TestStackOptions(t *testing.T) {
	bin := readTestdata(t, "empty.wasm")
	for _, tt := range []struct {
		bytes int
		ok    bool
	}{{-1, false}, {0, true}, {1, true}, {interrupt.MaxStackBytes, true}, {interrupt.MaxStackBytes + 1, false}} {
		if _, err := interrupt.Instrument(bin, interrupt.Options{StackBytes: tt.bytes}); (err == nil) != tt.ok {
			t.Errorf("StackBytes %d: %v, want ok %v", tt.bytes, err, tt.ok)
		}
	}
}

// TestInstrumentRefuses covers what the pass will not rewrite.
func TestInstrumentRefuses(t *testing.T) {
	features := readTestdata(t, "features.wasm")
	tests := []struct {
		name string
		bin  []byte
		want error
	}{
		{"reserved import", readTestdata(t, "reservedimport.wasm"), interrupt.ErrReserved},
		{"reserved export", readTestdata(t, "reservedexport.wasm"), interrupt.ErrReserved},
		{"atomic instruction", readTestdata(t, "threads.wasm"), interrupt.ErrUnsupported},
		{"not WebAssembly", []byte("\x7fELF\x02\x01\x01\x00"), interrupt.ErrUnsupported},
		{"empty", nil, interrupt.ErrUnsupported},
		{"truncated", features[:len(features)/2], interrupt.ErrUnsupported},
		{"unknown section", append(slices.Clone(readTestdata(t, "empty.wasm")), 14, 0), interrupt.ErrUnsupported},
		{"sections out of order", append(slices.Clone(readTestdata(t, "empty.wasm")), 3, 1, 0, 1, 1, 0), interrupt.ErrUnsupported},
		{"instrumented already", mustInstrument(t, features), interrupt.ErrReserved},
		{"stack budget exported", readTestdata(t, "reservedstack.wasm"), interrupt.ErrReserved},
		{"global out of range", readTestdata(t, "globalrange.wasm"), interrupt.ErrUnsupported},
		{"label out of range", readTestdata(t, "labelrange.wasm"), interrupt.ErrUnsupported},
		{"br_table label out of range", readTestdata(t, "tablerange.wasm"), interrupt.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := interrupt.Instrument(tt.bin, interrupt.Options{})
			if !errors.Is(err, tt.want) || out != nil {
				t.Errorf("got %d bytes, %v; want %v", len(out), err, tt.want)
			}
		})
	}
}

// TestInstrumentEmpty checks that a module without the sections the pass
// extends gets them, in order.
func TestInstrumentEmpty(t *testing.T) {
	h := newHarness(t, wazero.NewRuntimeConfigCompiler())
	mod := h.instantiate(t, mustInstrument(t, readTestdata(t, "empty.wasm")))
	if _, ok := mod.ExportedGlobal(interrupt.FuelExport).(api.MutableGlobal); !ok {
		t.Errorf("no mutable global exported as %q", interrupt.FuelExport)
	}
}

func mustInstrument(t testing.TB, bin []byte) []byte {
	t.Helper()
	out, err := interrupt.Instrument(bin, interrupt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzInstrument checks that Instrument never panics, and that whatever
// wazero accepts it either refuses or turns into a module wazero accepts
// too, which it would refuse to instrument again.
func FuzzInstrument(f *testing.F) {
	for _, dir := range []string{"testdata", "../testdata", "../../wasmpool/testdata"} {
		seeds, _ := filepath.Glob(filepath.Join(dir, "*.wasm"))
		for _, s := range seeds {
			b, err := os.ReadFile(s)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	// The interpreter validates as the compiler does, without compiling.
	h := newHarness(f, wazero.NewRuntimeConfigInterpreter())
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := interrupt.Instrument(bin, interrupt.Options{})
		if err != nil {
			if out != nil {
				t.Fatalf("output with error %v", err)
			}
			if !errors.Is(err, interrupt.ErrUnsupported) && !errors.Is(err, interrupt.ErrReserved) {
				t.Fatalf("error %v is neither ErrUnsupported nor ErrReserved", err)
			}
			return
		}
		if _, err := interrupt.Instrument(out, interrupt.Options{}); !errors.Is(err, interrupt.ErrReserved) {
			t.Fatalf("instrumenting twice: %v, want ErrReserved", err)
		}
		if !compiles(ctx, h.rt, bin) {
			return // wazero refuses the input: nothing is asked of the output
		}
		c, err := h.rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero accepts the module but not its instrumented form: %v", err)
		}
		c.Close(ctx)
	})
}

// BenchmarkInstrumentArticle instruments the bundled article module, a Go
// program of 7 MB, which the daemon does at every start (make wasm builds
// it).
func BenchmarkInstrumentArticle(b *testing.B) {
	bin, err := os.ReadFile(filepath.Join("..", "bundled", "article.wasm"))
	if err != nil {
		b.Skipf("no bundled module (make wasm): %v", err)
	}
	b.SetBytes(int64(len(bin)))
	for b.Loop() {
		if _, err := interrupt.Instrument(bin, interrupt.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVersion pins what Instrument writes for the test modules under
// Version: outputs kept beside the daemon's compilation cache are named by
// it, so a change to the output must come with a new Version.
func TestVersion(t *testing.T) {
	const (
		version = 7
		digest  = "07d1fed7a8e07a176c52a368507eed738074193e89de95e059aa4789f9213f15"
	)
	sum := sha256.New()
	for _, name := range []string{"empty.wasm", "env.wasm", "features.wasm", "forever.wasm", "tailcall.wasm", "stack.wasm", "dispatch.wasm", "static.wasm", "loops.wasm"} {
		sum.Write(mustInstrument(t, readTestdata(t, name)))
	}
	if got := hex.EncodeToString(sum.Sum(nil)); interrupt.Version != version || got != digest {
		t.Errorf("Instrument's output has digest %s under Version %d, pinned %s under %d: if the output changed, bump Version and pin both here", got, interrupt.Version, digest, version)
	}
}

// compiles reports whether wazero compiles bin. Its validator panics on
// some malformed modules (see TestLoadRefusesNonConformingModules in
// package wasm, which guards against it): that is a refusal too.
func compiles(ctx context.Context, rt wazero.Runtime, bin []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	c, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return false
	}
	c.Close(ctx)
	return true
}

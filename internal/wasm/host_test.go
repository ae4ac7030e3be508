package wasm_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riptidecrawler/riptide-poold/internal/article"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
)

func TestLoadRefusesNonConformingModules(t *testing.T) {
	checkGoroutines(t)
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Second})
	tests := []struct {
		name string
		wasm []byte
		want string // in the error message
	}{
		{"noexport", readTestdata(t, "noexport"), `missing export "riptide_extract" (func(i32, i32, i32, i32) i64)`},
		{"badversion", readTestdata(t, "badversion"), "riptide_abi_version returned 2: this host speaks version 1"},
		{"badimport", readTestdata(t, "badimport"), "imports env.fetch: only wasi_snapshot_preview1 is provided"},
		{"badtree", readTestdata(t, "badtree"), `export "riptide_extract_tree" is func(i32, i32) i64, want func(i32, i32, i32, i32) i64`},
		{"tablebig", readTestdata(t, "tablebig"), "table 0 starts with 134217728 entries, over the limit of 65536"},
		{"garbage", []byte("\x00asm but not really"), "not a valid WebAssembly module"},
		// A call of a function whose type index is out of range: wazero
		// v1.12.0's validator indexes its type section with it and
		// panics (found by FuzzInstrument).
		{"wazeropanic", []byte("\x00asm\x01\x00\x00\x00" +
			"\x01\x04\x01\x60\x00\x00" + // types: () -> ()
			"\x03\x03\x02\x00\x30" + // functions: of types 0 and 48
			"\x0a\x09\x02\x04\x00\x10\x01\x0b\x02\x00\x0b"), // code: call 1; nothing
			"the compiler failed on it"},
		{"reservedimport", []byte("\x00asm\x01\x00\x00\x00" +
			"\x01\x04\x01\x60\x00\x00" +
			"\x02\x18\x01\x0criptide_host\x09interrupt\x00\x00"),
			`imports from module "riptide_host"`},
		{"empty", nil, "not a valid WebAssembly module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := rt.Load(context.Background(), tt.name, tt.wasm, wasm.ModuleOptions{})
			var abi *wasm.ABIError
			if !errors.As(err, &abi) {
				t.Fatalf("Load = %v, %v; want an *ABIError", m, err)
			}
			if abi.Module != tt.name || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %q; want module %q and %q", err, tt.name, tt.want)
			}
		})
	}
}

func TestLoadReadsVersionAndModes(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{})
	m := load(t, rt, "echo", wasm.ModuleOptions{})
	if m.Name() != "echo" || m.ABIVersion() != 1 || !equal(m.Modes(), []string{"test"}) || m.Trusted() || m.TakesTree() {
		t.Errorf("module = %q v%d modes %q trusted %v takes tree %v; want echo v1 [test] untrusted, HTML", m.Name(), m.ABIVersion(), m.Modes(), m.Trusted(), m.TakesTree())
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// TestHostileModulesAreContained runs each hostile module next to a healthy
// one and checks that the failure is reported as it should be, that the
// instance is then unusable, and that nothing else is affected.
func TestHostileModulesAreContained(t *testing.T) {
	tests := []struct {
		module  string
		trusted bool
		check   func(error) bool
		want    string
	}{
		{"loop", false, isErr(wasm.ErrTimeout), "ErrTimeout"},
		{"loop", true, isErr(wasm.ErrTimeout), "ErrTimeout"},
		{"recurse", false, isErr(wasm.ErrTimeout), "ErrTimeout"},
		{"recurse", true, isErr(wasm.ErrTimeout), "ErrTimeout"},
		{"nest", false, isErr(wasm.ErrTimeout), "ErrTimeout"},
		{"nest", true, isErr(wasm.ErrTimeout), "ErrTimeout"},
		{"bomb", false, isErr(wasm.ErrOutOfMemory), "ErrOutOfMemory"},
		{"bomb", true, isErr(wasm.ErrOutOfMemory), "ErrOutOfMemory"},
		{"trap", false, isErr(wasm.ErrTrap), "ErrTrap"},
		{"trap", true, isErr(wasm.ErrTrap), "ErrTrap"},
		{"exit", false, isErr(wasm.ErrTrap), "ErrTrap"},
		{"oob", false, isABIError, "*ABIError"},
		{"oob", true, isABIError, "*ABIError"},
	}
	for _, tt := range tests {
		name := tt.module
		if tt.trusted {
			name += "/trusted"
		}
		t.Run(name, func(t *testing.T) {
			checkGoroutines(t)
			// Long enough for the others on a busy machine: only the
			// modules that never return need it.
			timeout := 10 * time.Second
			if tt.module == "loop" || tt.module == "recurse" || tt.module == "nest" {
				timeout = 100 * time.Millisecond
			}
			rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: timeout, InstanceMemoryLimitMB: 4})
			ctx := context.Background()
			hostile := load(t, rt, tt.module, wasm.ModuleOptions{Trusted: tt.trusted})
			healthy := load(t, rt, "echo", wasm.ModuleOptions{})
			bystander := newInstance(t, healthy)
			sibling := newInstance(t, hostile)

			victim := newInstance(t, hostile)
			if !victim.IsHealthy(ctx) {
				t.Fatal("a new instance is not healthy")
			}
			_, err := victim.Extract(ctx, wasm.Request{HTML: "<p>x</p>"})
			if !tt.check(err) {
				t.Fatalf("Extract error = %v; want %s", err, tt.want)
			}
			t.Logf("Extract: %v", err)
			if victim.IsHealthy(ctx) {
				t.Error("the instance is healthy after the failure")
			}
			if _, err := victim.Extract(ctx, wasm.Request{HTML: "<p>x</p>"}); !errors.Is(err, wasm.ErrUnusable) {
				t.Errorf("second Extract error = %v; want ErrUnusable", err)
			}
			if err := victim.Reset(ctx); !errors.Is(err, wasm.ErrUnusable) {
				t.Errorf("Reset error = %v; want ErrUnusable", err)
			}
			if err := victim.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}

			// The module still makes instances, the others still work.
			if !sibling.IsHealthy(ctx) {
				t.Error("another instance of the module is unhealthy")
			}
			replacement := newInstance(t, hostile)
			if !replacement.IsHealthy(ctx) {
				t.Error("a replacement instance is unhealthy")
			}
			got, err := bystander.Extract(ctx, wasm.Request{HTML: `{"ok":{"fine":true}}`})
			if err != nil || asJSON(got) != `{"fine":true}` {
				t.Errorf("the healthy module's Extract = %s, %v", got, err)
			}
		})
	}
}

// TestHousekeepingIsBounded runs modules whose calls between extractions
// misbehave: they are refused at load, or fail within the housekeeping
// timeout and leave their instance unusable.
func TestHousekeepingIsBounded(t *testing.T) {
	checkGoroutines(t)
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 10 * time.Second, HousekeepingTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	for _, tt := range []struct {
		module string
		want   error
	}{
		{"unhealthy", wasm.ErrUnhealthy},
		{"hanghealth", wasm.ErrTimeout},
	} {
		t.Run(tt.module, func(t *testing.T) {
			if m, err := rt.Load(ctx, tt.module, readTestdata(t, tt.module), wasm.ModuleOptions{}); !errors.Is(err, tt.want) {
				t.Fatalf("Load = %v, %v; want %v", m, err, tt.want)
			}
		})
	}
	t.Run("hangreset", func(t *testing.T) {
		i := newInstance(t, load(t, rt, "hangreset", wasm.ModuleOptions{}))
		if _, err := i.Extract(ctx, wasm.Request{HTML: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := i.Reset(ctx); !errors.Is(err, wasm.ErrTimeout) {
			t.Fatalf("Reset = %v; want ErrTimeout", err)
		}
		if i.IsHealthy(ctx) {
			t.Error("healthy after a reset that overran")
		}
	})
	t.Run("tablegrow", func(t *testing.T) {
		m := load(t, rt, "tablegrow", wasm.ModuleOptions{})
		i := newInstance(t, m)
		for range 3 { // each call asks for 2^25 more entries, and is refused
			if _, err := i.Extract(ctx, wasm.Request{HTML: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		// Its linear memory (a few pages), its table's bound and its
		// stack allowance.
		if got := i.MemoryBytes() - m.StackAllowanceBytes(); got < wasm.MaxTableEntries*8+64<<10 || got > wasm.MaxTableEntries*8+1<<20 {
			t.Errorf("MemoryBytes = %d, want a few pages more than the table's bound of %d", got, wasm.MaxTableEntries*8)
		}
	})
}

// TestStackIsBounded runs modules that recurse without end, with small
// frames (stack) and large ones (stackwide), a new instance for each call:
// every call fails with ErrStackLimit, and the host's heap pays for a
// bounded stack. wazero's own bound, which a module it checks itself
// still runs into, doubles a call's stack on the heap up to some 84 MB
// first: 168 MB allocated per call, over 1 GB live with 8 at once.
//
// Under the default bound (64 MiB of estimated frames, what the article
// module needs on the deepest documents twice over) a call allocates at
// most 48 MB (42.5 measured), under a bound of 8 MiB at most 8 MB (5.4),
// with 8 callers at once. What a call allocates bounds what it holds, so
// 8 callers hold less than 64 MB at once. The heap's growth itself depends
// on when the collector runs, and is only logged.
func TestStackIsBounded(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		maxStackKB int
		callers    int
		perCall    uint64 // bytes allocated per call, at most
	}{
		{"default", 0, 1, 48 << 20},
		{"8 MiB, 8 callers", 8 << 10, 8, 8 << 20},
	}
	for _, tt := range tests {
		rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 20 * time.Second, MaxStackKB: tt.maxStackKB})
		for _, module := range []string{"stack", "stackwide"} {
			t.Run(tt.name+"/"+module, func(t *testing.T) {
				const calls = 4
				m := load(t, rt, module, wasm.ModuleOptions{})
				if want := uint64(cmp.Or(tt.maxStackKB, wasm.DefaultMaxStackKB)) << 10; m.StackLimitBytes() != want {
					t.Errorf("StackLimitBytes = %d, want %d", m.StackLimitBytes(), want)
				}
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				errs := make(chan error, tt.callers*calls)
				var wg sync.WaitGroup
				for range tt.callers {
					wg.Go(func() {
						for range calls {
							i, err := m.NewInstance(ctx)
							if err == nil {
								_, err = i.Extract(ctx, wasm.Request{HTML: "x"})
								i.Close()
							}
							errs <- err
						}
					})
				}
				wg.Wait()
				runtime.ReadMemStats(&after)
				close(errs)
				for err := range errs {
					if !errors.Is(err, wasm.ErrStackLimit) || !errors.Is(err, wasm.ErrTrap) || !strings.Contains(err.Error(), "WASM_MAX_STACK_KB") {
						t.Fatalf("Extract = %v; want ErrTrap, ErrStackLimit", err)
					}
				}
				allocated := (after.TotalAlloc - before.TotalAlloc) / uint64(tt.callers*calls)
				grown := int64(after.HeapSys) - int64(before.HeapSys)
				t.Logf("%d calls by %d callers: %.1f MB allocated per call; the heap grew by %.1f MB",
					tt.callers*calls, tt.callers, float64(allocated)/1e6, float64(grown)/1e6)
				if allocated > tt.perCall {
					t.Errorf("%d bytes allocated per call, want at most %d", allocated, tt.perCall)
				}
			})
		}
	}
	t.Run("not instrumented", func(t *testing.T) {
		rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 20 * time.Second})
		i := newInstance(t, load(t, rt, "stack", wasm.WazeroChecked(wasm.ModuleOptions{})))
		if _, err := i.Extract(ctx, wasm.Request{HTML: "x"}); !errors.Is(err, wasm.ErrTrap) || errors.Is(err, wasm.ErrStackLimit) || !strings.Contains(err.Error(), "stack overflow") {
			t.Fatalf("Extract = %v; want ErrTrap, wazero's stack overflow", err)
		}
	})
}

// TestDeepCallsDropTheirStack recurses as deep as the document is long.
// A call that goes past the bound's first 2 MiB (50,000 frames: 17 MiB
// estimated, some 2.7 MB of wazero's stack) succeeds, and the stack wazero
// grew for it is dropped after it: the same call again grows it again, so
// allocates as much. A shallow call keeps its small stack: the same call
// again allocates next to nothing. Deeper than the bound fails.
func TestDeepCallsDropTheirStack(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 20 * time.Second})
	i := newInstance(t, load(t, rt, "deep", wasm.ModuleOptions{}))
	allocated := func(depth int) uint64 {
		t.Helper()
		doc := strings.Repeat("x", depth)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := i.Extract(ctx, wasm.Request{HTML: doc}); err != nil {
			t.Fatalf("Extract %d deep: %v", depth, err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	for _, tt := range []struct {
		depth   int
		dropped bool
	}{
		{5000, false},
		{50000, true},
	} {
		first, second := allocated(tt.depth), allocated(tt.depth)
		t.Logf("%d deep: %d bytes allocated, then %d", tt.depth, first, second)
		if dropped := second > first/2; dropped != tt.dropped {
			t.Errorf("%d deep: %d bytes allocated, then %d: stack dropped %v, want %v", tt.depth, first, second, dropped, tt.dropped)
		}
	}
	if _, err := i.Extract(ctx, wasm.Request{HTML: strings.Repeat("x", 300000)}); !errors.Is(err, wasm.ErrStackLimit) {
		t.Errorf("Extract 300,000 deep: %v, want ErrStackLimit", err)
	}
}

// TestStackLimitConfig runs the bundled article module under half the
// default stack bound on a page of lists 504 elements deep (the host
// refuses deeper ones), the deepest recursion of the module found (24 to 32
// MiB of estimated frames): it passes; and a much smaller bound fails the
// module's load, whose runtime initialization needs 1.5 to 1.65 MiB.
func TestStackLimitConfig(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: time.Minute, MaxStackKB: wasm.DefaultMaxStackKB / 2})
	i := newInstance(t, loadArticle(t, rt, false))
	page := "<html><body>" + strings.Repeat("<ul><li>", 252) + "<p>" + lorem + "</p>" + strings.Repeat("</li></ul>", 252) + "</body></html>"
	if _, err := i.Extract(ctx, wasm.Request{HTML: page, Mode: article.ModeArticle}); err != nil {
		t.Fatalf("Extract of a page 504 elements deep: %v", err)
	}
	small := newRuntime(t, wasm.RuntimeConfig{MaxStackKB: 256})
	if _, err := small.Load(ctx, "article", readArticle(t), wasm.ModuleOptions{}); !errors.Is(err, wasm.ErrStackLimit) {
		t.Errorf("Load under a 256 KiB stack bound = %v; want ErrStackLimit", err)
	}
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func isABIError(err error) bool {
	var abi *wasm.ABIError
	return errors.As(err, &abi)
}

// TestEnvelope drives the echo module, whose result is the document, through
// the result envelopes a guest may return.
func TestEnvelope(t *testing.T) {
	checkGoroutines(t)
	rt := newRuntime(t, wasm.RuntimeConfig{MaxResultBytes: 32000})
	m := load(t, rt, "echo", wasm.ModuleOptions{})
	tests := []struct {
		name, result string
		want         string // the result on success
		wantErr      func(error) bool
		fatal        bool // the instance is unusable after it
	}{
		{name: "ok", result: `{"ok":{"title":"T","n":[1,2]}}`, want: `{"n":[1,2],"title":"T"}`},
		{name: "ok with spaces", result: "{\n \"ok\" : { \"a\" : 1 } \n}\n", want: `{"a":1}`},
		{name: "ok then newline", result: "{\"ok\":{\"a\":1}\n}", want: `{"a":1}`},
		{name: "guest error", result: `{"error":{"code":"INVALID_ARGUMENT","message":"unknown mode \"x\""}}`, wantErr: isGuestError(wasm.CodeInvalidArgument, `unknown mode "x"`)},
		{name: "guest internal error", result: `{"error":{"code":"INTERNAL","message":"boom"}}`, wantErr: isGuestError(wasm.CodeInternal, "boom")},
		{name: "too large", result: `{"ok":{"s":"` + strings.Repeat("x", 32000) + `"}}`, wantErr: isErr(wasm.ErrResultTooLarge)},
		{name: "not JSON", result: `{"ok":{`, wantErr: isABIError, fatal: true},
		{name: "ok not an object", result: `{"ok":[1]}`, wantErr: isABIError, fatal: true},
		{name: "ok null", result: `{"ok":null}`, wantErr: isABIError, fatal: true},
		{name: "two keys", result: `{"ok":{},"x":1}`, want: `{}`},
		{name: "ok and error", result: `{"ok":{},"error":{"code":"X"}}`, wantErr: isABIError, fatal: true},
		{name: "neither", result: `{"okay":{}}`, wantErr: isABIError, fatal: true},
		{name: "error without code", result: `{"error":{"message":"m"}}`, wantErr: isABIError, fatal: true},
		{name: "trailing garbage", result: `{"ok":{}}x`, wantErr: isABIError, fatal: true},
		// Results the host cannot convert break the ABI.
		{name: "invalid UTF-8", result: "{\"ok\":{\"a\":\"\xff\"}}", wantErr: isABIError, fatal: true},
		{name: "duplicate key", result: `{"ok":{"a":1,"a":2}}`, wantErr: isABIError, fatal: true},
		{name: "nested duplicate key", result: `{"ok":{"a":[{"b":1,"b":1}]}}`, wantErr: isABIError, fatal: true},
		{name: "two oks", result: `{"ok":{},"ok":{}}`, wantErr: isABIError, fatal: true},
		{name: "number out of range", result: `{"ok":{"a":1e999}}`, wantErr: isABIError, fatal: true},
		{name: "error code not a string", result: `{"error":{"code":1}}`, wantErr: isABIError, fatal: true},
		// Results over a bound are refused; the guest broke no rule.
		{name: "deepest allowed", result: `{"ok":{"a":` + strings.Repeat("[", wasm.MaxResultDepth-1) + strings.Repeat("]", wasm.MaxResultDepth-1) + `}}`,
			want: `{"a":` + strings.Repeat("[", wasm.MaxResultDepth-1) + strings.Repeat("]", wasm.MaxResultDepth-1) + `}`},
		{name: "too deep", result: `{"ok":{"a":` + strings.Repeat("[", wasm.MaxResultDepth) + strings.Repeat("]", wasm.MaxResultDepth) + `}}`, wantErr: isErr(wasm.ErrResultTooDeep)},
		{name: "too deep objects", result: `{"ok":` + strings.Repeat(`{"a":`, wasm.MaxResultDepth) + "{}" + strings.Repeat("}", wasm.MaxResultDepth) + `}`, wantErr: isErr(wasm.ErrResultTooDeep)},
		// 800 bytes of JSON, 400 values: over 32000 bytes once converted.
		{name: "converted too large", result: `{"ok":{"a":[` + strings.Repeat("1,", 399) + `1]}}`, wantErr: isErr(wasm.ErrResultTooLarge)},
		{name: "error message not UTF-8", result: "{\"error\":{\"code\":\"INTERNAL\",\"message\":\"caf\xc3\"}}", wantErr: isABIError, fatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			i := newInstance(t, m)
			got, err := i.Extract(ctx, wasm.Request{HTML: tt.result})
			switch {
			case tt.wantErr == nil && (err != nil || asJSON(got) != tt.want):
				t.Fatalf("Extract = %s, %v; want %s", asJSON(got), err, tt.want)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Fatalf("Extract error = %v", err)
			}
			if healthy := i.IsHealthy(ctx); healthy == tt.fatal {
				t.Errorf("IsHealthy = %v after %v", healthy, err)
			}
		})
	}
}

// TestGuestText checks that what a guest writes reaches the caller as valid
// UTF-8 of at most MaxGuestTextBytes: its error message (here 1 MiB) and
// the excerpt of its standard error (a panic message cut mid-character).
func TestGuestText(t *testing.T) {
	checkGoroutines(t)
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 10 * time.Second})
	ctx := context.Background()
	t.Run("error message", func(t *testing.T) {
		i := newInstance(t, load(t, rt, "echo", wasm.ModuleOptions{}))
		doc := `{"error":{"code":"` + strings.Repeat("C", 1000) + `","message":"` + strings.Repeat("é", 1<<19) + `"}}`
		_, err := i.Extract(ctx, wasm.Request{HTML: doc})
		var g *wasm.GuestError
		if !errors.As(err, &g) {
			t.Fatalf("Extract error = %v; want a *GuestError", err)
		}
		if !utf8.ValidString(g.Message) || len(g.Message) > wasm.MaxGuestTextBytes || !strings.HasSuffix(g.Message, "é…") {
			t.Errorf("message of %d bytes, valid %v, ending %q", len(g.Message), utf8.ValidString(g.Message), g.Message[max(len(g.Message)-8, 0):])
		}
		if len(g.Code) > 64 {
			t.Errorf("code of %d bytes", len(g.Code))
		}
		if !i.IsHealthy(ctx) {
			t.Error("an error envelope cost the instance")
		}
	})
	t.Run("stderr", func(t *testing.T) {
		i := newInstance(t, load(t, rt, "stderr", wasm.ModuleOptions{}))
		_, err := i.Extract(ctx, wasm.Request{HTML: "x"})
		if !errors.Is(err, wasm.ErrTrap) {
			t.Fatalf("Extract error = %v; want ErrTrap", err)
		}
		msg := err.Error()
		if !utf8.ValidString(msg) || len(msg) > wasm.MaxGuestTextBytes+512 || !strings.Contains(msg, "panic: ") {
			t.Errorf("error of %d bytes, valid UTF-8 %v: %.200q", len(msg), utf8.ValidString(msg), msg)
		}
	})
}

func isGuestError(code, message string) func(error) bool {
	return func(err error) bool {
		var g *wasm.GuestError
		return errors.As(err, &g) && g.Code == code && g.Message == message && g.Module == "echo"
	}
}

func TestResultIsACopy(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{})
	i := newInstance(t, load(t, rt, "echo", wasm.ModuleOptions{}))
	ctx := context.Background()
	first, err := i.Extract(ctx, wasm.Request{HTML: `{"ok":{"a":"first"}}`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := i.Extract(ctx, wasm.Request{HTML: `{"ok":{"a":"other"}}`}); err != nil {
		t.Fatal(err)
	}
	if asJSON(first) != `{"a":"first"}` {
		t.Errorf("the first result changed to %s", asJSON(first))
	}
}

// TestTimeouts runs a guest that overruns its deadline but ends by itself:
// trusted or not, it is stopped at its deadline.
func TestTimeouts(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		for _, cancel := range []bool{false, true} {
			name := map[bool]string{false: "untrusted", true: "trusted"}[trusted] + map[bool]string{false: "/deadline", true: "/canceled"}[cancel]
			t.Run(name, func(t *testing.T) {
				checkGoroutines(t)
				// The guest's long call below takes about 0.3 s when it is
				// not stopped; the deadline must fall well inside it.
				rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 80 * time.Millisecond})
				i := newInstance(t, load(t, rt, "slow", wasm.ModuleOptions{Trusted: trusted}))
				ctx := context.Background()
				if got, err := i.Extract(ctx, wasm.Request{}); err != nil || asJSON(got) != "{}" {
					t.Fatalf("a short call = %s, %v", got, err)
				}
				want, wantCtx := wasm.ErrTimeout, context.DeadlineExceeded
				if cancel {
					// No ExtractTimeout: only the caller ends the call.
					rt = newRuntime(t, wasm.RuntimeConfig{})
					i = newInstance(t, load(t, rt, "slow", wasm.ModuleOptions{Trusted: trusted}))
					var stop context.CancelFunc
					ctx, stop = context.WithCancel(ctx)
					time.AfterFunc(80*time.Millisecond, stop)
					want, wantCtx = wasm.ErrCanceled, context.Canceled
				}
				// 2^30 iterations (0.3-0.9 s uninterrupted): long past
				// the deadline.
				_, err := i.Extract(ctx, wasm.Request{HTML: strings.Repeat("x", 1024)})
				if !errors.Is(err, want) || !errors.Is(err, wantCtx) {
					t.Fatalf("Extract error = %v; want %v and %v", err, want, wantCtx)
				}
				if i.IsHealthy(context.Background()) {
					t.Error("healthy after a timeout")
				}
				if err := i.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
	}
}

// TestCollectionDuringEndlessCall runs guests that never return (a loop,
// exponential recursion, a loop through a br_table and if nest), trusted and
// not, and collects garbage meanwhile. Go cannot preempt a goroutine running
// wazero's machine code, so a collection waits for the guest to come back
// to Go: the interruption checks do, often, and the collection must end
// while the call is still running (done not yet closed). The call then ends
// at its deadline, and the runtime closes at once: no call runs on.
func TestCollectionDuringEndlessCall(t *testing.T) {
	for _, module := range []string{"loop", "recurse", "nest"} {
		for _, trusted := range []bool{false, true} {
			t.Run(module+map[bool]string{false: "", true: "/trusted"}[trusted], func(t *testing.T) {
				checkGoroutines(t)
				// A deadline far enough that the collection below has
				// every chance to finish first if it can finish at all.
				rt, err := wasm.NewRuntime(context.Background(), wasm.RuntimeConfig{CompilationCacheDir: compilationCache, ExtractTimeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				i := newInstance(t, load(t, rt, module, wasm.ModuleOptions{Trusted: trusted}))
				done := make(chan error, 1)
				go func() {
					_, err := i.Extract(context.Background(), wasm.Request{HTML: "<p>x</p>"})
					done <- err
				}()
				// Let the guest start; a collection before it does
				// proves nothing but cannot fail the test either.
				time.Sleep(200 * time.Millisecond)
				runtime.GC()
				select {
				case err := <-done:
					t.Fatalf("the call ended (%v) before the collection did: the collection waited for the guest", err)
				default:
				}
				if err := <-done; !errors.Is(err, wasm.ErrTimeout) {
					t.Fatalf("Extract error = %v; want ErrTimeout", err)
				}
				i.Close()
				ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
				defer stop()
				if err := rt.Close(ctx); err != nil {
					t.Fatalf("Runtime.Close: %v", err)
				}
			})
		}
	}
}

func TestConcurrentInstances(t *testing.T) {
	checkGoroutines(t)
	rt := newRuntime(t, wasm.RuntimeConfig{ExtractTimeout: 5 * time.Second})
	m := load(t, rt, "echo", wasm.ModuleOptions{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			i, err := m.NewInstance(context.Background())
			if err != nil {
				errs <- err
				return
			}
			defer i.Close()
			for n := range 50 {
				doc := `{"ok":{"g":` + itoa(g) + `,"n":` + itoa(n) + `}}`
				got, err := i.Extract(context.Background(), wasm.Request{HTML: doc})
				if err != nil || !strings.Contains(doc, asJSON(got)) {
					errs <- errors.Join(err, errors.New("got "+asJSON(got)))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestInstanceServesOneCallerAtATime(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{})
	i := newInstance(t, load(t, rt, "slow", wasm.ModuleOptions{}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for { // the quick calls below may hold the instance at first
			_, err := i.Extract(ctx, wasm.Request{HTML: strings.Repeat("x", 1<<12)})
			if !errors.Is(err, wasm.ErrBusy) {
				done <- err
				return
			}
		}
	}()
	// Quick calls (an empty document is no work for slow) succeed until the
	// slow one holds the instance.
	for {
		_, err := i.Extract(context.Background(), wasm.Request{})
		if errors.Is(err, wasm.ErrBusy) {
			break
		}
		if err != nil {
			t.Fatalf("quick Extract: %v", err)
		}
		select {
		case err := <-done:
			t.Fatalf("the slow Extract returned: %v", err)
		default:
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, wasm.ErrCanceled) {
		t.Errorf("slow Extract error = %v; want ErrCanceled", err)
	}
}

func TestReset(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{})
	i := newInstance(t, load(t, rt, "echo", wasm.ModuleOptions{}))
	ctx := context.Background()
	for range 3 {
		if _, err := i.Extract(ctx, wasm.Request{HTML: `{"ok":{}}`}); err != nil {
			t.Fatal(err)
		}
		if err := i.Reset(ctx); err != nil {
			t.Fatalf("Reset: %v", err)
		}
	}
	if !i.IsHealthy(ctx) {
		t.Error("unhealthy after Reset")
	}
	i.Close()
	if err := i.Reset(ctx); !errors.Is(err, wasm.ErrUnusable) {
		t.Errorf("Reset after Close = %v; want ErrUnusable", err)
	}
}

func TestMemoryBytes(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{InstanceMemoryLimitMB: 4, MaxDocumentBytes: 4 << 20})
	m := load(t, rt, "echo", wasm.ModuleOptions{})
	i := newInstance(t, m)
	if got, stack := i.MemoryBytes(), m.StackAllowanceBytes(); got != 64<<10+stack || stack == 0 || i.LinearMemoryBytes() != 64<<10 {
		t.Errorf("MemoryBytes = %d, LinearMemoryBytes = %d; want one page and the stack allowance, %d", got, i.LinearMemoryBytes(), stack)
	}
	doc := `{"ok":{"s":"` + strings.Repeat("x", 1<<20) + `"}}`
	if _, err := i.Extract(context.Background(), wasm.Request{HTML: doc}); err != nil {
		t.Fatal(err)
	}
	if got := i.LinearMemoryBytes(); got <= 1<<20 || got > rt.MemoryLimitBytes() || i.MemoryBytes() != got+m.StackAllowanceBytes() {
		t.Errorf("LinearMemoryBytes = %d (MemoryBytes %d) after a 1 MiB document; want over 1 MiB, under the limit", got, i.MemoryBytes())
	}
	// Half the memory is the most a request may take.
	_, err := i.Extract(context.Background(), wasm.Request{HTML: strings.Repeat("x", 3<<20)})
	if !errors.Is(err, wasm.ErrRequestTooLarge) {
		t.Errorf("Extract of 3 MiB in 4 MiB = %v; want ErrRequestTooLarge", err)
	}
	if !i.IsHealthy(context.Background()) {
		t.Error("unhealthy after a refused request")
	}
	i.Close()
	if got := i.MemoryBytes(); got != 0 {
		t.Errorf("MemoryBytes after Close = %d", got)
	}
}

func TestLoadDir(t *testing.T) {
	checkGoroutines(t)
	dir := t.TempDir()
	for _, name := range []string{"echo", "trap", "noexport"} {
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), readTestdata(t, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a module"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub.wasm"), 0o755)
	rt := newRuntime(t, wasm.RuntimeConfig{})
	mods, errs := rt.LoadDir(context.Background(), dir)
	var names []string
	for _, m := range mods {
		names = append(names, m.Name())
	}
	if !equal(names, []string{"echo", "trap"}) {
		t.Errorf("loaded %q; want echo and trap", names)
	}
	if len(errs) != 1 || !isABIError(errs[0]) || !strings.Contains(errs[0].Error(), "noexport.wasm") {
		t.Errorf("errors = %v; want one *ABIError for noexport.wasm", errs)
	}
	if _, errs := rt.LoadDir(context.Background(), filepath.Join(dir, "missing")); len(errs) != 1 {
		t.Errorf("LoadDir of a missing directory: errors %v", errs)
	}
}

func TestClosedModuleAndRuntime(t *testing.T) {
	ctx := context.Background()
	rt := newRuntime(t, wasm.RuntimeConfig{})
	m := load(t, rt, "echo", wasm.ModuleOptions{})
	i := newInstance(t, m)
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewInstance(ctx); !errors.Is(err, wasm.ErrClosed) {
		t.Errorf("NewInstance after Module.Close = %v; want ErrClosed", err)
	}
	if _, err := i.Extract(ctx, wasm.Request{HTML: `{"ok":{}}`}); err != nil {
		t.Errorf("an instance outlives its module's Close: %v", err)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Load(ctx, "echo", readTestdata(t, "echo"), wasm.ModuleOptions{}); !errors.Is(err, wasm.ErrClosed) {
		t.Errorf("Load after Runtime.Close = %v; want ErrClosed", err)
	}
	if _, err := i.Extract(ctx, wasm.Request{HTML: `{"ok":{}}`}); err == nil {
		t.Error("Extract on an instance of a closed runtime succeeded")
	}
}

func TestNewRuntimeRejectsBadConfig(t *testing.T) {
	for _, cfg := range []wasm.RuntimeConfig{
		{InstanceMemoryLimitMB: -1},
		{InstanceMemoryLimitMB: 5000},
		{ExtractTimeout: -time.Second},
		{MaxResultBytes: -1},
		{MaxStackKB: -1},
		{MaxStackKB: wasm.MaxMaxStackKB + 1},
	} {
		if rt, err := wasm.NewRuntime(context.Background(), cfg); err == nil {
			rt.Close(context.Background())
			t.Errorf("NewRuntime(%+v) succeeded", cfg)
		}
	}
}

func TestCompilationCacheDir(t *testing.T) {
	dir := t.TempDir()
	for range 2 { // cold, then warm
		rt := newRuntime(t, wasm.RuntimeConfig{CompilationCacheDir: dir})
		i := newInstance(t, load(t, rt, "echo", wasm.ModuleOptions{Trusted: true}))
		if got, err := i.Extract(context.Background(), wasm.Request{HTML: `{"ok":{}}`}); err != nil || asJSON(got) != "{}" {
			t.Fatalf("Extract = %s, %v", got, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Errorf("the cache directory is empty: %v", err)
	}
}

// TestAllocFailure fills echo's bump allocator, which never reuses memory,
// until riptide_alloc returns 0.
func TestAllocFailure(t *testing.T) {
	rt := newRuntime(t, wasm.RuntimeConfig{InstanceMemoryLimitMB: 1, MaxDocumentBytes: 1 << 20})
	i := newInstance(t, load(t, rt, "echo", wasm.ModuleOptions{}))
	ctx := context.Background()
	if _, err := i.Extract(ctx, wasm.Request{HTML: `{"ok":{}}` + strings.Repeat(" ", 300<<10)}); err != nil {
		t.Fatal(err)
	}
	// Half the cap: a document that large is taken to be the cause, not
	// the module.
	_, err := i.Extract(ctx, wasm.Request{HTML: `{"ok":{}}` + strings.Repeat(" ", 500<<10)})
	if !errors.Is(err, wasm.ErrDocumentOutOfMemory) || errors.Is(err, wasm.ErrOutOfMemory) {
		t.Fatalf("Extract error = %v; want ErrDocumentOutOfMemory", err)
	}
	if i.IsHealthy(ctx) {
		t.Error("healthy after running out of memory")
	}
}

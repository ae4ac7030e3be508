package daemon_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"github.com/riptidecrawler/riptide-poold/internal/wasm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestHostileModulesAreBounded runs the hostile modules of internal/wasm/testdata
// (see their .wat sources), one class of abuse each, through the real
// daemon. For each it checks the status and ErrorInfo reason the caller
// gets, that what the module cost the daemon stays within its bound (from
// the daemon's own figures and the Go runtime's, never from timings), and
// that a well-behaved module, the css pool and a PoolEvents subscriber on
// the same connection are served throughout.
func TestHostileModulesAreBounded(t *testing.T) {
	dir := modulesDir(t, "echo", "results", "stderr", "stack", "stackwide", "hangreset", "tablegrow", "bomb",
		"tablebig", "unhealthy", "hanghealth")
	s := start(t, wasmEnv(dir,
		// The results module breaks the ABI three times: one fewer than
		// opens its breaker.
		"CB_FAILURE_THRESHOLD=4",
		"CB_TIMEOUT_MS=3600000", // an open breaker stays open for the test
		// Generous on a busy machine; the housekeeping timeout is then its
		// default, a second.
		"WASM_EXTRACT_TIMEOUT_MS=20000",
	))
	client := poolv1.NewPoolServiceClient(s.conn)
	ctx := context.Background()

	// Refused at load, while the others serve.
	list, err := client.ListExtractors(ctx, &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	loaded := map[string]*poolv1.Extractor{}
	for _, e := range list.GetExtractors() {
		loaded[e.GetPool()] = e
	}
	for _, refused := range []string{"tablebig", "unhealthy", "hanghealth"} {
		if loaded[refused] != nil {
			t.Errorf("module %s was loaded; want it refused", refused)
		}
	}
	if l := loaded["echo"].GetModuleLimits(); l.GetMaxDocumentBytes() != 8<<20 || l.GetMaxResultDepth() != wasm.MaxResultDepth ||
		l.GetMaxTableEntries() != wasm.MaxTableEntries || l.GetMaxErrorTextBytes() != wasm.MaxGuestTextBytes ||
		l.GetHousekeepingTimeout().AsDuration() <= 0 || l.GetMaxResultBytes() == 0 ||
		l.GetDocumentBlameBytes() != (64<<20-64<<10)/512 || // echo starts at one page
		l.GetMaxStackBytes() != wasm.DefaultMaxStackKB<<10 ||
		l.GetMaxFailureLogLines() != wasm.FailureLogLines || l.GetFailureLogWindow().AsDuration() != wasm.FailureLogWindow ||
		l.GetMaxEventReasonBytes() != 4<<10 {
		t.Errorf("echo's published limits: %v", l)
	}
	// The parts of an instance's memory figure: one page of linear memory,
	// no table, the stacks its exports may keep; the figure the pool's
	// one instance is charged is the published one.
	if l := loaded["echo"].GetModuleLimits(); l.GetFirstStackBytes() != 2<<20 || l.GetTableBytes() != 0 ||
		l.GetStackAllowanceBytes() == 0 || l.GetCallStackChargeBytes() != 0 ||
		l.GetFreshInstanceBytes() != 64<<10+l.GetStackAllowanceBytes() ||
		poolStats(t, client, "echo").GetMemoryBytes() != l.GetFreshInstanceBytes() {
		t.Errorf("echo's published memory parts: %v; its pool holds %d bytes", l, poolStats(t, client, "echo").GetMemoryBytes())
	}
	if l := loaded["tablegrow"].GetModuleLimits(); l.GetTableBytes() != 8*wasm.MaxTableEntries {
		t.Errorf("tablegrow's published table bytes: %d, want its table at the maximum, %d", l.GetTableBytes(), 8*wasm.MaxTableEntries)
	}

	// Bystanders: a subscriber to every event, and callers of a
	// well-behaved module and of the css pool, all on the daemon's one
	// client connection, the hostile calls' too.
	ev, _ := subscribe(t, s, s.conn, &poolv1.PoolEventsRequest{}, true)
	stop := make(chan struct{})
	var (
		wg           sync.WaitGroup
		mu           sync.Mutex
		served       int
		bystanderErr error
	)
	for _, req := range []*poolv1.ExtractRequest{
		wasmRequest("echo", "", `{"ok":{"fine":true}}`),
		cssRequest("<p>fine</p>", "p"),
	} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := client.Extract(ctx, req)
				mu.Lock()
				served++
				if err != nil && bystanderErr == nil {
					bystanderErr = err
				}
				mu.Unlock()
			}
		})
	}

	tests := []struct {
		name   string
		module string
		doc    string
		code   codes.Code
		reason string
		in     string // in the message
		// allocated bounds what the daemon's Go heap allocated for the
		// call (0: not checked): without the bound on conversion, 4 MiB
		// of JSON numbers made over 200 MB of protobuf values.
		allocated uint64
	}{
		{"result of 2 million numbers", "results", "b" + strings.Repeat("x", 63), codes.ResourceExhausted, server.ReasonResultTooLarge, "converted", 96 << 20},
		{"result nested 40 deep", "results", "d" + strings.Repeat("x", 39), codes.ResourceExhausted, server.ReasonResultTooLarge, "levels", 0},
		{"result not UTF-8", "results", "u", codes.Internal, server.ReasonExtractorFailed, "not valid UTF-8", 0},
		{"result with a key twice", "results", "k", codes.Internal, server.ReasonExtractorFailed, "twice", 0},
		{"result with 1e999", "results", "n", codes.Internal, server.ReasonExtractorFailed, "double", 0},
		{"error message of 8 MiB", "results", "e" + strings.Repeat("x", 127), codes.Internal, server.ReasonExtractorFailed, "AAAA…", 0},
		{"stderr not UTF-8, cut mid-character", "stderr", "x", codes.Internal, server.ReasonExtractorFailed, "panic: a hostile message \uFFFD then more", 0},
		// 42.5 MB of stack a call, and what the bystanders allocate
		// meanwhile; wazero's own bound took 168 MB.
		{"endless recursion", "stack", "x", codes.Internal, server.ReasonExtractorFailed, "stack limit reached", 96 << 20},
		{"endless recursion, large frames", "stackwide", "x", codes.Internal, server.ReasonExtractorFailed, "stack limit reached", 96 << 20},
		{"document over the module's limit", "echo", strings.Repeat("x", 9<<20), codes.ResourceExhausted, server.ReasonDocumentTooLarge, "over its limit", 0},
		{"document nested 600 deep", "echo", strings.Repeat("<div>", 600), codes.InvalidArgument, server.ReasonInvalidRequest, "512", 0},
		{"out of memory on a large document", "bomb", strings.Repeat("x", 5<<20), codes.ResourceExhausted, server.ReasonDocumentTooLarge, "ran out of memory on this document", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := client.Extract(ctx, wasmRequest(tt.module, "", tt.doc))
			runtime.ReadMemStats(&after)
			wantStatus(t, tt.name, err, tt.code, tt.reason)
			msg := status.Convert(err).Message()
			if !strings.Contains(msg, tt.in) || !utf8.ValidString(msg) || len(msg) > 4<<10 {
				t.Errorf("message (%d bytes, valid UTF-8 %v) %.300q; want it to hold %q", len(msg), utf8.ValidString(msg), msg, tt.in)
			}
			if got := after.TotalAlloc - before.TotalAlloc; tt.allocated > 0 && got > tt.allocated {
				t.Errorf("the daemon allocated %d MiB for the call; want at most %d MiB", got>>20, tt.allocated>>20)
			}
		})
	}

	// A guest's stderr reached the subscriber as a valid event.
	ev.next(t, "the stderr module's instance destroyed", func(e *poolv1.PoolEvent) bool {
		d := e.GetInstanceDestroyed()
		return d != nil && e.GetPool() == "stderr" && strings.Contains(d.GetReason(), "hostile message")
	})

	// The document's fault did not count against the module: its breaker
	// is still closed after more such calls than its threshold.
	for range 4 {
		_, err := client.Extract(ctx, wasmRequest("bomb", "", strings.Repeat("x", 5<<20)))
		wantStatus(t, "bomb on a large document", err, codes.ResourceExhausted, server.ReasonDocumentTooLarge)
	}
	if st := poolStats(t, client, "bomb"); st.GetBreakerState() != poolv1.BreakerState_BREAKER_STATE_CLOSED {
		t.Errorf("bomb's breaker %v after failures on large documents; want closed", st.GetBreakerState())
	}
	// On a small document, running out of memory is the module's failure.
	for range 4 {
		_, err := client.Extract(ctx, wasmRequest("bomb", "", "x"))
		wantStatus(t, "bomb on a small document", err, codes.Internal, server.ReasonExtractorFailed)
	}
	_, err = client.Extract(ctx, wasmRequest("bomb", "", "x"))
	wantStatus(t, "bomb after four failures", err, codes.Unavailable, server.ReasonCircuitOpen)

	// A reset that never returns: each answer is OK, within the
	// housekeeping timeout, and each costs the instance and counts toward
	// the breaker, which opens.
	for i := range 4 {
		_, err := client.Extract(ctx, wasmRequest("hangreset", "", "x"))
		if err != nil {
			t.Fatalf("hangreset call %d: %v", i, err)
		}
	}
	waitFor(t, "hangreset's breaker opens", func() bool {
		return poolStats(t, client, "hangreset").GetBreakerState() == poolv1.BreakerState_BREAKER_STATE_OPEN
	})
	if st := poolStats(t, client, "hangreset"); st.GetDestroyed()["reset_failed"] < 4 {
		t.Errorf("hangreset's instances destroyed: %v; want 4 failed resets", st.GetDestroyed())
	}

	// A table that asks to grow by 2^25 entries per call: refused, and
	// the module's memory figure counts the table at its bound.
	for range 3 {
		if _, err := client.Extract(ctx, wasmRequest("tablegrow", "", "x")); err != nil {
			t.Fatalf("tablegrow: %v", err)
		}
	}
	if st := poolStats(t, client, "tablegrow"); st.GetMemoryBytes() < wasm.MaxTableEntries*8 || st.GetMemoryBytes() > 4<<20*uint64(st.GetTotal()) {
		t.Errorf("tablegrow's memory %d bytes for %d instances; want its table's bound, %d bytes, each and little more", st.GetMemoryBytes(), st.GetTotal(), wasm.MaxTableEntries*8)
	}

	close(stop)
	wg.Wait()
	if bystanderErr != nil || served == 0 {
		t.Errorf("the bystanders made %d calls, and one failed: %v", served, bystanderErr)
	}
}

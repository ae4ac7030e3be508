package server_test

import (
	"context"
	"strings"

	"github.com/riptidecrawler/riptide-poold/internal/articlepool"
	"testing"
	"time"
	"unicode/utf8"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc/codes"
)

// releaseBound is how long a test waits for the daemon's own metrics to
// show that a cancelled call's work has stopped and its instance is back.
// The work these tests start runs for minutes when it is not stopped; the
// bound is generous for the race detector on a busy machine, and is not a
// measure of speed.
const releaseBound = 20 * time.Second

// Hostile documents: nested divs, a wide list.
func nestedDivs(n int) string {
	return strings.Repeat("<div>", n) + "<span>x</span>" + strings.Repeat("</div>", n)
}

func wideList(n int) string { return "<ul>" + strings.Repeat("<li>a</li>", n) + "</ul>" }

// lowercase is a text on which a pattern with a large program keeps many
// NFA threads alive at every byte, and which no pattern ending in 0
// matches.
var lowercase = strings.Repeat("abcdefghijklmnopqrstuvwxyz ", 40_000) // ~1 MB

// waitIdle waits until the native pools of h have no instance in use, as
// GetMetrics reports it, and fails the test if that takes releaseBound.
func waitIdle(t testing.TB, h *grpcHarness) {
	t.Helper()
	deadline := time.Now().Add(releaseBound)
	for {
		m, err := h.client.GetMetrics(context.Background(), &poolv1.GetMetricsRequest{})
		if err != nil {
			t.Fatalf("GetMetrics: %v", err)
		}
		if m.GetNative().GetCssInUse() == 0 && m.GetNative().GetRegexInUse() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a native instance is still in use %v after the call ended: its work did not stop", releaseBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestGRPCHostileCSS sends the selectors of issue 14 and their family
// through the real server with the daemon's default limits, which it
// reads from ListExtractors: each costly one is refused up front with
// INVALID_ARGUMENT naming the selector's field and the limit, and the css
// pool has no instance in use afterwards.
func TestGRPCHostileCSS(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{network: "tcp"})
	list, err := h.client.ListExtractors(t.Context(), &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	lim := list.GetLimits()
	if lim.GetMaxWork() == 0 || lim.GetCssMaxElementWork() == 0 || lim.GetCssMaxHasDepth() == 0 {
		t.Fatalf("ListExtractors publishes no work limits: %v", lim)
	}
	nest500, wide := nestedDivs(500), wideList(40_000)
	deepText := strings.Repeat("<div>", 300) + strings.Repeat("abc ", 50_000) + strings.Repeat("</div>", 300)
	hasChain := func(n int) string {
		return strings.Repeat("div:has(", n) + "span" + strings.Repeat(")", n)
	}
	listOf := func(sel string, n int) string { return strings.TrimSuffix(strings.Repeat(sel+", ", n), ", ") }
	css := func(doc, sel string) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{Document: htmlDoc(doc), Spec: cssReq(&poolv1.CssSpec{Selector: sel, All: true})}
	}
	tests := []struct {
		name  string
		req   *poolv1.ExtractRequest
		field string
		limit string // "" when the call succeeds
	}{
		{"3 levels of :has, 500 nested divs", css(nest500, hasChain(3)), "css.selector", "CSS_MAX_HAS_DEPTH"},
		{"2 levels of :has over deep text", css(deepText, "div:has(div:has(:contains(zzz)))"), "css.selector", "CSS_MAX_ELEMENT_WORK"},
		{"4 levels of :has", css(nest500, hasChain(4)), "css.selector", "CSS_MAX_HAS_DEPTH"},
		{"5 levels of :has", css("<p>x</p>", hasChain(5)), "css.selector", "CSS_MAX_HAS_DEPTH"},
		{":has inside :not", css(nest500, "div:not("+hasChain(3)+")"), "css.selector", "CSS_MAX_HAS_DEPTH"},
		{":contains in :has inside :not, deep text", css(deepText, "div:not(:has(:contains(zzz)))"), "css.selector", "CSS_MAX_ELEMENT_WORK"},
		{":nth-* chain, 40000 siblings", css(wide, "li:nth-child(odd):nth-last-child(even)"), "css.selector", "MAX_WORK"},
		{"~ chain, 40000 siblings", css(wide, "li ~ li ~ li"), "css.selector", "CSS_MAX_ELEMENT_WORK"},
		{"a long selector list, 10000 siblings", css(wideList(10_000), listOf("li:nth-child(2n+1)", 6)), "css.selector", "MAX_WORK"},
		{"a descendant chain, 500 nested divs", css(nest500, "x div div div div span"), "css.selector", "CSS_MAX_ELEMENT_WORK"},
		{":has in a field", &poolv1.ExtractRequest{Document: htmlDoc(nest500), Spec: fieldsReq(map[string]*poolv1.FieldSpec{
			"ok": cssField(&poolv1.CssSpec{Selector: "span"}), "bad": cssField(&poolv1.CssSpec{Selector: "x div div div div span"})})},
			`fields.fields["bad"].css.selector`, "CSS_MAX_ELEMENT_WORK"},
		{"a regex whose program times the text is over MAX_WORK", &poolv1.ExtractRequest{Document: htmlDoc(lowercase),
			Spec: regexReq(&poolv1.RegexSpec{Pattern: `[a-z ]{0,1000}0`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML})}, "regex.pattern", "MAX_WORK"},
		{"1 level of :has, 500 nested divs", css(nest500, hasChain(1)), "", ""},
		{"a descendant pair, 500 nested divs", css(nest500, "div span"), "", ""},
		{":nth-child, 10000 siblings", css(wideList(10_000), "li:nth-child(2n+1)"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), hostileCallBound)
			defer cancel()
			_, err := h.client.Extract(ctx, tt.req)
			if tt.limit == "" {
				if err != nil {
					t.Fatalf("Extract: %v", err)
				}
			} else {
				errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: tt.field}.check(t, err)
				d := detailOf(err)
				if d.metadata["limit"] != tt.limit || !strings.Contains(d.message, tt.limit) {
					t.Errorf("limit %q in %q, want %s", d.metadata["limit"], d.message, tt.limit)
				}
			}
			waitIdle(t, h)
		})
	}
}

// TestGRPCNativeStopsAtDeadline: a question within the limits whose work
// outlasts the caller's deadline, or that the caller cancels, stops: the
// caller gets DEADLINE_EXCEEDED or CANCELLED, and the daemon's metrics
// show its instance back in the pool, where the same question runs to its
// end for many seconds. Done alike through css, fields and regex.
func TestGRPCNativeStopsAtDeadline(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	// Every <div> has thousands of <div> descendants and no <p>: each one
	// visits its subtree and every node of it visits its own. Within the
	// default limits (one element's bound is its subtree twice over).
	doc := nestedDivs(500)
	const slow = "*:has(*:has(p))"
	req := func(spec string) *poolv1.ExtractRequest {
		switch spec {
		case "fields":
			return &poolv1.ExtractRequest{Document: htmlDoc(doc), Spec: fieldsReq(map[string]*poolv1.FieldSpec{"x": cssField(&poolv1.CssSpec{Selector: slow, All: true})})}
		case "regex":
			// One search, which regexp cannot interrupt, of a million
			// bytes with a few hundred NFA threads alive at each:
			// within MAX_WORK, and seconds long.
			return &poolv1.ExtractRequest{Document: htmlDoc(lowercase),
				Spec: regexReq(&poolv1.RegexSpec{Pattern: `[a-z ]{0,150}0`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML})}
		}
		return &poolv1.ExtractRequest{Document: htmlDoc(doc), Spec: cssReq(&poolv1.CssSpec{Selector: slow, All: true})}
	}
	for _, kind := range []string{"css", "fields", "regex"} {
		t.Run(kind+" deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			_, err := h.client.Extract(ctx, req(kind))
			if d := detailOf(err); d.code != codes.DeadlineExceeded {
				t.Fatalf("status %v %q, want DEADLINE_EXCEEDED", d.code, d.message)
			}
			waitIdle(t, h)
		})
		t.Run(kind+" cancelled", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := h.client.Extract(ctx, req(kind))
				done <- err
			}()
			waitBusy(t, h)
			cancel()
			if d := detailOf(<-done); d.code != codes.Canceled {
				t.Fatalf("status %v %q, want CANCELLED", d.code, d.message)
			}
			waitIdle(t, h)
		})
	}
}

// waitBusy waits until a native pool has an instance in use.
func waitBusy(t testing.TB, h *grpcHarness) {
	t.Helper()
	deadline := time.Now().Add(releaseBound)
	for {
		m, err := h.client.GetMetrics(context.Background(), &poolv1.GetMetricsRequest{})
		if err != nil {
			t.Fatalf("GetMetrics: %v", err)
		}
		if m.GetNative().GetCssInUse()+m.GetNative().GetRegexInUse() > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the call never took a native instance")
		}
		time.Sleep(time.Millisecond)
	}
}

// FuzzGRPCCSSDeadline sends random selectors against random deep or wide
// documents with a short deadline, and fails if a call ends with a status
// the API does not document, or keeps its instance (keeps running) past
// its deadline by more than releaseBound.
func FuzzGRPCCSSDeadline(f *testing.F) {
	f.Add(uint16(500), uint16(1), "div:has(div:has(div:has(span)))")
	f.Add(uint16(300), uint16(3), "*:has(*:has(p))")
	f.Add(uint16(2), uint16(3000), "li:nth-child(2n+1) ~ li")
	f.Add(uint16(200), uint16(2), "x div div div span, :contains(x)")
	f.Add(uint16(100), uint16(10), "div:not(:has(span:has(b)))")
	h := newGRPCHarness(f, grpcOptions{})
	f.Fuzz(func(t *testing.T, depth, width uint16, selector string) {
		if !utf8.ValidString(selector) {
			// A protobuf client cannot send it: the client's own codec
			// refuses the message. Malformed strings that reach the
			// server as bytes are grpc_hostile_wire_test.go's.
			t.Skip("selector is not valid UTF-8")
		}
		depth, width = depth%510+1, width%4000+1
		// width siblings at each of depth levels, the last of them
		// holding the next level.
		var b strings.Builder
		for range depth {
			b.WriteString(strings.Repeat("<div><span>a</span></div>", int(width-1)/max(1, int(depth)/8+1)))
			b.WriteString("<div>")
		}
		b.WriteString("<span>x</span>")
		b.WriteString(strings.Repeat("</div>", int(depth)))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := h.client.Extract(ctx, &poolv1.ExtractRequest{Document: htmlDoc(b.String()), Spec: cssReq(&poolv1.CssSpec{Selector: selector, All: true})})
		switch d := detailOf(err); d.code {
		case codes.OK, codes.InvalidArgument, codes.DeadlineExceeded, codes.ResourceExhausted:
		default:
			t.Fatalf("selector %q: %v %s %q", selector, d.code, d.reason, d.message)
		}
		waitIdle(t, h)
	})
}

// TestGRPCCustomSelectorsNativeEngine: with the bundled article module
// served by the native engine, which runs its selectors in the daemon's
// process and cannot interrupt them, a custom-mode selector too costly on
// the page is refused before it runs, naming it and the limit.
func TestGRPCCustomSelectorsNativeEngine(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{article: &articlepool.Config{}})
	nested := "<title>t</title>" + nestedDivs(500)
	custom := func(selectors ...string) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{Document: htmlDoc(nested),
			Spec: &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Mode: "custom", Selectors: selectors}}}
	}
	for _, tt := range []struct {
		name  string
		req   *poolv1.ExtractRequest
		field string
		limit string
	}{
		{"3 levels of :has", custom("title", "div:has(div:has(div:has(span)))"), "wasm.selectors[1]", "CSS_MAX_HAS_DEPTH"},
		{"a descendant chain", custom("x div div div div span"), "wasm.selectors[0]", "CSS_MAX_ELEMENT_WORK"},
		{"ordinary selectors", custom("title", "div span", "div:has(span)"), "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), hostileCallBound)
			defer cancel()
			_, err := h.client.Extract(ctx, tt.req)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Extract: %v", err)
				}
				return
			}
			errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: tt.field}.check(t, err)
			if d := detailOf(err); d.metadata["limit"] != tt.limit {
				t.Errorf("limit %q, want %s", d.metadata["limit"], tt.limit)
			}
		})
	}
}

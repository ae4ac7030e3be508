package server_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc/codes"
)

// hostileCallBound is each hostile call's deadline: the bound on its time.
// A call that does not answer within it fails with DEADLINE_EXCEEDED,
// which no case expects. It is generous for the race detector on a busy
// machine; the point is that nothing runs away, not how fast it answers.
const hostileCallBound = 60 * time.Second

// TestGRPCHostileInput sends the inputs an attacker or a broken crawler
// would, through the real gRPC server, with the limits the daemon
// advertises in ListExtractors: each gets its documented status, within
// its deadline, and without a panic (the harness has no recovering
// interceptor: a panic fails the test binary).
func TestGRPCHostileInput(t *testing.T) {
	cfg := config.Default()
	cfg.MaxDocumentBytes = 2 << 20 // MAX_DOCUMENT_BYTES=2097152: room for 100k-deep nesting, quick under -race
	h := newGRPCHarness(t, grpcOptions{cfg: cfg, network: "tcp"})

	list, err := h.client.ListExtractors(t.Context(), &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	lim := list.GetLimits()
	maxDoc := int(lim.GetMaxDocumentBytes())
	maxSel := int(lim.GetMaxSelectorLength())
	maxPat := int(lim.GetMaxPatternLength())
	maxMatches := int(lim.GetMaxMatches())
	maxFields := int(lim.GetMaxFields())
	if maxDoc != 2<<20 || maxSel == 0 || maxPat == 0 || maxMatches == 0 || maxFields == 0 {
		t.Fatalf("ListExtractors limits %v", lim)
	}

	css := func(doc string, spec *poolv1.CssSpec) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{Document: htmlDoc(doc), Spec: cssReq(spec)}
	}
	re := func(doc string, spec *poolv1.RegexSpec) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{Document: htmlDoc(doc), Spec: regexReq(spec)}
	}
	// padded is a document of exactly n bytes.
	padded := func(n int) string {
		const head, tail = "<p>", "</p>"
		return head + strings.Repeat("z", n-len(head)-len(tail)) + tail
	}
	garbage := make([]byte, 256<<10)
	r := rand.New(rand.NewPCG(8, 8))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	deep := strings.Repeat("<div>", 100_000) + "x" + strings.Repeat("</div>", 100_000)
	manyFields := func(n int) map[string]*poolv1.FieldSpec {
		f := make(map[string]*poolv1.FieldSpec, n)
		for i := range n {
			f["f"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+strings.Repeat("0", i/26)] = cssField(&poolv1.CssSpec{Selector: "p"})
		}
		return f
	}
	million := strings.Repeat("a", 1_000_000) // a million one-byte matches of "a", as raw HTML
	hugeAttr := `<p data-x="` + strings.Repeat("v", maxDoc-64) + `">x</p>`
	// Patterns RE2 answers in linear time: catastrophic for a backtracking
	// engine on this subject.
	subject := strings.Repeat("a", 200_000) + "!"

	tests := []struct {
		name string
		req  *poolv1.ExtractRequest
		// want is the documented error; a zero code means the call succeeds.
		want errorCase
		// check, if set, examines a successful response.
		check func(t *testing.T, resp *poolv1.ExtractResponse)
	}{
		{name: "empty html", req: css("", &poolv1.CssSpec{Selector: "p"}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"}},
		{name: "empty raw_html", req: &poolv1.ExtractRequest{Document: rawDoc(nil), Spec: cssReq(&poolv1.CssSpec{Selector: "p"})},
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "raw_html"}},
		{name: "no document", req: &poolv1.ExtractRequest{Spec: cssReq(&poolv1.CssSpec{Selector: "p"})},
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "document"}},
		{name: "binary garbage as raw_html, css", req: &poolv1.ExtractRequest{Document: rawDoc(garbage), Spec: cssReq(&poolv1.CssSpec{Selector: "p", All: true})}},
		{name: "binary garbage as raw_html, regex", req: &poolv1.ExtractRequest{Document: rawDoc(garbage), Spec: regexReq(&poolv1.RegexSpec{Pattern: `\x00+`, All: true})}},
		{name: "binary garbage with a bogus charset", req: &poolv1.ExtractRequest{Document: rawDoc(garbage), ContentType: "text/html; charset=x-no-such-charset\x00",
			Spec: cssReq(&poolv1.CssSpec{Selector: "p"})}},
		{name: "NUL bytes in html", req: css("<p>a\x00b</p>"+strings.Repeat("\x00", 1000), &poolv1.CssSpec{Selector: "p"})},
		{name: "document at MAX_DOCUMENT_BYTES", req: css(padded(maxDoc), &poolv1.CssSpec{Selector: "p"}),
			check: func(t *testing.T, resp *poolv1.ExtractResponse) {
				if len(resp.GetValues()) != 1 || len(resp.GetValues()[0]) != maxDoc-7 {
					t.Errorf("a document of exactly MAX_DOCUMENT_BYTES: %d values", len(resp.GetValues()))
				}
			}},
		{name: "document one byte over MAX_DOCUMENT_BYTES", req: css(padded(maxDoc+1), &poolv1.CssSpec{Selector: "p"}),
			want: errorCase{code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge, field: "html"}},
		{name: "raw_html one byte over MAX_DOCUMENT_BYTES", req: &poolv1.ExtractRequest{Document: rawDoc([]byte(padded(maxDoc + 1))), Spec: regexReq(&poolv1.RegexSpec{Pattern: "z"})},
			want: errorCase{code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge, field: "raw_html"}},
		{name: "100k-deep nesting, css", req: css(deep, &poolv1.CssSpec{Selector: "div", All: true}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"}},
		{name: "100k-deep nesting, regex over the text", req: re(deep, &poolv1.RegexSpec{Pattern: "x"}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"}},
		{name: "100k-deep nesting, fields", req: &poolv1.ExtractRequest{Document: htmlDoc(deep), Spec: fieldsReq(map[string]*poolv1.FieldSpec{"d": cssField(&poolv1.CssSpec{Selector: "div"})})},
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"}},
		{name: "a million regex matches", req: re(million, &poolv1.RegexSpec{Pattern: "a", All: true, Source: poolv1.RegexSource_REGEX_SOURCE_HTML}),
			check: func(t *testing.T, resp *poolv1.ExtractResponse) {
				if len(resp.GetMatches()) != maxMatches || !resp.GetTruncated() {
					t.Errorf("%d matches truncated %v; want MaxMatches=%d, truncated", len(resp.GetMatches()), resp.GetTruncated(), maxMatches)
				}
			}},
		{name: "a hundred thousand css matches", req: css(strings.Repeat("<i>x</i>", 100_000), &poolv1.CssSpec{Selector: "i", All: true}),
			check: func(t *testing.T, resp *poolv1.ExtractResponse) {
				if len(resp.GetValues()) != maxMatches || !resp.GetTruncated() {
					t.Errorf("%d values truncated %v; want MaxMatches=%d, truncated", len(resp.GetValues()), resp.GetTruncated(), maxMatches)
				}
			}},
		{name: "a huge attribute value", req: css(hugeAttr, &poolv1.CssSpec{Selector: "p", Attribute: "data-x"}),
			check: func(t *testing.T, resp *poolv1.ExtractResponse) {
				if len(resp.GetValues()) != 1 || len(resp.GetValues()[0]) != maxDoc-64 {
					t.Errorf("huge attribute: %d values", len(resp.GetValues()))
				}
			}},
		{name: "a huge attribute name in the document", req: css("<p "+strings.Repeat("n", maxDoc-16)+"=1>x</p>", &poolv1.CssSpec{Selector: "p"})},
		{name: "attribute name at the selector limit", req: css("<p>x</p>", &poolv1.CssSpec{Selector: "p", Attribute: strings.Repeat("a", maxSel)})},
		{name: "attribute name one over the selector limit", req: css("<p>x</p>", &poolv1.CssSpec{Selector: "p", Attribute: strings.Repeat("a", maxSel+1)}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "css.attribute"}},
		{name: "selector at its length limit", req: css("<p>x</p>", &poolv1.CssSpec{Selector: "#" + strings.Repeat("a", maxSel-1)})},
		{name: "selector one over its length limit", req: css("<p>x</p>", &poolv1.CssSpec{Selector: "#" + strings.Repeat("a", maxSel)}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "css.selector"}},
		{name: "selector of deeply nested :not at its length limit", req: css("<p>x</p>", &poolv1.CssSpec{Selector: nestedNot(maxSel)})},
		{name: "pattern at its length limit", req: re("<p>aaaa</p>", &poolv1.RegexSpec{Pattern: strings.Repeat("a?", maxPat/2)})},
		{name: "pattern one over its length limit", req: re("<p>x</p>", &poolv1.RegexSpec{Pattern: strings.Repeat("a?", maxPat/2) + "a"}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "regex.pattern"}},
		{name: "pathological (a+)+$", req: re(subject, &poolv1.RegexSpec{Pattern: `(a+)+$`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML}),
			check: wantNoMatch},
		{name: "pathological (a|aa)*b", req: re(subject, &poolv1.RegexSpec{Pattern: `(a|aa)*b`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML}),
			check: wantNoMatch},
		{name: "pathological (a*)*b over the text", req: re("<p>"+subject+"</p>", &poolv1.RegexSpec{Pattern: `(a*)*b`, All: true}),
			check: wantNoMatch},
		{name: "pathological (x+x+)+y, all", req: re(strings.Repeat("x", 100_000), &poolv1.RegexSpec{Pattern: `(x+x+)+y`, All: true, Source: poolv1.RegexSource_REGEX_SOURCE_HTML}),
			check: wantNoMatch},
		{name: "repetition over RE2's bound", req: re("<p>a</p>", &poolv1.RegexSpec{Pattern: `a{1001}`}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "regex.pattern"}},
		{name: "nested repetition too large to compile", req: re("<p>a</p>", &poolv1.RegexSpec{Pattern: `((a{100}){100}){100}`}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "regex.pattern"}},
		{name: "backreference (not RE2)", req: re("<p>aa</p>", &poolv1.RegexSpec{Pattern: `(a)\1`}),
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "regex.pattern"}},
		{name: "fields at MaxFields", req: &poolv1.ExtractRequest{Document: htmlDoc("<p>x</p>"), Spec: fieldsReq(manyFields(maxFields))}},
		{name: "fields one over MaxFields", req: &poolv1.ExtractRequest{Document: htmlDoc("<p>x</p>"), Spec: fieldsReq(manyFields(maxFields + 1))},
			want: errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "fields.fields"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), hostileCallBound)
			defer cancel()
			resp, err := h.client.Extract(ctx, tt.req)
			if d := detailOf(err); d.code == codes.Internal || d.code == codes.DeadlineExceeded || d.code == codes.Unknown {
				t.Fatalf("%v %s: %q", d.code, d.reason, d.message)
			}
			if tt.want.code == codes.OK {
				if err != nil {
					t.Fatalf("Extract: %v", err)
				}
				if tt.check != nil {
					tt.check(t, resp)
				}
				return
			}
			tt.want.check(t, err)
		})
	}

	// After all that, the pools are whole and serve.
	for _, p := range []string{server.PoolCSS, server.PoolRegex} {
		m, err := h.client.GetMetrics(t.Context(), &poolv1.GetMetricsRequest{Pools: []string{p}})
		if err != nil || len(m.GetPools()) != 1 || m.GetPools()[0].GetInUse() != 0 {
			t.Errorf("pool %s after the hostile inputs: %v %v", p, m, err)
		}
	}
	if _, err := h.client.Extract(t.Context(), css("<h1>ok</h1>", &poolv1.CssSpec{Selector: "h1"})); err != nil {
		t.Errorf("Extract after the hostile inputs: %v", err)
	}
}

func wantNoMatch(t *testing.T, resp *poolv1.ExtractResponse) {
	t.Helper()
	if len(resp.GetMatches()) != 0 {
		t.Errorf("%d matches, want none", len(resp.GetMatches()))
	}
}

// nestedNot is a valid selector of exactly n bytes: p:not(p:not(...)) as
// deep as fits, padded with a universal selector list.
func nestedNot(n int) string {
	const open, close = ":not(p", ")"
	depth := (n - 1) / (len(open) + len(close))
	s := "p" + strings.Repeat(open, depth) + strings.Repeat(close, depth)
	if pad := n - len(s); pad > 0 {
		s = strings.Repeat(" ", pad) + s // leading white space is part of the length
	}
	return s
}

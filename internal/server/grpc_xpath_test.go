package server_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc/codes"
)

func xpathReq(spec *poolv1.XpathSpec) *poolv1.ExtractRequest_Xpath {
	return &poolv1.ExtractRequest_Xpath{Xpath: spec}
}

func TestGRPCExtractXPath(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	nodeSet := poolv1.XpathResultType_XPATH_RESULT_TYPE_NODE_SET
	tests := []struct {
		name   string
		spec   *poolv1.XpathSpec
		want   []string
		result *poolv1.XpathResult
	}{
		{"elements", &poolv1.XpathSpec{Expression: "//li", All: true, Limit: 2}, []string{"one", "two"}, &poolv1.XpathResult{Type: nodeSet}},
		{"attributes", &poolv1.XpathSpec{Expression: "//a/@href", All: true}, []string{"/a", "https://example.com/b"}, &poolv1.XpathResult{Type: nodeSet}},
		{"attribute field", &poolv1.XpathSpec{Expression: "//a", Attribute: "rel"}, []string{"nofollow"}, &poolv1.XpathResult{Type: nodeSet}},
		{"outer html", &poolv1.XpathSpec{Expression: "//h1", Output: poolv1.CssOutput_CSS_OUTPUT_OUTER_HTML}, []string{"<h1>Title <b>bold</b></h1>"}, &poolv1.XpathResult{Type: nodeSet}},
		{"count", &poolv1.XpathSpec{Expression: "count(//li)"}, []string{"4"},
			&poolv1.XpathResult{Type: poolv1.XpathResultType_XPATH_RESULT_TYPE_NUMBER, Number: 4}},
		{"string", &poolv1.XpathSpec{Expression: "normalize-space(//title)"}, []string{"Hello World"},
			&poolv1.XpathResult{Type: poolv1.XpathResultType_XPATH_RESULT_TYPE_STRING}},
		{"boolean", &poolv1.XpathSpec{Expression: "boolean(//li)"}, []string{"true"},
			&poolv1.XpathResult{Type: poolv1.XpathResultType_XPATH_RESULT_TYPE_BOOLEAN, Boolean: true}},
		// Pasted from parsel: EXSLT's re: and parsel's has-class().
		{"exslt re:test", &poolv1.XpathSpec{Expression: `//a[re:test(@href, "^https?:", "i")]/@href`, All: true}, []string{"https://example.com/b"}, &poolv1.XpathResult{Type: nodeSet}},
		{"parsel has-class", &poolv1.XpathSpec{Expression: `//p[has-class("lead")]`}, []string{"First para text"}, &poolv1.XpathResult{Type: nodeSet}},
		{"exslt re:match", &poolv1.XpathSpec{Expression: `re:match(//p[@id="prices"], "SKU-(\d+)", "g")`, All: true}, []string{"1234", "5678"}, &poolv1.XpathResult{Type: nodeSet}},
		{"exslt re:replace", &poolv1.XpathSpec{Expression: `re:replace(//p[@id="prices"], "\$(\d+)\.(\d+)", "g", "\1,\2 USD")`}, []string{"Price: 12,50 USD and 3,99 USD; SKU-1234, SKU-5678"},
			&poolv1.XpathResult{Type: poolv1.XpathResultType_XPATH_RESULT_TYPE_STRING}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: xpathReq(tt.spec)})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if got := resp.GetValues(); !slices.Equal(got, tt.want) {
				t.Errorf("values = %q, want %q", got, tt.want)
			}
			x := resp.GetXpath()
			if x.GetType() != tt.result.GetType() || x.GetNumber() != tt.result.GetNumber() || x.GetBoolean() != tt.result.GetBoolean() {
				t.Errorf("xpath = %v, want %v", x, tt.result)
			}
			checkServedBy(t, resp, server.PoolCSS)
		})
	}
}

func TestGRPCExtractXPathFields(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: fieldsReq(map[string]*poolv1.FieldSpec{
		"links": {Spec: &poolv1.FieldSpec_Xpath{Xpath: &poolv1.XpathSpec{Expression: "//a/@href", All: true}}},
		"items": {Spec: &poolv1.FieldSpec_Xpath{Xpath: &poolv1.XpathSpec{Expression: "count(//li)"}}},
		"title": cssField(&poolv1.CssSpec{Selector: "title"}),
		"price": regexField(&poolv1.RegexSpec{Pattern: `\$\d+\.\d+`}),
	})})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	f := resp.GetFields()
	if got := f["links"].GetValues(); !slices.Equal(got, []string{"/a", "https://example.com/b"}) {
		t.Errorf("links = %q", got)
	}
	if got := f["items"]; got.GetXpath().GetNumber() != 4 || !slices.Equal(got.GetValues(), []string{"4"}) {
		t.Errorf("items = %v", got)
	}
	if got := f["title"].GetValues(); !slices.Equal(got, []string{"Hello World"}) || f["title"].GetXpath() != nil {
		t.Errorf("title = %v", f["title"])
	}
	if len(f["price"].GetMatches()) != 1 {
		t.Errorf("price = %v", f["price"])
	}
}

func TestGRPCExtractXPathInvalid(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	// 4,000 elements: //*[count(//*) > 0] takes 16 million steps, over
	// the default budget; the call fails fast, naming the expression.
	big := "<html><body>" + strings.Repeat("<div><i>x</i></div>", 2000) + "</body></html>"
	for _, tc := range []errorCase{
		{name: "empty expression", req: &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: xpathReq(&poolv1.XpathSpec{})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "xpath.expression"},
		{name: "syntax", req: &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: xpathReq(&poolv1.XpathSpec{Expression: "//a[@"})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "xpath.expression"},
		{name: "unknown output", req: &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: xpathReq(&poolv1.XpathSpec{Expression: "//a", Output: 9})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "xpath.output"},
		// EXSLT's flags are g and i; parsel's has-class() takes strings.
		{name: "exslt re:test flag", req: &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: xpathReq(&poolv1.XpathSpec{Expression: `//a[re:test(@href, "^/", "x")]`})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "xpath.expression"},
		{name: "exslt re:replace group", req: &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: xpathReq(&poolv1.XpathSpec{Expression: `re:replace(//p, "(a)", "g", "\2")`})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "xpath.expression"},
		{name: "parsel has-class of a node set", req: &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: xpathReq(&poolv1.XpathSpec{Expression: `//p[has-class(@class)]`})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "xpath.expression"},
		{name: "too long", req: &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: xpathReq(&poolv1.XpathSpec{Expression: "//a" + strings.Repeat("[1]", 400)})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "xpath.expression"},
		{name: "too costly", req: &poolv1.ExtractRequest{Document: htmlDoc(big), Spec: xpathReq(&poolv1.XpathSpec{Expression: "//*[count(//*) > 0]", All: true})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "xpath.expression"},
		{name: "field", req: &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: fieldsReq(map[string]*poolv1.FieldSpec{
			"x": {Spec: &poolv1.FieldSpec_Xpath{Xpath: &poolv1.XpathSpec{Expression: "//a["}}}})},
			code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: `fields.fields["x"].xpath.expression`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.client.Extract(t.Context(), tc.req)
			tc.check(t, err)
		})
	}
	// The pool got every extractor back.
	if st := h.native.CSS.Stats(); st.InUse != 0 {
		t.Errorf("css pool in use = %d after the failed calls, want 0", st.InUse)
	}
}

func TestGRPCListExtractorsXPath(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	resp, err := h.client.ListExtractors(t.Context(), &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.GetLimits().GetMaxXpathSteps(), uint64(native.DefaultLimits().MaxXPathSteps); got != want {
		t.Errorf("max_xpath_steps = %d, want %d", got, want)
	}
	for _, e := range resp.GetExtractors() {
		if e.GetPool() == server.PoolCSS && !slices.Contains(e.GetSpecs(), "xpath") {
			t.Errorf("css pool specs = %q, want xpath among them", e.GetSpecs())
		}
	}
}

func TestGRPCExtractAbsoluteURLs(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	const doc = `<base href="/s/"><a href="x">x</a><a href="http://a b/">bad</a><img srcset="i.png 1x, /j.png 2x">`
	tests := []struct {
		name       string
		req        *poolv1.ExtractRequest
		want       []string
		unresolved uint32
	}{
		{"css attribute", &poolv1.ExtractRequest{Document: htmlDoc(doc), Url: "https://e.org/d/p",
			Spec: cssReq(&poolv1.CssSpec{Selector: "a", Attribute: "href", All: true, AbsoluteUrls: true})},
			[]string{"https://e.org/s/x", "http://a b/"}, 1},
		{"css pseudo srcset", &poolv1.ExtractRequest{Document: htmlDoc(doc), Url: "https://e.org/",
			Spec: cssReq(&poolv1.CssSpec{Selector: "img::attr(srcset)", AbsoluteUrls: true})},
			[]string{"https://e.org/s/i.png 1x, https://e.org/j.png 2x"}, 0},
		{"xpath", &poolv1.ExtractRequest{Document: htmlDoc(doc), Url: "https://e.org/",
			Spec: xpathReq(&poolv1.XpathSpec{Expression: "//a/@href", All: true, AbsoluteUrls: true})},
			[]string{"https://e.org/s/x", "http://a b/"}, 1},
		{"as written without the option", &poolv1.ExtractRequest{Document: htmlDoc(doc), Url: "https://e.org/",
			Spec: cssReq(&poolv1.CssSpec{Selector: "a", Attribute: "href", All: true})},
			[]string{"x", "http://a b/"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.client.Extract(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if !slices.Equal(resp.GetValues(), tt.want) || resp.GetUnresolvedUrls() != tt.unresolved {
				t.Errorf("values = %q (%d unresolved), want %q (%d)", resp.GetValues(), resp.GetUnresolvedUrls(), tt.want, tt.unresolved)
			}
		})
	}
	resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(doc), Url: "https://e.org/", Spec: fieldsReq(map[string]*poolv1.FieldSpec{
		"css":   cssField(&poolv1.CssSpec{Selector: "a::attr(href)", All: true, AbsoluteUrls: true}),
		"xpath": {Spec: &poolv1.FieldSpec_Xpath{Xpath: &poolv1.XpathSpec{Expression: "//a/@href", AbsoluteUrls: true}}},
	})})
	if err != nil {
		t.Fatalf("Extract fields: %v", err)
	}
	f := resp.GetFields()
	if got := f["css"]; !slices.Equal(got.GetValues(), []string{"https://e.org/s/x", "http://a b/"}) || got.GetUnresolvedUrls() != 1 {
		t.Errorf("css field = %v", got)
	}
	if got := f["xpath"]; !slices.Equal(got.GetValues(), []string{"https://e.org/s/x"}) || got.GetUnresolvedUrls() != 0 {
		t.Errorf("xpath field = %v", got)
	}
}

// TestGRPCXPathStopsAtDeadline: an XPath evaluation is bounded by the
// caller's deadline as well as by XPATH_MAX_STEPS. With the step budget
// lifted, //li[count(//li) > 0] over 40,000 siblings takes 1.6 billion
// steps, many seconds; a caller's deadline or cancellation ends it, and
// the daemon's metrics show the instance back in the pool. With the
// default budget the same expression is refused, naming the expression and
// the limit, as a costly CSS selector is.
func TestGRPCXPathStopsAtDeadline(t *testing.T) {
	wide := htmlDoc(wideList(40_000))
	slow := &poolv1.ExtractRequest{Document: wide, Spec: xpathReq(&poolv1.XpathSpec{Expression: "//li[count(//li) > 0]", All: true})}
	inField := &poolv1.ExtractRequest{Document: wide, Spec: fieldsReq(map[string]*poolv1.FieldSpec{
		"ok": cssField(&poolv1.CssSpec{Selector: "li"}), "slow": {Spec: &poolv1.FieldSpec_Xpath{Xpath: slow.GetXpath()}}})}

	lifted := server.Limits{Limits: native.Limits{MaxXPathSteps: 1 << 50}}
	h := newGRPCHarness(t, grpcOptions{limits: &lifted})
	for name, req := range map[string]*poolv1.ExtractRequest{"xpath": slow, "fields": inField} {
		t.Run(name+" deadline", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			_, err := h.client.Extract(ctx, req)
			if d := detailOf(err); d.code != codes.DeadlineExceeded {
				t.Fatalf("status %v %q, want DEADLINE_EXCEEDED", d.code, d.message)
			}
			waitIdle(t, h)
		})
		t.Run(name+" cancelled", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := h.client.Extract(ctx, req)
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

	def := newGRPCHarness(t, grpcOptions{})
	for name, tc := range map[string]struct {
		req   *poolv1.ExtractRequest
		field string
	}{
		"xpath":  {slow, "xpath.expression"},
		"fields": {inField, `fields.fields["slow"].xpath.expression`},
	} {
		t.Run(name+" over XPATH_MAX_STEPS", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), hostileCallBound)
			defer cancel()
			_, err := def.client.Extract(ctx, tc.req)
			errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: tc.field}.check(t, err)
			if d := detailOf(err); d.metadata["limit"] != "XPATH_MAX_STEPS" || !strings.Contains(d.message, "XPATH_MAX_STEPS") {
				t.Errorf("limit %q in %q, want XPATH_MAX_STEPS", d.metadata["limit"], d.message)
			}
			waitIdle(t, def)
		})
	}
}

// TestGRPCXPathCacheMetrics checks WARM_XPATH and GetMetrics' XPath cache
// figures through the served API: warmed expressions are hits from the
// first call, and every XPath call, spec or field, stream or tree, counts
// one lookup.
func TestGRPCXPathCacheMetrics(t *testing.T) {
	cfg := config.Default()
	cfg.WarmXPath = []string{"count(//li)", "//li[position() > 1]"}
	h := newGRPCHarness(t, grpcOptions{cfg: cfg})
	metrics := func(t *testing.T) *poolv1.NativeMetrics {
		t.Helper()
		m, err := h.client.GetMetrics(t.Context(), &poolv1.GetMetricsRequest{})
		if err != nil {
			t.Fatalf("GetMetrics: %v", err)
		}
		return m.GetNative()
	}
	if n := metrics(t); n.GetXpathCacheEntries() != 2 || n.GetXpathCacheHits() != 0 || n.GetXpathCacheMisses() != 0 {
		t.Fatalf("at start: %v; want the 2 warmed expressions, no hits or misses", n)
	}
	xpathField := func(expr string) *poolv1.FieldSpec {
		return &poolv1.FieldSpec{Spec: &poolv1.FieldSpec_Xpath{Xpath: &poolv1.XpathSpec{Expression: expr}}}
	}
	calls := []struct {
		req             *poolv1.ExtractRequest
		hits, misses    uint64
		entries         uint32
		selectorLookups uint64 // the css fields' and the CSS fallback's
	}{
		{&poolv1.ExtractRequest{Spec: xpathReq(&poolv1.XpathSpec{Expression: "count(//li)"})}, 1, 0, 2, 0},
		{&poolv1.ExtractRequest{Spec: xpathReq(&poolv1.XpathSpec{Expression: "//li[position() > 1]", All: true})}, 2, 0, 2, 0},
		{&poolv1.ExtractRequest{Spec: xpathReq(&poolv1.XpathSpec{Expression: "string(//li[3])"})}, 2, 1, 3, 0},
		{&poolv1.ExtractRequest{Spec: xpathReq(&poolv1.XpathSpec{Expression: "string(//li[3])"})}, 3, 1, 3, 0},
		{&poolv1.ExtractRequest{Spec: fieldsReq(map[string]*poolv1.FieldSpec{
			"items":  xpathField("count(//li)"),
			"third":  xpathField("string(//li[3])"),
			"later":  xpathField("//li[position() > 1]"),
			"title":  cssField(&poolv1.CssSpec{Selector: "title"}),
			"hrefs":  xpathField("//a/@href"),
			"counts": xpathField("count(//a)"),
		})}, 6, 3, 5, 2},
	}
	start := metrics(t)
	selectors := start.GetSelectorCacheHits() + start.GetSelectorCacheMisses()
	for i, c := range calls {
		c.req.Document = htmlDoc(page)
		if _, err := h.client.Extract(t.Context(), c.req); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		n := metrics(t)
		if n.GetXpathCacheHits() != c.hits || n.GetXpathCacheMisses() != c.misses || n.GetXpathCacheEntries() != c.entries {
			t.Errorf("after call %d: xpath cache %d hits, %d misses, %d entries; want %d, %d, %d",
				i, n.GetXpathCacheHits(), n.GetXpathCacheMisses(), n.GetXpathCacheEntries(), c.hits, c.misses, c.entries)
		}
		selectors += c.selectorLookups
		if got := n.GetSelectorCacheHits() + n.GetSelectorCacheMisses(); got != selectors {
			t.Errorf("after call %d: %d selector cache lookups, want %d", i, got, selectors)
		}
	}
}

func TestNativePoolsWarmXPathInvalid(t *testing.T) {
	_, err := server.NewNativePools(t.Context(), server.NativePoolsConfig{
		WarmXPath: []string{"//a/@href", "//p["},
		Limits:    native.DefaultLimits(),
	})
	var se *native.SpecError
	if err == nil || !strings.HasPrefix(err.Error(), "WARM_XPATH: ") || !errors.As(err, &se) || se.Value != "//p[" {
		t.Fatalf("NewNativePools with an invalid WARM_XPATH entry: err = %v, want a WARM_XPATH error naming //p[", err)
	}
}

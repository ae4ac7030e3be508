package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	poolv1 "github.com/riptidecrawler/riptide-poold/gen/riptide/pool/v1"
	"github.com/riptidecrawler/riptide-poold/internal/config"
	"github.com/riptidecrawler/riptide-poold/internal/native"
	"github.com/riptidecrawler/riptide-poold/internal/server"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// page is the document most tests ask questions of.
const page = `<!doctype html>
<html><head><title>  Hello
   World	</title></head>
<body>
<div id="main">
<h1>Title <b>bold</b></h1>
<p class="lead">First   para
  text</p>
<p>Second <a href="/a">link A</a></p>
<p>Third <a href="https://example.com/b" rel="nofollow">link B</a> <a name="anchor">no href</a></p>
<ul><li>one</li><li>two</li><li>three</li><li>four</li></ul>
<script>var hidden = "script text";</script>
<p id="prices">Price: $12.50 and $3.99; SKU-1234, SKU-5678</p>
</div>
</body></html>`

func TestGRPCExtractCSS(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	tests := []struct {
		name string
		spec *poolv1.CssSpec
		want []string
	}{
		{"first", &poolv1.CssSpec{Selector: "p"}, []string{"First para text"}},
		{"all", &poolv1.CssSpec{Selector: "p", All: true},
			[]string{"First para text", "Second link A", "Third link B no href", "Price: $12.50 and $3.99; SKU-1234, SKU-5678"}},
		{"text output explicit", &poolv1.CssSpec{Selector: "p.lead", Output: poolv1.CssOutput_CSS_OUTPUT_TEXT}, []string{"First para text"}},
		{"whitespace collapsed title", &poolv1.CssSpec{Selector: "title"}, []string{"Hello World"}},
		{"nested text", &poolv1.CssSpec{Selector: "h1"}, []string{"Title bold"}},
		{"attribute all skips elements without it", &poolv1.CssSpec{Selector: "a", Attribute: "href", All: true},
			[]string{"/a", "https://example.com/b"}},
		{"attribute first", &poolv1.CssSpec{Selector: "a", Attribute: "rel"}, []string{"nofollow"}},
		{"attribute name is case-insensitive", &poolv1.CssSpec{Selector: "a", Attribute: "HREF"}, []string{"/a"}},
		{"inner html", &poolv1.CssSpec{Selector: "h1", Output: poolv1.CssOutput_CSS_OUTPUT_INNER_HTML}, []string{"Title <b>bold</b>"}},
		{"outer html", &poolv1.CssSpec{Selector: "h1", Output: poolv1.CssOutput_CSS_OUTPUT_OUTER_HTML}, []string{"<h1>Title <b>bold</b></h1>"}},
		{"outer html all", &poolv1.CssSpec{Selector: "li", Output: poolv1.CssOutput_CSS_OUTPUT_OUTER_HTML, All: true, Limit: 2},
			[]string{"<li>one</li>", "<li>two</li>"}},
		{"limit", &poolv1.CssSpec{Selector: "li", All: true, Limit: 2}, []string{"one", "two"}},
		{"limit above matches", &poolv1.CssSpec{Selector: "li", All: true, Limit: 10}, []string{"one", "two", "three", "four"}},
		{"limit without all is first", &poolv1.CssSpec{Selector: "li", Limit: 3}, []string{"one"}},
		{"selector group in document order", &poolv1.CssSpec{Selector: "li:last-child, h1 b", All: true}, []string{"bold", "four"}},
		{"matched script keeps its content", &poolv1.CssSpec{Selector: "script"}, []string{`var hidden = "script text";`}},
		{"no match", &poolv1.CssSpec{Selector: "table"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: cssReq(tt.spec)})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if got := resp.GetValues(); !slices.Equal(got, tt.want) {
				t.Errorf("values = %q, want %q", got, tt.want)
			}
			if resp.GetTruncated() {
				t.Error("truncated = true, want false")
			}
			checkServedBy(t, resp, server.PoolCSS)
		})
	}
}

// matchesEqual reports whether got and want are the same matches, start
// and end offsets aside.
func matchesEqual(got, want []*poolv1.RegexMatch) bool {
	return slices.EqualFunc(got, want, func(g, w *poolv1.RegexMatch) bool {
		g = proto.CloneOf(g)
		g.Start, g.End = w.GetStart(), w.GetEnd()
		return proto.Equal(g, w)
	})
}

// checkServedBy checks the bookkeeping every successful response carries.
func checkServedBy(t *testing.T, resp *poolv1.ExtractResponse, pool string) {
	t.Helper()
	if resp.GetPool() != pool {
		t.Errorf("pool = %q, want %q", resp.GetPool(), pool)
	}
	if !strings.HasPrefix(resp.GetInstanceId(), pool+"-") {
		t.Errorf("instance_id = %q, want %q followed by a number", resp.GetInstanceId(), pool+"-")
	}
	tm := resp.GetTiming()
	if tm.GetQueueWait() == nil || tm.GetExtraction() == nil || tm.GetTotal() == nil {
		t.Errorf("timing = %v, want queue_wait, extraction and total all set", tm)
	}
	if tm.GetTotal().AsDuration() < tm.GetExtraction().AsDuration() {
		t.Errorf("timing total %v < extraction %v", tm.GetTotal().AsDuration(), tm.GetExtraction().AsDuration())
	}
}

func TestGRPCExtractTruncatedByMaxMatches(t *testing.T) {
	limits := server.Limits{Limits: native.Limits{MaxMatches: 2}, MaxFields: 8}
	h := newGRPCHarness(t, grpcOptions{limits: &limits})
	tests := []struct {
		name          string
		req           *poolv1.ExtractRequest
		wantValues    []string
		wantMatches   int
		wantTruncated bool
	}{
		{"css all", onPage(cssReq(&poolv1.CssSpec{Selector: "li", All: true})), []string{"one", "two"}, 0, true},
		{"css limit above max", onPage(cssReq(&poolv1.CssSpec{Selector: "li", All: true, Limit: 3})), []string{"one", "two"}, 0, true},
		{"css limit at max", onPage(cssReq(&poolv1.CssSpec{Selector: "li", All: true, Limit: 2})), []string{"one", "two"}, 0, false},
		{"regex all", onPage(regexReq(&poolv1.RegexSpec{Pattern: `SKU-\d+|\$\d`, All: true})), nil, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.client.Extract(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if got := resp.GetValues(); !slices.Equal(got, tt.wantValues) {
				t.Errorf("values = %q, want %q", got, tt.wantValues)
			}
			if got := len(resp.GetMatches()); got != tt.wantMatches {
				t.Errorf("%d matches, want %d", got, tt.wantMatches)
			}
			if resp.GetTruncated() != tt.wantTruncated {
				t.Errorf("truncated = %v, want %v", resp.GetTruncated(), tt.wantTruncated)
			}
		})
	}
}

// onPage asks spec of page. spec is one of the generated
// *poolv1.ExtractRequest_Css, _Regex, _Fields or _Wasm, whose common
// interface the generated code does not export.
func onPage[S interface {
	*poolv1.ExtractRequest_Css | *poolv1.ExtractRequest_Regex | *poolv1.ExtractRequest_Fields | *poolv1.ExtractRequest_Wasm
}](spec S) *poolv1.ExtractRequest {
	req := &poolv1.ExtractRequest{Document: htmlDoc(page)}
	switch s := any(spec).(type) {
	case *poolv1.ExtractRequest_Css:
		req.Spec = s
	case *poolv1.ExtractRequest_Regex:
		req.Spec = s
	case *poolv1.ExtractRequest_Fields:
		req.Spec = s
	case *poolv1.ExtractRequest_Wasm:
		req.Spec = s
	}
	return req
}

func TestGRPCExtractRegex(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	m := func(value string, groups []string, named map[string]string) *poolv1.RegexMatch {
		return &poolv1.RegexMatch{Value: value, Groups: groups, NamedGroups: named}
	}
	tests := []struct {
		name string
		spec *poolv1.RegexSpec
		want []*poolv1.RegexMatch
	}{
		{"first, text", &poolv1.RegexSpec{Pattern: `\$\d+\.\d+`}, []*poolv1.RegexMatch{m("$12.50", nil, nil)}},
		{"groups, all", &poolv1.RegexSpec{Pattern: `\$(\d+)\.(\d+)`, All: true}, []*poolv1.RegexMatch{
			m("$12.50", []string{"12", "50"}, nil),
			m("$3.99", []string{"3", "99"}, nil),
		}},
		{"named groups", &poolv1.RegexSpec{Pattern: `SKU-(?P<id>\d+)`, All: true, Source: poolv1.RegexSource_REGEX_SOURCE_TEXT}, []*poolv1.RegexMatch{
			m("SKU-1234", []string{"1234"}, map[string]string{"id": "1234"}),
			m("SKU-5678", []string{"5678"}, map[string]string{"id": "5678"}),
		}},
		{"mixed groups, untaken group empty", &poolv1.RegexSpec{Pattern: `(?P<cur>\$)(\d+)|(SKU)`, All: true, Limit: 3}, []*poolv1.RegexMatch{
			m("$12", []string{"$", "12", ""}, map[string]string{"cur": "$"}),
			m("$3", []string{"$", "3", ""}, map[string]string{"cur": "$"}),
			m("SKU", []string{"", "", "SKU"}, map[string]string{"cur": ""}),
		}},
		{"text collapses white space", &poolv1.RegexSpec{Pattern: `First para text`}, []*poolv1.RegexMatch{m("First para text", nil, nil)}},
		{"text skips scripts", &poolv1.RegexSpec{Pattern: `script text`}, nil},
		{"html sees scripts", &poolv1.RegexSpec{Pattern: `script text`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML},
			[]*poolv1.RegexMatch{m("script text", nil, nil)}},
		{"html groups and named groups", &poolv1.RegexSpec{Pattern: `href="(?P<url>[^"]+)"`, All: true, Source: poolv1.RegexSource_REGEX_SOURCE_HTML}, []*poolv1.RegexMatch{
			m(`href="/a"`, []string{"/a"}, map[string]string{"url": "/a"}),
			m(`href="https://example.com/b"`, []string{"https://example.com/b"}, map[string]string{"url": "https://example.com/b"}),
		}},
		{"html markup is raw", &poolv1.RegexSpec{Pattern: `First   para\n  text`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML},
			[]*poolv1.RegexMatch{m("First   para\n  text", nil, nil)}},
		{"limit", &poolv1.RegexSpec{Pattern: `\d+`, All: true, Limit: 2}, []*poolv1.RegexMatch{m("12", nil, nil), m("50", nil, nil)}},
		{"no match", &poolv1.RegexSpec{Pattern: `absent`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: regexReq(tt.spec)})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			// Offsets are checked against the searched text below, where
			// it is known; here only that each spans its value.
			for i, got := range resp.GetMatches() {
				if int(got.GetEnd()-got.GetStart()) != len(got.GetValue()) {
					t.Errorf("match %d: [%d,%d) does not span %q", i, got.GetStart(), got.GetEnd(), got.GetValue())
				}
			}
			if got := resp.GetMatches(); !matchesEqual(got, tt.want) {
				t.Errorf("matches = %v, want %v (offsets aside)", got, tt.want)
			}
			checkServedBy(t, resp, server.PoolRegex)
		})
	}
}

func TestGRPCExtractRegexOffsets(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	for _, src := range []poolv1.RegexSource{poolv1.RegexSource_REGEX_SOURCE_HTML, poolv1.RegexSource_REGEX_SOURCE_TEXT} {
		t.Run(src.String(), func(t *testing.T) {
			resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{
				Document: htmlDoc(page),
				Spec:     regexReq(&poolv1.RegexSpec{Pattern: `link [AB]`, All: true, Source: src}),
			})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if len(resp.GetMatches()) != 2 {
				t.Fatalf("matches = %v, want 2", resp.GetMatches())
			}
			// For the HTML source the offsets index the document as sent.
			if src == poolv1.RegexSource_REGEX_SOURCE_HTML {
				for _, m := range resp.GetMatches() {
					if got := page[m.GetStart():m.GetEnd()]; got != m.GetValue() {
						t.Errorf("page[%d:%d] = %q, want %q", m.GetStart(), m.GetEnd(), got, m.GetValue())
					}
				}
			}
			if a, b := resp.GetMatches()[0], resp.GetMatches()[1]; a.GetEnd() > b.GetStart() {
				t.Errorf("matches overlap or are out of order: %v then %v", a, b)
			}
		})
	}
}

func TestGRPCExtractFields(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	before := h.native.Selectors.Stats().Misses
	resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{
		Document: htmlDoc(page),
		Spec: fieldsReq(map[string]*poolv1.FieldSpec{
			"title":  cssField(&poolv1.CssSpec{Selector: "title"}),
			"links":  cssField(&poolv1.CssSpec{Selector: "a", Attribute: "href", All: true}),
			"header": cssField(&poolv1.CssSpec{Selector: "h1", Output: poolv1.CssOutput_CSS_OUTPUT_INNER_HTML}),
			"prices": regexField(&poolv1.RegexSpec{Pattern: `\$(\d+)\.\d+`, All: true}),
			"sku":    regexField(&poolv1.RegexSpec{Pattern: `SKU-(?P<id>\d+)`}),
			"raw":    regexField(&poolv1.RegexSpec{Pattern: `rel="(\w+)"`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML}),
			"none":   cssField(&poolv1.CssSpec{Selector: "table", All: true}),
		}),
	})
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	want := map[string]*poolv1.FieldResult{
		"title":  {Values: []string{"Hello World"}},
		"links":  {Values: []string{"/a", "https://example.com/b"}},
		"header": {Values: []string{"Title <b>bold</b>"}},
		"prices": {Matches: []*poolv1.RegexMatch{
			{Value: "$12.50", Groups: []string{"12"}},
			{Value: "$3.99", Groups: []string{"3"}},
		}},
		"sku":  {Matches: []*poolv1.RegexMatch{{Value: "SKU-1234", Groups: []string{"1234"}, NamedGroups: map[string]string{"id": "1234"}}}},
		"raw":  {Matches: []*poolv1.RegexMatch{{Value: `rel="nofollow"`, Groups: []string{"nofollow"}}}},
		"none": {},
	}
	got := resp.GetFields()
	if len(got) != len(want) {
		t.Errorf("%d fields, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		g := got[name]
		if !slices.Equal(g.GetValues(), w.GetValues()) || !matchesEqual(g.GetMatches(), w.GetMatches()) || g.GetTruncated() != w.GetTruncated() {
			t.Errorf("field %q = %v, want %v (offsets aside)", name, g, w)
		}
	}
	checkServedBy(t, resp, server.PoolCSS)
	if got := h.native.Selectors.Stats().Misses - before; got != 4 {
		t.Errorf("selector cache misses grew by %d, want 4 (one per distinct selector)", got)
	}

	t.Run("regex only is served by the regex pool", func(t *testing.T) {
		resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{
			Document: htmlDoc(page),
			Spec:     fieldsReq(map[string]*poolv1.FieldSpec{"d": regexField(&poolv1.RegexSpec{Pattern: `\d+`})}),
		})
		if err != nil {
			t.Fatalf("Extract: %v", err)
		}
		checkServedBy(t, resp, server.PoolRegex)
		if got := resp.GetFields()["d"].GetMatches(); len(got) != 1 || got[0].GetValue() != "12" {
			t.Errorf("d = %v, want one match 12", got)
		}
	})
}

// The same page in windows-1252: é, “ ”, ï and € are single bytes that are
// invalid UTF-8.
var (
	cp1252Body  = "<title>Caf\xe9 \x93quoted\x94</title></head><body><p>na\xefve \x80 5</p></body></html>"
	cp1252Meta  = []byte(`<html><head><meta charset="windows-1252">` + cp1252Body)
	cp1252Plain = []byte(`<html><head>` + cp1252Body)
	// A UTF-8 declaration that the Content-Type hint overrides.
	cp1252WrongMeta = []byte(`<html><head><meta charset="utf-8">` + cp1252Body)
)

func TestGRPCExtractRawHTMLCharset(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	tests := []struct {
		name        string
		raw         []byte
		contentType string
		wantTitle   string
		wantP       string
	}{
		{"content type hint", cp1252Plain, "text/html; charset=windows-1252", "Café “quoted”", "naïve € 5"},
		{"content type hint, label alias", cp1252Plain, "text/html; charset=ISO-8859-1", "Café “quoted”", "naïve € 5"},
		{"meta charset only", cp1252Meta, "", "Café “quoted”", "naïve € 5"},
		{"hint wins over meta", cp1252WrongMeta, "text/html;charset=windows-1252", "Café “quoted”", "naïve € 5"},
		{"no hint, invalid bytes replaced", cp1252Plain, "", "Caf\uFFFD \uFFFDquoted\uFFFD", "na\uFFFDve \uFFFD 5"},
		{"BOM wins over hint", append([]byte("\xEF\xBB\xBF"), "<title>Café</title><p>€</p>"...), "text/html; charset=windows-1252", "Café", "€"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{
				Document:    rawDoc(tt.raw),
				ContentType: tt.contentType,
				Spec: fieldsReq(map[string]*poolv1.FieldSpec{
					"title": cssField(&poolv1.CssSpec{Selector: "title"}),
					"p":     cssField(&poolv1.CssSpec{Selector: "p"}),
					"euro":  regexField(&poolv1.RegexSpec{Pattern: `€|\x{FFFD} 5`, Source: poolv1.RegexSource_REGEX_SOURCE_HTML}),
				}),
			})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			f := resp.GetFields()
			if got := f["title"].GetValues(); len(got) != 1 || got[0] != tt.wantTitle {
				t.Errorf("title = %q, want %q", got, tt.wantTitle)
			}
			if got := f["p"].GetValues(); len(got) != 1 || got[0] != tt.wantP {
				t.Errorf("p = %q, want %q", got, tt.wantP)
			}
			if len(f["euro"].GetMatches()) != 1 {
				t.Errorf("regex over the decoded HTML: matches = %v, want 1", f["euro"].GetMatches())
			}
		})
	}
}

// errorCase is one request and the status the API contract promises for it.
type errorCase struct {
	name   string
	req    *poolv1.ExtractRequest
	code   codes.Code
	reason string
	// field is the BadRequest field violation (and ErrorInfo "field"
	// metadata) for INVALID_REQUEST; for the other reasons it is the
	// ErrorInfo metadata "field" when set.
	field string
	// pool is the ErrorInfo metadata "pool" when set.
	pool string
}

func (tc errorCase) check(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("Extract succeeded, want %v %s", tc.code, tc.reason)
	}
	d := detailOf(err)
	if d.code != tc.code || d.reason != tc.reason {
		t.Fatalf("status %v reason %q (%q), want %v %q", d.code, d.reason, d.message, tc.code, tc.reason)
	}
	if d.domain != server.ErrorDomain {
		t.Errorf("ErrorInfo domain = %q, want %q", d.domain, server.ErrorDomain)
	}
	if tc.reason == server.ReasonInvalidRequest {
		if len(d.fields) != 1 || d.fields[0] != tc.field {
			t.Errorf("BadRequest field violations = %q, want [%q]", d.fields, tc.field)
		}
	} else if len(d.fields) != 0 {
		t.Errorf("BadRequest field violations = %q on a %s, want none", d.fields, tc.reason)
	}
	if tc.field != "" && d.metadata["field"] != tc.field {
		t.Errorf("ErrorInfo metadata field = %q, want %q", d.metadata["field"], tc.field)
	}
	if tc.pool != "" && d.metadata["pool"] != tc.pool {
		t.Errorf("ErrorInfo metadata pool = %q, want %q", d.metadata["pool"], tc.pool)
	}
	if d.message == "" {
		t.Error("status message is empty")
	}
	if wantRetry := tc.reason == server.ReasonPoolExhausted; (d.retry != nil) != wantRetry {
		t.Errorf("RetryInfo present = %v, want %v", d.retry != nil, wantRetry)
	}
}

func TestGRPCExtractInvalidRequest(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	css := func(s *poolv1.CssSpec) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: cssReq(s)}
	}
	regex := func(s *poolv1.RegexSpec) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: regexReq(s)}
	}
	fields := func(f map[string]*poolv1.FieldSpec) *poolv1.ExtractRequest {
		return &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: fieldsReq(f)}
	}
	p := cssReq(&poolv1.CssSpec{Selector: "p"})
	tests := []struct {
		name  string
		req   *poolv1.ExtractRequest
		field string
	}{
		{"empty html", &poolv1.ExtractRequest{Document: htmlDoc(""), Spec: p}, "html"},
		{"empty raw_html", &poolv1.ExtractRequest{Document: rawDoc(nil), Spec: p}, "raw_html"},
		{"empty html for regex", &poolv1.ExtractRequest{Document: htmlDoc(""), Spec: regexReq(&poolv1.RegexSpec{Pattern: "x"})}, "html"},
		{"missing document", &poolv1.ExtractRequest{Spec: p}, "document"},
		{"missing spec", &poolv1.ExtractRequest{Document: htmlDoc(page)}, "spec"},
		{"missing spec and document", &poolv1.ExtractRequest{}, "spec"},
		{"empty css spec", &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: cssReq(nil)}, "css.selector"},
		{"bad selector", css(&poolv1.CssSpec{Selector: "a["}), "css.selector"},
		{"pseudo-element selector", css(&poolv1.CssSpec{Selector: "p::before"}), "css.selector"},
		{"blank selector", css(&poolv1.CssSpec{Selector: "   "}), "css.selector"},
		{"selector too long", css(&poolv1.CssSpec{Selector: strings.Repeat("p ", 600)}), "css.selector"},
		{"attribute with bad character", css(&poolv1.CssSpec{Selector: "a", Attribute: "hr ef"}), "css.attribute"},
		{"attribute with html output", css(&poolv1.CssSpec{Selector: "a", Attribute: "href", Output: poolv1.CssOutput_CSS_OUTPUT_INNER_HTML}), "css.attribute"},
		{"unknown output", css(&poolv1.CssSpec{Selector: "p", Output: 99}), "css.output"},
		{"bad selector, empty document first", &poolv1.ExtractRequest{Document: htmlDoc(""), Spec: cssReq(&poolv1.CssSpec{Selector: ""})}, "css.selector"},
		{"empty regex spec", &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: regexReq(nil)}, "regex.pattern"},
		{"bad pattern", regex(&poolv1.RegexSpec{Pattern: "("}), "regex.pattern"},
		{"perl backreference", regex(&poolv1.RegexSpec{Pattern: `(a)\1`}), "regex.pattern"},
		{"pattern too long", regex(&poolv1.RegexSpec{Pattern: strings.Repeat("a", 5000)}), "regex.pattern"},
		{"unknown source", regex(&poolv1.RegexSpec{Pattern: "a", Source: 7}), "regex.source"},
		{"empty fields", fields(nil), "fields.fields"},
		{"bad selector in a field", fields(map[string]*poolv1.FieldSpec{
			"ok": cssField(&poolv1.CssSpec{Selector: "p"}),
			"x":  cssField(&poolv1.CssSpec{Selector: "a["}),
		}), `fields.fields["x"].css.selector`},
		{"bad pattern in a field", fields(map[string]*poolv1.FieldSpec{
			"ok": cssField(&poolv1.CssSpec{Selector: "p"}),
			"y":  regexField(&poolv1.RegexSpec{Pattern: "[z-a]"}),
		}), `fields.fields["y"].regex.pattern`},
		{"empty selector in a field", fields(map[string]*poolv1.FieldSpec{"x": cssField(&poolv1.CssSpec{})}), `fields.fields["x"].css.selector`},
		{"unknown output in a field", fields(map[string]*poolv1.FieldSpec{"x": cssField(&poolv1.CssSpec{Selector: "p", Output: -1})}), `fields.fields["x"].css.output`},
		{"unknown source in a field", fields(map[string]*poolv1.FieldSpec{"x": regexField(&poolv1.RegexSpec{Pattern: "p", Source: 3})}), `fields.fields["x"].regex.source`},
		{"field without a spec", fields(map[string]*poolv1.FieldSpec{"x": {}}), `fields.fields["x"]`},
		{"field with an empty name", fields(map[string]*poolv1.FieldSpec{"": cssField(&poolv1.CssSpec{Selector: "p"})}), "fields.fields"},
		{"too many fields", fields(manyFields(65)), "fields.fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.Extract(t.Context(), tt.req)
			errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: tt.field}.check(t, err)
		})
	}
}

func manyFields(n int) map[string]*poolv1.FieldSpec {
	f := make(map[string]*poolv1.FieldSpec, n)
	for i := range n {
		f[fmt.Sprintf("f%02d", i)] = cssField(&poolv1.CssSpec{Selector: "p"})
	}
	return f
}

func TestGRPCExtractTooLarge(t *testing.T) {
	limits := server.Limits{
		Limits:    native.Limits{MaxDocumentBytes: 2048, MaxResultBytes: 1024},
		MaxFields: 8,
	}
	h := newGRPCHarness(t, grpcOptions{limits: &limits})
	big := "<p>" + strings.Repeat("x", 1500) + "</p><p>" + strings.Repeat("y", 300) + "</p>"
	medium := "<p>" + strings.Repeat("x", 600) + "</p><p>" + strings.Repeat("y", 600) + "</p>"
	tests := []errorCase{
		{name: "html over the limit", code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge, field: "html",
			req: &poolv1.ExtractRequest{Document: htmlDoc(strings.Repeat("a", 2049)), Spec: cssReq(&poolv1.CssSpec{Selector: "p"})}},
		{name: "raw_html over the limit", code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge, field: "raw_html",
			req: &poolv1.ExtractRequest{Document: rawDoc([]byte(strings.Repeat("a", 2049))), Spec: regexReq(&poolv1.RegexSpec{Pattern: "a"})}},
		{name: "raw_html over the limit once decoded", code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge, field: "raw_html",
			// 1000 bytes of windows-1252 € are 3000 bytes of UTF-8.
			req: &poolv1.ExtractRequest{Document: rawDoc([]byte(strings.Repeat("\x80", 1000))), ContentType: "text/html; charset=windows-1252",
				Spec: cssReq(&poolv1.CssSpec{Selector: "p"})}},
		{name: "document too large wins over a bad spec of fields", code: codes.ResourceExhausted, reason: server.ReasonDocumentTooLarge, field: "html",
			req: &poolv1.ExtractRequest{Document: htmlDoc(strings.Repeat("a", 4096)), Spec: fieldsReq(map[string]*poolv1.FieldSpec{"x": cssField(&poolv1.CssSpec{Selector: "a["})})}},
		{name: "css text over the result limit", code: codes.ResourceExhausted, reason: server.ReasonResultTooLarge, field: "css",
			req: &poolv1.ExtractRequest{Document: htmlDoc(big), Spec: cssReq(&poolv1.CssSpec{Selector: "p"})}},
		{name: "css html over the result limit", code: codes.ResourceExhausted, reason: server.ReasonResultTooLarge, field: "css",
			req: &poolv1.ExtractRequest{Document: htmlDoc(medium), Spec: cssReq(&poolv1.CssSpec{Selector: "body", Output: poolv1.CssOutput_CSS_OUTPUT_INNER_HTML})}},
		{name: "css values adding up over the result limit", code: codes.ResourceExhausted, reason: server.ReasonResultTooLarge, field: "css",
			req: &poolv1.ExtractRequest{Document: htmlDoc(medium), Spec: cssReq(&poolv1.CssSpec{Selector: "p", All: true})}},
		{name: "regex over the result limit", code: codes.ResourceExhausted, reason: server.ReasonResultTooLarge, field: "regex",
			req: &poolv1.ExtractRequest{Document: htmlDoc(big), Spec: regexReq(&poolv1.RegexSpec{Pattern: "x+", Source: poolv1.RegexSource_REGEX_SOURCE_HTML})}},
		{name: "regex groups count toward the result limit", code: codes.ResourceExhausted, reason: server.ReasonResultTooLarge, field: "regex",
			req: &poolv1.ExtractRequest{Document: htmlDoc(medium), Spec: regexReq(&poolv1.RegexSpec{Pattern: "(x+)"})}},
		{name: "one field over the result limit", code: codes.ResourceExhausted, reason: server.ReasonResultTooLarge, field: `fields.fields["big"].css`,
			req: &poolv1.ExtractRequest{Document: htmlDoc(big), Spec: fieldsReq(map[string]*poolv1.FieldSpec{"big": cssField(&poolv1.CssSpec{Selector: "p"})})}},
		{name: "fields adding up over the result limit", code: codes.ResourceExhausted, reason: server.ReasonResultTooLarge, pool: server.PoolCSS,
			req: &poolv1.ExtractRequest{Document: htmlDoc(medium), Spec: fieldsReq(map[string]*poolv1.FieldSpec{
				"a": cssField(&poolv1.CssSpec{Selector: "p"}),
				"b": cssField(&poolv1.CssSpec{Selector: "p:last-child"}),
			})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.client.Extract(t.Context(), tt.req)
			tt.check(t, err)
		})
	}

	// The limits are exclusive of what fits: a document of exactly
	// MAX_DOCUMENT_BYTES is served.
	t.Run("document at the limit", func(t *testing.T) {
		doc := "<p>" + strings.Repeat("z", 2048-7) + "</p>"
		_, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(doc), Spec: cssReq(&poolv1.CssSpec{Selector: "b"})})
		if err != nil {
			t.Fatalf("a document of exactly MAX_DOCUMENT_BYTES: %v", err)
		}
	})
}

// A fields request whose regex-only answers add up over MAX_RESULT_BYTES is
// served by the regex pool, and its ErrorInfo should say so.
func TestGRPCExtractFieldsResultTooLargeNamesRegexPool(t *testing.T) {
	limits := server.Limits{Limits: native.Limits{MaxResultBytes: 1024}, MaxFields: 8}
	h := newGRPCHarness(t, grpcOptions{limits: &limits})
	medium := "<p>" + strings.Repeat("x", 600) + "</p><p>" + strings.Repeat("y", 600) + "</p>"
	_, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(medium), Spec: fieldsReq(map[string]*poolv1.FieldSpec{
		"a": regexField(&poolv1.RegexSpec{Pattern: "x+"}),
		"b": regexField(&poolv1.RegexSpec{Pattern: "y+"}),
	})})
	errorCase{code: codes.ResourceExhausted, reason: server.ReasonResultTooLarge, pool: server.PoolRegex}.check(t, err)
}

// With two invalid fields, the one reported must not depend on Go's map
// iteration order: fieldSpecs promises "errors and work in a stable order".
func TestGRPCExtractFieldsErrorIsStable(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	req := &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: fieldsReq(map[string]*poolv1.FieldSpec{
		"a": cssField(&poolv1.CssSpec{}),
		"b": cssField(&poolv1.CssSpec{}),
		"c": regexField(&poolv1.RegexSpec{}),
		"d": {},
	})}
	seen := map[string]int{}
	for range 32 {
		_, err := h.client.Extract(t.Context(), req)
		d := detailOf(err)
		if d.code != codes.InvalidArgument || len(d.fields) != 1 {
			t.Fatalf("status %v %q fields %q, want INVALID_ARGUMENT with one field", d.code, d.message, d.fields)
		}
		seen[d.fields[0]]++
	}
	if len(seen) != 1 {
		t.Fatalf("the field reported varies between identical requests: %v", seen)
	}
	if _, ok := seen[`fields.fields["a"].css.selector`]; !ok {
		t.Errorf("reported %v, want the first field by name, fields.fields[\"a\"].css.selector", seen)
	}
}

// A document nested deeper than golang.org/x/net/html's 512 open elements
// cannot be parsed. That is the document's fault, not the daemon's: it
// must not be answered INTERNAL (which the contract reserves for a trapped
// WASM guest, and which clients treat as a server bug).
func TestGRPCExtractDeeplyNestedDocument(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	deep := strings.Repeat("<div>", 600) + "x" + strings.Repeat("</div>", 600)
	for _, req := range []*poolv1.ExtractRequest{
		{Document: htmlDoc(deep), Spec: cssReq(&poolv1.CssSpec{Selector: "div"})},
		{Document: htmlDoc(deep), Spec: regexReq(&poolv1.RegexSpec{Pattern: "x"})},
	} {
		_, err := h.client.Extract(t.Context(), req)
		d := detailOf(err)
		if d.code == codes.Internal {
			t.Fatalf("a document nesting over 512 elements answers INTERNAL %s (%q); want INVALID_ARGUMENT INVALID_REQUEST field \"html\"", d.reason, d.message)
		}
		errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "html"}.check(t, err)
	}
	// The regex over the raw HTML needs no parse and is served.
	resp, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{Document: htmlDoc(deep),
		Spec: regexReq(&poolv1.RegexSpec{Pattern: "x", Source: poolv1.RegexSource_REGEX_SOURCE_HTML})})
	if err != nil || len(resp.GetMatches()) != 1 {
		t.Errorf("regex over the raw HTML of a deep document: %v, %v; want one match", resp.GetMatches(), err)
	}
}

// exhaustedConfig is a daemon configuration with one instance per native
// pool and the given checkout timeout.
func exhaustedConfig(checkout time.Duration) *config.Config {
	cfg := config.Default()
	cfg.NativePoolSize, cfg.NativeMaxInstances = 1, 1
	cfg.CheckoutTimeout = checkout
	return cfg
}

func TestGRPCExtractPoolExhausted(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{cfg: exhaustedConfig(20 * time.Millisecond)})
	both := fieldsReq(map[string]*poolv1.FieldSpec{
		"r": regexField(&poolv1.RegexSpec{Pattern: "p"}),
		"c": cssField(&poolv1.CssSpec{Selector: "p"}),
	})
	tests := []struct {
		name     string
		hold     string // the pool whose only instance the test holds
		req      *poolv1.ExtractRequest
		wantPool string
	}{
		{"css", server.PoolCSS, onPage(cssReq(&poolv1.CssSpec{Selector: "p"})), server.PoolCSS},
		{"regex", server.PoolRegex, onPage(regexReq(&poolv1.RegexSpec{Pattern: "p"})), server.PoolRegex},
		{"fields waiting on css", server.PoolCSS, onPage(both), server.PoolCSS},
		{"fields waiting on regex", server.PoolRegex, onPage(both), server.PoolRegex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := holdInstance(t, h, tt.hold)
			req := tt.req
			_, err := h.client.Extract(t.Context(), req)
			errorCase{code: codes.ResourceExhausted, reason: server.ReasonPoolExhausted, pool: tt.wantPool}.check(t, err)
			if d := detailOf(err); d.retry != nil && (*d.retry <= 0 || *d.retry > time.Second) {
				t.Errorf("RetryInfo delay = %v, want within (0, 1s]", *d.retry)
			}

			// Once the instance is back, the same request is served.
			release()
			if _, err := h.client.Extract(t.Context(), req); err != nil {
				t.Errorf("after release: %v", err)
			}
		})
	}

	m, err := h.client.GetMetrics(t.Context(), &poolv1.GetMetricsRequest{})
	if err != nil {
		t.Fatalf("GetMetrics: %v", err)
	}
	for _, ps := range m.GetPools() {
		if ps.GetTimeouts() != 2 {
			t.Errorf("pool %s: timeouts = %d, want 2", ps.GetPool(), ps.GetTimeouts())
		}
		if ps.GetInUse() != 0 || ps.GetWaiters() != 0 {
			t.Errorf("pool %s: in_use %d, waiters %d after the calls, want 0 and 0", ps.GetPool(), ps.GetInUse(), ps.GetWaiters())
		}
	}
}

// holdInstance checks an instance of the named pool out directly, as a
// concurrent caller would hold it, and returns a function that releases it
// (also called on cleanup if the test did not).
func holdInstance(t *testing.T, h *grpcHarness, name string) (release func()) {
	t.Helper()
	var rel func()
	switch name {
	case server.PoolCSS:
		hd, err := h.native.CSS.Checkout(t.Context())
		if err != nil {
			t.Fatalf("hold css: %v", err)
		}
		rel = hd.Release
	case server.PoolRegex:
		hd, err := h.native.Regex.Checkout(t.Context())
		if err != nil {
			t.Fatalf("hold regex: %v", err)
		}
		rel = hd.Release
	default:
		t.Fatalf("no pool %q", name)
	}
	release = sync.OnceFunc(rel)
	t.Cleanup(release)
	return release
}

// The caller's own deadline ending while it waits for an instance is
// DEADLINE_EXCEEDED, not POOL_EXHAUSTED: the pool was not given its
// checkout timeout.
func TestGRPCExtractDeadlineWhileWaiting(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{cfg: exhaustedConfig(time.Minute)})
	req := &poolv1.ExtractRequest{Document: htmlDoc(page), Spec: cssReq(&poolv1.CssSpec{Selector: "p"})}
	holdInstance(t, h, server.PoolCSS)

	t.Run("through gRPC", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := h.client.Extract(ctx, req)
		if d := detailOf(err); d.code != codes.DeadlineExceeded || d.reason == server.ReasonPoolExhausted {
			t.Errorf("status %v reason %q (%q), want DEADLINE_EXCEEDED", d.code, d.reason, d.message)
		}
	})
	// Through gRPC the client's own timer may answer first, so call the
	// handler too: it is the server's mapping under test.
	t.Run("handler", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, err := h.svc.Extract(ctx, req)
		d := detailOf(err)
		if !d.isStatus || d.code != codes.DeadlineExceeded {
			t.Errorf("handler answered %v (status %v), want a DEADLINE_EXCEEDED status", err, d.code)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(20*time.Millisecond, cancel)
		_, err := h.svc.Extract(ctx, req)
		if d := detailOf(err); !d.isStatus || d.code != codes.Canceled {
			t.Errorf("handler answered %v (status %v), want a CANCELLED status", err, d.code)
		}
	})

	m, err := h.client.GetMetrics(t.Context(), &poolv1.GetMetricsRequest{Pools: []string{server.PoolCSS}})
	if err != nil {
		t.Fatalf("GetMetrics: %v", err)
	}
	css := m.GetPools()[0]
	if css.GetTimeouts() != 0 {
		t.Errorf("css timeouts = %d, want 0: the caller's deadline is not the pool's timeout", css.GetTimeouts())
	}
	if css.GetWaiters() != 0 {
		t.Errorf("css waiters = %d after the callers gave up, want 0", css.GetWaiters())
	}
}

func TestGRPCGetMetrics(t *testing.T) {
	cfg := config.Default()
	cfg.NativePoolSize, cfg.NativeMaxInstances = 2, 4
	h := newGRPCHarness(t, grpcOptions{cfg: cfg})
	ctx := t.Context()

	metrics := func(t *testing.T, pools ...string) *poolv1.GetMetricsResponse {
		t.Helper()
		m, err := h.client.GetMetrics(ctx, &poolv1.GetMetricsRequest{Pools: pools})
		if err != nil {
			t.Fatalf("GetMetrics(%q): %v", pools, err)
		}
		return m
	}

	m := metrics(t)
	if got := m.GetNative(); got.GetCssTotal() != 2 || got.GetRegexTotal() != 2 || got.GetCssInUse() != 0 || got.GetRegexInUse() != 0 {
		t.Errorf("native at start = %v, want 2 warm of each, none in use", got)
	}

	// In use while held, counted by pool.
	release := holdInstance(t, h, server.PoolCSS)
	if got := metrics(t).GetNative(); got.GetCssInUse() != 1 || got.GetRegexInUse() != 0 {
		t.Errorf("holding one css instance: native = %v, want css_in_use 1, regex_in_use 0", got)
	}
	release()

	// One call of each kind first: the caches compile a selector or pattern
	// on a miss without holding back concurrent misses of the same one, so
	// only a serial first call makes "one miss" exact.
	for _, req := range []*poolv1.ExtractRequest{
		onPage(cssReq(&poolv1.CssSpec{Selector: "li", All: true})),
		onPage(regexReq(&poolv1.RegexSpec{Pattern: `SKU-\d+`, All: true})),
	} {
		if _, err := h.client.Extract(ctx, req); err != nil {
			t.Fatalf("Extract: %v", err)
		}
	}

	// Concurrent calls beyond the warm size grow the pools, and every
	// instance is back once they are done.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			req := onPage(cssReq(&poolv1.CssSpec{Selector: "li", All: true}))
			if i%2 == 1 {
				req = onPage(regexReq(&poolv1.RegexSpec{Pattern: `SKU-\d+`, All: true}))
			}
			if _, err := h.client.Extract(ctx, req); err != nil {
				t.Errorf("Extract: %v", err)
			}
		})
	}
	wg.Wait()
	m = metrics(t)
	n := m.GetNative()
	if n.GetCssInUse() != 0 || n.GetRegexInUse() != 0 {
		t.Errorf("after the calls: css_in_use %d, regex_in_use %d, want 0", n.GetCssInUse(), n.GetRegexInUse())
	}
	if n.GetCssTotal() < 2 || n.GetCssTotal() > 4 || n.GetRegexTotal() < 2 || n.GetRegexTotal() > 4 {
		t.Errorf("after the calls: css_total %d, regex_total %d, want within [min 2, max 4]", n.GetCssTotal(), n.GetRegexTotal())
	}
	if n.GetSelectorCacheMisses() != 1 || n.GetSelectorCacheHits() < 8 {
		t.Errorf("selector cache: %d misses, %d hits; want 1 miss and a hit per later call", n.GetSelectorCacheMisses(), n.GetSelectorCacheHits())
	}
	if n.GetPatternCacheMisses() != 1 || n.GetPatternCacheHits() < 8 {
		t.Errorf("pattern cache: %d misses, %d hits; want 1 miss and a hit per later call", n.GetPatternCacheMisses(), n.GetPatternCacheHits())
	}
	if len(m.GetPools()) != 2 {
		t.Fatalf("pools = %v, want css and regex", m.GetPools())
	}
	for _, ps := range m.GetPools() {
		want := map[string]poolv1.ExtractorKind{
			server.PoolCSS:   poolv1.ExtractorKind_EXTRACTOR_KIND_CSS,
			server.PoolRegex: poolv1.ExtractorKind_EXTRACTOR_KIND_REGEX,
		}[ps.GetPool()]
		if ps.GetKind() != want || want == 0 {
			t.Errorf("pool %q kind %v, want %v", ps.GetPool(), ps.GetKind(), want)
		}
		if ps.GetMin() != 2 || ps.GetMax() != 4 || ps.GetInUse() != 0 || ps.GetIdle() != ps.GetTotal() {
			t.Errorf("pool %q: min %d max %d in_use %d idle %d total %d; want 2, 4, 0 and idle = total",
				ps.GetPool(), ps.GetMin(), ps.GetMax(), ps.GetInUse(), ps.GetIdle(), ps.GetTotal())
		}
		if ps.GetCheckouts() < 8 {
			t.Errorf("pool %q: %d checkouts, want at least 8", ps.GetPool(), ps.GetCheckouts())
		}
		if ps.GetBreakerState() != poolv1.BreakerState_BREAKER_STATE_CLOSED {
			t.Errorf("pool %q: breaker %v, want CLOSED", ps.GetPool(), ps.GetBreakerState())
		}
	}

	t.Run("one pool", func(t *testing.T) {
		m := metrics(t, server.PoolRegex)
		if len(m.GetPools()) != 1 || m.GetPools()[0].GetPool() != server.PoolRegex {
			t.Errorf("pools = %v, want regex only", m.GetPools())
		}
	})
	t.Run("unknown pool", func(t *testing.T) {
		_, err := h.client.GetMetrics(ctx, &poolv1.GetMetricsRequest{Pools: []string{server.PoolCSS, "nope"}})
		errorCase{code: codes.InvalidArgument, reason: server.ReasonInvalidRequest, field: "pools"}.check(t, err)
	})
}

func TestGRPCListExtractors(t *testing.T) {
	cfg := config.Default()
	cfg.NativePoolSize, cfg.NativeMaxInstances = 3, 7
	cfg.CheckoutTimeout = 1500 * time.Millisecond
	cfg.MaxDocumentBytes, cfg.MaxResultBytes = 5<<20, 2<<20
	h := newGRPCHarness(t, grpcOptions{cfg: cfg})
	resp, err := h.client.ListExtractors(t.Context(), &poolv1.ListExtractorsRequest{})
	if err != nil {
		t.Fatalf("ListExtractors: %v", err)
	}
	// The native limits; the WASM and lease ones belong to their tests.
	d := native.DefaultLimits()
	l := resp.GetLimits()
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"max_document_bytes", l.GetMaxDocumentBytes(), 5 << 20},
		{"max_result_bytes", l.GetMaxResultBytes(), 2 << 20},
		{"max_matches", uint64(l.GetMaxMatches()), uint64(d.MaxMatches)},
		{"max_selector_length", uint64(l.GetMaxSelectorLength()), uint64(d.MaxSelectorLen)},
		{"max_pattern_length", uint64(l.GetMaxPatternLength()), uint64(d.MaxPatternLen)},
		{"max_fields", uint64(l.GetMaxFields()), 64},
	} {
		if c.got != c.want {
			t.Errorf("limits.%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if got := l.GetCheckoutTimeout().AsDuration(); got != 1500*time.Millisecond {
		t.Errorf("limits.checkout_timeout = %v, want 1.5s", got)
	}
	wantExtractors := []*poolv1.Extractor{
		{Pool: server.PoolCSS, Kind: poolv1.ExtractorKind_EXTRACTOR_KIND_CSS, MinInstances: 3, MaxInstances: 7},
		{Pool: server.PoolRegex, Kind: poolv1.ExtractorKind_EXTRACTOR_KIND_REGEX, MinInstances: 3, MaxInstances: 7},
	}
	got := resp.GetExtractors()
	if len(got) != len(wantExtractors) {
		t.Fatalf("extractors = %v, want css and regex only (no WASM pools)", got)
	}
	for i, w := range wantExtractors {
		g := got[i]
		if g.GetPool() != w.GetPool() || g.GetKind() != w.GetKind() || g.GetMinInstances() != w.GetMinInstances() || g.GetMaxInstances() != w.GetMaxInstances() {
			t.Errorf("extractor %d = %v, want %v", i, g, w)
		}
	}
}

// A daemon built without WASM pools (WASM_POOL_ENABLED=false, as this
// harness is) refuses the wasm spec. This test pins only the status code;
// WASM extraction itself belongs to tests with the WASM pools.
func TestGRPCExtractWASMDisabled(t *testing.T) {
	h := newGRPCHarness(t, grpcOptions{})
	_, err := h.client.Extract(t.Context(), &poolv1.ExtractRequest{
		Document: htmlDoc(page),
		Spec:     &poolv1.ExtractRequest_Wasm{Wasm: &poolv1.WasmSpec{Module: "article"}},
	})
	if d := detailOf(err); d.code != codes.FailedPrecondition {
		t.Errorf("status %v (%q), want FAILED_PRECONDITION", d.code, d.message)
	}
}

// Many clients at once on a small pool: every answer is right, and -race
// watches the handler, the pools and the shared caches.
func TestGRPCExtractConcurrent(t *testing.T) {
	cfg := config.Default()
	cfg.NativePoolSize, cfg.NativeMaxInstances = 1, 3
	h := newGRPCHarness(t, grpcOptions{cfg: cfg})
	reqs := []struct {
		req   *poolv1.ExtractRequest
		check func(*poolv1.ExtractResponse) bool
	}{
		{&poolv1.ExtractRequest{Document: htmlDoc(page), Spec: cssReq(&poolv1.CssSpec{Selector: "li", All: true})},
			func(r *poolv1.ExtractResponse) bool { return len(r.GetValues()) == 4 }},
		{&poolv1.ExtractRequest{Document: htmlDoc(page), Spec: regexReq(&poolv1.RegexSpec{Pattern: `\$\d`, All: true})},
			func(r *poolv1.ExtractResponse) bool { return len(r.GetMatches()) == 2 }},
		{&poolv1.ExtractRequest{Document: rawDoc(cp1252Meta), Spec: fieldsReq(map[string]*poolv1.FieldSpec{
			"t": cssField(&poolv1.CssSpec{Selector: "title"}),
			"e": regexField(&poolv1.RegexSpec{Pattern: "€"}),
		})}, func(r *poolv1.ExtractResponse) bool {
			return r.GetFields()["t"].GetValues()[0] == "Café “quoted”" && len(r.GetFields()["e"].GetMatches()) == 1
		}},
	}
	var wg sync.WaitGroup
	for g := range 12 {
		wg.Go(func() {
			for i := range 20 {
				r := reqs[(g+i)%len(reqs)]
				resp, err := h.client.Extract(t.Context(), r.req)
				if err != nil {
					t.Errorf("Extract: %v", err)
					return
				}
				if !r.check(resp) {
					t.Errorf("wrong answer: %v", resp)
					return
				}
			}
		})
	}
	wg.Wait()
	n, err := h.client.GetMetrics(t.Context(), &poolv1.GetMetricsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := n.GetNative(); got.GetCssInUse() != 0 || got.GetRegexInUse() != 0 || got.GetCssTotal() > 3 || got.GetRegexTotal() > 3 {
		t.Errorf("native after the calls = %v, want nothing in use and at most 3 of each", got)
	}
}

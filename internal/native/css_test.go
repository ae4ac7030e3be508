package native

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

const page = `<!DOCTYPE html>
<html><head><title> The  Title </title>
<script type="application/ld+json">
  {"name": "a  b"}
</script></head>
<body>
<h1 id="top">Hello <em>big</em>   world</h1>
<p class="x">one</p>
<p class="x">two <a href="/2">link</a></p>
<p>three<script>ignored()</script><style>p{}</style></p>
<a href="/a" title="A">first</a>
<a>no href</a>
<a HREF="/b">second</a>
<div id="empty"></div>
<ul><li>i1</li><li>i2</li></ul>
</body></html>`

func TestSelect(t *testing.T) {
	tests := []struct {
		name string
		spec CSSSpec
		want []string
	}{
		{"text first", CSSSpec{Selector: "p"}, []string{"one"}},
		{"text all", CSSSpec{Selector: "p", All: true}, []string{"one", "two link", "three"}},
		{"text limit", CSSSpec{Selector: "p", All: true, Limit: 2}, []string{"one", "two link"}},
		{"limit above count", CSSSpec{Selector: "p", All: true, Limit: 10}, []string{"one", "two link", "three"}},
		{"limit without all is first", CSSSpec{Selector: "p", Limit: 2}, []string{"one"}},
		{"collapses and trims", CSSSpec{Selector: "title"}, []string{"The Title"}},
		{"descendant text", CSSSpec{Selector: "h1"}, []string{"Hello big world"}},
		{"block children separate", CSSSpec{Selector: "ul"}, []string{"i1 i2"}},
		{"script verbatim when matched", CSSSpec{Selector: `script[type="application/ld+json"]`}, []string{`{"name": "a  b"}`}},
		{"empty element", CSSSpec{Selector: "#empty"}, []string{""}},
		{"no match", CSSSpec{Selector: "table", All: true}, nil},
		{"group in document order", CSSSpec{Selector: "li, h1", All: true}, []string{"Hello big world", "i1", "i2"}},
		{"attribute skips elements without it", CSSSpec{Selector: "a", Attribute: "href"}, []string{"/2"}},
		{"attribute all", CSSSpec{Selector: "a", Attribute: "href", All: true}, []string{"/2", "/a", "/b"}},
		{"attribute name case-insensitive", CSSSpec{Selector: "a", Attribute: "HRef", All: true, Limit: 1}, []string{"/2"}},
		{"attribute selector", CSSSpec{Selector: "a[title]", Attribute: "title"}, []string{"A"}},
		{"inner html", CSSSpec{Selector: "h1", Output: OutputInnerHTML}, []string{"Hello <em>big</em>   world"}},
		{"outer html", CSSSpec{Selector: "h1", Output: OutputOuterHTML}, []string{`<h1 id="top">Hello <em>big</em>   world</h1>`}},
		{"outer html all", CSSSpec{Selector: "li", Output: OutputOuterHTML, All: true}, []string{"<li>i1</li>", "<li>i2</li>"}},
		{"inner html of empty", CSSSpec{Selector: "#empty", Output: OutputInnerHTML}, []string{""}},
		{"selector padded with spaces", CSSSpec{Selector: "  h1 em "}, []string{"big"}},
		{"pseudo-class", CSSSpec{Selector: "p:nth-of-type(2) a"}, []string{"link"}},
	}
	doc := mustDoc(t, page)
	css := NewCSS(NewSelectorCache(8), Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated, err := css.Select(context.Background(), doc, tt.spec)
			if err != nil {
				t.Fatalf("Select: %v", err)
			}
			if truncated {
				t.Error("truncated = true, want false")
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Select = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSelectTruncated(t *testing.T) {
	doc := mustDoc(t, strings.Repeat("<p>x</p>", 5))
	tests := []struct {
		name          string
		maxMatches    int
		spec          CSSSpec
		wantN         int
		wantTruncated bool
	}{
		{"all, under max", 10, CSSSpec{Selector: "p", All: true}, 5, false},
		{"all, exactly max", 5, CSSSpec{Selector: "p", All: true}, 5, false},
		{"all, over max", 3, CSSSpec{Selector: "p", All: true}, 3, true},
		{"limit under max is the caller's cut", 3, CSSSpec{Selector: "p", All: true, Limit: 2}, 2, false},
		{"limit over max", 3, CSSSpec{Selector: "p", All: true, Limit: 4}, 3, true},
		{"limit over max, few matches", 3, CSSSpec{Selector: "p", All: true, Limit: 9}, 3, true},
		{"first", 1, CSSSpec{Selector: "p"}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			css := NewCSS(nil, Limits{MaxMatches: tt.maxMatches})
			got, truncated, err := css.Select(context.Background(), doc, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantN || truncated != tt.wantTruncated {
				t.Errorf("got %d values, truncated %v; want %d, %v", len(got), truncated, tt.wantN, tt.wantTruncated)
			}
		})
	}
}

func TestSelectErrors(t *testing.T) {
	doc := mustDoc(t, page)
	limits := Limits{MaxSelectorLen: 16, MaxResultBytes: 20}
	tests := []struct {
		name      string
		doc       *Document
		spec      CSSSpec
		wantField string // for a *SpecError
		wantErr   error
	}{
		{name: "empty selector", spec: CSSSpec{}, wantField: "selector", wantErr: ErrEmptyValue},
		{name: "blank selector", spec: CSSSpec{Selector: "  "}, wantField: "selector", wantErr: ErrEmptyValue},
		{name: "selector too long", spec: CSSSpec{Selector: strings.Repeat("a", 17)}, wantField: "selector", wantErr: ErrTooLong},
		{name: "syntax", spec: CSSSpec{Selector: "p["}, wantField: "selector"},
		{name: "pseudo-element", spec: CSSSpec{Selector: "p::before"}, wantField: "selector"},
		{name: "negative limit", spec: CSSSpec{Selector: "p", Limit: -1}, wantField: "limit"},
		{name: "unknown output", spec: CSSSpec{Selector: "p", Output: 7}, wantField: "output"},
		{name: "attribute with html", spec: CSSSpec{Selector: "a", Attribute: "href", Output: OutputOuterHTML}, wantField: "attribute"},
		{name: "attribute with space", spec: CSSSpec{Selector: "a", Attribute: "hr ef"}, wantField: "attribute"},
		{name: "attribute too long", spec: CSSSpec{Selector: "a", Attribute: strings.Repeat("a", 17)}, wantField: "attribute", wantErr: ErrTooLong},
		{name: "nil document", doc: nil, spec: CSSSpec{Selector: "p"}, wantErr: ErrEmptyDocument},
		{name: "results within result bytes", doc: doc, spec: CSSSpec{Selector: "p", All: true, Limit: 3}, wantErr: nil},
		{name: "sum over result bytes", doc: mustDoc(t, strings.Repeat("<p>0123456789</p>", 3)), spec: CSSSpec{Selector: "p", All: true}, wantErr: ErrResultTooLarge},
		{name: "one text over result bytes", doc: mustDoc(t, "<p>"+strings.Repeat("word ", 10)+"</p>"), spec: CSSSpec{Selector: "p"}, wantErr: ErrResultTooLarge},
		{name: "html over result bytes", doc: doc, spec: CSSSpec{Selector: "body", Output: OutputInnerHTML}, wantErr: ErrResultTooLarge},
		{name: "attribute over result bytes", doc: mustDoc(t, `<a href="`+strings.Repeat("x", 21)+`">`), spec: CSSSpec{Selector: "a", Attribute: "href"}, wantErr: ErrResultTooLarge},
		{name: "raw text over result bytes", doc: mustDoc(t, `<script>`+strings.Repeat("x", 21)+`</script>`), spec: CSSSpec{Selector: "script"}, wantErr: ErrResultTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.doc
			if d == nil && tt.wantErr != ErrEmptyDocument {
				d = doc
			}
			css := NewCSS(nil, limits)
			_, _, err := css.Select(context.Background(), d, tt.spec)
			if tt.wantField == "" && tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Select: %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Select succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			var se *SpecError
			isSpec := errors.As(err, &se)
			if tt.wantField != "" && (!isSpec || se.Field != tt.wantField) {
				t.Errorf("err = %v, want a *SpecError for %q", err, tt.wantField)
			}
			if tt.wantField == "" && isSpec {
				t.Errorf("err = %v is a *SpecError, want none", err)
			}
		})
	}
}

func TestSelectContextCanceled(t *testing.T) {
	doc := mustDoc(t, strings.Repeat("<div><p>x</p></div>", 5000))
	css := NewCSS(nil, Limits{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := css.Select(ctx, doc, CSSSpec{Selector: "p", All: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Select with canceled ctx: err = %v, want context.Canceled", err)
	}
	// A context that ends during the walk: it is done once the walk has
	// visited its first batch of nodes.
	ctx = &countdownCtx{Context: context.Background(), left: 2}
	if _, _, err := css.Select(ctx, doc, CSSSpec{Selector: "p", All: true}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Select with ctx canceled mid-walk: err = %v, want context.Canceled", err)
	}
}

// countdownCtx reports Canceled from the left-th call of Err on, which
// cancels a call deterministically partway through its work.
type countdownCtx struct {
	context.Context
	left int
}

func (c *countdownCtx) Err() error {
	if c.left--; c.left <= 0 {
		return context.Canceled
	}
	return nil
}

func TestCSSReset(t *testing.T) {
	big := mustDoc(t, "<p>"+strings.Repeat("word ", 20_000)+"</p>"+strings.Repeat("<i></i>", 2000))
	css := NewCSS(nil, Limits{})
	ctx := context.Background()
	if _, _, err := css.Select(ctx, big, CSSSpec{Selector: "p"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := css.Select(ctx, big, CSSSpec{Selector: "i", All: true}); err != nil {
		t.Fatal(err)
	}
	if cap(css.buf) <= maxKeptBufBytes || cap(css.nodes) <= maxKeptNodes {
		t.Fatalf("test did not grow the scratch space: buf %d, nodes %d", cap(css.buf), cap(css.nodes))
	}
	for _, n := range css.nodes[:cap(css.nodes)] {
		if n != nil {
			t.Fatal("matched nodes still referenced after Select")
		}
	}
	if err := css.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if cap(css.buf) > maxKeptBufBytes || cap(css.nodes) > maxKeptNodes {
		t.Errorf("after Reset: buf %d, nodes %d; want at most %d, %d", cap(css.buf), cap(css.nodes), maxKeptBufBytes, maxKeptNodes)
	}

	// A small buffer survives Reset: that is the point of pooling.
	small := NewCSS(nil, Limits{})
	if _, _, err := small.Select(ctx, mustDoc(t, "<p>a</p>"), CSSSpec{Selector: "p"}); err != nil {
		t.Fatal(err)
	}
	before := &small.buf[:1][0]
	if err := small.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if &small.buf[:1][0] != before {
		t.Error("Reset replaced a small buffer")
	}

	// Results do not alias the reused buffer.
	a, _, _ := small.Select(ctx, mustDoc(t, "<p>first</p>"), CSSSpec{Selector: "p"})
	small.Select(ctx, mustDoc(t, "<p>later</p>"), CSSSpec{Selector: "p"})
	if a[0] != "first" {
		t.Errorf("earlier result changed to %q", a[0])
	}
}

func TestCSSClose(t *testing.T) {
	ctx := context.Background()
	css := NewCSS(nil, Limits{})
	if !css.IsHealthy(ctx) {
		t.Fatal("new extractor unhealthy")
	}
	if err := css.Close(); err != nil {
		t.Fatal(err)
	}
	if css.IsHealthy(ctx) {
		t.Error("closed extractor healthy")
	}
	if err := css.Reset(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Reset after Close: %v, want ErrClosed", err)
	}
	if _, _, err := css.Select(ctx, mustDoc(t, "<p>"), CSSSpec{Selector: "p"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Select after Close: %v, want ErrClosed", err)
	}
}

// TestConcurrentExtractors runs extractors of one pool on one document at
// once, sharing the caches, as the server does for a request's fields
// (run with -race).
func TestConcurrentExtractors(t *testing.T) {
	doc := mustDoc(t, page)
	sc, pc := NewSelectorCache(4), NewPatternCache(4)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			css, re := NewCSS(sc, Limits{}), NewRegex(pc, Limits{})
			for j := range 50 {
				sel := []string{"p", "a", "li", "h1", "title", "em"}[(i+j)%6]
				if _, _, err := css.Select(t.Context(), doc, CSSSpec{Selector: sel, All: true, Output: Output(j % 3)}); err != nil {
					t.Error(err)
				}
				if _, _, err := re.Find(t.Context(), doc, RegexSpec{Pattern: sel + `\w*`, All: true, Source: RegexSource(j % 2)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// poolable is the generic pool's interface, restated so that the compiler
// checks both extractors against it without importing the pool.
type poolable interface {
	IsHealthy(ctx context.Context) bool
	Reset(ctx context.Context) error
	Close() error
}

var (
	_ poolable = (*CSS)(nil)
	_ poolable = (*Regex)(nil)
)

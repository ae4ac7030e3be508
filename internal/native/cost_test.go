package native

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/andybalholm/cascadia"
	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

// TestCostModelCoversCascadia compiles a selector for every construct of
// cascadia's dialect: each must have a cost model, or a cascadia upgrade
// has added a part that the model would refuse.
func TestCostModelCoversCascadia(t *testing.T) {
	tests := []struct {
		sel      string
		hasDepth int
		flat     bool
	}{
		{"p", 0, true},
		{"*", 0, true},
		{"#id.class[attr][a=b][a~=b][a|=b][a^=b][a$=b][a*=b][a!=b][a=b i]", 0, true},
		{"div > p, a", 0, true},
		{":root, :link, :input, :checked, :visited, :hover", 0, true},
		{"p:not(.x)", 0, true},
		{"[href#=(^https?:)]", 0, false},
		{"div p", 0, false},
		{"h1 + p", 0, false},
		{"h1 ~ p", 0, false},
		{"li:nth-child(2n+1), li:nth-last-child(2), li:nth-of-type(3), li:nth-last-of-type(odd)", 0, false},
		{"li:first-child, li:last-child, li:first-of-type, li:last-of-type, li:only-child, li:only-of-type, p:empty", 0, false},
		{"p:lang(en), input:enabled, input:disabled", 0, false},
		{"p:contains(x), p:containsOwn('y'), p:matches(^a+$), p:matchesOwn(b)", 0, false},
		{"div:has(p)", 1, false},
		{"div:haschild(p)", 1, false},
		{"div:not(:has(p:has(a)))", 2, false},
		{"div:has(div:has(div:has(div:has(span))))", 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			s, err := compileSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if s.costErr != nil {
				t.Fatalf("no cost model: %v", s.costErr)
			}
			if s.hasDepth != tt.hasDepth || s.flat != tt.flat {
				t.Errorf("hasDepth %d flat %v, want %d %v", s.hasDepth, s.flat, tt.hasDepth, tt.flat)
			}
		})
	}
}

// Hostile documents: nested divs, a wide list, deep text.
func nestedDivs(n int) string {
	return strings.Repeat("<div>", n) + "<span>x</span>" + strings.Repeat("</div>", n)
}

func wideList(n int) string { return "<ul>" + strings.Repeat("<li>a</li>", n) + "</ul>" }

// TestSelectRefusesCostly sends the selectors of issue 14 and their family
// against the documents that make them hostile, with the default limits:
// each is refused up front, naming the limit, while the same selectors on
// ordinary documents and ordinary selectors on these documents are served.
func TestSelectRefusesCostly(t *testing.T) {
	nest500, nest100, wide := nestedDivs(500), nestedDivs(100), wideList(40_000)
	list := func(sel string, n int) string { return strings.TrimSuffix(strings.Repeat(sel+", ", n), ", ") }
	tests := []struct {
		name, doc, sel string
		all            bool
		wantLimit      string // "" when the question is answered
	}{
		{"3 levels of :has on 500 nested divs", nest500, "div:has(div:has(div:has(span)))", true, "MaxHasDepth"},
		{"5 levels of :has", "<p>x</p>", "div:has(div:has(div:has(div:has(div:has(span)))))", true, "MaxHasDepth"},
		{"4 levels of :has inside :not", "<p>x</p>", "p:not(div:has(div:has(div:has(div:has(span)))))", true, "MaxHasDepth"},
		{"3 levels of :has inside :not", nest500, "div:not(div:has(div:has(div:has(span))))", true, "MaxHasDepth"},
		{"2 levels of :has on 500 nested divs", nest500, "div:has(div:has(span))", true, ""},
		{"2 levels of :has over text on 300 nested divs", nestedDivs(300) + strings.Repeat("abc ", 50_000), "*:has(*:has(:contains(zzz)))", false, "MaxElementWork"},
		{"1 level of :has on 500 nested divs", nest500, "div:has(span)", true, ""},
		{"2 levels of :has on 100 nested divs", nest100, "div:has(div:has(span))", true, ""},
		{"3 levels of :has on a small page", page, "body:has(div:has(p:has(a)))", true, "MaxHasDepth"},
		{"2 levels of :has on a page", page, "body:has(div:has(a))", true, ""},
		{"descendant chain on 500 nested divs", nest500, "x div div div div span", true, "MaxElementWork"},
		{"descendant chain on a page", page, "html body div div p a", true, ""},
		{"descendant pair on 500 nested divs", nest500, "div span", true, ""},
		{":nth-child on 40000 siblings", wide, "li:nth-child(2n+1)", true, "MaxWork"},
		{":nth-* chain on 40000 siblings", wide, "li:nth-child(odd):nth-last-child(even):nth-of-type(3n)", true, "MaxWork"},
		{":nth-child on 2000 siblings", wideList(2000), "li:nth-child(2n+1)", true, ""},
		{"~ chain on 40000 siblings", wide, "li ~ li ~ li", true, "MaxElementWork"},
		{"one :nth-child on 10000 siblings", wideList(10_000), "li:nth-child(2n+1)", true, ""},
		{"a list of six on 10000 siblings", wideList(10_000), list("li:nth-child(2n+1)", 6), true, "MaxWork"},
		{"a long list of :has on 500 nested divs", nest500, list("div:has(span)", 60), true, ""},
		{"a long list of tags", nest500, list("div", 200), true, ""},
		{":has(:contains) on deep text", strings.Repeat("<div>", 300) + strings.Repeat("abc ", 50_000) + strings.Repeat("</div>", 300),
			"div:has(:contains(zzz))", true, "MaxElementWork"},
	}
	css := NewCSS(nil, Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := mustDoc(t, tt.doc)
			_, _, err := css.Select(context.Background(), doc, CSSSpec{Selector: tt.sel, All: tt.all})
			if tt.wantLimit == "" {
				if err != nil {
					t.Fatalf("Select: %v", err)
				}
				return
			}
			var spec *SpecError
			var cost *CostError
			if !errors.As(err, &spec) || spec.Field != "selector" || !errors.Is(err, ErrTooCostly) || !errors.As(err, &cost) {
				t.Fatalf("err = %v, want a *SpecError for the selector with a *CostError", err)
			}
			if cost.Limit != tt.wantLimit || cost.Cost <= cost.Max {
				t.Errorf("refused by %s (%g > %g), want %s", cost.Limit, cost.Cost, cost.Max, tt.wantLimit)
			}
		})
	}
}

// TestSelectEachSharesBudget: the questions of one call share MaxWork, so
// that a request of many fields cannot multiply it.
func TestSelectEachSharesBudget(t *testing.T) {
	doc := mustDoc(t, nestedDivs(500))
	spec := CSSSpec{Selector: "div:has(span)", All: true}
	one := NewCSS(nil, Limits{MaxWork: 10_000_000})
	if _, _, err := one.Select(context.Background(), doc, spec); err != nil {
		t.Fatalf("one question: %v", err)
	}
	specs := make([]CSSSpec, 40)
	for i := range specs {
		specs[i] = spec
	}
	answers, err := one.SelectEach(context.Background(), doc, specs)
	if err != nil {
		t.Fatal(err)
	}
	if answers[0].Err != nil || !errors.Is(answers[len(answers)-1].Err, ErrTooCostly) {
		t.Errorf("first answer %v, last %v: want the first answered and the last refused", answers[0].Err, answers[len(answers)-1].Err)
	}
}

// TestSelectChecksContextPerElement: a selector whose every element may
// cost thousands of steps is checked against the context element by
// element, not every ctxCheckNodes nodes, so that a cancelled call stops
// within one element's bound.
func TestSelectChecksContextPerElement(t *testing.T) {
	doc := mustDoc(t, nestedDivs(300)) // fewer nodes than ctxCheckNodes
	css := NewCSS(nil, Limits{MaxWork: 1 << 40, MaxElementWork: 1 << 40})
	for _, sel := range []string{"div:has(div:has(span))", "x div div span", ":contains(x)"} {
		ctx := &countdownCtx{Context: context.Background(), left: 3}
		if _, _, err := css.Select(ctx, doc, CSSSpec{Selector: sel, All: true}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", sel, err)
		}
	}
}

// TestCostCorpus asks ordinary selectors, some of them with :has, of every
// page of the corpus: none is refused by the default limits, and each
// answer is cascadia's.
func TestCostCorpus(t *testing.T) {
	pages := testenv.CorpusPages(t)
	selectors := []string{
		"a[href]", "div p", "html body div p a", "article:has(h1)", "div:haschild(img)",
		"li:nth-child(2n+1)", "p:contains(the)", "h2 + p", "h2 ~ p", "div:not(.x) > p",
		"main article section p a[href]", "div:has(p:has(a))", "ul li a, ol li a",
		"body div div div a", "*:haschild(p)", "meta[property^=og]",
	}
	css := NewCSS(NewSelectorCache(0), Limits{})
	worst := map[string]float64{}
	for _, p := range pages {
		doc, err := NewDocument(p.Source, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		root, err := doc.Root()
		if err != nil {
			t.Fatal(err)
		}
		for _, sel := range selectors {
			spec := CSSSpec{Selector: sel, All: true}
			got, _, err := css.Select(context.Background(), doc, spec)
			if err != nil {
				t.Errorf("%s %s: %v", p.Name, sel, err)
				continue
			}
			if want := cascadia.QueryAll(root, cascadia.MustCompile(sel)); len(got) != min(len(want), DefaultLimits().MaxMatches) {
				t.Errorf("%s %s: %d values, cascadia %d", p.Name, sel, len(got), len(want))
			}
			s, _ := compileSelector(sel)
			shape, _ := doc.measured()
			worst[sel] = max(worst[sel], s.cost.bound(shapeView{shape, true}, "").total)
		}
	}
	for sel, w := range worst {
		t.Logf("%-32s worst bound on the corpus %.3g steps (MaxWork %d)", sel, w, DefaultMaxWork)
	}
}

// A text on which a pattern with a large program keeps many NFA threads
// alive at every byte, and never matches.
var lowercase = strings.Repeat("abcdefghijklmnopqrstuvwxyz ", 40_000) // ~1 MB

// TestFindRefusesCostly: a pattern whose program times the text is over
// MaxWork is refused before the search, naming the pattern.
func TestFindRefusesCostly(t *testing.T) {
	doc := mustDoc(t, lowercase)
	re := NewRegex(nil, Limits{})
	for _, tt := range []struct {
		pattern string
		all     bool
		refused bool
	}{
		{`[a-z ]{0,1000}0`, false, true},
		{`\b[a-z]{0,300}0\b`, true, true}, // looks behind: searched once per batch
		{`[a-z]{3}0`, true, false},
		{`xyz0`, true, false},
	} {
		_, _, err := re.Find(context.Background(), doc, RegexSpec{Pattern: tt.pattern, All: tt.all, Source: SourceHTML})
		var spec *SpecError
		var cost *CostError
		refused := errors.As(err, &spec) && spec.Field == "pattern" && errors.As(err, &cost) && cost.Limit == "MaxWork"
		if refused != tt.refused || (!refused && err != nil) {
			t.Errorf("%s: err = %v, want refused %v", tt.pattern, err, tt.refused)
		}
	}
}

// TestFindStopsInsideASearch: one search over a long text with a large
// program, which regexp cannot interrupt, stops when ctx is done.
func TestFindStopsInsideASearch(t *testing.T) {
	doc := mustDoc(t, lowercase)
	re := NewRegex(nil, Limits{MaxWork: 1 << 50})
	ctx := &countdownCtx{Context: context.Background(), left: 4}
	_, _, err := re.Find(ctx, doc, RegexSpec{Pattern: `[a-z ]{0,500}0`, Source: SourceHTML})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestFindReaderAgrees: searches through a ctxReader find what regexp
// finds in the string.
func TestFindReaderAgrees(t *testing.T) {
	text := strings.Repeat("Anno 1999: café, 2024-12-07 x@y.z; \xff naïve ABC ", 25_000)
	doc := mustDoc(t, text)
	re := NewRegex(nil, Limits{MaxMatches: 1 << 20, MaxResultBytes: 1 << 30})
	for _, pattern := range []string{`\d{4}-\d\d-\d\d`, `[a-zé]+`, `(?P<w>\w+)@(\w+)\.z`, `(?i)caf.`, `[^ ]{3,9}`} {
		got, _, err := re.Find(context.Background(), doc, RegexSpec{Pattern: pattern, All: true, Source: SourceHTML})
		if err != nil {
			t.Fatal(err)
		}
		pat, _ := parsePattern(pattern)
		if float64(len(text))*float64(pat.insts) <= readerWork {
			t.Fatalf("%s: the text is too short to be searched through a reader", pattern)
		}
		want := pat.re.FindAllStringSubmatchIndex(text, -1)
		if len(got) != len(want) {
			t.Fatalf("%s: %d matches, regexp %d", pattern, len(got), len(want))
		}
		for i, m := range got {
			if m.Start != want[i][0] || m.End != want[i][1] || m.Value != text[want[i][0]:want[i][1]] {
				t.Fatalf("%s: match %d at %d-%d, regexp %v", pattern, i, m.Start, m.End, want[i])
			}
		}
	}
}

package native

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
)

const xpathPage = `<!DOCTYPE html>
<html lang="en"><head><title>The  title</title>
<meta name="description" content="A page"></head>
<body>
<div id="main" class="post big">
<h1>Head</h1>
<p id="p1">First <b>bold</b> para</p>
<p id="p2" class="note">Second</p>
<ul><li>one</li><li>two</li><li>three</li></ul>
<a href="/a">A</a><a href="b.html" rel="next">B</a><a name="anchor">C</a>
</div>
<!-- a comment -->
<svg viewBox="0 0 1 1"><title>Icon</title><path d="M0"/><a xlink:href="#x"><text>t</text></a></svg>
<math><mi>x</mi></math>
<script>var s = "<p>not markup</p>";</script>
</body></html>`

func TestXPath(t *testing.T) {
	tests := []struct {
		name string
		spec XPathSpec
		kind XPathKind
		want []string
	}{
		// Node sets.
		{"elements text", XPathSpec{Expression: "//p", All: true}, XPathNodeSet, []string{"First bold para", "Second"}},
		{"first only", XPathSpec{Expression: "//li"}, XPathNodeSet, []string{"one"}},
		{"limit", XPathSpec{Expression: "//li", All: true, Limit: 2}, XPathNodeSet, []string{"one", "two"}},
		{"no match", XPathSpec{Expression: "//table", All: true}, XPathNodeSet, []string{}},
		{"attribute nodes", XPathSpec{Expression: "//a/@href", All: true}, XPathNodeSet, []string{"/a", "b.html"}},
		{"attribute field", XPathSpec{Expression: "//a", Attribute: "HREF", All: true}, XPathNodeSet, []string{"/a", "b.html"}},
		{"text nodes as written", XPathSpec{Expression: "//p[@id='p1']/text()", All: true}, XPathNodeSet, []string{"First ", " para"}},
		{"comment", XPathSpec{Expression: "//comment()", All: true}, XPathNodeSet, []string{" a comment "}},
		{"outer html", XPathSpec{Expression: "//li[2]", Output: OutputOuterHTML}, XPathNodeSet, []string{"<li>two</li>"}},
		{"inner html", XPathSpec{Expression: "//p[@id='p1']", Output: OutputInnerHTML}, XPathNodeSet, []string{"First <b>bold</b> para"}},
		{"script raw", XPathSpec{Expression: "//script"}, XPathNodeSet, []string{`var s = "<p>not markup</p>";`}},
		{"union in document order", XPathSpec{Expression: "//h1 | //title", All: true}, XPathNodeSet, []string{"The title", "Head", "Icon"}},
		{"union first in document order", XPathSpec{Expression: "//h1 | //title"}, XPathNodeSet, []string{"The title"}},
		{"reverse axis in document order", XPathSpec{Expression: "//b/ancestor::*/@id", All: true}, XPathNodeSet, []string{"main", "p1"}},
		// Predicates.
		{"position", XPathSpec{Expression: "//li[position() > 1]", All: true}, XPathNodeSet, []string{"two", "three"}},
		{"last", XPathSpec{Expression: "//li[last()]"}, XPathNodeSet, []string{"three"}},
		{"contains class", XPathSpec{Expression: "//*[contains(concat(' ', @class, ' '), ' big ')]/@id"}, XPathNodeSet, []string{"main"}},
		{"attribute exists", XPathSpec{Expression: "//a[@rel]"}, XPathNodeSet, []string{"B"}},
		{"nested predicate", XPathSpec{Expression: "//div[p[@class='note']]/@id"}, XPathNodeSet, []string{"main"}},
		{"starts-with", XPathSpec{Expression: "//a[starts-with(@href, 'b')]/@href"}, XPathNodeSet, []string{"b.html"}},
		// XPath 1.0's positions (section 2.4), each answer as lxml gives
		// it on this page: a step's predicate counts along its axis from
		// each node of the step before, backwards on a reverse axis; a
		// filter expression's counts over the whole set in document order;
		// each predicate counts among the nodes the one before it kept.
		{"position mod 2 is a number", XPathSpec{Expression: "//li[position() mod 2]", All: true}, XPathNodeSet, []string{"one"}},
		{"position mod 2 = 1", XPathSpec{Expression: "//li[position() mod 2 = 1]", All: true}, XPathNodeSet, []string{"one", "three"}},
		{"position = last - 1", XPathSpec{Expression: "//li[position() = last() - 1]", All: true}, XPathNodeSet, []string{"two"}},
		{"step [1] per parent", XPathSpec{Expression: "//*[@id][1]/@id", All: true}, XPathNodeSet, []string{"main", "p1"}},
		{"filter [1] over the set", XPathSpec{Expression: "(//*[@id])[1]/@id", All: true}, XPathNodeSet, []string{"main"}},
		{"step [2] per parent", XPathSpec{Expression: "//body//*[2]", All: true, Output: OutputOuterHTML, Limit: 2}, XPathNodeSet, []string{`<p id="p1">First <b>bold</b> para</p>`, "<li>two</li>"}},
		{"filter [2] over the set", XPathSpec{Expression: "(//body//*)[2]", All: true}, XPathNodeSet, []string{"Head"}},
		{"filter position <= 2", XPathSpec{Expression: "(//li)[position() <= 2]", All: true}, XPathNodeSet, []string{"one", "two"}},
		{"filter last of a union", XPathSpec{Expression: "(//li | //p)[last()]", All: true}, XPathNodeSet, []string{"three"}},
		{"filter position = last", XPathSpec{Expression: "(//a[@href])[position() = last()]", All: true}, XPathNodeSet, []string{"B"}},
		{"preceding-sibling [1] is the nearest", XPathSpec{Expression: "//li[3]/preceding-sibling::*[1]", All: true}, XPathNodeSet, []string{"two"}},
		{"preceding-sibling [last()] is the farthest", XPathSpec{Expression: "//li[3]/preceding-sibling::*[last()]", All: true}, XPathNodeSet, []string{"one"}},
		{"preceding-sibling answered in document order", XPathSpec{Expression: "//li[3]/preceding-sibling::*", All: true}, XPathNodeSet, []string{"one", "two"}},
		{"filter of a reverse axis counts in document order", XPathSpec{Expression: "(//li[3]/preceding-sibling::*)[1]", All: true}, XPathNodeSet, []string{"one"}},
		{"ancestor [1] is the parent", XPathSpec{Expression: "//b/ancestor::*[1]/@id", All: true}, XPathNodeSet, []string{"p1"}},
		{"ancestor [2]", XPathSpec{Expression: "//b/ancestor::*[2]/@id", All: true}, XPathNodeSet, []string{"main"}},
		{"preceding [1] is the nearest", XPathSpec{Expression: "//li[2]/preceding::*[1]", All: true}, XPathNodeSet, []string{"one"}},
		{"following [position() < 3]", XPathSpec{Expression: "//h1/following::*[position() < 3]", All: true}, XPathNodeSet, []string{"First bold para", "bold"}},
		{"predicate after predicate", XPathSpec{Expression: "//a[@href][2]", All: true}, XPathNodeSet, []string{"B"}},
		{"predicates in the other order", XPathSpec{Expression: "//a[1][@href]", All: true}, XPathNodeSet, []string{"A"}},
		{"last after a predicate", XPathSpec{Expression: "//a[@href][last()]/@href", All: true}, XPathNodeSet, []string{"b.html"}},
		{"positions renumbered by the predicate before", XPathSpec{Expression: "//li[position() > 1][1]", All: true}, XPathNodeSet, []string{"two"}},
		{"last renumbered by the predicate before", XPathSpec{Expression: "//li[position() > 1][last()]", All: true}, XPathNodeSet, []string{"three"}},
		{"nested predicate with last", XPathSpec{Expression: "//ul[li[last()][. = 'three']]/li[1]", All: true}, XPathNodeSet, []string{"one"}},
		{"nested positional predicate", XPathSpec{Expression: "//div[p[2]]/@id", All: true}, XPathNodeSet, []string{"main"}},
		{"text()[last()] per parent", XPathSpec{Expression: "//p/text()[last()]", All: true}, XPathNodeSet, []string{" para", "Second"}},
		{"attribute axis position", XPathSpec{Expression: "//a/@href[1]", All: true}, XPathNodeSet, []string{"/a", "b.html"}},
		{"position 0", XPathSpec{Expression: "//li[0]", All: true}, XPathNodeSet, []string{}},
		{"negative position", XPathSpec{Expression: "//li[-1]", All: true}, XPathNodeSet, []string{}},
		{"fractional position", XPathSpec{Expression: "//li[1.5]", All: true}, XPathNodeSet, []string{}},
		{"boolean predicate", XPathSpec{Expression: "count(//li[true()])"}, XPathNumber, []string{"3"}},
		// Comparisons of node sets are existential (section 3.4).
		{"set = string", XPathSpec{Expression: "//li = 'two'"}, XPathBoolean, []string{"true"}},
		{"set != string", XPathSpec{Expression: "//li != 'two'"}, XPathBoolean, []string{"true"}},
		{"set < number", XPathSpec{Expression: "//li < 3"}, XPathBoolean, []string{"false"}},
		{"empty set = string", XPathSpec{Expression: "'a' = //nope"}, XPathBoolean, []string{"false"}},
		{"set = set", XPathSpec{Expression: "//li[1] = //li"}, XPathBoolean, []string{"true"}},
		{"set != itself", XPathSpec{Expression: "//li[1] != //li[1]"}, XPathBoolean, []string{"false"}},
		{"set by string value", XPathSpec{Expression: "count(//li[. = //li[2]])"}, XPathNumber, []string{"1"}},
		// Strings and numbers as XPath 1.0 (and lxml) write them.
		{"normalize-space keeps no-break spaces", XPathSpec{Expression: "normalize-space('\u00a0a\u00a0\t b ')"}, XPathString, []string{"\u00a0a\u00a0 b"}},
		{"normalize-space of the context", XPathSpec{Expression: "//li[normalize-space() = 'two']"}, XPathNodeSet, []string{"two"}},
		{"substring rounds", XPathSpec{Expression: "substring('12345', 1.5, 2.6)"}, XPathString, []string{"234"}},
		{"substring from 0", XPathSpec{Expression: "substring('12345', 0, 3)"}, XPathString, []string{"12"}},
		{"substring NaN", XPathSpec{Expression: "substring('12345', 0 div 0, 3)"}, XPathString, []string{""}},
		{"substring infinite length", XPathSpec{Expression: "substring('12345', -42, 1 div 0)"}, XPathString, []string{"12345"}},
		{"substring -inf + inf", XPathSpec{Expression: "substring('12345', -1 div 0, 1 div 0)"}, XPathString, []string{""}},
		{"substring of characters", XPathSpec{Expression: "substring('h\u00e9llo', 2, 2)"}, XPathString, []string{"\u00e9l"}},
		{"round half", XPathSpec{Expression: "round(2.5)"}, XPathNumber, []string{"3"}},
		{"round negative half", XPathSpec{Expression: "round(-0.5)"}, XPathNumber, []string{"0"}},
		{"number with spaces", XPathSpec{Expression: "number(' -12.5 ')"}, XPathNumber, []string{"-12.5"}},
		{"number with an exponent, as libxml2", XPathSpec{Expression: "number('1e3')"}, XPathNumber, []string{"1000"}},
		{"number with a plus", XPathSpec{Expression: "number('+1')"}, XPathNumber, []string{"NaN"}},
		{"translate drops", XPathSpec{Expression: "translate('--aaa--', 'abc-', 'ABC')"}, XPathString, []string{"AAA"}},
		{"id", XPathSpec{Expression: "id('p2 main')/@id", All: true}, XPathNodeSet, []string{"main", "p2"}},
		{"lang without xml:lang", XPathSpec{Expression: "lang('en')"}, XPathBoolean, []string{"false"}},
		{"matches", XPathSpec{Expression: "//li[matches(., '^t')]", All: true}, XPathNodeSet, []string{"two", "three"}},
		{"matches with a flag", XPathSpec{Expression: "count(//li[matches(., '^T', 'i')])"}, XPathNumber, []string{"2"}},
		{"matches a pattern from the page", XPathSpec{Expression: "count(//li[matches(., //li[2])])"}, XPathNumber, []string{"1"}},
		{"replace with a group", XPathSpec{Expression: "replace('a1b22', '([0-9]+)', '<$1>')"}, XPathString, []string{"a<1>b<22>"}},
		{"string-join", XPathSpec{Expression: "string-join(//li, ', ')"}, XPathString, []string{"one, two, three"}},
		{"upper-case", XPathSpec{Expression: "upper-case(//h1)"}, XPathString, []string{"HEAD"}},
		// Axes.
		{"parent", XPathSpec{Expression: "//b/parent::p/@id"}, XPathNodeSet, []string{"p1"}},
		{"ancestor", XPathSpec{Expression: "//b/ancestor::div/@id"}, XPathNodeSet, []string{"main"}},
		{"following-sibling", XPathSpec{Expression: "//li[1]/following-sibling::li", All: true}, XPathNodeSet, []string{"two", "three"}},
		{"preceding-sibling", XPathSpec{Expression: "//li[3]/preceding-sibling::li[1]"}, XPathNodeSet, []string{"two"}},
		{"following", XPathSpec{Expression: "//h1/following::a[1]/@href"}, XPathNodeSet, []string{"/a"}},
		{"descendant-or-self", XPathSpec{Expression: "count(//ul/descendant-or-self::*)"}, XPathNumber, []string{"4"}},
		{"self", XPathSpec{Expression: "//p/self::p[@id='p2']"}, XPathNodeSet, []string{"Second"}},
		// Scalars.
		{"count", XPathSpec{Expression: "count(//a)"}, XPathNumber, []string{"4"}},
		{"string", XPathSpec{Expression: "string(//title)"}, XPathString, []string{"The  title"}},
		{"normalize-space", XPathSpec{Expression: "normalize-space(//title)"}, XPathString, []string{"The title"}},
		{"boolean", XPathSpec{Expression: "boolean(//form)"}, XPathBoolean, []string{"false"}},
		{"fraction", XPathSpec{Expression: "count(//li) div 2"}, XPathNumber, []string{"1.5"}},
		{"infinity", XPathSpec{Expression: "1 div 0"}, XPathNumber, []string{"Infinity"}},
		{"nan", XPathSpec{Expression: "number('x')"}, XPathNumber, []string{"NaN"}},
		{"string-length", XPathSpec{Expression: "string-length(//h1)"}, XPathNumber, []string{"4"}},
		{"name", XPathSpec{Expression: "name(/*)"}, XPathString, []string{"html"}},
		{"translate", XPathSpec{Expression: "translate(//h1, 'ead', 'EAD')"}, XPathString, []string{"HEAD"}},
		{"substring-after", XPathSpec{Expression: "substring-after(//a[2]/@href, '.')"}, XPathString, []string{"html"}},
		// Namespaces: unprefixed names match every namespace, prefixed
		// ones test it.
		{"svg unprefixed", XPathSpec{Expression: "//svg/path/@d"}, XPathNodeSet, []string{"M0"}},
		{"svg prefixed", XPathSpec{Expression: "//svg:path/@d"}, XPathNodeSet, []string{"M0"}},
		{"svg prefix rejects html", XPathSpec{Expression: "count(//svg:a)"}, XPathNumber, []string{"1"}},
		{"html prefix rejects svg", XPathSpec{Expression: "count(//html:a)"}, XPathNumber, []string{"3"}},
		{"mathml", XPathSpec{Expression: "//math:mi"}, XPathNodeSet, []string{"x"}},
		{"xlink attribute", XPathSpec{Expression: "//@xlink:href"}, XPathNodeSet, []string{"#x"}},
		{"unprefixed attribute skips xlink", XPathSpec{Expression: "count(//svg//@href)"}, XPathNumber, []string{"0"}},
		{"namespace-uri", XPathSpec{Expression: "namespace-uri(//svg)"}, XPathString, []string{nsSVG}},
		{"namespace-uri html", XPathSpec{Expression: "namespace-uri(//body)"}, XPathString, []string{nsHTML}},
		// The doctype is not a node.
		{"root children", XPathSpec{Expression: "count(/node())"}, XPathNumber, []string{"1"}},
	}
	doc, err := NewDocument(xpathPage, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCSS(nil, Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.XPath(context.Background(), doc, tt.spec)
			if err != nil {
				t.Fatalf("XPath(%q): %v", tt.spec.Expression, err)
			}
			if got.Kind != tt.kind || !slices.Equal(got.Values, tt.want) {
				t.Errorf("XPath(%q) = %v %q, want %v %q", tt.spec.Expression, got.Kind, got.Values, tt.kind, tt.want)
			}
		})
	}
}

func TestXPathScalarFields(t *testing.T) {
	doc, _ := NewDocument(xpathPage, Limits{})
	c := NewCSS(nil, Limits{})
	got, err := c.XPath(context.Background(), doc, XPathSpec{Expression: "count(//li) * 2"})
	if err != nil || got.Number != 6 {
		t.Errorf("count(//li) * 2 = %+v, %v; want Number 6", got, err)
	}
	got, err = c.XPath(context.Background(), doc, XPathSpec{Expression: "//h1 = 'Head'"})
	if err != nil || !got.Bool || got.Kind != XPathBoolean {
		t.Errorf("//h1 = 'Head' = %+v, %v; want true", got, err)
	}
}

func TestXPathTruncatedByMaxMatches(t *testing.T) {
	doc, _ := NewDocument(xpathPage, Limits{})
	c := NewCSS(nil, Limits{MaxMatches: 2})
	got, err := c.XPath(context.Background(), doc, XPathSpec{Expression: "//li", All: true})
	if err != nil || !got.Truncated || len(got.Values) != 2 {
		t.Errorf("got %+v, %v; want 2 values, truncated", got, err)
	}
	got, err = c.XPath(context.Background(), doc, XPathSpec{Expression: "//li", All: true, Limit: 2})
	if err != nil || got.Truncated {
		t.Errorf("with limit 2: got %+v, %v; want not truncated", got, err)
	}
}

func TestXPathErrors(t *testing.T) {
	doc, _ := NewDocument(xpathPage, Limits{})
	tests := []struct {
		name   string
		limits Limits
		spec   XPathSpec
		field  string
		cause  error
	}{
		{"empty", Limits{}, XPathSpec{Expression: " "}, "expression", ErrEmptyValue},
		{"too long", Limits{MaxSelectorLen: 10}, XPathSpec{Expression: "//a[@href='0123456789']"}, "expression", ErrTooLong},
		{"syntax", Limits{}, XPathSpec{Expression: "//a["}, "expression", nil},
		{"unknown function", Limits{}, XPathSpec{Expression: "frobnicate(//a)"}, "expression", nil},
		{"variable", Limits{}, XPathSpec{Expression: "$x/a"}, "expression", nil},
		{"too deep", Limits{}, XPathSpec{Expression: strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300)}, "expression", nil},
		{"count of a string", Limits{}, XPathSpec{Expression: "count('a')"}, "expression", nil},
		{"predicate on a string", Limits{}, XPathSpec{Expression: "('a')[1]"}, "expression", nil},
		{"path after a number", Limits{}, XPathSpec{Expression: "(1)/a"}, "expression", nil},
		{"union of a string", Limits{}, XPathSpec{Expression: "'a' | //b"}, "expression", nil},
		{"unknown prefix", Limits{}, XPathSpec{Expression: "//foo:bar"}, "expression", nil},
		{"unknown axis", Limits{}, XPathSpec{Expression: "//a/sideways::b"}, "expression", nil},
		{"arity", Limits{}, XPathSpec{Expression: "concat('a')"}, "expression", nil},
		{"trailing operator", Limits{}, XPathSpec{Expression: "1 div"}, "expression", nil},
		{"unbalanced", Limits{}, XPathSpec{Expression: "//a]"}, "expression", nil},
		{"unterminated literal", Limits{}, XPathSpec{Expression: "//a[@x='b]"}, "expression", nil},
		{"bad pattern", Limits{}, XPathSpec{Expression: "//a[matches(., '(')]"}, "expression", nil},
		{"bad flag", Limits{}, XPathSpec{Expression: "//a[matches(., 'a', 'x')]"}, "expression", nil},
		{"replace of the empty string", Limits{}, XPathSpec{Expression: "replace(//h1, 'x*', 'y')"}, "expression", nil},
		{"bad pattern from the page", Limits{}, XPathSpec{Expression: "//li[matches(., concat('(', .))]"}, "expression", nil},
		{"bad replacement", Limits{}, XPathSpec{Expression: "replace(//h1, 'H', '$x')"}, "expression", nil},
		// replace() is charged for the longest answer it could make
		// before making it: here about 100 x 800 bytes, where its
		// arguments cost a few hundred steps.
		{"replace blown up", Limits{MaxXPathSteps: 1000}, XPathSpec{Expression: "replace(string(/), '.', concat(string(/), string(/), string(/), string(/), string(/), string(/), string(/), string(/)))"}, "expression", ErrTooCostly},
		// A match costs the pattern's program size per byte: 1000
		// instructions over 300 bytes.
		{"regexp charged by its program", Limits{MaxXPathSteps: 500}, XPathSpec{Expression: "matches('" + strings.Repeat("x", 300) + "', '[a-z]{1000}y')"}, "expression", ErrTooCostly},
		{"bad attribute", Limits{}, XPathSpec{Expression: "//a", Attribute: "a b"}, "attribute", nil},
		{"attribute with html", Limits{}, XPathSpec{Expression: "//a", Attribute: "href", Output: OutputOuterHTML}, "attribute", nil},
		{"negative limit", Limits{}, XPathSpec{Expression: "//a", Limit: -1}, "limit", nil},
		// A quadratic expression on a small page, held to a small budget.
		{"over the step budget", Limits{MaxXPathSteps: 500}, XPathSpec{Expression: "//*[count(//*) > 0]", All: true}, "expression", ErrTooCostly},
		{"string values charged", Limits{MaxXPathSteps: 200}, XPathSpec{Expression: "string-length(concat(string(/), string(/), string(/), string(/), string(/), string(/), string(/), string(/)))"}, "expression", ErrTooCostly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCSS(nil, tt.limits)
			_, err := c.XPath(context.Background(), doc, tt.spec)
			var se *SpecError
			if !errors.As(err, &se) || se.Field != tt.field {
				t.Fatalf("XPath(%q) error = %v, want a *SpecError on %s", clip(tt.spec.Expression, 40), err, tt.field)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("error = %v, want cause %v", err, tt.cause)
			}
		})
	}
}

// TestXPathHostileBounded runs expressions whose cost grows with the square
// or cube of the page on a page of 20,000 elements, with the default
// budget: each must stop with ErrTooCostly, not run for minutes.
func TestXPathHostileBounded(t *testing.T) {
	page := "<html><body>" + strings.Repeat("<div><span>x</span></div>", 10_000) + "</body></html>"
	doc, err := NewDocument(page, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCSS(nil, Limits{})
	for _, expr := range []string{
		"//*[count(//*) > 0]",
		"count(//*[count(following::*) > 1])",
		"//span[string(/) = 'x']",
		"count(//*/preceding::*)",
		"count(//*[. = //span])",
		"sum(//*[count(preceding::span) > 0])",
	} {
		_, err := c.XPath(context.Background(), doc, XPathSpec{Expression: expr, All: true})
		if !errors.Is(err, ErrTooCostly) {
			t.Errorf("XPath(%q) error = %v, want ErrTooCostly", expr, err)
		}
	}
	// The budget is per call: the extractor still answers.
	got, err := c.XPath(context.Background(), doc, XPathSpec{Expression: "count(//span)"})
	if err != nil || got.Number != 10_000 {
		t.Errorf("count(//span) after the hostile calls = %+v, %v", got, err)
	}
}

func TestXPathContextDone(t *testing.T) {
	page := "<html><body>" + strings.Repeat("<div><span>x</span></div>", 5_000) + "</body></html>"
	doc, _ := NewDocument(page, Limits{})
	c := NewCSS(nil, Limits{MaxXPathSteps: 1 << 40})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.XPath(ctx, doc, XPathSpec{Expression: "//*"}); !errors.Is(err, context.Canceled) {
		t.Errorf("on a cancelled context: error = %v, want context.Canceled", err)
	}
	// Cancelled in the middle: the evaluator notices within ctxCheckSteps.
	ctx, cancel = context.WithCancel(context.Background())
	var once sync.Once
	walkCtx := &cancelAfter{Context: ctx, after: 3, cancel: func() { once.Do(cancel) }}
	if _, err := c.XPath(walkCtx, doc, XPathSpec{Expression: "//*[count(//*) > 0]", All: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled during evaluation: error = %v, want context.Canceled", err)
	}
}

// cancelAfter is a context that cancels itself on its after'th Err call.
type cancelAfter struct {
	context.Context
	after  int
	cancel func()
}

func (c *cancelAfter) Err() error {
	if c.after--; c.after == 0 {
		c.cancel()
	}
	return c.Context.Err()
}

func TestXPathResultTooLarge(t *testing.T) {
	doc, _ := NewDocument(xpathPage, Limits{})
	c := NewCSS(nil, Limits{MaxResultBytes: 10})
	for _, expr := range []string{"//p", "string(/)", "//comment()", "//svg/@viewBox | //meta/@content"} {
		_, err := c.XPath(context.Background(), doc, XPathSpec{Expression: expr, All: true})
		if !errors.Is(err, ErrResultTooLarge) {
			t.Errorf("XPath(%q) error = %v, want ErrResultTooLarge", expr, err)
		}
	}
}

// TestXPathConcurrent evaluates one cached expression from many
// extractors at once: each evaluation must have a compilation of its own
// (the library's compiled form is stateful). Run with -race.
func TestXPathConcurrent(t *testing.T) {
	doc, _ := NewDocument(xpathPage, Limits{})
	cache := NewSelectorCache(0)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := NewCSS(cache, Limits{})
			for i := range 50 {
				expr := []string{"//li[position() > 1]", "count(//li[position() > 1])"}[(g+i)%2]
				got, err := c.XPath(context.Background(), doc, XPathSpec{Expression: expr, All: true})
				if err != nil {
					errs <- err
					return
				}
				if want := map[XPathKind]string{XPathNodeSet: "[two three]", XPathNumber: "[2]"}[got.Kind]; fmt.Sprint(got.Values) != want {
					errs <- fmt.Errorf("%s = %q, want %s", expr, got.Values, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := cache.XPath().Stats(); st.Len != 2 || st.Misses < 2 {
		t.Errorf("cache stats %+v, want 2 entries", st)
	}
}

func TestXPathNumber(t *testing.T) {
	for f, want := range map[float64]string{0: "0", 3: "3", -2: "-2", 2.5: "2.5", 1e21: "1000000000000000000000", 0.000001: "0.000001"} {
		if got := xpathNumber(f); got != want {
			t.Errorf("xpathNumber(%v) = %q, want %q", f, got, want)
		}
	}
}

func FuzzXPath(f *testing.F) {
	for _, s := range []string{"//a/@href", "count(//a)", "string(//title)", "//p[1]/text()", "//svg:path",
		"//*[contains(@class, 'x')]", "sum(//li) div 0", "//a | //b", "ancestor::*", "(//a)[last()]",
		"substring('abc', 2)", "//*[matches(., 'a+')]", "$x", "//a[", "1 +", "concat()", "id('a')",
		"//p[b]/text()", "//li[2]/following::*", "//ul/li/text()", "(//p | //li)[2]", ".//li[last()]",
		"//div/p[.//b]", "//text()[normalize-space()]", "//li[re:test(., '^t', 'gi')]", "//*[has-class('note', 'x')]",
		"re:test(//a/@href, //li)", "re:match(//p, '(\\w)(\\w)', 'g')[2]", "re:replace(//h1, '(?P<x>e)', 'g', '\\g<x>\\1')",
		"re:match('a1', '\\d') | //li"} {
		f.Add(s)
	}
	doc, err := NewDocument(xpathPage, Limits{})
	if err != nil {
		f.Fatal(err)
	}
	c := NewCSS(nil, Limits{MaxXPathSteps: 100_000})
	f.Fuzz(func(t *testing.T, expr string) {
		ans, err := c.XPath(context.Background(), doc, XPathSpec{Expression: expr, All: true})
		var se *SpecError
		if err != nil && !errors.As(err, &se) && !errors.Is(err, ErrResultTooLarge) {
			t.Fatalf("XPath(%q) error = %v, want a *SpecError", expr, err)
		}
		if err == nil && ans.Kind != XPathNodeSet && len(ans.Values) != 1 {
			t.Fatalf("XPath(%q) = %+v: a scalar must have one value", expr, ans)
		}
		// The first node alone is found by a shorter walk; it must be
		// the whole set's first.
		if err == nil && ans.Kind == XPathNodeSet {
			one, err := c.XPath(context.Background(), doc, XPathSpec{Expression: expr})
			if err != nil || len(one.Values) != min(1, len(ans.Values)) || len(one.Values) == 1 && one.Values[0] != ans.Values[0] {
				t.Fatalf("XPath(%q) first = %q, %v; want the first of %q", expr, one.Values, err, ans.Values)
			}
		}
	})
}

// TestXPathAsCSS: //name and //name/@attr are answered by Select, from the
// token stream where the page allows; the answers must be the evaluator's
// on every corpus page, for every output, limit and absolute URLs.
func TestXPathAsCSS(t *testing.T) {
	specs := []XPathSpec{
		{Expression: "//a/@href", All: true},
		{Expression: "//a/@href", All: true, AbsoluteURLs: true},
		{Expression: "//img/@src", All: true, Limit: 3, AbsoluteURLs: true},
		{Expression: "//a", Attribute: "href", All: true, AbsoluteURLs: true},
		{Expression: "//title"},
		{Expression: "//p", All: true},
		{Expression: "//h1", Output: OutputOuterHTML, All: true},
		{Expression: "//script", All: true},
		{Expression: "//meta/@content", All: true},
		{Expression: "//li", All: true, Limit: 2},
		{Expression: "//a/@href", Attribute: "rel", All: true}, // attribute nodes have no attributes: empty
	}
	pages := []testenv.Page{{Name: "xpathPage", Source: xpathPage}}
	if testing.Short() || raceEnabled {
		pages = append(pages, testenv.CorpusPages(t)[:5]...)
	} else {
		pages = append(pages, testenv.CorpusPages(t)...)
	}
	cache := NewSelectorCache(0)
	c := NewCSS(cache, Limits{MaxMatches: 50})
	ctx := context.Background()
	for _, p := range pages {
		for _, spec := range specs {
			doc, err := NewDocument(p.Source, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			doc.SetURL("https://example.com/dir/page.html")
			got, err := c.XPath(ctx, doc, spec)
			if err != nil {
				t.Fatalf("%s: XPath(%+v): %v", p.Name, spec, err)
			}
			tree, err := NewDocument(p.Source, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			tree.SetURL("https://example.com/dir/page.html")
			attr, err := c.checkXPath(spec)
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.xpathTree(ctx, tree, spec, attr)
			if err != nil {
				t.Fatalf("%s: xpathTree(%+v): %v", p.Name, spec, err)
			}
			if !slices.Equal(got.Values, want.Values) || got.Truncated != want.Truncated || got.Unresolved != want.Unresolved {
				t.Errorf("%s: %+v: as CSS %q (truncated %v, unresolved %d), evaluated %q (%v, %d)", p.Name, spec,
					clip(fmt.Sprint(got.Values), 200), got.Truncated, got.Unresolved, clip(fmt.Sprint(want.Values), 200), want.Truncated, want.Unresolved)
			}
		}
	}
	if st := cache.Stats(); st.Streamed == 0 {
		t.Errorf("no XPath question was answered from the token stream: %+v", st)
	}
}

package native

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/riptidecrawler/riptide-poold/internal/testenv"
	"golang.org/x/net/html/atom"
)

// streamSpecs are questions the token stream can answer, asked of every
// document by the differential tests.
var streamSpecs = []CSSSpec{
	{Selector: "title"},
	{Selector: "title", All: true},
	{Selector: "a", Attribute: "href", All: true},
	{Selector: "a[href]", Attribute: "href", All: true, Limit: 3},
	{Selector: "a.x, img[src$='.png']", Attribute: "class", All: true},
	{Selector: "img", Attribute: "src", All: true},
	{Selector: "meta[name=description]", Attribute: "content"},
	{Selector: "meta[property^='og:']", Attribute: "content", All: true},
	{Selector: "link[rel~=canonical]", Attribute: "href"},
	{Selector: "script[type='application/ld+json']", All: true},
	{Selector: "script, style", All: true},
	{Selector: "a#top", Attribute: "id"},
	{Selector: "source, video, audio, iframe, embed, track, area, base", Attribute: "src", All: true},
	{Selector: "p"},
	{Selector: "p", All: true},
	{Selector: "p.x, p#top", All: true, Limit: 2},
	{Selector: "p", Attribute: "class", All: true},
}

// bothPaths answers spec on src from the tree and from the token stream;
// streamed is false when the stream gave up.
func bothPaths(t testing.TB, src string, spec CSSSpec, limits Limits) (tree, stream []string, treeTrunc, streamTrunc bool, streamed bool) {
	t.Helper()
	return bothPathsOn(t, treeDocument(t, src, limits), spec, limits)
}

// treeDocument returns a Document for src that always uses the tree.
func treeDocument(t testing.TB, src string, limits Limits) *Document {
	t.Helper()
	doc, err := NewDocument(src, limits)
	if err != nil {
		t.Fatal(err)
	}
	doc.UseTree()
	return doc
}

// bothPathsOn is bothPaths on a document made by treeDocument, which can
// serve several specs with one parse.
func bothPathsOn(t testing.TB, doc *Document, spec CSSSpec, limits Limits) (tree, stream []string, treeTrunc, streamTrunc bool, streamed bool) {
	t.Helper()
	ctx := context.Background()
	src := doc.Source()
	css := NewCSS(nil, limits)
	tree, treeTrunc, treeErr := css.Select(ctx, doc, spec)

	sel, err := compileSelector(spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	attr, err := css.check(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.streamable(attr, spec.Output) {
		t.Fatalf("%+v: not a question for the stream", spec)
	}
	want, look := plan(spec.All, spec.Limit, css.limits.MaxMatches)
	stream, streamTrunc, streamErr := css.streamSelect(ctx, src, sel, attr, want, look)
	if errors.Is(streamErr, errNeedsTree) {
		return tree, nil, treeTrunc, false, false
	}
	if (treeErr == nil) != (streamErr == nil) || (treeErr != nil && treeErr.Error() != streamErr.Error()) {
		t.Fatalf("%+v on %q:\ntree error   %v\nstream error %v", spec, src, treeErr, streamErr)
	}
	return tree, stream, treeTrunc, streamTrunc, true
}

// checkPaths fails when the stream answers spec on src differently from
// the tree, and reports whether it answered.
func checkPaths(t testing.TB, src string, spec CSSSpec, limits Limits) bool {
	t.Helper()
	return checkPathsOn(t, treeDocument(t, src, limits), spec, limits)
}

func checkPathsOn(t testing.TB, doc *Document, spec CSSSpec, limits Limits) bool {
	t.Helper()
	src := doc.Source()
	tree, stream, treeTrunc, streamTrunc, streamed := bothPathsOn(t, doc, spec, limits)
	if !streamed {
		return false
	}
	if !slices.Equal(tree, stream) || treeTrunc != streamTrunc {
		t.Fatalf("%+v on %q:\ntree   %q (truncated %v)\nstream %q (truncated %v)", spec, src, tree, treeTrunc, stream, streamTrunc)
	}
	return true
}

func TestStreamTypes(t *testing.T) {
	tests := []struct {
		sel  string
		want []atom.Atom
	}{
		{"title", []atom.Atom{atom.Title}},
		{" A ", []atom.Atom{atom.A}},
		{"a[href]", []atom.Atom{atom.A}},
		{"a[ href ^= 'http' i ]", []atom.Atom{atom.A}},
		{`meta[name="description"]`, []atom.Atom{atom.Meta}},
		{"a.x.y#z[data-k=v], img", []atom.Atom{atom.A, atom.Img}},
		{"link[rel~=canonical][href]", []atom.Atom{atom.Link}},
		{"script[type$=json s]", []atom.Atom{atom.Script}},
		// Everything that needs the tree or that this recognizer does
		// not model.
		{"p", []atom.Atom{atom.P}},
		{"*", nil},               // universal
		{"[href]", nil},          // no type
		{"div a", nil},           // descendant combinator
		{"div > a", nil},         // child combinator
		{"a + a", nil},           // sibling combinator
		{"a:first-child", nil},   // pseudo-class
		{"a:not([href])", nil},   // pseudo-class
		{"a::before", nil},       // pseudo-element
		{"a, div", nil},          // one selector of the group is not
		{`a[href="x\"y"]`, nil},  // escapes
		{"a[title='b\nc']", nil}, // newline in a string
		{"svg|a", nil},           // namespace
		{"a[href", nil},          // unterminated
		{"a,", nil},              // empty selector
		{"a.1x", nil},            // not an identifier
		{"titlé", nil},           // not ASCII
		{"a[href=]", nil},        // no value
		{"a[href=x y]", nil},     // stray word
		{"a[href|x]", nil},       // operator without =
		{"a[href=x] [id]", nil},  // descendant
		{"a /* c */", nil},       // comment
		{"a\t,\nimg", []atom.Atom{atom.A, atom.Img}},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			if got := streamTypes(tt.sel); !slices.Equal(got, tt.want) {
				t.Errorf("streamTypes(%q) = %v, want %v", tt.sel, got, tt.want)
			}
		})
	}
}

func TestStreamable(t *testing.T) {
	tests := []struct {
		sel, attr string
		out       Output
		want      bool
	}{
		{"title", "", OutputText, true},
		{"script, style", "", OutputText, true},
		{"a", "href", OutputText, true},
		{"a", "", OutputText, false},                // the text of a needs its children
		{"title, a", "", OutputText, false},         // one type's text needs the tree
		{"title", "", OutputInnerHTML, false},       // markup is rendered from the tree
		{"meta", "content", OutputOuterHTML, false}, // (refused by check anyway)
		{"p", "class", OutputText, true},
		{"p.lead, p", "", OutputText, true},            // paragraphs' text
		{"p, title", "", OutputText, false},            // mixed text kinds
		{"div", "", OutputText, false},                 // not a stream type
		{"a[href] img", "src", OutputText, false},      // combinator
		{"script[type*=json]", "", OutputText, true},   // JSON-LD
		{"link[rel=icon]", "href", OutputText, true},   // favicons
		{"iframe", "", OutputText, false},              // its text is not raw here
		{"style", "media", OutputText, true},           // attributes of raw-text elements
		{"base", "href", OutputText, true},             // in the head
		{"title", "lang", OutputText, true},            // an attribute of title
		{"TITLE", "", OutputText, true},                // types are case-insensitive
		{"a[href]", "HREF", OutputText, true},          // so are attribute names (check lowers them)
		{"a[href]:not(.x)", "href", OutputText, false}, // pseudo-class
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s@%s/%v", tt.sel, tt.attr, tt.out), func(t *testing.T) {
			sel, err := compileSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if got := sel.streamable(strings.ToLower(tt.attr), tt.out); got != tt.want {
				t.Errorf("streamable = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestStreamMatchesTree runs markup that tree construction rearranges, or
// that looks as if it might, through both paths. Each case says whether the
// stream must answer (it models the markup) or give up; either way its
// answers must be the tree's.
func TestStreamMatchesTree(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		streamed bool // the stream answers every spec
	}{
		{"plain page", page, true},
		{"empty", "x", true},
		{"title in body", "<p>x<title> a  b </title><a href=1>", true},
		{"title entities", "<title>a &amp; b &lt;c&gt; &#x41;</title>", true},
		{"title unterminated", "<title>abc", true},
		{"self-closing title is raw", "<title/>a<a href=1>b</a></title><a href=2>", true},
		{"script raw", `<script>if (a<b) { x = "<a href=no>" }</script><a href=yes>`, true},
		{"script escapes", "<script><!--<script></script><a href=no>--></script><a href=yes>", true},
		{"script json-ld", `<script type="application/ld+json"> {"@type": "Article"} </script>`, true},
		{"style raw", "<style>a{}</style><style media=print>\n</style>", true},
		{"textarea", "<textarea><a href=no></textarea><a href=yes>", true},
		{"noscript is raw", "<noscript><a href=no></noscript><a href=yes>", true},
		{"xmp iframe noembed noframes", "<xmp><a href=1></xmp><iframe><a href=2></iframe><noembed><a href=3></noembed><noframes><a href=4></noframes><a href=5>", true},
		{"plaintext", "<a href=1>x</a><plaintext><a href=2>", true},
		{"duplicate attributes", "<a href=1 href=2 HREF=3>", true},
		{"attribute case and entities", `<A HREF="a&amp;b&lt;" Class=X>`, true},
		{"attribute NUL", "<a href=\"a\x00b\">", true},
		{"phrasing inside a", "<a href=1><span><b>x</b><img src=i.png><br></span></a><a href=2>", true},
		{"svg inside a", `<a href=1><svg viewBox="0 0 1 1"><path d="M0"/><use href="#i"></use></svg> Home</a>`, true},
		{"svg title", "<title>t</title><svg><title>icon</title></svg>", false},
		{"svg a", "<svg><a href=1></a></svg><a href=2>", false},
		{"svg breakout", "<svg><p><a href=1>", false},
		{"svg cdata", "<svg><![CDATA[<a href=no>]]></svg><a href=yes>", true},
		{"svg style is markup", "<svg><style><a href=1></style></svg>", false},
		{"svg self-closing", "<svg/><a href=1>", true},
		{"svg misnested end", "<svg><g></svg><a href=1>", false},
		{"math text", "<math><mi>x</mi></math><a href=1>", true},
		{"math markup in mi", "<math><mi><b>x</b></mi></math><a href=1>", false},
		{"svg title text", "<a href=1><svg><title>icon</title><path/></svg></a>", false}, // answered but for title, which matches the SVG title
		{"head after body", "</head><meta name=a content=1><body><meta name=description content=2>", true},
		{"after html", "</body></html><meta name=description content=x><a href=1>", true},
		{"html body merged", "<html lang=a><body class=b><html lang=c><body class=d><a href=1>", true},
		{"p closes p", "<p><a href=1>x</a><p><a href=2>y</a>", true},
		{"end tag br and p", "</br></p><a href=1>", true},
		{"a closed by p end", "<p><a href=1>x</p>y<a href=2>", false},
		{"a with div", "<a href=1><div><h2>x</h2><p>y<section>z</section></div></a><a href=2>", true},
		{"a with div in p", "<p><a href=1><div>x</div></a>", false},
		{"p closed before a", "<p>x</p><a href=1><div>x</div></a>", true},
		{"p closed by div before a", "<p>x<div><a href=1><h3>x</h3></a></div>", true},
		{"a with heading in heading", "<a href=1><h2>x<h3>y</h3></a><a href=2>", true},
		{"a with li", "<li><a href=1><li>x", false},
		{"p around button", "<p><button><a href=1><div>", false},
		{"p closed with its button", "<button><p>x</button><a href=1><div>y</div></a>", false}, // not modelled
		{"a misnested", "<a href=1><b>x</a>y</b>", false},
		{"nested a", "<a href=1><a href=2>", false},
		{"a inside b", "<b><a href=1>x</a></b><a href=2>", true},
		{"a unclosed at EOF", "<a href=1><span>x", true},
		{"table foster", "<table><tr><td><a href=1></td></tr><a href=2></table>", false},
		{"table cells", "<table><caption><a href=0>c</a></caption><tr><td><a href=1>x</a><p>y</p><td><img src=2.png><th><p>z</p><tr><td><table><td><a href=3></a></table><a href=4></a></table><a href=5>", true},
		{"table script", "<table><script>s</script><style>t</style> <tr> <td>x</table>", true},
		{"table text fostered", "<table>text<tr><td><a href=1>x</a></table><p>y", true},
		{"table end tags", "<table><tr><td>x</td></tr></tbody></caption></col></html></body></table><a href=1>", true},
		{"table in table", "<table><tr><table><td><a href=1>x</a></table><a href=2>", true},
		{"table cell in caption", "<table><caption>c<td><a href=1>x</a></table>", true},
		{"table p in cell", "<table><td><p>x</table><p>y", false},
		{"table a closed by cell", "<table><td><a href=1>x</td><td><a href=2>", false},
		{"table p before", "<p>x<table><td>y</table><a href=1><div>z", false},
		{"table cell outside", "<td><a href=1>", false},
		{"table fostered after first match", "<table><td><title>a</title><img src=1.png><tr><title>b</title><img src=2.png></table>", false},
		{"table fostered p end", "<table></p></table>", false},
		{"select", "<select><a href=1></select>", false},
		{"template", "<template><a href=1></template>", false},
		{"frameset", "<frameset><a href=1>", false},
		{"image", "<image src=x.png>", false},
		{"void self-closing", "<img src=1 /><meta name=description content=d/><a href=2/>x</a>", true},
		{"comments and doctype", "<!DOCTYPE html><!-- <a href=no> --><a href=yes>", true},
		{"unquoted slash", "<a href=/>x</a>", true},
		{"link meta base", `<base href="/b/"><link rel="canonical icon" href=c><meta property="og:title" content=o>`, true},
		{"paragraphs", "<p>a <b>b</b>\n c<p>d<br>e</br>f<div>g</div><p class=x>h<script>no</script><style>no</style><noscript>no</noscript>i", true},
		{"paragraph ends", "<p>a</p>b<p>c<ul><li>d</ul><p>e<h2>f</h2><p>g<hr>h<p>i<li>j<p>k<pre>l</pre>", true},
		{"stray p end", "<body>x</p><p>y</p></p>", true},
		{"stray p end in head", "<head></p><title>t</title>", false},
		{"paragraph raw children", "<p>a<title> t </title>b<iframe>c</iframe><noframes>d</noframes><option>e<option>f</p>", true},
		{"paragraph NUL", "<p>a\x00b<title>c\x00d</title>", true},
		{"paragraph after body", "<p>a</body>b</html>c", true},
		{"paragraph with a", "<p>x<a href=1>y</a>z</p><a href=2><p>w</p></a>", true},
		{"paragraph closed by ancestor", "<div><p>x</div>y", false},
		{"paragraph with button", "<p>x<button>y</button>", false},
		{"paragraph in button", "<button><p>x</button>y", false},
		{"paragraph misnested", "<p><b>x</p>y</b>", true},
		{"paragraph formatting around", "<b><p>x</b>y</p>", false},
		{"media", "<video src=v><source src=s.png><track src=t></video><audio src=a></audio><embed src=e><iframe src=f></iframe><map><area src=r></map>", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, spec := range streamSpecs {
				if streamed := checkPaths(t, tt.src, spec, Limits{}); tt.streamed && !streamed {
					t.Errorf("%+v: the stream gave up", spec)
				}
			}
			if !tt.streamed {
				// At least the questions about a, title or meta must
				// have given up; which, depends on the markup.
				gaveUp := false
				for _, spec := range streamSpecs {
					_, _, _, _, streamed := bothPaths(t, tt.src, spec, Limits{})
					gaveUp = gaveUp || !streamed
				}
				if !gaveUp {
					t.Errorf("the stream answered every question; the case expects it to give up on some")
				}
			}
		})
	}
}

// TestStreamLimits checks that the stream applies Select's bounds:
// MaxMatches with truncation, MaxResultBytes as an error, and limit.
func TestStreamLimits(t *testing.T) {
	src := strings.Repeat(`<a href="0123456789">x</a>`, 20) + "<title>" + strings.Repeat("t ", 100) + "</title>" +
		strings.Repeat("<script>s</script><title>t</title>", 20) + "<script>" + strings.Repeat("big ", 100) + "</script>" +
		"<title>" + strings.Repeat("big ", 100) + "</title>"
	for _, limits := range []Limits{
		{MaxMatches: 5},
		{MaxMatches: 20},
		{MaxMatches: 21},
		{MaxMatches: 1, MaxResultBytes: 200},
		{MaxMatches: 21, MaxResultBytes: 300},
		{MaxMatches: 20, MaxResultBytes: 100},
		{MaxResultBytes: 55},
		{MaxResultBytes: 100},
		{MaxResultBytes: 199},
	} {
		for _, spec := range []CSSSpec{
			{Selector: "a", Attribute: "href", All: true},
			{Selector: "a", Attribute: "href", All: true, Limit: 7},
			{Selector: "a", Attribute: "href"},
			{Selector: "title"},
			{Selector: "title, script", All: true},
			{Selector: "title", All: true},
		} {
			if !checkPaths(t, src, spec, limits) {
				t.Errorf("%+v with %+v: the stream gave up", spec, limits)
			}
		}
	}
}

func TestStreamContext(t *testing.T) {
	css := NewCSS(nil, Limits{})
	doc, err := NewDocument(strings.Repeat("<img src=x>", 5000), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sel, _ := compileSelector("img")
	if _, _, err := css.streamSelect(ctx, doc.Source(), sel, "src", 10000, 10001); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestStreamOnce checks that a document on which the stream gave up is not
// streamed again by its next question, and that a parsed one is walked.
func TestStreamOnce(t *testing.T) {
	css := NewCSS(nil, Limits{})
	doc, err := NewDocument("<select><a href=1>", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !doc.streamable() {
		t.Fatal("a new document is not streamable")
	}
	if _, _, err := css.Select(context.Background(), doc, CSSSpec{Selector: "a", Attribute: "href"}); err != nil {
		t.Fatal(err)
	}
	if doc.streamable() {
		t.Error("still streamable after the stream gave up")
	}
	doc2, _ := NewDocument("<a href=1>", Limits{})
	if _, err := doc2.Root(); err != nil {
		t.Fatal(err)
	}
	if doc2.streamable() {
		t.Error("streamable after a parse")
	}
}

// TestStreamCorpus compares the two paths on every page of the corpus and
// reports how often the stream answers.
func TestStreamCorpus(t *testing.T) {
	pages := testenv.CorpusPages(t)
	answered, asked := 0, 0
	for _, p := range pages {
		doc := treeDocument(t, p.Source, Limits{})
		for _, spec := range streamSpecs {
			asked++
			if checkPathsOn(t, doc, spec, Limits{}) {
				answered++
			}
		}
	}
	t.Logf("the stream answered %d of %d questions on %d pages", answered, asked, len(pages))
	if answered == 0 {
		t.Error("the stream answered no question of the corpus")
	}
}

func FuzzStreamMatchesTree(f *testing.F) {
	f.Add(page, uint8(2))
	f.Add("<p><a href=1>x</p>y<a href=2>", uint8(2))
	f.Add("<table><a href=1><tr><td><a href=2>", uint8(3))
	f.Add("<svg><title>a</title><a href=1><foreignObject><a href=2>", uint8(0))
	f.Add("<title/>a<script><!--<script>--></script><a href=x>", uint8(10))
	f.Add("<a href=1><b><div>x</a>y<img src=z.png>", uint8(5))
	f.Add("<math><mi><a href=1></mi></math><select><img src=1></select>", uint8(5))
	f.Add("<meta name=description content=1><template><meta name=description content=2>", uint8(6))
	f.Fuzz(func(t *testing.T, src string, which uint8) {
		if src == "" {
			return
		}
		spec := streamSpecs[int(which)%len(streamSpecs)]
		checkPaths(t, src, spec, fuzzLimits)
		// And three questions at once.
		i := int(which) % len(streamSpecs)
		specs := append(slices.Clone(streamSpecs[i:]), streamSpecs[:i]...)[:3]
		checkSelectEach(t, src, specs, fuzzLimits)
	})
}

// TestStreamRandomMarkup compares the two paths on random soups of the
// tags that tree construction treats specially, which a byte-level fuzzer
// rarely assembles. The seed is fixed, so a failure reproduces.
func TestStreamRandomMarkup(t *testing.T) {
	vocabularies := map[string][]string{
		"everything": {
			"a", "a", "a", "b", "i", "span", "p", "div", "br", "img", "meta", "link",
			"title", "script", "style", "textarea", "noscript", "table", "tr", "td",
			"svg", "math", "path", "g", "foreignObject", "desc", "select", "option",
			"template", "frameset", "image", "html", "head", "body", "li", "h2",
			"button", "form", "font", "nobr", "object", "plaintext", "source", "video",
			"caption", "tbody", "col", "th", "pre", "dd", "marquee", "input", "hr",
			"iframe", "xmp", "noembed", "mi", "annotation-xml", "base", "area", "em",
			"section", "h1", "h3", "ul", "address", "applet", "listing", "dl", "dt",
			"p", "div", "a", "summary", "mtext", "desc", "p", "p", "br", "ruby", "rt",
			"option", "frame", "pre", "hr", "dd",
		},
		// Mostly tables, so that their structure forms often.
		"tables": {
			"table", "table", "tr", "tr", "td", "td", "th", "caption", "tbody",
			"thead", "col", "colgroup", "a", "a", "p", "p", "div", "b", "span",
			"img", "meta", "title", "script", "style", "body", "html", "button",
		},
	}
	texts := []string{" ", "x", "&#32;", "\x00", "&amp;", "\n&nbsp;"}
	attrs := []string{"", " href=1", " href=2 class=x", ` src="a.png"`, " name=description content=c", ` property="og:t" content=o`, " rel=canonical href=h", ` type="application/ld+json"`, " id=top", "/"}
	// RIPTIDE_STREAM_SOUPS sets the number of documents per vocabulary
	// for a longer run; docs/BENCHMARKS.md records one of 100,000.
	n := 1000
	if testing.Short() {
		n = 200
	}
	if v, err := strconv.Atoi(os.Getenv("RIPTIDE_STREAM_SOUPS")); err == nil && v > 0 {
		n = v
	}
	for name, tags := range vocabularies {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var b strings.Builder
			answered := 0
			for i := 0; i < n; i++ {
				b.Reset()
				for j := rng.IntN(30); j >= 0; j-- {
					tag := tags[rng.IntN(len(tags))]
					switch rng.IntN(5) {
					case 0:
						fmt.Fprintf(&b, "</%s>", tag)
					case 1:
						b.WriteString(texts[rng.IntN(len(texts))])
					default:
						fmt.Fprintf(&b, "<%s%s>", tag, attrs[rng.IntN(len(attrs))])
					}
				}
				src := b.String()
				for _, spec := range streamSpecs {
					if checkPaths(t, src, spec, Limits{}) {
						answered++
					}
				}
			}
			t.Logf("the stream answered %d of %d questions", answered, n*len(streamSpecs))
		})
	}
}

// checkSelectEach fails when SelectEach answers specs on src other than
// Select answers each of them on the tree.
func checkSelectEach(t testing.TB, src string, specs []CSSSpec, limits Limits) {
	t.Helper()
	css := NewCSS(nil, limits)
	doc, err := NewDocument(src, limits)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	answers, err := css.SelectEach(ctx, doc, specs)
	if err != nil {
		t.Fatal(err)
	}
	tree := treeDocument(t, src, limits)
	for i, spec := range specs {
		values, truncated, err := css.Select(ctx, tree, spec)
		a := answers[i]
		if (err == nil) != (a.Err == nil) || (err != nil && err.Error() != a.Err.Error()) ||
			!slices.Equal(values, a.Values) || truncated != a.Truncated {
			if len(src) > 300 {
				src = src[:300] + "..."
			}
			t.Fatalf("%+v on %q:\ntree       %d values %.300q %v %v\nSelectEach %d values %.300q %v %v", spec, src, len(values), values, truncated, err, len(a.Values), a.Values, a.Truncated, a.Err)
		}
	}
}

// TestSelectEach checks that one pass answers several questions as Select
// answers each on the tree, on the corpus and on random soups, limits
// included, and that a spec's error stays its own.
func TestSelectEach(t *testing.T) {
	check := checkSelectEach
	t.Run("errors", func(t *testing.T) {
		check(t, "<title>t</title><a href=1>x</a><p>p</p>", []CSSSpec{
			{Selector: "title"},
			{Selector: "a["},
			{Selector: "a", Attribute: "href", All: true},
			{Selector: "p", All: true, Limit: -1},
			{Selector: "p", All: true},
		}, Limits{})
		check(t, "<title>"+strings.Repeat("t ", 100)+"</title><a href=1>x</a><p>"+strings.Repeat("p ", 100)+"</p>", []CSSSpec{
			{Selector: "title"},
			{Selector: "a", Attribute: "href", All: true},
			{Selector: "p", All: true},
		}, Limits{MaxResultBytes: 50})
	})
	t.Run("corpus", func(t *testing.T) {
		for _, p := range testenv.CorpusPages(t) {
			check(t, p.Source, streamSpecs, Limits{})
			check(t, p.Source, streamSpecs[:4], Limits{MaxMatches: 3, MaxResultBytes: 200})
		}
	})
	t.Run("soups", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		tags := []string{"a", "p", "title", "img", "table", "td", "tr", "div", "b", "script", "svg", "select", "meta", "br"}
		attrs := []string{"", " href=1", " class=x", ` src="a.png"`, " name=description content=c", " id=top"}
		var b strings.Builder
		for i := 0; i < 300; i++ {
			b.Reset()
			for j := rng.IntN(25); j >= 0; j-- {
				tag := tags[rng.IntN(len(tags))]
				switch rng.IntN(4) {
				case 0:
					fmt.Fprintf(&b, "</%s>", tag)
				case 1:
					b.WriteString(" x ")
				default:
					fmt.Fprintf(&b, "<%s%s>", tag, attrs[rng.IntN(len(attrs))])
				}
			}
			check(t, b.String(), streamSpecs, Limits{})
			check(t, b.String(), streamSpecs, Limits{MaxMatches: 2, MaxResultBytes: 10})
		}
	})
}

// TestStreamDeepNesting: Parse refuses a page whose stack of open elements
// passes maxTreeDepth, so the stream gives up where that stack may, and
// the two paths agree: both refuse the page, or both answer alike.
func TestStreamDeepNesting(t *testing.T) {
	const (
		either = iota
		mustStream
		mustGiveUp
	)
	deep := func(open string, n int) string { return strings.Repeat(open, n) }
	page := func(body string) string {
		return "<title>t</title><p>x</p>" + body + `<a href=1>a</a><img src=i.png><p class=x>y</p>`
	}
	tests := []struct {
		name string
		src  string
		// path is the stream's, for every question that reads the whole
		// page; treeRefuses says that Parse refuses the page.
		path        int
		treeRefuses bool
	}{
		{"divs under the limit", page(deep("<div>", 400)), mustStream, false},
		{"divs closed", page(strings.Repeat("<div></div>", 2000)), mustStream, false},
		{"divs past the limit", page(deep("<div>", 600)), mustGiveUp, true},
		{"self-closing divs stay open", page(deep("<div/>", 600)), mustGiveUp, true},
		{"custom elements", page(deep("<x-box>", 600)), mustGiveUp, true},
		{"formatting elements", page(deep("<b>", 600)), mustGiveUp, true},
		{"anchors' phrasing", page("<a href=0>" + deep("<span>", 600)), mustGiveUp, true},
		{"svg", page("<svg>" + deep("<g>", 600)), mustGiveUp, true},
		{"tables", page(deep("<table><tr><td>", 200)), mustGiveUp, true},
		{"void elements do not nest", page(deep("<br><img src=x><input><hr><wbr>", 400)), mustStream, false},
		{"html, head and body merge", page(deep("<html><body><head>", 600)), mustStream, false},
		// The parser closes each li at the next, and the bound follows.
		{"implied end of li", page("<ul>" + deep("<li>x", 600)), mustStream, false},
		{"implied end of p", page(deep("<p>x", 600)), mustStream, false},
		{"implied end of dd", page("<dl>" + deep("<dt>x<dd>y", 300)), mustStream, false},
		{"li through formatting", page("<ul>" + deep("<li><b>x", 600)), mustGiveUp, false},
		// The parser closes each td at the next; the bound, which keeps
		// them, gives up on a page the tree answers.
		{"implied end of td", page("<table><tr>" + deep("<td>x", 600) + "</table>"), mustGiveUp, false},
		{"paragraphs reopen formatting", page(deep("<p><b>x", 300)), either, false},
		{"misnested formatting", page(deep("<b><i>x</b></i>", 600)), either, false},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := treeDocument(t, tt.src, Limits{})
			if _, err := tree.Root(); (err != nil) != tt.treeRefuses || err != nil && !errors.Is(err, ErrUnparsable) {
				t.Fatalf("Parse: %v; want refused %v", err, tt.treeRefuses)
			}
			for _, spec := range streamSpecs {
				if !spec.All {
					continue // may be answered before the nesting: see below
				}
				_, _, _, _, streamed := bothPaths(t, tt.src, spec, Limits{})
				switch {
				case tt.path == mustStream && !streamed:
					t.Errorf("%+v: the stream gave up", spec)
				case tt.path == mustGiveUp && streamed:
					t.Errorf("%+v: the stream answered", spec)
				}
			}
			// Through Select, as a caller sees it: a fresh document takes
			// the stream, a parsed one the tree.
			css := NewCSS(nil, Limits{})
			spec := CSSSpec{Selector: "a", Attribute: "href", All: true}
			viaTree, _, treeErr := css.Select(ctx, tree, spec)
			doc, err := NewDocument(tt.src, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := css.Select(ctx, doc, spec)
			if !errors.Is(err, ErrUnparsable) && !errors.Is(treeErr, ErrUnparsable) && !slices.Equal(got, viaTree) ||
				errors.Is(err, ErrUnparsable) != errors.Is(treeErr, ErrUnparsable) {
				t.Errorf("Select = %q, %v; on the tree %q, %v", got, err, viaTree, treeErr)
			}
		})
	}

	// A question answered before the nesting is answered: the stream
	// stops reading at its answer, where the tree refuses the page.
	src := page(deep("<div>", 600))
	got, _, err := NewCSS(nil, Limits{}).Select(ctx, mustDoc(t, src), CSSSpec{Selector: "title"})
	if err != nil || !slices.Equal(got, []string{"t"}) {
		t.Errorf("title before the nesting: %q, %v; want the stream's answer", got, err)
	}
}

// TestStreamDeepRandomMarkup compares the two paths on long random soups
// that open far more than they close, so that the parser's stack often
// passes maxTreeDepth: wherever the tree refuses a page, the stream must
// have given up on every question that reads the whole page.
func TestStreamDeepRandomMarkup(t *testing.T) {
	// Elements that nest; formatting elements, which the tree builder
	// reopens and moves; and elements it closes on its own.
	tags := []string{
		"div", "span", "x-y", "section", "div", "span",
		"b", "i", "u", "font", "em", "nobr", "a", "b", "i",
		"div", "span", "x-y", "section", "div", "span", "br", "img", "body",
		"p", "li", "h1", "pre", "dd",
	}
	attrs := []string{"", " href=1", " class=x", ` src="a.png"`, "/"}
	n := 150
	if testing.Short() {
		n = 30
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	refused, answered, gaveUp := 0, 0, 0
	for range n {
		b.Reset()
		size := 400 + rng.IntN(800)
		for j := size; j >= 0; j-- {
			tag := tags[rng.IntN(len(tags))]
			switch rng.IntN(20) {
			case 0:
				fmt.Fprintf(&b, "</%s>", tag)
			case 1:
				b.WriteString("x")
			default:
				fmt.Fprintf(&b, "<%s%s>", tag, attrs[rng.IntN(len(attrs))])
			}
		}
		tree := treeDocument(t, b.String(), Limits{})
		if _, err := tree.Root(); err != nil {
			refused++
		}
		for _, spec := range streamSpecs {
			if !spec.All {
				continue
			}
			if checkPathsOn(t, tree, spec, Limits{}) {
				answered++
			} else {
				gaveUp++
			}
		}
	}
	t.Logf("Parse refused %d of %d soups; the stream answered %d questions, gave up on %d", refused, n, answered, gaveUp)
	if refused == 0 || answered == 0 {
		t.Error("the soups are all too deep for Parse, or none is: the test tests little")
	}
}

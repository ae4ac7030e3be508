package native

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// structuredBothWays answers spec on src from the token stream (when it
// can: streamed reports whether it did) and from the tree.
func structuredBothWays(t testing.TB, c *CSS, src, url string, spec StructuredSpec) (stream, tree string, streamed bool) {
	t.Helper()
	answer := func(useTree bool) (string, bool) {
		doc, err := NewDocument(src, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		doc.SetURL(url)
		if useTree {
			doc.UseTree()
		}
		before := c.cache.Stats().Streamed
		ans, err := c.Structured(context.Background(), doc, spec)
		if err != nil {
			return "error: " + err.Error(), false
		}
		b, err := json.Marshal(ans)
		if err != nil {
			t.Fatal(err)
		}
		return string(b), c.cache.Stats().Streamed > before
	}
	stream, streamed = answer(false)
	tree, _ = answer(true)
	return stream, tree, streamed
}

// TestStructuredStreamMatchesTree: on every page of the corpus, extruct's
// three syntaxes answer the same from the token stream as from the tree,
// and most pages are answered from the stream.
func TestStructuredStreamMatchesTree(t *testing.T) {
	_, pages := loadAnchors(t)
	c := NewCSS(NewSelectorCache(0), Limits{})
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	streamed := 0
	for _, p := range pages {
		stream, tree, ok := structuredBothWays(t, c, p.src, p.url, spec)
		if stream != tree {
			t.Errorf("%s: from the stream %s\nfrom the tree %s", p.name, clip(stream, 300), clip(tree, 300))
		}
		if ok {
			streamed++
		}
	}
	t.Logf("%d of %d pages answered from the token stream", streamed, len(pages))
	if streamed < len(pages)/3 {
		t.Errorf("only %d of %d pages answered from the token stream", streamed, len(pages))
	}
}

func TestStructuredStream(t *testing.T) {
	tests := []struct {
		name     string
		page     string
		streamed bool
	}{
		{"head metas and json-ld", `<html prefix="og: http://ogp.me/ns#"><head><meta property="og:title" content="T"><script type="application/ld+json">{"a": 1}</script></head><body><p>x</p><script type="application/ld+json">[{"b": 2}]</script></body></html>`, true},
		{"meta after head", `<head><title>t</title></head> <meta property="og:title" content="after"><body>x`, true},
		{"meta in body is not in head", `<title>t</title>text<meta property="og:title" content="body">`, true},
		{"implied head", `<meta property="og:type" content="article"><p>x<meta property="og:title" content="no">`, true},
		{"noscript in head is raw text", `<head><noscript><meta property="og:title" content="no"></noscript><meta property="og:url" content="u">`, true},
		{"self-closing script is raw text", `<head><script/><meta property="og:title" content="in script"></script><meta property="og:url" content="u">`, true},
		{"second head ignored", `<head><meta property="og:a" content="1"></head><head prefix="x: y"><meta property="x:b" content="2">`, true},
		{"microdata", `<div itemscope><span itemprop="n">x</span></div>`, true},
		{"th in a caption is ignored", `<div itemscope><table><caption><th itemscope>a<span itemprop="n">x</span></table></div>`, true},
		{"nobr in nobr", `<div itemscope><nobr itemprop="a">x<nobr itemprop="b">y</nobr>z</div>`, true},
		{"ITEMSCOPE", `<div ITEMSCOPE><span itemprop="n">x</span></div>`, true},
		{"nested items and values", `<html itemscope itemtype="https://schema.org/WebPage"><head><meta itemprop="name" content="N"><link itemprop="url" href="/p"><title>T</title></head>
<body><div itemprop="about" itemscope itemtype="a b" itemid=" x "><a itemprop="u" href="q">l</a><img itemprop="i" src="i.png"><time itemprop="t" datetime="2020">d</time>
<span itemprop="n n2">one <b>two</b><br>three</span><span itemprop="n">again</span><p itemprop="p">para<div>block</div></div><meta itemprop="late" content="c">`, true},
		{"item without properties", `<p itemscope>just <i>text</i><script>x</script> here</p><img itemscope src="a.png">`, true},
		{"implied ends", `<ul itemscope><li itemprop="a">one<li itemprop="a">two</ul><dl itemscope><dt itemprop="t">t<dd itemprop="d">d</dl><p itemscope><span itemprop="x">in p<div>not</div>`, true},
		{"formatting reopened", `<div itemscope><p><b>bold<span itemprop="x">a</p>b</span>c</div>`, true},
		{"formatting end pops", `<div itemscope><b><span itemprop="x">a</b>b</span></div>`, true},
		{"table", `<table itemscope><tr><td itemprop="a">1<td itemprop="b">2</table><table><caption itemprop="c">x</caption><colgroup><col></colgroup><tbody><tr><th itemscope><i itemprop="i">v</i></th></table>`, true},
		{"fostered text needs the tree", `<div itemscope><table><tr>text<td itemprop="a">1</table></div>`, false},
		{"svg inside", `<div itemscope><svg><title>icon</title><path/></svg><span itemprop="a">x</span></div>`, true},
		{"select and textarea", `<div itemscope><select><option itemprop="o">1<option>2</select><textarea itemprop="t">
text</textarea><pre itemprop="p">
pre</pre></div>`, true},
		{"itemref needs the tree", `<div itemscope itemref="x"></div><p id="x" itemprop="a">1</p>`, false},
		{"skipped scripts and styles", `<div itemscope><script>if (a </scriptx> b) {}</SCRIPT ><style>p{}</style/><span itemprop="a">1</span><noscript><b itemprop="no">x</b></noscript>
<script>document.write("<!--<script>x</script>-->")</script><span itemprop="b">2</span><script type="application/ld+json">{"c": 3}</script><script>never ends`, true},
		{"script with its own item", `<div itemscope><script itemprop="s">text of the script</script><style itemprop="t">p{}</style></div>`, true},
		{"an a left open closes at the next a", `<div itemscope><p><a itemprop="u" href="/1">one</p><a itemprop="v" href="/2">two</a><li><a href="/3">x<a itemprop="w" href="/4">four</a></div>`, true},
		{"an a reopened by text closes at the next a", `<div itemscope><div><a itemprop="u" href="/1">one</div>text<a itemprop="v" href="/2">two</a></div>`, true},
		{"an a closed before a block", `<div itemscope><a href="/1"><div itemprop="d">block</div><a itemprop="v" href="/2">two</a></div>`, true},
		{"an a around an open block needs the tree", `<div itemscope><a href="/1"><div itemprop="d">block<a itemprop="v" href="/2">two</a></div>`, false},
		{"adoption agency needs the tree", `<div itemscope><b><p itemprop="x">a</b>b</p></div>`, false},
		{"template needs the tree", `<head><template><meta property="og:title" content="t"></template></head>`, false},
		{"second html tag adds its attributes", `<html><head><meta property="og:title" content="t"></head><body><html prefix="og: http://example.com/">`, true},
		{"late html tag adds its attributes", `<head><meta property="og:title" content="t"></head><body><html prefix="og: http://example.com/">`, true},
		{"script in svg is not json-ld", `<svg><script type="application/ld+json">{"a": 1}</script></svg>`, true},
		{"type in any case and space, other scripts skipped", `<script type="text/javascript">var a = "{}";</script><script type=" Application/LD+JSON ">{"a": 1}</script><script type="application/ld+json+x">{"b": 2}</script>`, true},
		{"bad block", `<script type="application/ld+json">{oops</script><script type="application/ld+json">{"ok": true}</script>`, true},
	}
	c := NewCSS(NewSelectorCache(0), Limits{})
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, tree, streamed := structuredBothWays(t, c, tt.page, "https://e.org/", spec)
			if stream != tree {
				t.Errorf("from the stream %s\nfrom the tree %s", stream, tree)
			}
			if streamed != tt.streamed {
				t.Errorf("streamed = %v, want %v (%s)", streamed, tt.streamed, stream)
			}
		})
	}
	// Syntaxes the stream does not answer go to the tree.
	if _, _, streamed := structuredBothWays(t, c, tests[0].page, "https://e.org/", StructuredSpec{}); streamed {
		t.Error("all syntaxes (meta, twitter) answered from the stream")
	}
}

// FuzzStructuredStream: whatever the page, the token stream answers as
// the tree does, or leaves the page to it.
func FuzzStructuredStream(f *testing.F) {
	for _, s := range []string{
		`<html prefix="og: http://ogp.me/ns#"><head><meta property="og:title" content="T"></head><body>`,
		`<head></head><meta property="og:x" content="1"><script type="application/ld+json">{"a":1}</script>`,
		`<title>x</title>text<meta property="og:title" content="b">`,
		`<table><script type="application/ld+json">[1,{"b":2}]</script></table>`,
		`<select><script type="application/ld+json">{}</script>`,
		`<frameset><meta property="og:a" content="1">`,
		`<noscript><meta property="og:a" content="1"></noscript>`,
		`</br><meta property="og:a" content="1">`,
		`<head prefix="a: b"><link><base><meta property="a:c" content="d"></head>`,
		`<math><mi><script type="application/ld+json">{"m":1}</script></mi></math>`,
		`<html itemscope><head><meta itemprop="a" content="b"></head><body itemscope><div itemprop="x" itemscope><span itemprop="y">t</span></div>`,
		`<div itemscope><p><b>b<span itemprop="x">a</p>b</span><a itemprop="u" href="/x">l</a><li itemprop="l">1<li>2</div>`,
		`<table itemscope><tr><td itemprop="a">1<td itemprop="b">2</table><form><input itemprop="i" content="v"></form>`,
		`<div itemscope><svg><g itemprop="n"/><title>t</title></svg><select><option itemprop="o">1</select><textarea itemprop="t">x</textarea></div>`,
		`<div itemscope><script>a</scriptx></SCRIPT/><span itemprop="a">1</span><script><!--<script></script>--></script><style>x</style`,
		`<p itemscope>text <b itemprop="b">bold</p><pre itemprop="p">\nx</pre><h1 itemprop="h">a<h2>b</h2>`,
	} {
		f.Add(s)
	}
	c := NewCSS(NewSelectorCache(0), Limits{MaxMatches: 50})
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	f.Fuzz(func(t *testing.T, page string) {
		if page == "" {
			return
		}
		stream, tree, _ := structuredBothWays(t, c, page, "https://e.org/", spec)
		if stream != tree {
			t.Errorf("page %q:\nfrom the stream %s\nfrom the tree %s", page, stream, tree)
		}
	})
}

// randomMarkup writes a page of n tokens drawn from the markup that
// microdata pages mix: items and properties on every kind of element,
// implied and misnested end tags, formatting elements, tables, lists,
// forms, SVG and raw text.
func randomMarkup(r *rand.Rand, n int) string {
	tags := []string{"div", "span", "p", "a", "b", "i", "em", "li", "ul", "ol", "dl", "dt", "dd",
		"table", "tr", "td", "th", "tbody", "thead", "caption", "colgroup", "col", "h1", "h2",
		"pre", "textarea", "select", "option", "optgroup", "form", "input", "button", "img",
		"meta", "link", "time", "data", "br", "hr", "section", "article", "svg", "g", "title",
		"script", "style", "noscript", "iframe", "object", "font", "s", "u", "code", "ruby",
		"rt", "rp", "label", "figure", "html", "head", "body", "address", "center", "marquee"}
	attrs := []string{` itemscope`, ` itemprop="name"`, ` itemprop="a b"`, ` itemprop=""`,
		` itemtype="https://schema.org/Thing"`, ` itemid="x"`, ` content="c"`, ` href="/h"`,
		` src="s.png"`, ` datetime="2020"`, ` value="7"`, ` type="hidden"`,
		` type="application/ld+json"`, ` property="og:title"`, ` color="red"`}
	texts := []string{"text", " ", "\n", "a b", "{\"@type\": \"T\"}", "&amp;x", "\u00a0",
		"<!--", "-->", "</SCRIPT >", "</style/", "</scriptx>"}
	var b strings.Builder
	for range n {
		switch k := r.IntN(10); {
		case k < 5:
			tag := tags[r.IntN(len(tags))]
			b.WriteString("<" + tag)
			for range r.IntN(3) {
				b.WriteString(attrs[r.IntN(len(attrs))])
			}
			if r.IntN(8) == 0 {
				b.WriteString("/")
			}
			b.WriteString(">")
		case k < 8:
			b.WriteString("</" + tags[r.IntN(len(tags))] + ">")
		default:
			b.WriteString(texts[r.IntN(len(texts))])
		}
	}
	return b.String()
}

// TestStructuredStreamRandomPages: on random pages of microdata markup,
// the token stream answers as the tree does, or leaves the page to it.
func TestStructuredStreamRandomPages(t *testing.T) {
	c := NewCSS(NewSelectorCache(0), Limits{})
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	r := rand.New(rand.NewPCG(18, 5))
	pages, streamed := 3000, 0
	if testing.Short() {
		pages = 300
	}
	for range pages {
		page := `<div itemscope>` + randomMarkup(r, 5+r.IntN(40))
		stream, tree, ok := structuredBothWays(t, c, page, "https://e.org/", spec)
		if stream != tree {
			t.Fatalf("page %q:\nfrom the stream %s\nfrom the tree   %s", page, stream, tree)
		}
		if ok {
			streamed++
		}
	}
	t.Logf("%d of %d random pages answered from the token stream", streamed, pages)
}

// countFoldNaive is countFold written plainly, to check it against.
func countFoldNaive(s, sub string, most int) int {
	n := 0
	for i := 0; i+len(sub) <= len(s) && n < most; i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			n++
		}
	}
	return n
}

func TestCountFold(t *testing.T) {
	tests := []struct {
		s, sub string
		most   int
		want   int
	}{
		{"", "itemscope", 1, 0},
		{"itemscope", "itemscope", 1, 1},
		{"<div ITEMSCOPE>", "itemscope", 1, 1},
		{"iTeMsCoPe itemscope", "itemscope", 5, 2},
		{"itemscop", "itemscope", 1, 0},
		{"iiitemscope", "itemscope", 1, 1},
		{"<html><HTML>", "<html", 2, 2},
		{"<html><html><html>", "<html", 2, 2},
		{"aaaa", "aa", 5, 3},
	}
	for _, tt := range tests {
		if got := countFold(tt.s, tt.sub, tt.most); got != tt.want {
			t.Errorf("countFold(%q, %q, %d) = %d, want %d", tt.s, tt.sub, tt.most, got, tt.want)
		}
	}
}

func FuzzCountFold(f *testing.F) {
	f.Add("xx ItemScope itemscope", "itemscope", 3)
	f.Add("<HTML<html", "<html", 2)
	f.Fuzz(func(t *testing.T, s, sub string, most int) {
		if sub == "" || most < 0 || most > 10 {
			return
		}
		sub = strings.ToLower(sub)
		for i := 0; i < len(sub); i++ {
			if sub[i] >= 0x80 {
				return // countFold's sub is ASCII
			}
		}
		if got, want := countFold(s, sub, most), countFoldNaive(s, sub, most); got != want {
			t.Errorf("countFold(%q, %q, %d) = %d, want %d", s, sub, most, got, want)
		}
	})
}

// TestStructuredStreamBounds: past each of its bounds the stream leaves
// the page to the tree, which answers as it would have.
func TestStructuredStreamBounds(t *testing.T) {
	nested := func(n int, open, close, inner string) string {
		return `<div itemscope>` + strings.Repeat(open, n) + inner + strings.Repeat(close, n) + `</div>`
	}
	tests := []struct {
		name     string
		page     string
		limits   Limits
		streamed bool
	}{
		{"open text collectors at the bound", nested(maxStreamCollectors-1, `<span itemprop="p">`, `</span>`, "x"), Limits{}, true},
		{"open text collectors past the bound", nested(maxStreamCollectors+1, `<span itemprop="p">`, `</span>`, "x"), Limits{}, false},
		{"collected text past the result limit", nested(3, `<span itemprop="p">`, `</span>`, strings.Repeat("word ", 400)), Limits{MaxResultBytes: 1000}, false},
		{"items past the depth bound", nested(MaxMicrodataDepth+2, `<div itemprop="p" itemscope>`, `</div>`, "deep"), Limits{}, false},
		{"items past the count bound", `<div itemscope>` + strings.Repeat(`<meta itemprop="a" content="b">`, MaxStructuredItems+1), Limits{}, false},
		{"nesting at the tree's depth", `<b>` + strings.Repeat(`<div>`, maxTreeDepth-5) + `<span itemscope><i itemprop="x">y</i>` + strings.Repeat(`</p>`, 2000), Limits{}, true},
		{"nesting past the tree's depth", `<b>` + strings.Repeat(`<div>`, 20000) + `<span itemscope><i itemprop="x">y</i>` + strings.Repeat(`</p>`, 2000), Limits{}, false},
		{"many formatting elements", `<div itemscope>` + strings.Repeat(`<b><i><u>x</p>`, 3000), Limits{}, false},
	}
	spec := StructuredSpec{Syntaxes: []string{SyntaxJSONLD, SyntaxMicrodata, SyntaxOpenGraph}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCSS(NewSelectorCache(0), tt.limits)
			stream, tree, streamed := structuredBothWays(t, c, tt.page, "https://e.org/", spec)
			if stream != tree {
				t.Errorf("from the stream %s\nfrom the tree   %s", clip(stream, 300), clip(tree, 300))
			}
			if streamed != tt.streamed {
				t.Errorf("streamed = %v, want %v (%s)", streamed, tt.streamed, clip(stream, 200))
			}
		})
	}
}

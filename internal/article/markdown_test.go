package article

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

func TestMarkdown(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{"paragraphs", "<p>one\n  two</p><p>three</p>", "one two\n\nthree"},
		{"headings", "<h1>Big</h1><h3>Small <em>it</em></h3><h2> </h2>", "# Big\n\n### Small *it*"},
		{"emphasis", "<p>a <em>b</em> <strong>c</strong> <i> d </i>e <b></b>f <del>g</del></p>", "a *b* **c** *d* e f ~~g~~"},
		{"intraword emphasis", "<p>un<b>believ</b>able</p>", "un**believ**able"},
		{"links", `<p>see <a href="/x">the <b>docs</b></a> and <a href="https://e.org/a b">b</a></p>`,
			"see [the **docs**](https://example.com/x) and [b](https://e.org/a%20b)"},
		{"empty and script links", `<p><a href="/x"> </a><a href="javascript:go()">text</a> <a>no href</a></p>`, "text no href"},
		{"image", `<p><img src="i.png" alt="an [alt]"> <img src="data:image/png;base64,AAA"></p>`,
			`![an \[alt\]](https://example.com/i.png)`},
		{"linked image", `<a href="/big"><img src="/small.png" alt="x"></a>`, "[![x](https://example.com/small.png)](https://example.com/big)"},
		{"bang before link", `<p>wow!<a href="/x">x</a></p>`, `wow\![x](https://example.com/x)`},
		{"unordered list", "<ul><li>a</li><li>b <b>c</b></li><li></li></ul>", "- a\n- b **c**"},
		{"ordered list with start", `<ol start="3"><li>c</li><li>d</li></ol>`, "3. c\n4. d"},
		{"nested lists", "<ul><li>a<ul><li>b</li><li>c<ol><li>d</li></ol></li></ul></li><li>e</li></ul>",
			"- a\n  - b\n  - c\n    1. d\n- e"},
		{"list item paragraphs", "<ol><li><p>one</p><p>two</p></li></ol>", "1. one\n\n   two"},
		{"blockquote", "<blockquote><p>q1</p><p>q2</p></blockquote><p>after</p>", "> q1\n>\n> q2\n\nafter"},
		{"nested blockquote", "<blockquote>a<blockquote>b</blockquote></blockquote>", "> a\n>\n> > b"},
		{"inline code", "<p>call <code>f(*x)</code> or <code>a`b</code></p>", "call `f(*x)` or ``a`b``"},
		{"code block", "<pre><code class=\"language-go\">func f() {\n\treturn *p\n}\n</code></pre>", "```go\nfunc f() {\n\treturn *p\n}\n```"},
		{"code block with fence", "<pre>a\n```\nb</pre>", "````\na\n```\nb\n````"},
		{"break", "<p>line one<br>line two<br></p>", "line one\\\nline two"},
		{"rule", "<p>a</p><hr><p>b</p>", "a\n\n---\n\nb"},
		{"table", "<table><tr><th>h1</th><th>h|2</th></tr><tr><td>a</td></tr></table>",
			"| h1 | h\\|2 |\n| --- | --- |\n| a |  |"},
		{"escapes", "<p>*not em* and _x_ [y] &lt;z&gt; \\</p>", `\*not em\* and \_x\_ \[y\] \<z> \\`},
		{"line-start escapes", "<p># no heading</p><p>- no item</p><p>1. no list</p><p>2024) year</p><p>&gt; no quote</p>",
			"\\# no heading\n\n\\- no item\n\n1\\. no list\n\n2024\\) year\n\n\\> no quote"},
		{"invisible", `<p>shown</p><script>x</script><style>y</style><p hidden>h</p><div style="display:none">n</div><p>end</p>`,
			"shown\n\nend"},
		{"divs and spans", "<div>a<div>b</div><span>c</span> d</div>", "a\n\nb\n\nc d"},
		{"block inside inline", "<a href=\"/x\"><div>block</div><div>link</div></a>", "[block link](https://example.com/x)"},
		{"empty", "", ""},
	}
	base, _ := url.Parse("https://example.com/page")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes, err := html.ParseFragment(strings.NewReader(tt.html), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
			if err != nil {
				t.Fatal(err)
			}
			root := &html.Node{Type: html.ElementNode, Data: "div"}
			for _, n := range nodes {
				root.AppendChild(n)
			}
			if got := Markdown(root, base); got != tt.want {
				t.Errorf("Markdown(%q)\n got %q\nwant %q", tt.html, got, tt.want)
			}
		})
	}
}

func TestMarkdownWithoutBase(t *testing.T) {
	doc, err := html.Parse(strings.NewReader(`<p><a href="rel">r</a></p>`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := Markdown(doc, nil), "[r](rel)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

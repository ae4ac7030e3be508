package article

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestTrimTail(t *testing.T) {
	long := strings.Repeat("The article's text goes on. ", 12) // over longLineChars
	mid := strings.Repeat("More text. ", 12)                   // over tailLineChars
	tests := []struct {
		name, in string
		keep     []string
		drop     []string
		trimmed  bool
	}{
		{"short lines after the text go", `<p>` + long + `</p><p>Read more:</p><ul><li><a href=a>Other story</a></li></ul><p>Source: agency</p>`,
			[]string{"article's text"}, []string{"Read more", "Other story", "Source"}, true},
		{"at every level", `<div><p>` + long + `</p><div>Share this</div></div><div>Tags: a</div>`,
			[]string{"article's text"}, []string{"Share this", "Tags"}, true},
		{"a longer line after the text keeps the tail", `<p>` + long + `</p><p>Short.</p><p>` + mid + `</p>`,
			[]string{"article's text", "Short.", "More text"}, nil, false},
		{"no long line, nothing to trim", `<p>One.</p><p>Two.</p>`, []string{"One.", "Two."}, nil, false},
		{"the long line ends the content", `<p>Intro.</p><p>` + long + `</p>`, []string{"Intro.", "article's text"}, nil, false},
		{"closing sentences are the article's", `<p>` + long + `</p><p>Ah Bartleby! Ah humanity!</p><p>The end.</p>`,
			[]string{"article's text", "Ah humanity!", "The end."}, nil, false},
		{"a sentence with a link is not a closing one", `<p>` + long + `</p><p>More on <a href=x>our site</a>.</p>`,
			[]string{"article's text"}, []string{"our site"}, true},
		{"a line that is not a sentence makes the tail", `<p>` + long + `</p><p>The end.</p><p>Photo: Ann Li</p>`,
			[]string{"article's text"}, []string{"The end.", "Photo"}, true},
		{"inline markup is one line", `<p>` + long[:200] + `<a href=x>` + long[:150] + `</a></p><p>Bye</p>`,
			[]string{"article's text"}, []string{"Bye"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fragment(t, tt.in)
			if got := trimTail(root); got != tt.trimmed {
				t.Errorf("trimTail = %v, want %v", got, tt.trimmed)
			}
			checkText(t, innerText(root), tt.keep, tt.drop)
		})
	}
}

func TestMergeParagraphs(t *testing.T) {
	// para is a paragraph long enough to count whose words are its own.
	para := func(s string) string {
		words := []string{s}
		for i := range 12 {
			words = append(words, fmt.Sprintf("%s%d", strings.ToLower(s), i))
		}
		return "<p>" + strings.Join(words, " ") + ".</p>"
	}
	tests := []struct {
		name, page, content string
		want                []string // the content's paragraphs after, by their first word
	}{
		{"kept the article: unchanged", para("One") + para("Two") + para("Three") + para("Four"), para("One") + para("Two") + para("Three"),
			[]string{"One", "Two", "Three"}},
		{"missed paragraphs join in page order", para("One") + "<div>" + para("Two") + "</div>" + para("Three") + para("Four"), para("Two"),
			[]string{"One", "Two", "Three", "Four"}},
		{"the wrong block: the paragraphs follow it", `<div class=names><p>Ann, Bo, Cy</p></div>` + para("One") + para("Two"), `<p>Ann, Bo, Cy</p>`,
			[]string{"Ann,", "One", "Two"}},
		{"navigation, asides and boilerplate containers stay out", `<nav>` + para("Nav") + `</nav><aside>` + para("Aside") + `</aside><div class="related-posts">` + para("Related") + `</div>` + para("One") + para("Two"), para("One"),
			[]string{"One", "Two"}},
		{"a paragraph of links stays out", `<p><a href=a>` + strings.Repeat("link text ", 20) + `</a></p>` + para("One") + para("Two"), para("One"),
			[]string{"One", "Two"}},
		{"held in another shape is not added again", `<p>` + strings.Repeat("Words of the first paragraph here. ", 4) + `<button>Share</button></p>` + para("Two"), `<p>` + strings.Repeat("Words of the first paragraph here. ", 4) + `</p>` + para("Two"),
			[]string{"Words", "Two"}},
		{"hidden text is not content", `<p hidden>` + strings.Repeat("Hidden words. ", 10) + `</p>` + para("One") + para("Two"), para("One"),
			[]string{"One", "Two"}},
		{"a list of teasers is not merged", `<article>` + para("One") + `</article><article>` + para("Two") + `</article><article>` + para("Three") + `</article>`, para("One"),
			[]string{"One"}},
	}
	base, _ := url.Parse("http://example.com/a/")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fragment(t, tt.page)
			content := fragment(t, tt.content)
			mergeParagraphs(content, root, base)
			var got []string
			for p := range descendants(content, "p") {
				got = append(got, strings.Fields(innerText(p))[0])
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("paragraphs %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMergeParagraphsResolvesAndCleans(t *testing.T) {
	text := strings.Repeat("A paragraph the readability pass missed. ", 3)
	root := fragment(t, `<p style="color:red" onclick="x()">`+text+`<a href="b.html">link</a><span aria-hidden="true">hidden</span></p>`)
	content := fragment(t, `<p>Short.</p>`)
	base, _ := url.Parse("http://example.com/a/")
	if n := mergeParagraphs(content, root, base); n != 1 {
		t.Fatalf("added %d paragraphs, want 1", n)
	}
	got := renderHTML(content, 0)
	for _, want := range []string{`href="http://example.com/a/b.html"`, text} {
		if !strings.Contains(got, want) {
			t.Errorf("%s: missing %q", got, want)
		}
	}
	for _, bad := range []string{"style=", "onclick", "hidden"} {
		if strings.Contains(got, bad) {
			t.Errorf("%s: kept %q", got, bad)
		}
	}
}

// TestMergeParagraphsBounded checks that a page of paragraphs by the
// thousand is read only up to maxParagraphs.
func TestMergeParagraphsBounded(t *testing.T) {
	var sb strings.Builder
	for i := range 3 * maxParagraphs {
		fmt.Fprintf(&sb, "<p>Paragraph %d of a page that has far too many of them to read.</p>", i)
	}
	root := fragment(t, sb.String())
	paras, _ := paragraphs(root)
	if len(paras) != maxParagraphs {
		t.Fatalf("read %d paragraphs, want %d", len(paras), maxParagraphs)
	}
	content := fragment(t, "<p>x</p>")
	if n := mergeParagraphs(content, root, nil); n != maxParagraphs {
		t.Errorf("merged %d paragraphs, want %d", n, maxParagraphs)
	}
}

// fragment parses s and returns a container element holding it.
func fragment(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader("<div id=root>" + s + "</div>"))
	if err != nil {
		t.Fatal(err)
	}
	return findElement(doc, "body").FirstChild
}

func checkText(t *testing.T, got string, keep, drop []string) {
	t.Helper()
	for _, k := range keep {
		if !strings.Contains(got, k) {
			t.Errorf("lost %q: %q", k, got)
		}
	}
	for _, d := range drop {
		if strings.Contains(got, d) {
			t.Errorf("kept %q: %q", d, got)
		}
	}
}

// TestKeyTextUpTo checks the bounded look the cleaning takes at every
// paragraph and div: a block larger than the limit, in text or in nested
// elements, is reported as such after at most limit nodes.
func TestKeyTextUpTo(t *testing.T) {
	deep := strings.Repeat("<span>", 400) + `<a href=x>link</a>` + strings.Repeat("</span>", 400) // the parser nests 512 at most
	wide := strings.Repeat("<b></b>", 1000) + `<a href=x>link</a>`
	tests := []struct {
		name, in  string
		whole     bool
		linkedAll bool
	}{
		{"a short link line", `<a href=x>Read also</a>`, true, true},
		{"long text", strings.Repeat("word ", 100), false, false},
		{"deeply nested", deep, false, false},
		{"many empty elements", wide, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, whole := keyTextUpTo(fragment(t, tt.in), 200)
			if whole != tt.whole {
				t.Errorf("whole = %v, want %v", whole, tt.whole)
			}
			if tt.linkedAll && k.linked != k.bytes {
				t.Errorf("linked %d of %d bytes, want all", k.linked, k.bytes)
			}
		})
	}
}

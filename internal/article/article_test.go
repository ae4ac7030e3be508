package article

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// lorem is a paragraph long enough for the readability pass to count it.
const lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua, ut enim ad minim veniam, quis nostrud exercitation ullamco laboris."

// page is a small article page: metadata in the head, navigation, the
// article with links and media, and a footer.
func page(extraHead, article string) string {
	return `<!DOCTYPE html><html lang="en" dir="ltr"><head>
<title>The Title - Example News</title>
<meta property="og:site_name" content="Example News">
<meta name="description" content="A short summary.">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-03-05T10:20:30Z">
` + extraHead + `</head><body>
<nav><a href="/home">Home</a> <a href="/about">About</a></nav>
<article><h1>The Title</h1>` + article + `</article>
<footer><p>Copyright Example News</p><script>var hidden = "script text";</script></footer>
</body></html>`
}

var articleBody = `<p>First paragraph. ` + lorem + ` <a href="rel/one.html">relative link</a>,
<a href="javascript:void(0)">script link</a>, <a href="#section">anchor</a> and
<a href="https://other.example/abs?q=1#frag">absolute</a>.</p>
<p>Second paragraph. ` + lorem + `<img src="img/a.png" alt="An  image"></p>
<p>Third paragraph. ` + lorem + `</p>
<video src="/v.mp4" title="A video"></video>
<audio><source src="sound.ogg"></audio>`

func mustExtract(t *testing.T, html string, req Request) *Result {
	t.Helper()
	res, err := Extract(html, req)
	if err != nil {
		t.Fatalf("Extract: %v", err)
	}
	return res
}

func TestModes(t *testing.T) {
	src := page("", articleBody)
	const url = "https://example.com/news/story.html"
	tests := []struct {
		mode         string
		wantBody     bool   // text, content_html, markdown, links, media
		textHas      string // a substring of the text
		textHasNot   string
		wantNavLinks bool // links outside the article
	}{
		{mode: "", wantBody: true, textHas: "Second paragraph", textHasNot: "Copyright"},
		{mode: ModeArticle, wantBody: true, textHas: "Third paragraph", textHasNot: "Copyright"},
		{mode: ModeFull, wantBody: true, textHas: "Copyright Example News", textHasNot: "script text", wantNavLinks: true},
		{mode: ModeMetadata},
		{mode: ModeCustom},
	}
	for _, tt := range tests {
		t.Run("mode="+tt.mode, func(t *testing.T) {
			req := Request{URL: url, Mode: tt.mode}
			if tt.mode == ModeCustom {
				req.Selectors = []string{"h1"}
			}
			res := mustExtract(t, src, req)
			// Metadata comes in every mode.
			want := Result{
				URL: url, Title: "The Title - Example News", Byline: "Jane Doe",
				PublishedTime: "2024-03-05T10:20:30Z", SiteName: "Example News",
				Description: "A short summary.", Lang: "en", Dir: "ltr",
			}
			got := Result{
				URL: res.URL, Title: res.Title, Byline: res.Byline, PublishedTime: res.PublishedTime,
				SiteName: res.SiteName, Description: res.Description, Lang: res.Lang, Dir: res.Dir,
			}
			if !equalJSON(got, want) {
				t.Errorf("metadata\n got %+v\nwant %+v", got, want)
			}
			if res.WordCount == 0 || res.ReadingTimeMinutes == 0 || res.QualityScore == 0 {
				t.Errorf("word count %d, reading time %v, quality %d: want all > 0",
					res.WordCount, res.ReadingTimeMinutes, res.QualityScore)
			}
			hasBody := res.Text != "" || res.ContentHTML != "" || res.Markdown != "" || res.Links != nil || res.Media != nil
			if hasBody != tt.wantBody {
				t.Errorf("body fields present = %v, want %v", hasBody, tt.wantBody)
			}
			if tt.textHas != "" && !strings.Contains(res.Text, tt.textHas) {
				t.Errorf("text lacks %q:\n%s", tt.textHas, res.Text)
			}
			if tt.textHasNot != "" && strings.Contains(res.Text, tt.textHasNot) {
				t.Errorf("text has %q:\n%s", tt.textHasNot, res.Text)
			}
			if tt.wantBody {
				if !strings.Contains(res.ContentHTML, "<p>") || !strings.Contains(res.Markdown, "Second paragraph") {
					t.Errorf("content_html or markdown missing the content:\n%s\n%s", res.ContentHTML, res.Markdown)
				}
				nav := slices.ContainsFunc(res.Links, func(l Link) bool { return l.URL == "https://example.com/home" })
				if nav != tt.wantNavLinks {
					t.Errorf("navigation link present = %v, want %v: %v", nav, tt.wantNavLinks, res.Links)
				}
			}
			if (res.Selectors != nil) != (tt.mode == ModeCustom) {
				t.Errorf("selectors = %v in mode %q", res.Selectors, tt.mode)
			}
		})
	}
}

func TestFullModeDropsInvisible(t *testing.T) {
	src := `<html><head><title>T</title></head><body>
<p>shown</p><p hidden>hidden attr</p><div style="display: none">display none</div>
<div aria-hidden="true">aria hidden</div><noscript>noscript</noscript><style>.x{}</style>
<template><p>template</p></template><!-- comment -->
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","headline":"LD Headline","author":{"@type":"Person","name":"LD Author"}}</script>
</body></html>`
	res := mustExtract(t, src, Request{Mode: ModeFull})
	if strings.TrimSpace(res.Text) != "shown" {
		t.Errorf("text = %q, want only %q", res.Text, "shown")
	}
	for _, s := range []string{"hidden", "display none", "template", "comment", "ld+json", "<style"} {
		if strings.Contains(res.ContentHTML, s) {
			t.Errorf("content_html has %q: %s", s, res.ContentHTML)
		}
	}
	// JSON-LD still feeds the metadata.
	if res.Byline != "LD Author" {
		t.Errorf("byline = %q, want the JSON-LD author", res.Byline)
	}
}

func TestCustomSelectors(t *testing.T) {
	src := page("", articleBody+`<ul class="tags"><li>go</li><li> wasm </li></ul>`)
	res := mustExtract(t, src, Request{Mode: ModeCustom, Selectors: []string{"h1", ".tags li", "nav a, footer p", "table"}})
	want := map[string][]string{
		"h1":              {"The Title"},
		".tags li":        {"go", "wasm"},
		"nav a, footer p": {"Home", "About", "Copyright Example News"},
		"table":           {},
	}
	if !equalJSON(res.Selectors, want) {
		t.Errorf("selectors = %q, want %q", res.Selectors, want)
	}
	if res.Text != "" || res.Links != nil {
		t.Errorf("custom mode returned body fields")
	}
}

func TestLinks(t *testing.T) {
	tests := []struct {
		name, url, head, body string
		want                  []Link
	}{
		{
			name: "relative against the URL",
			url:  "https://example.com/a/b.html",
			body: `<a href="c.html">C</a> <a href="/d">D</a> <a href="../e">E</a> <a href="//cdn.example/f">F</a>`,
			want: []Link{{"https://example.com/a/c.html", "C"}, {"https://example.com/d", "D"},
				{"https://example.com/e", "E"}, {"https://cdn.example/f", "F"}},
		},
		{
			name: "base href wins over the URL",
			url:  "https://example.com/a/b.html",
			head: `<base href="https://static.example/root/">`,
			body: `<a href="c.html">C</a> <a href="https://abs.example/x">X</a>`,
			want: []Link{{"https://static.example/root/c.html", "C"}, {"https://abs.example/x", "X"}},
		},
		{
			name: "relative base href",
			url:  "https://example.com/a/b.html",
			head: `<base href="sub/">`,
			body: `<a href="c.html">C</a>`,
			want: []Link{{"https://example.com/a/sub/c.html", "C"}},
		},
		{
			name: "no URL leaves relative links",
			body: `<a href="c.html">C</a>`,
			want: []Link{{"c.html", "C"}},
		},
		{
			name: "scripts, anchors and empty hrefs dropped, fragments kept",
			url:  "https://example.com/",
			body: `<a href="javascript:alert(1)">J</a> <a href=" JavaScript:x">J2</a> <a href="#top">T</a>
<a href="">E</a> <a>N</a> <a href="page#part">P</a> <a href="mailto:x@example.com">M</a>`,
			want: []Link{{"https://example.com/page#part", "P"}, {"mailto:x@example.com", "M"}},
		},
		{
			name: "text collapsed",
			url:  "https://example.com/",
			body: "<a href=\"/x\">  two\n\twords <b>bold</b> </a>",
			want: []Link{{"https://example.com/x", "two words bold"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "<html><head>" + tt.head + "</head><body>" + tt.body + "</body></html>"
			res := mustExtract(t, src, Request{URL: tt.url, Mode: ModeFull})
			if !equalJSON(res.Links, tt.want) {
				t.Errorf("links\n got %v\nwant %v", res.Links, tt.want)
			}
		})
	}
}

func TestArticleLinksAndMedia(t *testing.T) {
	res := mustExtract(t, page("", articleBody), Request{URL: "https://example.com/news/story.html"})
	wantLinks := []Link{
		{"https://example.com/news/rel/one.html", "relative link"},
		{"https://other.example/abs?q=1#frag", "absolute"},
	}
	if !equalJSON(res.Links, wantLinks) {
		t.Errorf("links\n got %v\nwant %v", res.Links, wantLinks)
	}
	wantMedia := []Media{
		{URL: "https://example.com/news/img/a.png", Type: MediaImage, Alt: "An image"},
		{URL: "https://example.com/v.mp4", Type: MediaVideo, Alt: "A video"},
		{URL: "https://example.com/news/sound.ogg", Type: MediaAudio},
	}
	if !equalJSON(res.Media, wantMedia) {
		t.Errorf("media\n got %v\nwant %v", res.Media, wantMedia)
	}
}

func TestMedia(t *testing.T) {
	body := `<img src="a.png" alt="A"><img data-src="lazy.png" src="data:image/gif;base64,R0lGOD"><img srcset="s1.png 1x, s2.png 2x">
<img src="data:image/png;base64,iVBOR"><img><picture><source srcset="p.webp"><img src="p.jpg" alt="P"></picture>
<video poster="poster.jpg"><source src="v.webm"><source src="v.mp4"></video><audio src="/a.mp3" title="  Song "></audio>`
	res := mustExtract(t, "<html><body>"+body+"</body></html>", Request{URL: "http://example.org/dir/", Mode: ModeFull})
	want := []Media{
		{URL: "http://example.org/dir/a.png", Type: MediaImage, Alt: "A"},
		{URL: "http://example.org/dir/lazy.png", Type: MediaImage},
		{URL: "http://example.org/dir/s1.png", Type: MediaImage},
		{URL: "http://example.org/dir/p.jpg", Type: MediaImage, Alt: "P"},
		{URL: "http://example.org/dir/v.webm", Type: MediaVideo},
		{URL: "http://example.org/a.mp3", Type: MediaAudio, Alt: "Song"},
	}
	if !equalJSON(res.Media, want) {
		t.Errorf("media\n got %v\nwant %v", res.Media, want)
	}
}

func TestCountWords(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"   \n\t", 0},
		{"one", 1},
		{"one two  three\nfour", 4},
		{"don't e-mail 3.5 U.S.", 4},
		{"a — b -- c", 3},
		{"Émile Zoë naïve", 3},
		{"中文字", 3},
		{"日本語 text", 4},
		{"مرحبا بالعالم", 2},
		{"non\u00a0breaking", 2},
	}
	for _, tt := range tests {
		if got := CountWords(tt.text); got != tt.want {
			t.Errorf("CountWords(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestReadingTime(t *testing.T) {
	tests := []struct {
		words int
		want  float64
	}{
		{0, 0}, {-1, 0}, {1, 0.1}, {238, 1}, {476, 2}, {300, 1.3}, {2380, 10},
	}
	for _, tt := range tests {
		if got := ReadingTime(tt.words); got != tt.want {
			t.Errorf("ReadingTime(%d) = %v, want %v", tt.words, got, tt.want)
		}
	}
}

func TestWordCountMatchesText(t *testing.T) {
	res := mustExtract(t, page("", articleBody), Request{})
	if want := CountWords(res.Text); res.WordCount != want {
		t.Errorf("word_count = %d, CountWords(text) = %d", res.WordCount, want)
	}
	if want := ReadingTime(res.WordCount); res.ReadingTimeMinutes != want {
		t.Errorf("reading_time_minutes = %v, want %v", res.ReadingTimeMinutes, want)
	}
}

func TestQualityScore(t *testing.T) {
	full := Result{Title: "t", Description: "d", Byline: "b", PublishedTime: "p", Lang: "l", SiteName: "s"}
	tests := []struct {
		name  string
		words int
		meta  Result
		sig   Signals
		want  int
	}{
		{"nothing", 0, Result{}, Signals{}, 0},
		{"metadata only", 0, full, Signals{}, 30},
		{"title only", 0, Result{Title: "t"}, Signals{}, 10},
		{"long clean article", 1000, full, Signals{Chars: 5000, Paragraphs: 10}, 100},
		{"half length", 150, Result{}, Signals{}, 20},
		{"no links", 0, Result{}, Signals{Chars: 100}, 20},
		{"quarter links", 0, Result{}, Signals{Chars: 100, LinkChars: 25}, 10},
		{"link farm", 300, Result{}, Signals{Chars: 100, LinkChars: 60}, 40},
		{"two paragraphs", 0, Result{}, Signals{Paragraphs: 2}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.meta
			res.WordCount = tt.words
			if got := QualityScore(&res, tt.sig); got != tt.want {
				t.Errorf("QualityScore = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestQualityScoreRanksArticlesAboveNavigation(t *testing.T) {
	art := mustExtract(t, page("", articleBody), Request{})
	var links strings.Builder
	for range 50 {
		links.WriteString(`<li><a href="/x">A link to somewhere else on the site</a></li>`)
	}
	nav := mustExtract(t, "<html><body><ul>"+links.String()+"</ul></body></html>", Request{Mode: ModeFull})
	if art.QualityScore <= nav.QualityScore || art.QualityScore < 70 {
		t.Errorf("article scores %d, link list %d: want the article well above", art.QualityScore, nav.QualityScore)
	}
}

func TestErrors(t *testing.T) {
	src := page("", articleBody)
	tests := []struct {
		name string
		html string
		req  Request
		want error
	}{
		{"unknown mode", src, Request{Mode: "summary"}, ErrUnknownMode},
		{"mode is case-sensitive", src, Request{Mode: "Article"}, ErrUnknownMode},
		{"bad selector", src, Request{Mode: ModeCustom, Selectors: []string{"p", "div["}}, ErrInvalidSelector},
		{"empty selector", src, Request{Mode: ModeCustom, Selectors: []string{""}}, ErrInvalidSelector},
		{"custom without selectors", src, Request{Mode: ModeCustom}, ErrInvalidSelector},
		{"empty document", "", Request{}, ErrEmptyDocument},
		{"blank document", " \n\t ", Request{}, ErrEmptyDocument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Extract(tt.html, tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Extract error = %v, want %v", err, tt.want)
			}
			if res != nil {
				t.Errorf("result %+v with an error", res)
			}
		})
	}
	if _, err := ExtractNode(nil, Request{}); !errors.Is(err, ErrEmptyDocument) {
		t.Errorf("ExtractNode(nil) error = %v, want ErrEmptyDocument", err)
	}
}

func TestErrorDetails(t *testing.T) {
	_, err := Extract("<p>x</p>", Request{Mode: ModeCustom, Selectors: []string{"a:nth-child(x)"}})
	if err == nil || !strings.Contains(err.Error(), `"a:nth-child(x)"`) {
		t.Errorf("error %v does not name the selector", err)
	}
	_, err = Extract("<p>x</p>", Request{Mode: "bogus"})
	if err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("error %v does not name the mode", err)
	}
}

func TestNoMainContent(t *testing.T) {
	for _, src := range []string{"<p>tiny</p>", "hello", "<html><head><title>Only a title</title></head></html>", "<!-- x -->"} {
		for _, mode := range Modes() {
			req := Request{Mode: mode, Selectors: []string{"p"}}
			res, err := Extract(src, req)
			if err != nil {
				t.Errorf("Extract(%q, %s): %v", src, mode, err)
				continue
			}
			if body := mode == ModeArticle || mode == ModeFull; body != (res.Links != nil && res.Media != nil) {
				t.Errorf("Extract(%q, %s): links %#v, media %#v", src, mode, res.Links, res.Media)
			}
		}
	}
}

func TestResultJSON(t *testing.T) {
	res := mustExtract(t, page("", articleBody), Request{URL: "https://example.com/"})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"url", "title", "byline", "published_time", "site_name", "description",
		"lang", "dir", "text", "content_html", "markdown", "links", "media", "word_count",
		"reading_time_minutes", "quality_score"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if _, ok := m["selectors"]; ok {
		t.Errorf("JSON has selectors outside custom mode")
	}
	// The page names an author and no categories or tags, which are
	// omitted rather than sent empty.
	if got, _ := m["authors"].([]any); len(got) != 1 || got[0] != "Jane Doe" {
		t.Errorf("authors = %v, want [Jane Doe]", m["authors"])
	}
	for _, k := range []string{"categories", "tags"} {
		if _, ok := m[k]; ok {
			t.Errorf("JSON has %s on a page without any", k)
		}
	}
	if len(m) != 17 {
		t.Errorf("JSON has %d fields, want 17: %v", len(m), m)
	}
}

func TestModesList(t *testing.T) {
	got := Modes()
	if want := []string{"article", "full", "metadata", "custom"}; !slices.Equal(got, want) {
		t.Errorf("Modes() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if Modes()[0] != ModeArticle {
		t.Error("Modes() returns shared state")
	}
}

func equalJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func TestSiteAsAuthor(t *testing.T) {
	body := `<article><h1>The Title</h1><p>` + lorem + `</p><p>` + lorem + `</p></article>`
	tests := []struct {
		name, head, body string
		want             []string
	}{
		{"no author anywhere: the site", `<meta property="og:site_name" content="Altstadt Bote">`, body, []string{"Altstadt Bote"}},
		{"a byline's author", `<meta property="og:site_name" content="Altstadt Bote">`,
			`<article><h1>The Title</h1><p class="byline">By Olaf Lindqvist</p><p>` + lorem + `</p><p>` + lorem + `</p></article>`, []string{"Olaf Lindqvist"}},
		{"a slogan is no author", `<meta property="og:site_name" content="Der Blog für Technik und mehr Spaß">`, body, nil},
		{"no site name", ``, body, nil},
		{"a copyright notice's holder before the site", `<meta property="og:site_name" content="Altstadt Bote">`,
			body + `<footer><p>© 2021 Olaf Lindqvist</p></footer>`, []string{"Olaf Lindqvist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := `<html><head><title>The Title</title>` + tt.head + `</head><body>` + tt.body + `</body></html>`
			res := mustExtract(t, src, Request{Mode: ModeArticle})
			if !slices.Equal(res.Authors, tt.want) {
				t.Errorf("Authors = %q, want %q", res.Authors, tt.want)
			}
		})
	}
}

package article

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestClean(t *testing.T) {
	long := strings.Repeat("Article text that goes on. ", 40) // over cleanMaxChars
	tests := []struct {
		name, in string
		keep     []string // texts that stay
		drop     []string // texts that go
	}{
		{"share bar", `<p>Body</p><div class="post-share-buttons">Share on X</div>`, []string{"Body"}, []string{"Share on X"}},
		{"newsletter box", `<p>Body</p><section id="newsletter-signup">Get our mail</section>`, []string{"Body"}, []string{"Get our mail"}},
		{"short caption", `<figure><img src=a.png><figcaption>Photo: Ann</figcaption></figure><p>Body</p>`, []string{"Body"}, []string{"Photo: Ann"}},
		{"a gallery's long caption is text", `<figure><img src=a.png><figcaption>` + strings.Repeat("A long description of the picture. ", 5) + `</figcaption></figure>`,
			[]string{"A long description"}, nil},
		{"a figure that has a caption is kept", `<figure class="has-caption"><img src=a.png alt=pic></figure><p>Body</p>`, []string{"Body"}, nil},
		{"post classes name the topic, not boilerplate", `<div class="post category-news tag-travel"><p>Body</p></div>`, []string{"Body"}, nil},
		{"tags line", `<p>Body</p><div class="entry-tags">Tags: a, b</div>`, []string{"Body"}, []string{"Tags: a, b"}},
		{"a boilerplate class on a long container is the article", `<div class="related-enabled">` + long + `</div>`, []string{"Article text"}, nil},
		{"list of links", `<p>Body</p><ul><li><a href=1>One story</a></li><li><a href=2>Two story</a></li><li><a href=3>Three story</a></li></ul>`,
			[]string{"Body"}, []string{"One story"}},
		{"list of text", `<ul><li>Flour, 200 g</li><li>Sugar, <a href=s>50 g</a></li><li>Eggs, 2</li></ul>`, []string{"Flour", "Sugar"}, nil},
		{"trailing heading", `<p>Body</p><div><h3>Related articles</h3></div>`, []string{"Body"}, []string{"Related articles"}},
		{"a heading with text after it stays", `<h2>Part two</h2><p>Body</p>`, []string{"Part two", "Body"}, nil},
		{"a shop form with the description", `<form class="product">` + long + `</form>`, []string{"Article text"}, nil},
		{"date and author lines", `<p>Body</p><div class="post-date">3 May 2020</div><span class="entry-author">Ann</span>`, []string{"Body"}, []string{"3 May", "Ann"}},
		{"an entry footer", `<p>Body</p><div class="entry-footer">Posted in News</div>`, []string{"Body"}, []string{"Posted in"}},
		{"navigation", `<nav>Home About</nav><p>Body</p>`, []string{"Body"}, []string{"Home About"}},
		{"a short paragraph of links", `<p>Body</p><p>Read also: <a href=a>Another story of the day</a></p>`, []string{"Body"}, []string{"Another story"}},
		{"a date line", `<p>Updated: <time datetime="2020-05-03">3 May 2020</time></p><p>Body</p>`, []string{"Body"}, []string{"Updated", "3 May"}},
		{"a date in a sentence stays", `<p>The council met on <time datetime="2020-05-03">3 May 2020</time> and voted to close the bridge to cars.</p>`,
			[]string{"3 May 2020", "voted"}, nil},
		{"a recipe's durations stay", `<p>Prep: <time datetime="PT15M">15 min</time></p><p>Cook: <time itemprop="cookTime">15 – 30 min</time></p>`,
			[]string{"15 min", "15 – 30 min"}, nil},
		{"a notice and a table of contents", `<div class="community-notice">This is a reader's blog.</div><div id="ez-toc-container"><p>Contents</p><ul><li>One</li></ul></div><p>Body</p>`,
			[]string{"Body"}, []string{"reader's blog", "Contents"}},
		{"crumbs and ratings", `<div class="td-crumb-container"><span>Home</span> <span>News</span></div><span class="post-ratings">Was this useful?</span><p>Body</p>`,
			[]string{"Body"}, []string{"Home", "useful"}},
		{"a teaser card links elsewhere", `<p>Body</p><ul class="teaser-item-list"><li class="teaser"><a href=/x>Another story</a> and its summary in a few words.</li></ul>`,
			[]string{"Body"}, []string{"Another story", "its summary"}},
		{"a teaser that links nowhere is the article's lead", `<p class="article-teaser">The lead of this article.</p><p>Body</p>`,
			[]string{"The lead", "Body"}, nil},
		{"ruby annotations", `<p><ruby>漢字<rp>(</rp><rt>かんじ</rt><rp>)</rp></ruby>を読む</p>`, []string{"漢字を読む"}, []string{"かんじ", "("}},
		{"a paragraph with a link is text", `<p>Body with <a href=a>a link</a> in the middle of a sentence that goes on.</p>`, []string{"a link", "goes on"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := html.Parse(strings.NewReader("<div id=root>" + tt.in + "</div>"))
			if err != nil {
				t.Fatal(err)
			}
			root := findElement(doc, "body").FirstChild
			clean(root)
			got := innerText(root)
			for _, k := range tt.keep {
				if !strings.Contains(got, k) {
					t.Errorf("lost %q: %q", k, got)
				}
			}
			for _, d := range tt.drop {
				if strings.Contains(got, d) {
					t.Errorf("kept %q: %q", d, got)
				}
			}
		})
	}
}

func TestStripClasses(t *testing.T) {
	doc, err := html.Parse(strings.NewReader(`<div class="page x"><p class="a b" id=i>t</p><span class=page>s</span></div>`))
	if err != nil {
		t.Fatal(err)
	}
	body := findElement(doc, "body")
	stripClasses(body, []string{"page"})
	got := renderHTML(body, 0)
	if want := `<body><div class="page"><p id="i">t</p><span class="page">s</span></div></body>`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

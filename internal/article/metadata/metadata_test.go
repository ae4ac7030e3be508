package metadata

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in         string
		monthFirst bool
		want       string
	}{
		{"Posted 2009-08-06 by Ann", false, "2009-08-06"},
		{"06.08.2009 12:00", false, "2009-08-06"},
		{"6.8.09", false, "2009-08-06"},
		{"03/04/2020", false, "2020-04-03"},
		{"03/04/2020", true, "2020-03-04"},
		{"13/04/2020", true, "2020-04-13"}, // a day over 12 can only be the day
		{"6. August 2009", false, "2009-08-06"},
		{"6 de agosto de 2009", false, "2009-08-06"},
		{"jeudi 13 juin 2019", false, "2019-06-13"},
		{"August 6th, 2009", false, "2009-08-06"},
		{"Aug. 6, 2009", false, "2009-08-06"},
		{"Published: Sept 5 2021", false, "2021-09-05"},
		{"the earliest wins: 5 May 2020, then 2021-01-01", false, "2020-05-05"},
		{"© 2009 Example", false, ""},       // a year alone is not a date
		{"31.02.2020", false, ""},           // no such day
		{"1.1.1970", false, ""},             // before the web
		{"12 marathons in 2009", false, ""}, // a word that starts like a month
		{"", false, ""},
	}
	for _, tt := range tests {
		if got, _ := parseDate(tt.in, tt.monthFirst); got.String() != tt.want {
			t.Errorf("parseDate(%q, %v) = %q, want %q", tt.in, tt.monthFirst, got, tt.want)
		}
	}
}

func TestParseMachineDate(t *testing.T) {
	for in, want := range map[string]string{
		"2022-05-04T03:37:37+00:00": "2022-05-04",
		"2022-05-03T23:37:37-04:00": "2022-05-03", // as written, not in UTC
		"20090806":                  "2009-08-06",
		"2009-08-06":                "2009-08-06",
		"Thu, 06 Aug 2009 10:00:00": "2009-08-06",
		"2009-13-06":                "",
		"soon":                      "",
	} {
		if got := parseMachineDate(in); got.String() != want {
			t.Errorf("parseMachineDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURLDate(t *testing.T) {
	for in, want := range map[string]string{
		"/2019/06/13/a-story/":    "2019-06-13",
		"/news/2019-06-13-story":  "2019-06-13",
		"/p/20190613/story.html":  "2019-06-13",
		"/2019/06/story":          "", // a month is not a date
		"/item/1234567890/story":  "",
		"/2019/13/45/not-a-date/": "",
	} {
		if got := urlDate(in); got.String() != want {
			t.Errorf("urlDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"By Ann Smith", []string{"Ann Smith"}},
		{"Von Roland Brockmann und Sebastian Drescher", []string{"Roland Brockmann", "Sebastian Drescher"}},
		{"Ann Smith, Bo Li & Cy Young", []string{"Ann Smith", "Bo Li", "Cy Young"}},
		{"Posted on May 3, 2020 by Ann Smith", []string{"Ann Smith"}},
		{"Ann Smith, 3 May 2020", []string{"Ann Smith"}},
		{"Posted on", nil},
		{"Christoph von Ritter", []string{"Christoph von Ritter"}},
		{"Erstellt von Andri Bryner", []string{"Andri Bryner"}},
		{"Artikel von Ann", []string{"Ann"}},
		{"Jörn Mecher am", []string{"Jörn Mecher"}},
		{"No Author", nil},
		{"admin", nil},
		{"juillet 2020", nil},
		{"R2D2", []string{"R2D2"}},
		{"https://example.com/ann", nil},
		{"ann@example.com", nil},
		{"This is a whole sentence that is far too long to be anybody's name", nil},
		{strings.Repeat("Ann, ", 50), []string{"Ann"}},
		{strings.Repeat("Ann, ", 100), nil},
		// Letters whose lower case is longer or shorter in bytes, and
		// invalid bytes, before a byline word: its offset is s's.
		{"İİİ by Ann Smith", []string{"Ann Smith"}},
		{"ȺȺȺ by Ann Smith", []string{"Ann Smith"}},
		{"\xff\xfe by Ann Smith", []string{"Ann Smith"}},
		{"REDACCIÓN: Ann Smith", []string{"Ann Smith"}},
		// A word with a colon labels the next field.
		{"Datum:", nil},
		{"Datum: 3.5.2020 Autor: Ann Smith", []string{"Ann Smith"}},
		{"Ann Smith Quelle: Agentur", []string{"Ann Smith"}},
		{"Text und Interview: Ann Smith", []string{"Ann Smith"}},
	}
	for _, tt := range tests {
		if got := Names(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Names(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCopyrightHolder(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"© 2019 Olaf Lindqvist", []string{"Olaf Lindqvist"}},
		{"(c) Olaf Lindqvist • Weitere Rechte siehe Impressum", []string{"Olaf Lindqvist"}},
		{"Copyright 2006-2008 by Olaf Lindqvist", []string{"Olaf Lindqvist"}},
		{"| COPYRIGHT OLAF LINDQVIST | A PROJECT", []string{"OLAF LINDQVIST"}},
		{"Copyright © 2023 Altstadt Bote. All rights reserved.", []string{"Altstadt Bote"}},
		{"© 2022\n   Altstadt Bote\n", []string{"Altstadt Bote"}},
		{"© Altstadt Bote GmbH - Alle Rechte vorbehalten", []string{"Altstadt Bote GmbH"}},
		{"© 2020", nil},
		{"Copyright", nil},
		{"© 2020 Ann Li, Bo Wu", nil}, // not one holder
		{"The copyright of these texts is held by whoever wrote them first", nil},
		{"no notice at all", nil},
	}
	for _, tt := range tests {
		if got := copyrightHolder(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("copyrightHolder(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// lorem is a sentence long enough that a block holding it is no byline.
const lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."

func TestSiteAuthor(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Altstadt Bote", []string{"Altstadt Bote"}},
		{"Ann Lindqvist", []string{"Ann Lindqvist"}},
		{"example.org", []string{"example.org"}},
		{"", nil},
		{"News | Altstadt Bote", nil},               // two names
		{"Der Blog für Technik und mehr Spaß", nil}, // a slogan
		{"https://example.org/", nil},
		{"Posted by", nil},
	}
	for _, tt := range tests {
		if got := SiteAuthor(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("SiteAuthor(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExtract(t *testing.T) {
	tests := []struct {
		name, url, page string
		want            Metadata
	}{
		{
			name: "JSON-LD graph with an author by reference",
			page: `<script type="application/ld+json">{"@graph":[
				{"@type":"WebSite","name":"Site"},
				{"@type":"Article","datePublished":"2021-03-04T05:06:07+02:00","author":{"@id":"#p1"},
				 "articleSection":"Science","keywords":"space, stars"},
				{"@type":"Person","@id":"#p1","name":"Ann Smith"}]}</script>`,
			want: Metadata{Published: Date{2021, 3, 4}, PublishedTime: "2021-03-04T05:06:07+02:00",
				Authors: []string{"Ann Smith"}, Categories: []string{"Science"}, Tags: []string{"space", "stars"}},
		},
		{
			name: "meta tags",
			page: `<meta property="article:published_time" content="2020-01-02">
				<meta name="author" content="By Bo Li"><meta property="article:section" content="News">
				<meta property="article:tag" content="a"><meta property="article:tag" content="b">`,
			want: Metadata{Published: Date{2020, 1, 2}, PublishedTime: "2020-01-02", Authors: []string{"Bo Li"},
				Categories: []string{"News"}, Tags: []string{"a", "b"}},
		},
		{
			name: "an author that is the site itself gives way to a byline",
			url:  "https://www.example-news.com/a",
			page: `<meta name="author" content="Example News"><h1>T</h1>
				<div class="byline">By <a href="/people/cy">Cy Young</a></div>`,
			want: Metadata{Authors: []string{"Cy Young"}},
		},
		{
			name: "a comment's date and author are not the article's",
			url:  "https://example.com/2018/07/09/story",
			page: `<h1>T</h1><p>Text without a date.</p>
				<div id="comments"><time datetime="2024-01-01">1 Jan</time><span class="author">Troll</span></div>`,
			want: Metadata{Published: Date{2018, 7, 9}},
		},
		{
			name: "a date written next to the headline",
			page: `<nav>Menu</nav><h1>Title</h1><p class="x">Veröffentlicht am 16.08.2019</p><footer>© 2023</footer>`,
			want: Metadata{Published: Date{2019, 8, 16}},
		},
		{
			name: "the date shown by the headline wins over a later machine date",
			page: `<meta property="article:published_time" content="2022-01-20T10:00:00Z"><h1>T</h1>
				<span class="post-date">12. Januar 2022</span><p>Text</p>`,
			want: Metadata{Published: Date{2022, 1, 12}},
		},
		{
			name: "a shown date that the meta tag confirms keeps its time",
			page: `<meta property="article:published_time" content="2022-01-12T10:00:00+01:00"><h1>T</h1>
				<span class="post-date">12.01.2022</span><p>Text</p>`,
			want: Metadata{Published: Date{2022, 1, 12}, PublishedTime: "2022-01-12T10:00:00+01:00"},
		},
		{
			name: "twitter label and data",
			page: `<meta name="twitter:label1" content="Written by"><meta name="twitter:data1" content="Dee Ray">`,
			want: Metadata{Authors: []string{"Dee Ray"}},
		},
		{
			name: "a byline written as text by the headline",
			page: `<h1>Title</h1><p>Ein Film von Klaus Stanjek</p>`,
			want: Metadata{Authors: []string{"Klaus Stanjek"}},
		},
		{
			name: "a byline block after a label, the name in markup",
			page: `<h1>Title</h1><div class="x">Ein Artikel von <strong>Pamela Lindqvist</strong> | 27.01.2022</div><p>Text.</p>`,
			want: Metadata{Published: Date{2022, 1, 27}, Authors: []string{"Pamela Lindqvist"}},
		},
		{
			name: "a label in a heading, the name beside it",
			page: `<h1>Title</h1><div><h5>Autor:</h5>Peter Maahn/SP-X</div>`,
			want: Metadata{Authors: []string{"Peter Maahn"}},
		},
		{
			name: "a one-word name needs a label's colon",
			page: `<h1>Title</h1><h2>Das Beste von Mallorca</h2><p>Autor: Heiko</p>`,
			want: Metadata{Authors: []string{"Heiko"}},
		},
		{
			name: "a date line that ends with a name",
			page: `<h1>Title</h1><p class="text-muted">11.12.2019 - Amelie Lindqvist</p><p>Text.</p>`,
			want: Metadata{Published: Date{2019, 12, 11}, Authors: []string{"Amelie Lindqvist"}},
		},
		{
			name: "a number line is no dated name",
			page: `<h1>Title</h1><p>3 - Weitere Informationen</p>`,
			want: Metadata{},
		},
		{
			name: "an author that is part of the site's name",
			page: `<meta property="og:site_name" content="Achtsam leben | Die FURCHE"><meta name="author" content="Die FURCHE"><h1>T</h1><p>Von Ursula Baatz</p>`,
			want: Metadata{Authors: []string{"Ursula Baatz"}},
		},
		{
			name: "a byline box's section link is not the author",
			page: `<div class="post-author"><a href="/category/news/">News</a> <a href="/people/ann">Ann Lindqvist</a></div>`,
			want: Metadata{Authors: []string{"Ann Lindqvist"}},
		},
		{
			name: "a name that other sources confirm wins over the first source's",
			page: `<meta name="author" content="Peter Owner"><h1>T</h1><div class="byline">Von <a rel="author" href="/people/harald">Harald Bauer</a></div>`,
			want: Metadata{Authors: []string{"Harald Bauer"}},
		},
		{
			name: "the first source wins when nothing confirms another",
			page: `<meta name="author" content="Peter Owner"><h1>T</h1><a rel="author" href="/people/harald">Harald Bauer</a>`,
			want: Metadata{Authors: []string{"Peter Owner"}},
		},
		{
			name: "an account's name written in full elsewhere",
			page: `<script type="application/ld+json">{"@type":"Article","author":"arianlindqvist"}</script><h1>T</h1><p>Von Arian Lindqvist</p>`,
			want: Metadata{Authors: []string{"Arian Lindqvist"}},
		},
		{
			name: "a first name written in full elsewhere",
			page: `<meta name="author" content="Nils"><h1>T</h1><p>Text: Nils Lindqvist</p>`,
			want: Metadata{Authors: []string{"Nils Lindqvist"}},
		},
		{
			name: "a consent banner's credit is no byline",
			page: `<h1>T</h1><div id="cookie-banner"><p>Powered by Cookie Information</p></div><p>Text.</p>`,
			want: Metadata{},
		},
		{
			name: "a source that adds a co-author",
			page: `<h1>T</h1><div class="author"><a href="/p/lars">Lars Lindqvist</a></div><p>von Lars Lindqvist und Alina Wuttke</p>`,
			want: Metadata{Authors: []string{"Lars Lindqvist", "Alina Wuttke"}},
		},
		{
			name: "a sentence is no byline",
			page: `<h1>Title</h1><p>Updates von Windows Server kommen, so der Hersteller, künftig seltener als früher und in größeren Paketen.</p>`,
			want: Metadata{},
		},
		{
			name: "a placeholder account is nobody",
			page: `<meta name="author" content="admin"><h1>Title</h1><p>By Ann Lindqvist</p>`,
			want: Metadata{Authors: []string{"Ann Lindqvist"}},
		},
		{
			name: "a publisher's name gives way to a person's",
			page: `<meta name="author" content="Deutsche Welle (www.dw.com)"><h1>T</h1><p>Von Kossi Lindqvist</p>`,
			want: Metadata{Authors: []string{"Kossi Lindqvist"}},
		},
		{
			name: "an association's name gives way to a person's",
			page: `<meta name="author" content="Bund der Leser e.V."><h1>T</h1><p>Von Leonora Lindqvist</p>`,
			want: Metadata{Authors: []string{"Leonora Lindqvist"}},
		},
		{
			name: "a phrase in lower case gives way to a person's name",
			page: `<meta name="author" content="deinen Hochzeitsbloggern"><h1>T</h1><p>Von Samuel Lindqvist</p>`,
			want: Metadata{Authors: []string{"Samuel Lindqvist"}},
		},
		{
			name: "a publisher's name when nobody else is named",
			page: `<meta name="author" content="Bund der Leser e.V."><h1>T</h1><p>Text.</p>`,
			want: Metadata{Authors: []string{"Bund der Leser e.V."}},
		},
		{
			name: "an account and a name left in lower case are people's",
			page: `<meta name="author" content="Mobasir hassan"><h1>T</h1><span class="author">uriebe</span>`,
			want: Metadata{Authors: []string{"Mobasir hassan"}},
		},
		{
			name: "a one-word name after posted by",
			page: `<h1>Title</h1><p>Posted by Konstantin @ 12:00 am</p>`,
			want: Metadata{Authors: []string{"Konstantin"}},
		},
		{
			name: "a label after a no-break space",
			page: "<h1>T</h1><div class=\"news-timedata\">05.02.2020 <span>-\u00a0Redaktion: Eberhard Lindqvist (Pressesprecher)</span></div>",
			want: Metadata{Published: Date{2020, 2, 5}, Authors: []string{"Eberhard Lindqvist"}},
		},
		{
			name: "an author class in a teaser's link or in navigation is not the page's",
			page: `<h1>T</h1><nav class="documentByLine"><a href="/s?q=World">World</a></nav>
				<a href="/other-story"><span class="author">Kate Lindqvist</span></a><p>Text.</p>`,
			want: Metadata{},
		},
		{
			name: "an author class in a link to the author's page is the page's",
			page: `<h1>T</h1><a href="/autoren/kathrin-lindqvist-1"><span class="autor-name">Kathrin Lindqvist</span></a>`,
			want: Metadata{Authors: []string{"Kathrin Lindqvist"}},
		},
		{
			name: "co-authors linked from one byline",
			page: `<h1>T</h1><div class="author"><a href="/autor/ann-li/">Ann Lindqvist</a>, <a href="/autor/bo-wu/">Bo Lindqvist</a> &amp; <a href="/autor/cy/">Cy Lindqvist</a></div>`,
			want: Metadata{Authors: []string{"Ann Lindqvist", "Bo Lindqvist", "Cy Lindqvist"}},
		},
		{
			name: "a byline's other links are not co-authors",
			page: `<h1>T</h1><div class="withAuthor"><a href="/autor/ann/">Ann Lindqvist</a> in <a href="/sports/news/big-win">Big Win Today</a></div>`,
			want: Metadata{Authors: []string{"Ann Lindqvist"}},
		},
		{
			name: "a hidden e-mail address is no name",
			page: `<h1>T</h1><div class="byline"><a href="/cdn-cgi/l/email-protection#abc">[email&#160;protected]</a></div><p>Von Ann Lindqvist</p>`,
			want: Metadata{Authors: []string{"Ann Lindqvist"}},
		},
		{
			name: "a staff page link",
			page: `<h1>T</h1><a href="/fr/staff/uriel-lindqvist/">Uriel Lindqvist</a>`,
			want: Metadata{Authors: []string{"Uriel Lindqvist"}},
		},
		{
			name: "initials give way to the name a licence notice credits",
			page: `<h1>T</h1><a rel="author" href="/author/ol/">OL</a><footer><span property="dct:title">Notes</span> by
				<a rel="cc:attributionURL" href="/">Olaf Lindqvist</a> is licensed under CC BY</footer>`,
			want: Metadata{Authors: []string{"Olaf Lindqvist"}},
		},
		{
			name: "a licence notice's attribution name",
			page: `<h1>T</h1><a rel="author" href="/author/ol/">OL</a><p><span property="cc:attributionName">Olaf Lindqvist</span></p>`,
			want: Metadata{Authors: []string{"Olaf Lindqvist"}},
		},
		{
			name: "initials that are the site's give way to a person",
			page: `<meta property="og:site_name" content="AB - Altstadt Bote"><meta name="author" content="AB"><h1>T</h1><p>Von Ursula Lindqvist</p>`,
			want: Metadata{Authors: []string{"Ursula Lindqvist"}},
		},
		{
			name: "initials of the site's words give way to a person",
			page: `<meta property="og:site_name" content="Altstadt Bote"><meta name="author" content="AB"><h1>T</h1><p>Von Ursula Lindqvist</p>`,
			want: Metadata{Authors: []string{"Ursula Lindqvist"}},
		},
		{
			name: "initials that are not the site's are a name",
			page: `<meta property="og:site_name" content="Altstadt Bote"><meta name="author" content="UL"><h1>T</h1>`,
			want: Metadata{Authors: []string{"UL"}},
		},
		{
			name: "the word before a colon after a byline labels the next field",
			page: `<h1>T</h1><p>von Olaf Lindqvist Themen: Reisen</p>`,
			want: Metadata{Authors: []string{"Olaf Lindqvist"}},
		},
		{
			name: "a one-word name before a colon's label",
			page: `<h1>T</h1><p><span>Posted by Olaf</span> Themen: Reisen</p>`,
			want: Metadata{Authors: []string{"Olaf"}},
		},
		{
			name: "a teaser's byline is another article's",
			page: `<h1>T</h1><div class="c-teaser"><p class="c-teaser__byline">Reisen |</p></div><p>Von Olaf Lindqvist</p>`,
			want: Metadata{Authors: []string{"Olaf Lindqvist"}},
		},
		{
			name: "a byline in a span of its own inside a long block",
			page: `<h1>T</h1><div><p>` + lorem + `</p><span><b>Von:</b><br><br>Olaf Lindqvist</span><p>` + lorem + `</p></div>`,
			want: Metadata{Authors: []string{"Olaf Lindqvist"}},
		},
		{
			name: "a link to another page names that page",
			page: `<h1>T</h1><div><p>` + lorem + `</p><a href="https://journal.example/">Journal von Olaf Lindqvist</a><p>` + lorem + `</p></div><p>Von Ann Lindqvist</p>`,
			want: Metadata{Authors: []string{"Ann Lindqvist"}},
		},
		{
			name: "a line break ends a byline's names",
			page: `<h1>T</h1><p>Von <a href="https://ann.example/">Ann Lindqvist</a> und <a href="https://bo.example/">Bo Lindqvist</a><br><br>Kakuma / Kenia</p>`,
			want: Metadata{Authors: []string{"Ann Lindqvist", "Bo Lindqvist"}},
		},
		{
			name: "a form's options are no byline",
			page: `<h1>T</h1><form><select><option>Raw Text</option><option>Print View</option></select></form>`,
			want: Metadata{},
		},
		{
			name: "another credit ends the author's",
			page: `<h1>T</h1><p><em>Text von Olaf Lindqvist   Illustration von Bo Wustrow</em></p>`,
			want: Metadata{Authors: []string{"Olaf Lindqvist"}},
		},
		{
			name: "a picture's credit is no byline",
			page: `<h1>T</h1><p>Foto von Olaf Lindqvist von Bildarchiv</p><p>Von Ann Lindqvist</p>`,
			want: Metadata{Authors: []string{"Ann Lindqvist"}},
		},
		{
			name: "a menu's items are no byline",
			page: `<ul><li><a href="/m">Texte</a><ul><li><a href="/p">Photos</a></li><li><a href="/a">Audio Clips</a></li></ul></li></ul>
				<p>von <em>Olaf Lindqvist</em></p>`,
			want: Metadata{Authors: []string{"Olaf Lindqvist"}},
		},
		{
			name: "a sub-menu's items read together are no byline",
			page: `<ul><li><a href="/m">Texte</a></li><li><a href="/p">Photos</a></li><li><a href="/a">Audio Clips</a></li></ul>
				<p>von <em>Olaf Lindqvist</em></p>`,
			want: Metadata{Authors: []string{"Olaf Lindqvist"}},
		},
		{
			name: "one source's longer list against three others' agreeing two",
			page: `<script type="application/ld+json">{"@type":"NewsArticle","author":[{"name":"Ann Lindqvist"},{"name":"Bo Lindqvist"}]}</script>
				<meta name="author" content="Big Press, Ann Lindqvist, Bo Lindqvist"><h1>T</h1>
				<div class="author"><a href="/autor/ann/">Ann Lindqvist</a> und <a href="/autor/bo/">Bo Lindqvist</a></div>
				<p>Von Ann Lindqvist und Bo Lindqvist</p>`,
			want: Metadata{Authors: []string{"Ann Lindqvist", "Bo Lindqvist"}},
		},
		{
			name: "two sources' longer list against three's",
			page: `<script type="application/ld+json">{"@type":"NewsArticle","author":{"@type":"Person","name":"Ann Lindqvist"}}</script>
				<meta name="author" content="Ann Lindqvist, Bo Lindqvist"><h1>T</h1>
				<div class="author"><a href="/autor/ann/">Ann Lindqvist</a> und <a href="/autor/bo/">Bo Lindqvist</a></div>
				<a href="/author/ann">Ann Lindqvist</a><p>Von Ann Lindqvist</p>`,
			want: Metadata{Authors: []string{"Ann Lindqvist", "Bo Lindqvist"}},
		},
		{
			name: "a copyright notice's holder",
			page: `<h1>T</h1><p>Text</p><footer><a href="/rights">Copyright Bildrechte</a><small>© 2020 Olaf Lindqvist</small></footer>`,
			want: Metadata{Copyright: []string{"Olaf Lindqvist"}},
		},
		{
			name: "rel tag and category links",
			page: `<a rel="category tag" href="/c">Travel</a><a rel="tag" href="/t">beach</a>`,
			want: Metadata{Categories: []string{"Travel"}, Tags: []string{"beach"}},
		},
		{
			name: "descriptions: the distinct ones in order, white space collapsed",
			page: `<meta name="description" content="The lead,  as written."><meta property="og:description" content="The lead, as written.">
				<meta name="twitter:description" content="A shorter lead"><meta name="dc.description" content="Third">
				<meta name="description" content="Fourth, over the bound">`,
			want: Metadata{Descriptions: []string{"The lead, as written.", "A shorter lead", "Third"}},
		},
		{
			name: "broken JSON-LD is skipped",
			page: `<script type="application/ld+json">{"datePublished": </script><time datetime="2011-05-23">x</time>`,
			want: Metadata{Published: Date{2011, 5, 23}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := html.Parse(strings.NewReader(tt.page))
			if err != nil {
				t.Fatal(err)
			}
			got := Extract(root, tt.url)
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("Extract =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

// TestExtractBounds feeds pages that try to make the walk do more than a
// page's size: many JSON-LD scripts, deep JSON, long lists and hinted
// elements. The work and the lists stay bounded.
func TestExtractBounds(t *testing.T) {
	var sb strings.Builder
	for i := 0; i < 10*maxJSONLD; i++ {
		fmt.Fprintf(&sb, `<script type="application/ld+json">{"@type":"Thing","name":"x%d"}</script>`, i)
	}
	sb.WriteString(`<script type="application/ld+json">` + strings.Repeat(`{"mainEntity":`, 10000) + `{}` + strings.Repeat(`}`, 10000) + `</script>`)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, `<meta property="article:tag" content="tag%d"><a rel="author">Name%c Person</a><div class="author-date">%s</div><p>by nobody here</p>`, i, 'A'+rune(i%26), strings.Repeat("word ", 100))
	}
	root, err := html.Parse(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	var w walker
	w.walk(root, false)
	if len(w.scripts) > maxJSONLD || w.hinted > maxHinted || w.bylineChecks > maxHinted {
		t.Errorf("read %d scripts, %d hinted elements and %d bylines, bounds %d, %d and %d",
			len(w.scripts), w.hinted, w.bylineChecks, maxJSONLD, maxHinted, maxHinted)
	}
	// A byline's block of many empty elements is not walked to its end.
	sb.Reset()
	sb.WriteString(`<h1>T</h1><p>By Ann Lindqvist` + strings.Repeat(`<span></span>`, 100000) + `</p>`)
	if root, err = html.Parse(strings.NewReader(sb.String())); err != nil {
		t.Fatal(err)
	}
	if md := Extract(root, ""); md.Authors != nil {
		t.Errorf("a block of 100000 elements read as a byline: %q", md.Authors)
	}
	// Copyright notices that name nobody are read maxHinted times.
	sb.Reset()
	for range 1000 {
		sb.WriteString(`<p>© 2020 ` + strings.Repeat("and so on ", 50) + `</p>`)
	}
	if root, err = html.Parse(strings.NewReader(sb.String())); err != nil {
		t.Fatal(err)
	}
	w = walker{}
	w.walk(root, false)
	if w.copyrightChecks > maxHinted || w.copyright != nil {
		t.Errorf("read %d copyright notices (bound %d), holder %q", w.copyrightChecks, maxHinted, w.copyright)
	}
	md := Extract(root, "")
	if len(md.Tags) > maxListItems || len(md.Authors) > maxListItems {
		t.Errorf("%d tags and %d authors, bound %d", len(md.Tags), len(md.Authors), maxListItems)
	}
	// A byline element with many author links gives maxCoAuthors names.
	sb.Reset()
	sb.WriteString(`<h1>T</h1><div class="author">`)
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&sb, `<a href="/autor/%d/">Name%c Lindqvist</a> `, i, 'A'+rune(i%26))
	}
	sb.WriteString(`</div>`)
	root, err = html.Parse(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	if md := Extract(root, ""); len(md.Authors) != maxCoAuthors {
		t.Errorf("%d co-authors from one byline, want the bound %d", len(md.Authors), maxCoAuthors)
	}
	sb.Reset()
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&sb, `<meta name="description" content="%d %s">`, i, strings.Repeat("long ", i*10))
	}
	root, err = html.Parse(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	md = Extract(root, "")
	if len(md.Descriptions) != maxDescriptions {
		t.Errorf("%d descriptions, want the bound %d", len(md.Descriptions), maxDescriptions)
	}
	for _, d := range md.Descriptions {
		if len(d) > maxDescriptionBytes {
			t.Errorf("a description of %d bytes, bound %d", len(d), maxDescriptionBytes)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(`<script type="application/ld+json">{"@graph":[{"@type":"Article","datePublished":"2021-03-04","author":[{"@id":"a"}]},{"@id":"a","name":"Ann"}]}</script>`, "https://x/2020/01/02/a")
	f.Add(`<meta name="author" content="By A and B, 3 May 2020"><h1>x</h1>6. Mai 2008 <time datetime="20090806">`, "")
	f.Add(`<div class="byline">Posted on 31/12/2019 by <a>Q</a></div>`, "::bad url")
	f.Add(`<footer><a href="/c">Copyright</a> © 2019–2020 by Q Z. All rights reserved</footer>`, "")
	f.Fuzz(func(t *testing.T, page, pageURL string) {
		root, err := html.Parse(strings.NewReader(page))
		if err != nil {
			return
		}
		md := Extract(root, pageURL)
		if !md.Published.IsZero() && !validDate(md.Published.Year, md.Published.Month, md.Published.Day) {
			t.Errorf("invalid date %v", md.Published)
		}
		for _, list := range [][]string{md.Authors, md.Categories, md.Tags} {
			if len(list) > maxListItems {
				t.Errorf("list of %d, bound %d", len(list), maxListItems)
			}
			for _, s := range list {
				if strings.TrimSpace(s) == "" {
					t.Errorf("blank item in %q", list)
				}
			}
		}
	})
}

func TestHasBylineWord(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"By Ann", true},
		{"-\u00a0Redaktion: Ann", true},
		{"Autor:Ann", true},
		{"\u00a0\u00a0von\u00a0Ann", true},
		{"Bystander effect", false},
		{"The story of the day, written long before, by", false}, // past the lead
		{"\u00a0", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := hasBylineWord(tt.in); got != tt.want {
			t.Errorf("hasBylineWord(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// The quick test of a word's length and first letter lets every
	// byline word through.
	for _, w := range bylineStarts {
		if !hasBylineWord(strings.ToUpper(w[:1]) + w[1:] + " Ann") {
			t.Errorf("hasBylineWord misses %q", w)
		}
	}
}

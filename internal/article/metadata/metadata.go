// Package metadata finds an HTML page's publication date, authors,
// categories and tags: the metadata that the readability pass of package
// article does not find, or finds only as free text.
//
// It reads, in order of how much each source is to be trusted: JSON-LD
// (schema.org), meta tags (Open Graph, Dublin Core and the common
// publishers' names), microdata (itemprop), <time> elements and rel links,
// the page's URL, and last the visible text of elements whose class or id
// says they hold a date or a byline. Every rule is about markup and
// language-neutral patterns, never a site.
//
// The package keeps no state between calls and is safe for concurrent use.
package metadata

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Bounds on what one page can make the walk do: a page decides how many
// scripts, metas and hinted elements it has, so the work on each kind is
// capped, beyond the linear walk itself.
const (
	maxJSONLD        = 16      // JSON-LD scripts parsed
	maxJSONLDBytes   = 1 << 20 // of one script's text
	maxHinted        = 64      // elements with a date or author class read
	maxHintedText    = 200     // bytes of such an element's text that are read
	maxListItems     = 32      // authors, categories or tags kept
	maxJSONLDObjects = 256     // JSON-LD objects visited in one page
)

// Metadata is what Extract found; the zero value means nothing.
type Metadata struct {
	// Published is the publication date as the page writes it (not
	// converted to UTC); Modified is the last-modified date where that is
	// all the page gives.
	Published Date
	// PublishedTime is the full timestamp of Published when a machine
	// source gave one (RFC 3339 or ISO 8601 as written), else "".
	PublishedTime string
	Authors       []string
	Categories    []string
	Tags          []string
	// Copyright is the holder a copyright notice names ("© 2020 Ann
	// Li"): whom a page that names no author elsewhere belongs to.
	Copyright []string
	// Descriptions are the summaries the page's meta tags give (description,
	// og:description, twitter:description, dc.description), the distinct
	// ones in document order, at most maxDescriptions: a page's summary is
	// most often its lead paragraph, word for word or shortened.
	Descriptions []string
}

// maxDescriptions is the most distinct meta descriptions kept.
const maxDescriptions = 3

// maxDescriptionBytes bounds one kept description: a summary longer than
// this is not one.
const maxDescriptionBytes = 2000

// Names splits s, a byline, into the names it holds: "By Ann Smith and
// Bo Li, 3 May 2020" is [Ann Smith, Bo Li].
func Names(s string) []string { return appendNames(nil, s) }

// maxSiteAuthorWords is the longest site name, in words, that SiteAuthor
// takes for a name: a longer one is a slogan ("Der Blog für Technik und
// mehr").
const maxSiteAuthorWords = 4

// SiteAuthor is site, a site's name, as the author of a page that names
// none: the one name it reads as, else nil ("Ann's Blog" is one; "News |
// Blog" and a slogan are not).
func SiteAuthor(site string) []string {
	names := appendNames(nil, site)
	if len(names) != 1 || len(strings.Fields(names[0])) > maxSiteAuthorWords {
		return nil
	}
	return names
}

// Extract reads root, a parsed page, and pageURL, its address (may be
// empty). It does not modify the tree.
func Extract(root *html.Node, pageURL string) Metadata {
	var w walker
	w.walk(root, false)

	var md Metadata
	// Structured data first: JSON-LD, then meta tags, then microdata.
	ld := w.jsonLD()
	// A date the page shows next to its headline, in an element that says
	// it is a date, is the one its readers see: it wins over the machine
	// sources, which a publishing system can set on a later import or
	// update.
	var shown, near Date
	if !w.hintedDate.IsZero() {
		near = w.textDate(&w.nearTitle)
		if near == w.hintedDate {
			shown = near
		}
	}
	// The sources in order; the text scans, the costly ones, run only
	// when every source before them has failed.
	dates := []func() dateSource{
		func() dateSource { return dateSource{shown, ""} },
		func() dateSource { return dateSource{ld.published, ld.publishedRaw} },
		func() dateSource { return dateSource{w.metaPublished, w.metaPublishedRaw} },
		func() dateSource { return dateSource{w.itempropPublished, ""} },
		func() dateSource { return dateSource{w.timePublished, ""} },
		func() dateSource { return dateSource{urlPathDate(pageURL), ""} },
		func() dateSource { return dateSource{w.firstTime, ""} },
		func() dateSource { return dateSource{w.hintedDate, ""} },
		func() dateSource {
			if near.IsZero() {
				near = w.textDate(&w.nearTitle)
			}
			return dateSource{near, ""}
		},
		func() dateSource { return dateSource{w.textDate(&w.bodyText), ""} },
		func() dateSource { return dateSource{ld.modified, ""} },
		func() dateSource { return dateSource{w.metaModified, ""} },
	}
	for _, source := range dates {
		if d := source(); !d.date.IsZero() {
			md.Published, md.PublishedTime = d.date, d.raw
			break
		}
	}
	// A shown date that a machine source confirms keeps its time.
	for _, d := range []dateSource{{ld.published, ld.publishedRaw}, {w.metaPublished, w.metaPublishedRaw}} {
		if md.PublishedTime == "" && d.date == md.Published {
			md.PublishedTime = d.raw
		}
	}

	md.Authors = w.authors(ld.authors, pageURL)
	md.Copyright = w.copyright

	md.Descriptions = w.descriptions
	md.Categories = firstNonEmpty(ld.sections, w.metaSections, w.relCategories)
	md.Tags = firstNonEmpty(ld.keywords, w.metaTags, w.relTags)
	return md
}

// authors chooses the page's authors among the sources. The first source
// with a name wins, but a name that is the site's own (a publisher given
// as the author) only when no source names a person, and a name that
// other sources confirm wins over one that none does: a theme's meta tag
// can name the blog's owner where the byline, its link and its class
// name the post's author.
func (w *walker) authors(ld []string, pageURL string) []string {
	sources := [...][]string{ld, w.metaAuthors, w.itempropAuthors, w.relAuthors, w.hintedAuthors, w.hrefAuthors, w.ccAuthors, w.textAuthors()}
	chosen, site := -1, -1
	for i, list := range sources {
		if len(list) == 0 {
			continue
		}
		if w.siteLike(list, pageURL) || organization(list) {
			if site < 0 {
				site = i
			}
			continue
		}
		chosen = i
		break
	}
	if chosen < 0 {
		if site < 0 {
			return nil
		}
		return sources[site]
	}
	votes := func(i int) int {
		n := 0
		for j, other := range sources {
			if j != i && len(other) > 0 && agree(sources[i], other) {
				n++
			}
		}
		return n
	}
	best, most := chosen, votes(chosen)
	for i, list := range sources {
		if len(list) == 0 || agree(list, sources[chosen]) || w.siteLike(list, pageURL) || organization(list) {
			continue
		}
		if v := votes(i); v > most {
			best, most = i, v
		}
	}
	// Of the sources that name the same person, the one that writes the
	// name in full: "Arian Schlichenmayer" for an account's
	// "arianschlichenmayer", "Nils Pickert" for "Nils".
	for _, list := range sources {
		if fuller(list, sources[best]) {
			return list
		}
	}
	// A source that names the same authors and more lists co-authors the
	// others left out ("Ann Li" of "Ann Li und Bo Wu").
	// Unless the longer list is one source's against the best list's
	// two or more: then it adds a name that is not an author's (the
	// publisher's next to its writers').
	for _, list := range sources {
		if len(list) > len(sources[best]) && len(list) <= 4 && holdsAll(list, sources[best]) &&
			(sameLists(sources[:], list) > 1 || sameLists(sources[:], sources[best]) < 3) {
			return list
		}
	}
	return sources[best]
}

// sameLists is how many of sources name the same people as list, list
// itself included.
func sameLists(sources [][]string, list []string) int {
	n := 0
	for _, other := range sources {
		if len(other) == len(list) && holdsAll(other, list) && holdsAll(list, other) {
			n++
		}
	}
	return n
}

// holdsAll reports whether every name of b agrees with a name of a.
func holdsAll(a, b []string) bool {
	for _, name := range b {
		if !agree(a, []string{name}) {
			return false
		}
	}
	return true
}

// fuller reports whether a, one name, writes b, one name, in full: the
// same letters with spaces between words, or more words that start with
// b's one.
func fuller(a, b []string) bool {
	if len(a) != 1 || len(b) != 1 || strings.Contains(b[0], " ") {
		return false
	}
	words := strings.Fields(a[0])
	if len(words) < 2 || len(words) > 4 {
		return false
	}
	return letters(a[0]) == letters(b[0]) || strings.EqualFold(words[0], b[0]) || initials(b[0]) && b[0] == initialsOf(words)
}

// initials reports whether s is a short word in capitals, as an
// author's initials are written ("AL", "JFK").
func initials(s string) bool {
	n := 0
	for _, r := range s {
		if !unicode.IsUpper(r) {
			return false
		}
		n++
	}
	return n >= 2 && n <= 4
}

// initialsOf is the first letters of words, in capitals.
func initialsOf(words []string) string {
	var sb strings.Builder
	for _, w := range words {
		for _, r := range w {
			if unicode.IsLetter(r) {
				sb.WriteRune(unicode.ToUpper(r))
				break
			}
		}
	}
	return sb.String()
}

// agree reports whether a name of a and a name of b are the same person:
// one holds the other, ignoring case and punctuation, and is at least
// half its length.
func agree(a, b []string) bool {
	for _, x := range a {
		x = letters(x)
		for _, y := range b {
			short, long := x, letters(y)
			if len(short) > len(long) {
				short, long = long, short
			}
			if short != "" && 2*len(short) >= len(long) && strings.Contains(long, short) {
				return true
			}
		}
	}
	return false
}

// siteLike reports whether names is the site rather than a person: the
// names, letters only, are the og:site_name's or part of it ("Die FURCHE"
// of "Achtsam durch die Krise | Die FURCHE"), part of the page's host, or
// a domain name.
func (w *walker) siteLike(names []string, pageURL string) bool {
	if len(names) == 0 || len(names) > 3 {
		return false
	}
	if len(names) == 1 && strings.Contains(names[0], ".") && !strings.Contains(names[0], " ") {
		return true // a domain name
	}
	name := letters(strings.Join(names, ""))
	if len(name) < 2 {
		return false
	}
	if site := letters(w.siteName); site != "" && (name == site || len(name) >= 4 && strings.Contains(site, name)) {
		return true
	}
	// Initials are the site's when they are a word of its name or the
	// first letters of its words ("AB" of "AB - Altstadt Bote").
	if len(names) == 1 && initials(names[0]) && w.siteName != "" {
		words := strings.FieldsFunc(w.siteName, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if names[0] == initialsOf(words) || slices.Contains(words, names[0]) {
			return true
		}
	}
	host := ""
	if u, err := url.Parse(pageURL); err == nil {
		host = letters(u.Hostname())
	}
	return len(name) >= 4 && host != "" && strings.Contains(host, name)
}

// organization reports whether names reads as a publisher's or a
// group's name rather than people's: a name that holds a domain
// ("Deutsche Welle (www.dw.com)"), a bracket, a legal form ("e.V.",
// "GmbH"), or, before its last word, a word in lower case that is no
// particle of a name ("deinen Hochzeitsbloggern", "L-MAG – Das Magazin
// für Lesben"). Such a
// source gives way to one that names a person, as the site's own name
// does.
func organization(names []string) bool {
	for _, name := range names {
		if strings.ContainsAny(name, "()[]") {
			return true
		}
		words := strings.Fields(name)
		for i, word := range words {
			word = strings.Trim(word, ",;")
			lower := strings.ToLower(word)
			switch {
			case strings.HasPrefix(lower, "www."), legalForms[lower]:
				return true
			case strings.Contains(word, ".") && topLevelDomain(word):
				return true
			}
			// An account's name ("uriebe") and a family name left in lower
			// case ("Mobasir hassan") are people's.
			if r, _ := utf8.DecodeRuneInString(word); unicode.IsLower(r) && i < len(words)-1 && !nameParticles[word] {
				return true
			}
		}
	}
	return false
}

// topLevelDomain reports whether word ends with a dot and two or more
// letters, the way a host name does ("dw.com", "stol.it"): an initial
// ("C.Habermueller") or an abbreviation ("Dr.") does not.
func topLevelDomain(word string) bool {
	i := strings.LastIndexByte(word, '.')
	tld := word[i+1:]
	if i <= 0 || len(tld) < 2 || len(tld) > 6 {
		return false
	}
	for _, r := range tld {
		if !unicode.IsLower(r) {
			return false
		}
	}
	return true
}

// legalForms are the company and association forms that end an
// organization's name, lower-cased.
var legalForms = map[string]bool{
	"e.v.": true, "gmbh": true, "ag": true, "kg": true, "ggmbh": true, "inc.": true, "inc": true, "ltd": true, "ltd.": true,
	"llc": true, "plc": true, "s.a.": true, "sa": true, "s.l.": true, "srl": true, "sarl": true, "b.v.": true, "bv": true,
}

// nameParticles are the words written in lower case inside people's
// names.
var nameParticles = map[string]bool{
	"von": true, "van": true, "der": true, "den": true, "de": true, "del": true, "della": true, "di": true, "da": true,
	"do": true, "dos": true, "das": true, "du": true, "la": true, "le": true, "zu": true, "ten": true, "ter": true,
	"y": true, "e": true, "bin": true, "ibn": true, "al": true, "el": true, "v.": true,
}

// letters is s lower-cased, its letters and digits only.
func letters(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// textAuthors is the name of a byline written as text, for pages that
// mark up none: the first short block after the headline (else before
// it) that starts with a byline word.
func (w *walker) textAuthors() []string {
	if w.bylineAfterH1 != nil {
		return w.bylineAfterH1
	}
	return w.bylineBefore
}

// reBylineBlock reads a byline block: up to three words of a label
// ("Ein Artikel von", "Posted"), a byline word, then one or more names of
// capitalized words, separated by commas or "and", on one line.
var reBylineBlock = regexp.MustCompile(`^(?:\S+\s+){0,3}?(?i:written by|posted by|words by|story by|by|von|par|por|door|di|av|text|texte|autor|autorin|autoren|author|authors|auteur|autore|redaktion)\s*:?\s*(\p{Lu}[\p{L}.'’-]*(?:(?:[^\S\n]*,[^\S\n]*|[^\S\n]+(?:und|and|&|et|y|e|u\.)[^\S\n]+|[^\S\n]+)(?:\p{Lu}[\p{L}.'’-]*|de|la|van|von|der|den|di|da|du|le|zu)){0,9})`)

// maxBylineText is the longest block, in bytes, read as a byline: a
// longer one is a sentence that happens to hold "by" or "von".
const maxBylineText = 120

// bylineLead is how far into a text node, in bytes, a byline word is
// looked for: past a short label only.
const bylineLead = 40

// bylineStarts are the words that introduce a byline's names.
var bylineStarts = []string{"by", "von", "par", "por", "door", "di", "av", "text", "texte", "autor", "autorin", "autoren", "author", "authors", "auteur", "autore", "redaktion"}

// hasBylineWord reports whether text holds a byline word, as a word
// followed by a space, a colon or its end, in its first bylineLead bytes.
func hasBylineWord(text string) bool {
	text = strings.TrimSpace(text)
	if len(text) > bylineLead {
		text = text[:bylineLead]
	}
	// Words end at white space, a no-break space (which often sits
	// between a label and its dash) included, and at a colon.
	for start := 0; start < len(text); {
		end, next := start, start
		for end < len(text) {
			if c := text[end]; c == ' ' || c == ':' || '\t' <= c && c <= '\r' {
				next = end + 1
				break
			}
			if strings.HasPrefix(text[end:], "\u00a0") {
				next = end + len("\u00a0")
				break
			}
			end++
		}
		if end == len(text) {
			next = end
		}
		// Most words are none: the lengths and first letters of
		// bylineStarts turn them away before any comparison.
		if word := text[start:end]; len(word) >= 2 && len(word) <= 9 && strings.IndexByte("abdprtv", word[0]|0x20) >= 0 {
			for _, b := range bylineStarts {
				if strings.EqualFold(word, b) {
					return true
				}
			}
		}
		start = next
	}
	return false
}

// byline reads the block around t, a text node that holds a byline word,
// as a byline; when the block holds only the label ("Autor:" in a
// heading), its parent is read too.
func (w *walker) byline(t *html.Node) {
	w.bylineChecks++
	block := t.Parent
	var run *html.Node // the outermost inline element that holds t
	for block != nil && block.Type == html.ElementNode && inline[block.Data] && block.Parent != nil {
		run, block = block, block.Parent
	}
	// A byline set in a span or a link of its own ("<a><b>Von:</b>
	// Ann Li</a>") is read on its own first: the block around it can be
	// a whole teaser or article. A link to another page is not: its
	// text names that page ("Journal von Ann Li" in a blogroll).
	if run != nil && !(run.Data == "a" && linksToPage(attr(run, "href"))) && w.readByline(run) {
		return
	}
	for range 2 {
		if block == nil || block.Type != html.ElementNode || block.Data == "title" || block.Data == "body" || w.readByline(block) {
			return
		}
		block = block.Parent
	}
}

// linksToPage reports whether href is the address of a page other than
// an author's: not an e-mail address, a script or an author's page.
func linksToPage(href string) bool {
	href = strings.ToLower(strings.TrimSpace(href))
	return href != "" && !strings.HasPrefix(href, "mailto:") && !strings.HasPrefix(href, "javascript:") && !strings.HasPrefix(href, "#") && !authorPage(href)
}

// readByline reads n's text as a byline, keeping its names. It reports
// whether the walk up from n is done: n is a byline, or it cannot be one
// and no element around it can (it is too long, a list, a picture's
// credit).
func (w *walker) readByline(n *html.Node) (done bool) {
	text := lineText(n, maxBylineText+1)
	if len(text) > maxBylineText || lists[n.Data] || holdsList(n) {
		return true
	}
	m := reBylineBlock.FindStringSubmatchIndex(text)
	if m == nil {
		return false
	}
	// A name of one word is read after "Autor:" only: "Das Beste von
	// Mallorca" is not a byline.
	name := text[m[2]:m[3]]
	// "von Ann Li Themen: Reisen": a word before a colon labels the field
	// that follows the byline, and is no part of the name.
	if strings.HasPrefix(text[m[3]:], ":") {
		name = strings.TrimRight(name[:max(strings.LastIndexAny(name, " ,"), 0)], " ,")
	}
	label := strings.ToLower(strings.TrimSpace(text[:m[2]]))
	// "Foto von Ann Li" credits a picture, not the text.
	if words := strings.Fields(label); len(words) >= 2 && creditRoles[strings.Trim(words[len(words)-2], ":,.")] {
		return true
	}
	// "Text von Ann Li Illustration von Bo Wu": another credit ends the
	// author's.
	name = cutAtCredit(name)
	labelled := strings.HasSuffix(label, ":") || hasSuffixAny(label, postedBy...)
	names := appendNames(nil, name)
	if len(names) == 0 || !labelled && len(strings.Fields(names[0])) < 2 || !bylineEnd(text[m[3]:]) {
		return false
	}
	if w.seenH1 {
		w.bylineAfterH1 = names
	} else if w.bylineBefore == nil {
		w.bylineBefore = names
	}
	return true
}

// creditRoles are the words, lower-cased, that credit the work on a page
// that is not its text: its pictures, its video, where it comes from.
var creditRoles = map[string]bool{
	"foto": true, "fotos": true, "photo": true, "photos": true, "bild": true, "bilder": true, "image": true, "images": true,
	"illustration": true, "illustrationen": true, "illustrations": true, "grafik": true, "grafiken": true, "graphics": true,
	"kamera": true, "camera": true, "video": true, "photography": true, "fotografie": true, "fotograf": true,
	"fotografin": true, "photographer": true, "credit": true, "credits": true, "quelle": true, "source": true,
	"bildquelle": true, "titelbild": true, "titelfoto": true, "symbolbild": true, "symbolfoto": true,
}

// cutAtCredit returns name up to its first word, after the first, that
// is a credit role in capitals ("Ann Li Illustration von Bo Wu" is Ann
// Li).
func cutAtCredit(name string) string {
	words := strings.Fields(name)
	for i := 1; i < len(words); i++ {
		if r, _ := utf8.DecodeRuneInString(words[i]); unicode.IsUpper(r) && creditRoles[strings.ToLower(words[i])] {
			return strings.Join(words[:i], " ")
		}
	}
	return name
}

// holdsList reports whether n holds a list: a menu's item ("Text" over
// its submenu of "Photos", "Audio"; a menu's options), never a byline,
// which is a line (as
// a list's items read together are not one either). A block of more
// than maxBylineElements elements is not one either, and is read no
// further.
func holdsList(n *html.Node) bool {
	seen := 0
	var walk func(*html.Node) bool
	walk = func(n *html.Node) bool {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			if seen++; seen > maxBylineElements || lists[c.Data] || walk(c) {
				return true
			}
		}
		return false
	}
	return walk(n)
}

// lists are the elements that hold a list.
var lists = map[string]bool{"ul": true, "ol": true, "select": true}

// maxBylineElements is the most elements a byline's block holds.
const maxBylineElements = 64

// postedBy are the labels that say the next word is who wrote the page,
// even a single word ("Posted by Konstantin"), where "by" or "von" alone
// may start a title ("Das Beste von Mallorca").
var postedBy = []string{"posted by", "written by", "geschrieben von", "verfasst von", "écrit par", "publié par", "escrito por", "publicado por", "scritto da", "pubblicato da"}

func hasSuffixAny(s string, suffixes ...string) bool {
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

// bylineEnd reports whether rest, what follows a byline's names in its
// block, ends a byline: nothing, a separator ("|", "·", ","), or words
// before a date ("am 3. Mai"), not the rest of a sentence.
func bylineEnd(rest string) bool {
	rest = strings.TrimLeft(rest, " ")
	if rest == "" || rest[0] == '\n' {
		return true // the line ends with the names
	}
	if r, _ := utf8.DecodeRuneInString(rest); !unicode.IsLetter(r) {
		return true
	}
	if len(rest) > 16 {
		rest = rest[:16]
	}
	return strings.ContainsAny(rest, "0123456789")
}

// reDatedName reads a line that gives a date and then a name, as many
// pages do under a headline: "11.12.2019 - Ann Li", "04.02.2022 | 13:10 |
// Ann Li".
var reDatedName = regexp.MustCompile(`^(.*\d.*?)\s*[-–—|∙·•]\s*(\p{Lu}[\p{L}.'’-]*(?:\s+(?:\p{Lu}[\p{L}.'’-]*|de|van|von|der|di|da)){1,3})$`)

// startsWithDigit reports whether text starts, after white space, with a
// digit: where a dated line starts.
func startsWithDigit(text string) bool {
	text = strings.TrimLeftFunc(text, unicode.IsSpace)
	return text != "" && '0' <= text[0] && text[0] <= '9'
}

// datedName reads the block around t, a text node that starts with a
// digit, as a date followed by a name.
func (w *walker) datedName(t *html.Node) {
	block := t.Parent
	for block != nil && block.Type == html.ElementNode && inline[block.Data] && block.Parent != nil {
		block = block.Parent
	}
	if block == nil || block.Type != html.ElementNode || block.Data == "title" || block.Data == "body" {
		return
	}
	w.bylineChecks++
	text := limitedText(block, maxBylineText+1)
	if len(text) > maxBylineText {
		return
	}
	m := reDatedName.FindStringSubmatch(text)
	if m == nil {
		return
	}
	if d, _ := parseDate(m[1], monthFirstLang(w.lang)); d.IsZero() {
		return
	}
	if names := appendNames(nil, m[2]); len(names) > 0 {
		if w.seenH1 {
			w.bylineAfterH1 = names
		} else if w.bylineBefore == nil {
			w.bylineBefore = names
		}
	}
}

// hasCopyrightMark reports whether s holds "©", "(c)" or "copyright".
func hasCopyrightMark(s string) bool {
	return strings.Contains(s, "©") || strings.Contains(s, "(c)") || strings.Contains(s, "(C)") ||
		strings.Contains(s, "opyright") || strings.Contains(s, "OPYRIGHT")
}

// reCopyright reads a copyright notice: its mark, the years, an optional
// "by", then the holder, a capital first, up to a separator.
var reCopyright = regexp.MustCompile(`(?i:©|\(c\)|copyright)(?:\s*(?i:©|\(c\)))?[\s\d,–-]*(?:(?i:by|von|par|por)\s+)?(\p{Lu}[^|•·©]{1,79})`)

// rightsReserved are the words that end a copyright holder's name: the
// notice goes on with its reservation ("Ann Li. All rights reserved").
var rightsReserved = []string{" all rights", " alle rechte", " tous droits", " todos los derechos", " tutti i diritti", " powered by", " - ", " – ", ". "}

// maxCopyrightText is how much of a text node, in bytes, is read for a
// copyright notice: a notice is a short line, and a text node that is
// not is read no further.
const maxCopyrightText = 200

// maxCopyrightWords is the longest holder, in words, taken from a
// copyright notice: a longer one is a sentence about copyright.
const maxCopyrightWords = 4

// copyrightHolder is the one name that a copyright notice in s names,
// else nil.
func copyrightHolder(s string) []string {
	if len(s) > maxCopyrightText {
		s = s[:maxCopyrightText]
	}
	m := reCopyright.FindStringSubmatch(strings.Join(strings.Fields(s), " "))
	if m == nil {
		return nil
	}
	holder := m[1]
	lower := foldASCII(holder)
	for _, end := range rightsReserved {
		if i := strings.Index(lower, end); i >= 0 {
			holder, lower = holder[:i], lower[:i]
		}
	}
	names := appendNames(nil, strings.TrimRight(holder, ". "))
	if len(names) != 1 || len(strings.Fields(names[0])) > maxCopyrightWords {
		return nil
	}
	return names
}

// inline are the elements that hold part of a line: the block that holds
// a byline is their nearest ancestor that is none.
var inline = map[string]bool{"a": true, "span": true, "em": true, "i": true, "b": true, "strong": true, "small": true, "time": true, "font": true, "u": true, "cite": true}

// textDate is the first date in the text of b.
func (w *walker) textDate(b *strings.Builder) Date {
	d, _ := parseDate(strings.Join(strings.Fields(b.String()), " "), monthFirstLang(w.lang))
	return d
}

type dateSource struct {
	date Date
	raw  string
}

func firstNonEmpty(lists ...[]string) []string {
	for _, l := range lists {
		if len(l) > 0 {
			return l
		}
	}
	return nil
}

func urlPathDate(pageURL string) Date {
	u, err := url.Parse(pageURL)
	if err != nil {
		return Date{}
	}
	return urlDate(u.Path)
}

// walker gathers the candidates of one pass over the tree.
type walker struct {
	lang string

	scripts []string // JSON-LD texts

	metaPublished, metaModified Date
	metaPublishedRaw            string
	metaAuthors                 []string
	metaSections, metaTags      []string
	descriptions                []string

	itempropPublished Date
	itempropAuthors   []string
	timePublished     Date
	firstTime         Date
	relAuthors        []string
	hrefAuthors       []string // links to an author page: /author/name
	ccAuthors         []string // the work's author in a Creative Commons licence notice
	siteName          string
	twitterLabels     map[string]string // twitter:labelN -> its content, lower-cased
	relCategories     []string
	relTags           []string

	hinted        int
	hintedDate    Date
	hintedAuthors []string

	// nearTitle is the page's visible text from its first <h1> on, up to
	// maxNearTitle bytes: where a page that marks up nothing writes its
	// date, next to the headline.
	seenH1    bool
	nearTitle strings.Builder

	// Bylines written as text: the first after the first <h1> and the
	// first before it, read from at most maxHinted blocks.
	bylineChecks                int
	inBoilerplate               int // depth of containers whose text holds no byline
	inLinkOrNav                 int // depth of links and navigation, whose author classes are not the page's
	bylineAfterH1, bylineBefore []string
	bodyText                    strings.Builder // the first maxNearTitle bytes of the body's text

	copyrightChecks int
	copyright       []string
}

// maxNearTitle bounds the text read for a date near the headline.
const maxNearTitle = 1500

// walk visits n; inComments is set inside a comment section, whose dates
// and authors are the commenters', not the article's.
func (w *walker) walk(n *html.Node, inComments bool) {
	if n.Type == html.TextNode && !inComments {
		if w.bylineAfterH1 == nil && w.bylineChecks < maxHinted && w.inBoilerplate == 0 {
			if hasBylineWord(n.Data) {
				w.byline(n)
			} else if startsWithDigit(n.Data) {
				w.datedName(n)
			}
		}
		// A link's notice is a menu's ("Copyright" to the rights page).
		if w.copyright == nil && w.copyrightChecks < maxHinted && w.inLinkOrNav == 0 && hasCopyrightMark(n.Data) {
			w.copyrightChecks++
			w.copyright = copyrightHolder(n.Data)
		}
		if w.seenH1 && w.nearTitle.Len() < maxNearTitle {
			w.nearTitle.WriteString(n.Data)
			w.nearTitle.WriteByte(' ')
		}
		if w.bodyText.Len() < maxNearTitle {
			w.bodyText.WriteString(n.Data)
			w.bodyText.WriteByte(' ')
		}
	}
	if n.Type == html.ElementNode {
		switch n.Data {
		case "html":
			w.lang = attr(n, "lang")
		case "script":
			if strings.EqualFold(strings.TrimSpace(attr(n, "type")), "application/ld+json") && len(w.scripts) < maxJSONLD {
				if t := nodeText(n); len(t) <= maxJSONLDBytes {
					w.scripts = append(w.scripts, t)
				}
			}
			return
		case "style", "noscript", "template":
			return
		case "meta":
			w.meta(n)
			return
		case "h1":
			w.seenH1 = true
		}
		label := classID(n)
		if !inComments && (strings.Contains(label, "comment") || strings.Contains(label, "respond")) {
			inComments = true
		}
		if !inComments {
			w.element(n, label)
		}
		// "Powered by Cookie Information": the text of consent banners
		// holds no byline.
		if label != "" && hasAny(label, "cookie", "consent", "gdpr") {
			w.inBoilerplate++
			defer func() { w.inBoilerplate-- }()
		}
		// An author class inside a link is a teaser's (a card that
		// links to another article) unless the link is to the author's
		// page; inside navigation it is a menu's.
		if n.Data == "a" && !authorPage(attr(n, "href")) || n.Data == "nav" {
			w.inLinkOrNav++
			defer func() { w.inLinkOrNav-- }()
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c, inComments)
	}
}

// element reads the microdata, time, link and hinted text of n.
func (w *walker) element(n *html.Node, label string) {
	switch prop := strings.ToLower(attr(n, "itemprop")); prop {
	case "datepublished", "datecreated":
		if w.itempropPublished.IsZero() {
			v := firstAttr(n, "content", "datetime")
			if v == "" {
				v = limitedText(n, maxHintedText)
			}
			w.itempropPublished = parseMachineDate(v)
		}
	case "author", "creator":
		if len(w.itempropAuthors) == 0 {
			v := attr(n, "content")
			if v == "" {
				if name := findItemprop(n, "name"); name != nil {
					v = firstAttr(name, "content")
					if v == "" {
						v = limitedText(name, maxHintedText)
					}
				} else {
					v = limitedText(n, maxHintedText)
				}
			}
			w.itempropAuthors = appendNames(w.itempropAuthors, v)
		}
	}
	switch n.Data {
	case "time":
		v := attr(n, "datetime")
		if v == "" {
			v = limitedText(n, maxHintedText)
		}
		d := parseMachineDate(v)
		if d.IsZero() {
			break
		}
		if w.firstTime.IsZero() {
			w.firstTime = d
		}
		if w.timePublished.IsZero() && (hasAttr(n, "pubdate") || hasAny(classID(n), "publish", "entry-date", "post-date", "posted", "created")) {
			w.timePublished = d
		}
	case "a", "link":
		rel := " " + strings.ToLower(attr(n, "rel")) + " "
		if n.Data == "a" && len(w.hrefAuthors) == 0 && authorPage(attr(n, "href")) {
			w.hrefAuthors = appendNames(nil, limitedText(n, maxHintedText))
		}
		switch {
		case strings.Contains(rel, " cc:attributionurl ") && n.Data == "a":
			// A licence notice names whom to credit ("<a
			// rel=cc:attributionURL>Ann Li</a>"): the work's author.
			if len(w.ccAuthors) == 0 {
				w.ccAuthors = appendNames(nil, limitedText(n, maxHintedText))
			}
		case strings.Contains(rel, " author ") && n.Data == "a":
			if len(w.relAuthors) < maxListItems {
				w.relAuthors = appendNames(w.relAuthors, limitedText(n, maxHintedText))
			}
		case strings.Contains(rel, " category ") && n.Data == "a":
			w.relCategories = appendItem(w.relCategories, limitedText(n, maxHintedText))
		case strings.Contains(rel, " tag ") && n.Data == "a":
			w.relTags = appendItem(w.relTags, limitedText(n, maxHintedText))
		}
	}
	if len(w.ccAuthors) == 0 && strings.EqualFold(attr(n, "property"), "cc:attributionName") {
		w.ccAuthors = appendNames(nil, limitedText(n, maxHintedText))
	}
	if label == "" || w.hinted >= maxHinted {
		return
	}
	dateHint := w.hintedDate.IsZero() && hasAny(label, "date", "time", "datum", "fecha", "data", "publish", "posted", "meta", "byline", "dateline", "info")
	// An author box's biography and a teaser's byline (another
	// article's, or its section's name) are not the page's byline.
	authorHint := len(w.hintedAuthors) == 0 && w.inLinkOrNav == 0 && n.Data != "nav" && hasAny(label, "author", "byline", "autor", "auteur", "writer") && !hasAny(label, "bio", "avatar", "description", "about", "box", "teaser")
	if !dateHint && !authorHint {
		return
	}
	w.hinted++
	text := limitedText(n, maxHintedText)
	if dateHint {
		w.hintedDate, _ = parseDate(text, monthFirstLang(w.lang))
	}
	if authorHint {
		// A byline's name is often a link ("By <a>Ann Smith</a>"); the
		// link's text is the name without the words around it.
		// Co-authors are links of their own to pages of the same kind
		// ("<a href=/autor/ann-li>Ann Li</a>, <a href=/autor/bo-wu>Bo
		// Wu</a>"); a link elsewhere (a teaser's headline, its section)
		// is not one.
		dir := ""
		for a := range authorLinks(n) {
			if len(w.hintedAuthors) >= maxCoAuthors {
				break
			}
			d := linkDir(attr(a, "href"))
			if dir == "" {
				dir = d
			} else if d != dir {
				continue
			}
			w.hintedAuthors = appendNames(w.hintedAuthors, limitedText(a, maxHintedText))
			if dir == "" {
				break // a link without a path has no kin
			}
		}
		if len(w.hintedAuthors) == 0 && len(text) < 120 {
			w.hintedAuthors = appendNames(nil, text)
		}
	}
}

// authorPage reports whether href is the address of an author's page:
// /author/name and the like.
func authorPage(href string) bool {
	return hasAny(strings.ToLower(href), "/author/", "/authors/", "/autor/", "/autoren/", "/autores/", "/auteur/", "/auteurs/", "/autore/", "/autori/", "/staff/")
}

// linkDir is href without its query, its fragment and its last path
// segment: the directory of the page it links to.
func linkDir(href string) string {
	if i := strings.IndexAny(href, "?#"); i >= 0 {
		href = href[:i]
	}
	href = strings.TrimRight(href, "/")
	if i := strings.LastIndexByte(href, '/'); i >= 0 {
		return href[:i+1]
	}
	return ""
}

// maxCoAuthors is the most names read from the links of one byline
// element.
const maxCoAuthors = 4

// authorLinks yields the links under n that are not to a category, a tag,
// an archive or a hidden e-mail address: a byline box often links the
// post's section too.
func authorLinks(n *html.Node) func(func(*html.Node) bool) {
	return func(yield func(*html.Node) bool) {
		for a := range linksUnder(n) {
			href := strings.ToLower(attr(a, "href"))
			// A CDN's hidden e-mail address reads "[email protected]".
			if !hasAny(href, "/category/", "/categories/", "/tag/", "/tags/", "/kategorie/", "/rubrik/", "/section/", "/topics/", "/archive", "email-protection") && !yield(a) {
				return
			}
		}
	}
}

// linksUnder yields the <a> elements under n, at most maxHinted.
func linksUnder(n *html.Node) func(func(*html.Node) bool) {
	return func(yield func(*html.Node) bool) {
		seen := 0
		var walk func(*html.Node) bool
		walk = func(n *html.Node) bool {
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type != html.ElementNode {
					continue
				}
				if c.Data == "a" {
					if seen++; seen > maxHinted || !yield(c) {
						return false
					}
					continue
				}
				if !walk(c) {
					return false
				}
			}
			return true
		}
		walk(n)
	}
}

// meta reads one <meta> element.
func (w *walker) meta(n *html.Node) {
	key := strings.ToLower(strings.TrimSpace(firstAttr(n, "property", "name", "itemprop")))
	content := strings.TrimSpace(attr(n, "content"))
	if key == "" || content == "" {
		return
	}
	switch key {
	case "article:published_time", "og:article:published_time", "article:published", "published_time",
		"datepublished", "pubdate", "publishdate", "publish-date", "publish_date", "publication_date",
		"date", "dc.date", "dc.date.issued", "dc.date.created", "dcterms.date", "dcterms.issued", "dcterms.created",
		"sailthru.date", "parsely-pub-date", "citation_publication_date", "citation_date",
		"originalpublicationdate", "article.published", "article_date_original", "cxenseparse:recs:publishtime", "created":
		if w.metaPublished.IsZero() {
			if d := parseMachineDate(content); !d.IsZero() {
				w.metaPublished, w.metaPublishedRaw = d, content
			}
		}
	case "twitter:label1", "twitter:label2", "twitter:data1", "twitter:data2":
		// Publishing tools write "twitter:label1" = "Written by" and
		// "twitter:data1" = the author's name.
		if w.twitterLabels == nil {
			w.twitterLabels = make(map[string]string, 4)
		}
		w.twitterLabels[key] = content
		for _, i := range []string{"1", "2"} {
			label := strings.ToLower(w.twitterLabels["twitter:label"+i])
			if data := w.twitterLabels["twitter:data"+i]; data != "" && len(w.metaAuthors) == 0 &&
				hasAny(label, "written by", "author", "autor", "verfasst von", "geschrieben von", "auteur", "écrit par", "escrito por", "scritto da") {
				w.metaAuthors = appendNames(nil, data)
			}
		}
	case "description", "og:description", "twitter:description", "dc.description", "dcterms.description":
		content = strings.Join(strings.Fields(content), " ")
		if len(w.descriptions) < maxDescriptions && len(content) <= maxDescriptionBytes && !contains(w.descriptions, content) {
			w.descriptions = append(w.descriptions, content)
		}
	case "og:site_name", "application-name":
		if w.siteName == "" {
			w.siteName = content
		}
	case "article:modified_time", "og:updated_time", "datemodified", "dc.date.modified", "dcterms.modified", "last-modified", "lastmod":
		if w.metaModified.IsZero() {
			w.metaModified = parseMachineDate(content)
		}
	case "author", "article:author", "dc.creator", "dcterms.creator", "parsely-author", "sailthru.author",
		"citation_author", "byl", "author_name", "og:article:author", "book:author":
		if len(w.metaAuthors) < maxListItems {
			w.metaAuthors = appendNames(w.metaAuthors, content)
		}
	case "article:section", "parsely-section", "og:article:section", "section":
		w.metaSections = appendList(w.metaSections, content, false)
	case "article:tag", "og:article:tag", "parsely-tags", "news_keywords":
		w.metaTags = appendList(w.metaTags, content, true)
	}
}

// ldResult is what the JSON-LD of a page gives.
type ldResult struct {
	published, modified Date
	publishedRaw        string
	authors             []string
	sections, keywords  []string
}

// articleTypes are the schema.org types whose dates and authors are the
// page's; other objects (an Organization, a WebSite, a Comment) are read
// only when no such object is found.
var articleTypes = []string{"article", "posting", "blog", "report", "webpage", "recipe", "review", "creativework", "event", "product"}

// jsonLD reads the page's JSON-LD scripts.
func (w *walker) jsonLD() ldResult {
	var objs []map[string]any
	for _, s := range w.scripts {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			continue
		}
		collectObjects(v, &objs, 0)
	}
	// Authors are often given by reference to a Person elsewhere in the
	// @graph: {"author": {"@id": "#/schema/person/1"}}.
	byID := make(map[string]map[string]any)
	for _, o := range objs {
		if id, ok := o["@id"].(string); ok && id != "" {
			if _, dup := byID[id]; !dup {
				byID[id] = o
			}
		}
	}
	var r ldResult
	for pass := 0; pass < 2; pass++ {
		for _, o := range objs {
			typ := strings.ToLower(typeOf(o["@type"]))
			if typ == "comment" || typ == "answer" || typ == "question" {
				continue
			}
			article := false
			for _, t := range articleTypes {
				if strings.Contains(typ, t) {
					article = true
					break
				}
			}
			if (pass == 0) != article {
				continue
			}
			if r.published.IsZero() {
				for _, k := range []string{"datePublished", "dateCreated", "uploadDate"} {
					if s, ok := o[k].(string); ok {
						if d := parseMachineDate(s); !d.IsZero() {
							r.published, r.publishedRaw = d, s
							break
						}
					}
				}
			}
			if r.modified.IsZero() {
				if s, ok := o["dateModified"].(string); ok {
					r.modified = parseMachineDate(s)
				}
			}
			if len(r.authors) == 0 && strings.Contains(typ, "webpage") == false {
				r.authors = ldNames(o["author"], byID, nil)
				if len(r.authors) == 0 {
					r.authors = ldNames(o["creator"], byID, nil)
				}
			}
			if len(r.sections) == 0 {
				r.sections = ldStrings(o["articleSection"], false)
			}
			if len(r.keywords) == 0 {
				r.keywords = ldStrings(o["keywords"], true)
			}
		}
	}
	return r
}

// collectObjects appends the JSON objects in v (a value, an array or an
// @graph, and their nested objects such as "mainEntity") to objs, in
// document order.
func collectObjects(v any, objs *[]map[string]any, depth int) {
	if depth > 8 || len(*objs) >= maxJSONLDObjects {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			collectObjects(e, objs, depth+1)
		}
	case map[string]any:
		*objs = append(*objs, x)
		for _, k := range []string{"@graph", "mainEntity", "mainEntityOfPage", "itemListElement"} {
			if e, ok := x[k]; ok {
				collectObjects(e, objs, depth+1)
			}
		}
	}
}

func typeOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []any:
		var parts []string
		for _, e := range t {
			if s, ok := e.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, " ")
	}
	return ""
}

// ldNames reads a JSON-LD author: a name, a Person or Organization
// object, or an array of them.
func ldNames(v any, byID map[string]map[string]any, names []string) []string {
	switch x := v.(type) {
	case string:
		return appendNames(names, x)
	case map[string]any:
		if _, named := x["name"]; !named {
			if id, ok := x["@id"].(string); ok && byID[id] != nil {
				x = byID[id]
			}
		}
		if s, ok := x["name"].(string); ok {
			return appendNames(names, s)
		}
		given, _ := x["givenName"].(string)
		family, _ := x["familyName"].(string)
		return appendNames(names, strings.TrimSpace(given+" "+family))
	case []any:
		for _, e := range x {
			if len(names) >= maxListItems {
				break
			}
			names = ldNames(e, byID, names)
		}
	}
	return names
}

// ldStrings reads a JSON-LD text list: an array of strings, or one string
// that split says to cut at commas.
func ldStrings(v any, split bool) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = appendList(out, x, split)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = appendItem(out, s)
			}
		}
	}
	return out
}

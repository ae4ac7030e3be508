package article

import (
	"net/url"
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// A page's meta description is, on most article pages, its lead: the
// paragraph under the headline, word for word or shortened. Pages set the
// lead apart from the body (in the article's header, in a teaser box, in a
// heading-like element, before the byline), and the readability pass,
// which keeps one container, often leaves it out. addLead puts it back:
// when the content does not hold a description, the page's line that
// does, outside navigation, footers, asides and forms, opens the content.
// Without a description the page shows, the first element after the
// headline whose class or id names a lead ("article__lead", "standfirst",
// "intro") is the lead. The rules read markup and the page's own summary,
// never a language's words; a description that the page does not show, or
// shows as a link, adds nothing.

// The lead's thresholds.
const (
	// leadMinWords is the fewest words of a description that is read as
	// a lead: a shorter one is a slogan or a title.
	leadMinWords = 8
	// leadHeldShare is the share of a description's word triples the
	// content must hold to count as holding the description.
	leadHeldShare = 0.5
	// leadMatchShare is the share of a description's word triples that a
	// line of the page must hold to be its lead, and of the line's own
	// triples that must be the description's: the line is the
	// description, give or take a sentence.
	leadMatchShare = 0.6
)

// addLead opens content with the page's lead, read from root, when
// content holds neither one of descriptions nor the lead. It reports
// whether it added one.
func addLead(content, root *html.Node, descriptions []string, base *url.URL) bool {
	for _, d := range descriptions {
		d = strings.TrimRight(d, ".… ")
		want := shingleSet(d)
		if len(strings.Fields(d)) < leadMinWords || len(want) == 0 {
			continue
		}
		if shareIn(want, content) >= leadHeldShare {
			return false // the content has the page's summary
		}
		if n := findLead(root, want); n != nil {
			prepareMerged(n, base)
			content.InsertBefore(n, content.FirstChild)
			return true
		}
	}
	if n := classLead(root); n != nil {
		if shareIn(shingleSet(textOf(n)), content) < leadHeldShare {
			n.Parent.RemoveChild(n)
			prepareMerged(n, base)
			content.InsertBefore(n, content.FirstChild)
			return true
		}
	}
	return false
}

// leadWords are the class and id words of a lead: matched as a part of
// a token split at "-" and "_" ("article-header__lead", "lead--lg").
var leadWords = []string{"lead", "standfirst", "dek", "intro", "summary", "subtitle", "abstract", "teaser-text"}

// leadMinChars is the shortest lead read from its class, in runes.
const leadMinChars = 80

// leadSearchChars is how far after the headline, in characters of text,
// a lead is looked for.
const leadSearchChars = 1500

// classLead is the first element after the page's first <h1>, within
// leadSearchChars of text, whose class or id names a lead and that holds
// a sentence's worth of text, mostly not links.
func classLead(root *html.Node) *html.Node {
	seen := false // the walk is past the first <h1>
	chars := 0
	var found *html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil && found == nil && chars < leadSearchChars; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				if seen {
					chars += len(strings.TrimSpace(c.Data))
				}
			case html.ElementNode:
				if skipped(c) || invisible(c) {
					continue
				}
				switch c.Data {
				case "nav", "footer", "aside", "form":
					continue
				case "h1":
					seen = true
					continue
				}
				if seen && leadClass(c) {
					if k, whole := keyTextUpTo(c, 2*leadSearchChars); whole && k.chars >= leadMinChars && 2*k.linked <= k.bytes {
						found = c
						return
					}
				}
				walk(c)
			}
		}
	}
	walk(root)
	return found
}

// leadClass reports whether n's class or id names a lead.
func leadClass(n *html.Node) bool {
	label := classWords(n)
	if label == "" {
		return false
	}
	for _, tok := range strings.Fields(label) {
		for _, part := range strings.FieldsFunc(tok, func(r rune) bool { return r == '-' || r == '_' }) {
			for _, w := range leadWords {
				if part == w {
					return true
				}
			}
		}
		for _, w := range leadWords {
			if strings.Contains(w, "-") && strings.Contains(tok, w) {
				return true
			}
		}
	}
	return false
}

// tripleFilter is a bit set of word-triple hashes: a page's triples are
// tested against it before the map that holds a summary's, which most of
// them are not in.
type tripleFilter [16]uint64

func newTripleFilter(set map[uint64]bool) *tripleFilter {
	var f tripleFilter
	for h := range set {
		f[h>>58&15] |= 1 << (h & 63)
	}
	return &f
}

// mayHold reports whether h can be in the set: false means it is not.
func (f *tripleFilter) mayHold(h uint64) bool { return f[h>>58&15]&(1<<(h&63)) != 0 }

// shingleSet is the set of hashes of text's word triples.
func shingleSet(text string) map[uint64]bool {
	set := make(map[uint64]bool)
	eachShingle(text, func(h uint64) bool {
		set[h] = true
		return true
	})
	return set
}

// shareIn is the share of want's word triples that n's text (as textOf
// gives it) holds, each counted once. It reads the text in place: the
// content, which can be long, is not copied to be compared with a
// summary.
func shareIn(want map[uint64]bool, n *html.Node) float64 {
	if len(want) == 0 {
		return 0
	}
	seen := make(map[uint64]bool, len(want))
	filter := newTripleFilter(want)
	var sh shingler
	note := func(h uint64, ok bool) {
		if ok && filter.mayHold(h) && want[h] {
			seen[h] = true
		}
	}
	onTriple := func(h uint64) bool {
		note(h, true)
		return len(seen) < len(want)
	}
	var walk func(n *html.Node) bool
	walk = func(n *html.Node) bool {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				if !sh.feed(c.Data, onTriple) {
					return false
				}
			case html.ElementNode:
				if !skipped(c) && !walk(c) {
					return false
				}
			}
		}
		return true
	}
	walk(n)
	note(sh.endWord())
	note(sh.short())
	return float64(len(seen)) / float64(len(want))
}

// findLead finds under root the first line of text that is the
// description whose word triples are want, and returns it detached from
// the page: its block element when the block holds that line only, else a
// new paragraph of its text. It returns nil when no line matches.
//
// The page is read once, its words hashed as they are read; a line's text
// is kept in a reused buffer, so that a page of many lines costs no
// string per line.
func findLead(root *html.Node, want map[uint64]bool) *html.Node {
	filter := newTripleFilter(want)
	index := make(map[uint64]int, len(want)) // a triple's number, to count the distinct ones a line holds
	for h := range want {
		index[h] = len(index)
	}
	stamp := make([]int, len(want)) // the line that last held each triple, plus one
	var (
		found         *html.Node
		block         *html.Node // the element the current line is in
		sh            shingler
		text          []byte // the current line's text
		line          int    // the current line's number
		n, in, seen   int    // its triples, those of want, the distinct ones
		linked, total int    // its bytes inside links, and all
	)
	note := func(h uint64, ok bool) {
		if !ok {
			return
		}
		n++
		if !filter.mayHold(h) {
			return
		}
		if i, hit := index[h]; hit {
			in++
			if stamp[i] != line+1 {
				stamp[i] = line + 1
				seen++
			}
		}
	}
	onTriple := func(h uint64) bool {
		note(h, true)
		return true
	}
	end := func() {
		note(sh.endWord())
		note(sh.short())
		if found == nil && n > 0 && 2*linked <= total && block != nil && block.Data != "h1" &&
			float64(seen) >= leadMatchShare*float64(len(want)) && float64(in) >= leadMatchShare*float64(n) {
			found = block
			lead := collapseSpace(string(text))
			if textOf(block) != lead {
				// The line is part of a block (text between <br>s): it
				// alone is the lead.
				found = &html.Node{Type: html.ElementNode, Data: "p"}
				found.AppendChild(&html.Node{Type: html.TextNode, Data: lead})
			}
		}
		sh.reset()
		text = text[:0]
		line++
		n, in, seen, linked, total = 0, 0, 0, 0, 0
	}
	var walk func(n *html.Node, inLink bool)
	walk = func(n *html.Node, inLink bool) {
		for c := n.FirstChild; c != nil && found == nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				text = append(text, c.Data...)
				if strings.IndexFunc(c.Data, func(r rune) bool { return !unicode.IsSpace(r) }) >= 0 {
					total += len(c.Data)
					if inLink {
						linked += len(c.Data)
					}
				}
				sh.feed(c.Data, onTriple)
			case html.ElementNode:
				if skipped(c) || invisible(c) {
					continue
				}
				switch c.Data {
				case "nav", "footer", "aside", "form":
					continue
				}
				if !blockTags[c.Data] {
					walk(c, inLink || c.Data == "a")
					continue
				}
				end()
				outer := block
				block = c
				walk(c, inLink || c.Data == "a")
				end()
				block = outer
			}
		}
	}
	walk(root, false)
	end()
	if found != nil && found.Parent != nil {
		found.Parent.RemoveChild(found)
	}
	return found
}

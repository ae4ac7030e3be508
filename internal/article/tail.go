package article

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// An article's text ends with its last long block; what a page puts after
// it inside the same container, when it is only short lines, is the
// page's: "Read more:", a source or copyright line, a list of other
// stories' titles, a call to share or subscribe. trimTail removes it.
// A page whose last long block is followed by another block of text
// keeps everything: its ending is text, short lines included. So does a
// page whose short lines are all sentences, without links, each ending
// with a full stop, a question or an exclamation mark: the article's
// closing words ("Ah Bartleby! Ah humanity!"), where a tail's lines are
// labels, links and names.

// The tail's thresholds, in characters of collapsed text.
const (
	// longLineChars is the length from which a line is the article's text.
	longLineChars = 300
	// tailLineChars is the length from which a line after the last long
	// one is text, which keeps the tail.
	tailLineChars = 100
)

// blockTags are the elements that start and end a line of text.
var blockTags = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "dd": true, "details": true,
	"div": true, "dl": true, "dt": true, "fieldset": true, "figcaption": true, "figure": true,
	"footer": true, "form": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"header": true, "hr": true, "li": true, "main": true, "nav": true, "ol": true, "p": true, "pre": true,
	"section": true, "summary": true, "table": true, "td": true, "th": true, "tr": true, "ul": true, "br": true,
}

// line is a run of text between two block boundaries.
type line struct {
	chars  int        // runes of collapsed text
	linked int        // of which inside links
	end    rune       // its last character
	last   *html.Node // its last text node
}

// lines splits the text under root into lines, in document order.
func lines(root *html.Node) []line {
	var out []line
	var cur line
	space := true // the collapsed line so far ends with a space
	end := func() {
		if cur.last != nil && cur.chars > 0 {
			out = append(out, cur)
		}
		cur, space = line{}, true
	}
	var walk func(n *html.Node, inLink bool)
	walk = func(n *html.Node, inLink bool) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				for _, r := range c.Data {
					if unicode.IsSpace(r) {
						space = true
						continue
					}
					if space && cur.chars > 0 {
						cur.chars++ // the collapsed space before the word
					}
					space = false
					cur.chars++
					if inLink {
						cur.linked++
					}
					cur.end = r
				}
				cur.last = c
			case html.ElementNode:
				if skipped(c) {
					continue
				}
				block := blockTags[c.Data]
				if block {
					end()
				}
				walk(c, inLink || c.Data == "a")
				if block {
					end()
				}
			}
		}
	}
	walk(root, false)
	end()
	return out
}

// trimTail removes, under root, what follows the last line of at least
// longLineChars when every line after it is shorter than tailLineChars
// and not all of them are sentences. It reports whether it removed
// anything.
func trimTail(root *html.Node) bool {
	ls := lines(root)
	last := -1
	for i, l := range ls {
		if l.chars >= longLineChars {
			last = i
		}
	}
	if last < 0 || last == len(ls)-1 {
		return false
	}
	for _, l := range ls[last+1:] {
		if l.chars >= tailLineChars {
			return false
		}
	}
	if allSentences(ls[last+1:]) {
		return false
	}
	// Everything after the long line's last text node goes, at every
	// level up to root.
	for n := ls[last].last; n != nil && n != root; n = n.Parent {
		for n.NextSibling != nil {
			n.Parent.RemoveChild(n.NextSibling)
		}
	}
	return true
}

// allSentences reports whether every line of ls is a sentence: no text in
// links, and a full stop, a question or an exclamation mark at its end.
func allSentences(ls []line) bool {
	for _, l := range ls {
		if l.linked > 0 || !strings.ContainsRune(sentenceEnds, l.end) {
			return false
		}
	}
	return true
}

// sentenceEnds are the characters that end a sentence, in the scripts
// whose punctuation Unicode writes apart.
const sentenceEnds = ".!?…。！？"

package article

import (
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// The cleaning pass removes, from the main content the readability pass
// found, the boilerplate that sits inside an article's container and that
// its scoring keeps: image captions and credits, share bars, newsletter
// boxes, author boxes, lists of related links, meta lines (date, tags,
// categories) and headings left with nothing under them. Each rule looks at
// markup (element names, class and id words, link density, length), never
// at a language's words or a site.

// boilerplateWords are class or id words of containers that hold no
// article text. A word matches inside a class token ("post-share-buttons").
var boilerplateWords = []string{
	"share", "sharing", "social", "newsletter", "subscribe", "signup", "sign-up",
	"related", "recommend", "author-bio", "about-author", "author-box", "authorbox", "author-info",
	"comments", "commentlist", "comment-list", "comment-form", "respond", "cookie", "consent",
	"crumb", "pagination", "byline", "dateline", "post-meta", "entry-meta", "article-meta",
	"sidebar", "notice", "skip-link", "toc_list", "toc_container", "toc-container", "ez-toc", "table-of-contents",
	"entry-footer", "post-footer", "article-footer", "post-info", "postinfo", "entry-utility", "postmetadata", "post-tags", "article-tags",
}

// tokenWords are class or id words too common inside other words to match
// anywhere: each matches a whole token or its last part ("post-tags"), not
// a WordPress post's "tag-travel" or "category-news" classes, which name
// what the post is about.
var tokenWords = []string{"info", "footer", "date", "dates", "timestamp", "published", "author", "authors", "source", "disclaimer", "tags", "tag-list", "taglist", "categories", "meta", "metadata", "promo", "banner", "advert", "ad", "ads", "sponsor", "sponsored", "rating", "ratings", "toolbar", "pager"}

// captionWords mark a caption or a credit, removed only when short: a
// gallery's long captions are its text.
var captionWords = []string{"caption", "credit", "copyright"}

// captionMaxChars is the longest caption, in letters and digits, that
// the cleaning removes.
const captionMaxChars = 80

// cleanMaxChars is the most text, in letters and digits, that an element
// with a boilerplate class may hold and still be removed: a container
// holding more is more likely the article itself with an unlucky class
// name ("entry-content related-posts-enabled").
const cleanMaxChars = 600

// linkBlockMaxChars is the longest block of links the cleaning removes.
const linkBlockMaxChars = 200

// clean removes boilerplate under root and reports how many elements it
// removed.
func clean(root *html.Node) int {
	removed := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		var next *html.Node
		for c := n.FirstChild; c != nil; c = next {
			next = c.NextSibling
			if c.Type != html.ElementNode {
				continue
			}
			if isBoilerplate(c) {
				n.RemoveChild(c)
				removed++
				continue
			}
			walk(c)
		}
	}
	walk(root)
	removed += removeDateLines(root)
	removed += trimTrailingHeadings(root)
	return removed
}

// A date line is a block of at most dateLineMaxChars letters and digits
// that holds a <time> element and at most dateLabelMaxChars besides: a
// sentence with a date in it is longer, and most of it is not the date.
const (
	dateLineMaxChars  = 60
	dateLabelMaxChars = 25
)

// duration reports whether a <time> element gives a length of time, not
// a date: an ISO 8601 duration ("PT15M"), or a schema.org duration
// property (prepTime, cookTime, totalTime).
func duration(t *html.Node) bool {
	return strings.HasPrefix(strings.TrimSpace(attr(t, "datetime")), "P") || strings.HasSuffix(attr(t, "itemprop"), "Time")
}

// removeDateLines removes under root the date lines: the content's
// "Updated: <time>" and "3 May 2020 · 5 min read". A <time> inside a
// sentence stays.
func removeDateLines(root *html.Node) int {
	var lines []*html.Node
	for t := range descendants(root, "time") {
		if duration(t) {
			continue // a recipe's "15 – 30 Min" is its text
		}
		block := t.Parent
		for block != nil && block != root && !blockTags[block.Data] {
			block = block.Parent
		}
		if block == nil || block == root {
			continue
		}
		// The date is most of the line: its label ("Updated:",
		// "Veröffentlicht") and what follows ("· 5 min read") are short.
		if all := countAlnum(innerText(block)); all <= dateLineMaxChars && all-countAlnum(innerText(t)) <= dateLabelMaxChars {
			lines = append(lines, block)
		}
	}
	removed := 0
	for _, b := range lines {
		if b.Parent != nil {
			b.Parent.RemoveChild(b)
			removed++
		}
	}
	return removed
}

// isBoilerplate reports whether n, an element inside the main content, is
// boilerplate.
func isBoilerplate(n *html.Node) bool {
	switch n.Data {
	case "figcaption":
		return countAlnum(innerText(n)) <= captionMaxChars
	case "nav", "button", "select":
		return true
	case "rt", "rp":
		// A ruby annotation spells out how the characters above it
		// are read (Japanese furigana): in the text it would repeat
		// every annotated word.
		return true
	case "aside", "form", "footer":
		// A shop's form or a footer can hold the text itself.
		return countAlnum(innerText(n)) <= cleanMaxChars
	case "ul", "ol":
		if linkList(n) {
			return true
		}
	case "p", "div":
		// A short block that is mostly links is a "Read also" line or
		// a list of links written as paragraphs.
		if k, whole := keyTextUpTo(n, linkBlockMaxChars); whole && k.chars > 0 && 2*k.linked > k.bytes {
			return true
		}
	}
	label := classWords(n)
	if label == "" {
		return false
	}
	for _, w := range captionWords {
		// A figure says whether it has a caption ("has-caption"): it is
		// the picture, not the caption.
		if strings.Contains(label, w) && !holdsMedia(n) {
			return countAlnum(innerText(n)) <= captionMaxChars
		}
	}
	// A teaser is a card that links to another page, or, in some
	// publishing systems, the article's own lead, which links nowhere.
	for tok := range strings.FieldsSeq(label) {
		if (tok == "teaser" || tok == "teasers" || strings.HasSuffix(tok, "-teaser") || strings.HasSuffix(tok, "_teaser")) && holdsLink(n) {
			return countAlnum(innerText(n)) <= cleanMaxChars
		}
	}
	match := false
	for _, w := range boilerplateWords {
		if strings.Contains(label, w) {
			match = true
			break
		}
	}
	for tok := range strings.FieldsSeq(label) {
		if match {
			break
		}
		for _, w := range tokenWords {
			if tok == w || strings.HasSuffix(tok, "-"+w) || strings.HasSuffix(tok, "_"+w) {
				match = true
				break
			}
		}
	}
	return match && countAlnum(innerText(n)) <= cleanMaxChars
}

// holdsLink reports whether n is or holds a link.
func holdsLink(n *html.Node) bool {
	if n.Data == "a" {
		return true
	}
	for range descendants(n, "a") {
		return true
	}
	return false
}

// holdsMedia reports whether n is or holds an image, a video or a picture.
func holdsMedia(n *html.Node) bool {
	switch n.Data {
	case "img", "picture", "video", "figure", "svg", "iframe":
		return true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && holdsMedia(c) {
			return true
		}
	}
	return false
}

// linkList reports whether a list is navigation or related links: three
// items or more, each one link and hardly any text besides.
func linkList(n *html.Node) bool {
	items, linked := 0, 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode || c.Data != "li" {
			continue
		}
		items++
		text := countAlnum(innerText(c))
		links := 0
		for a := range descendants(c, "a") {
			links += countAlnum(innerText(a))
		}
		if text > 0 && links*10 >= text*9 {
			linked++
		}
	}
	return items >= 3 && linked == items
}

// descendants yields the elements named tag under n.
func descendants(n *html.Node, tag string) func(func(*html.Node) bool) {
	return func(yield func(*html.Node) bool) {
		var walk func(*html.Node) bool
		walk = func(n *html.Node) bool {
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type != html.ElementNode {
					continue
				}
				if c.Data == tag && !yield(c) {
					return false
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

// stripClasses removes from the elements under n every class but those in
// keep, as the readability pass does when it is not told to keep them.
func stripClasses(n *html.Node, keep []string) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		for i := 0; i < len(c.Attr); i++ {
			if c.Attr[i].Key != "class" || c.Attr[i].Namespace != "" {
				continue
			}
			var kept []string
			for _, name := range strings.Fields(c.Attr[i].Val) {
				if slices.Contains(keep, name) {
					kept = append(kept, name)
				}
			}
			if kept == nil {
				c.Attr = slices.Delete(c.Attr, i, i+1)
				i--
			} else {
				c.Attr[i].Val = strings.Join(kept, " ")
			}
		}
		stripClasses(c, keep)
	}
}

// classWords is n's class and id, lower-cased.
func classWords(n *html.Node) string {
	c, id := attr(n, "class"), attr(n, "id")
	if c == "" && id == "" {
		return ""
	}
	return strings.ToLower(c + " " + id)
}

// trimTrailingHeadings removes the headings that end the content: a
// heading with no text after it introduces something that is not there
// (the "Related articles" of a list the cleaning removed).
func trimTrailingHeadings(root *html.Node) int {
	removed := 0
	for {
		last := lastElement(root)
		if last == nil || !isHeading(last.Data) {
			return removed
		}
		last.Parent.RemoveChild(last)
		removed++
	}
}

// lastElement is the last element under n that has text or is a heading,
// descending into containers.
func lastElement(n *html.Node) *html.Node {
	for c := n.LastChild; c != nil; c = c.PrevSibling {
		switch c.Type {
		case html.TextNode:
			if strings.TrimSpace(c.Data) != "" {
				return nil // text ends the content
			}
		case html.ElementNode:
			if isHeading(c.Data) {
				return c
			}
			if !hasText(c) {
				continue
			}
			switch c.Data {
			case "div", "section", "article", "main":
				return lastElement(c)
			}
			return c
		}
	}
	return nil
}

// hasText reports whether n holds text that is not white space, the way
// innerText renders it, without rendering it.
func hasText(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			if strings.TrimSpace(c.Data) != "" {
				return true
			}
		case html.ElementNode:
			if !skipped(c) && hasText(c) {
				return true
			}
		}
	}
	return false
}

func isHeading(tag string) bool {
	switch tag {
	case "h1", "h2", "h3", "h4", "h5", "h6":
		return true
	}
	return false
}

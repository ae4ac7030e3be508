package article

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// The readability pass keeps one container and its similar siblings: on a
// page whose text is split over several containers, or where a block of
// another kind (a list of names, a gallery) outscores the text, it keeps a
// part only, or the wrong part. A second, independent extraction guards
// against that, as trafilatura's fallback does: the page's paragraphs
// outside navigation, headers, footers, asides, forms and containers whose
// class or id names boilerplate, each holding mostly text rather than
// links. When the readability pass missed a good share of them, the ones
// it missed join its content at their place in the page.
//
// The readability pass works on copies of the document: the tree it is
// given keeps its nodes (without scripts, styles and comments, and with
// runs of <br> turned into paragraphs), so the paragraphs are read there
// after it, without a copy or a second parse.

// Bounds on the merge, whatever the page.
const (
	// maxParagraphs is the most paragraphs read from a page.
	maxParagraphs = 1024
	// maxShingles bounds the word triples of the content's text kept to
	// recognize a paragraph it holds in another shape.
	maxShingles = 1 << 16
)

// The merge's thresholds, in characters of collapsed text.
const (
	// maxArticles is the most <article> elements holding paragraphs that
	// a page has for the merge to take place: more, and it is a list of
	// other pages' teasers.
	maxArticles = 2
	// overlapMinChars is the shortest paragraph that counts in the share
	// the readability pass kept.
	overlapMinChars = 40
	// mergeMinChars is the shortest paragraph merged into the content: a
	// shorter one is more likely a teaser, a label or a caption.
	mergeMinChars = 60
	// keptShare is the share of the paragraphs' text from which the
	// readability pass counts as having found the article: it then keeps
	// its content as it is.
	keptShare = 0.7
)

// paragraph is a block of text found by the paragraph pass.
type paragraph struct {
	node    *html.Node
	key     uint64     // textKey.hash of its text
	chars   int        // runes of its collapsed text
	article *html.Node // the <article> element holding it, if any
}

// fallbackStopWords are class and id words of containers whose paragraphs
// are not the article's. Each matches a whole word of a class or id split
// at spaces, hyphens and underscores, or that word with an "s".
var fallbackStopWords = []string{
	"share", "sharing", "social", "newsletter", "subscribe", "related", "recommend",
	"comment", "respond", "cookie", "consent", "breadcrumb", "sidebar", "footer",
	"widget", "menu", "nav", "teaser", "caption", "copyright",
}

// paragraphs collects the page's text paragraphs under root, in document
// order, at most maxParagraphs. It also reports how many <article>
// elements hold them: on a page listing several, its paragraphs are the
// teasers of other pages.
func paragraphs(root *html.Node) (out []paragraph, articles int) {
	var in *html.Node // the <article> the walk is in
	var walk func(n *html.Node) bool
	walk = func(n *html.Node) bool {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || skipped(c) || invisible(c) {
				continue
			}
			switch c.Data {
			case "nav", "footer", "aside", "header", "form":
				continue
			case "p", "blockquote", "pre":
				if p, ok := textParagraph(c); ok {
					if len(out) == maxParagraphs {
						return false
					}
					if in != nil && (len(out) == 0 || out[len(out)-1].article != in) {
						articles++ // article elements do not interleave
					}
					p.article = in
					out = append(out, p)
				}
				continue
			}
			if stopContainer(c) {
				continue
			}
			outer := in
			if c.Data == "article" {
				in = c
			}
			ok := walk(c)
			in = outer
			if !ok {
				return false
			}
		}
		return true
	}
	walk(root)
	return out, articles
}

// textParagraph reads n as a paragraph; it reports false for one that is
// mostly links, or empty.
func textParagraph(n *html.Node) (paragraph, bool) {
	k := keyText(n)
	if k.chars == 0 || 2*k.linked > k.bytes {
		return paragraph{}, false
	}
	return paragraph{node: n, key: k.hash, chars: k.chars}, true
}

// textKey identifies a paragraph's visible text with its white space
// collapsed, without building it: the paragraphs of the page and of the
// content are compared by it.
type textKey struct {
	hash          uint64 // FNV-1a of the collapsed text
	chars         int    // runes of the collapsed text
	bytes, linked int    // bytes of text, and of text inside links
}

// keyText computes n's textKey, leaving out what is never visible.
func keyText(n *html.Node) textKey {
	k, _ := keyTextUpTo(n, 0)
	return k
}

// keyTextUpTo is keyText that, given a limit over 0, stops once it has
// visited more than limit nodes or counted more than limit characters,
// and then reports false: a bounded look at a block that may be large.
func keyTextUpTo(n *html.Node, limit int) (textKey, bool) {
	const offset, prime = 14695981039346656037, 1099511628211
	k := textKey{hash: offset}
	space := false // a space is owed before the next word
	visited := 0
	var walk func(n *html.Node, inLink bool)
	walk = func(n *html.Node, inLink bool) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if visited++; limit > 0 && (visited > limit || k.chars > limit) {
				return
			}
			switch c.Type {
			case html.TextNode:
				k.bytes += len(c.Data)
				if inLink {
					k.linked += len(c.Data)
				}
				for _, r := range c.Data {
					if unicode.IsSpace(r) {
						space = k.chars > 0
						continue
					}
					if space {
						k.hash = (k.hash ^ ' ') * prime
						k.chars++
						space = false
					}
					var buf [utf8.UTFMax]byte
					for _, b := range buf[:utf8.EncodeRune(buf[:], r)] {
						k.hash = (k.hash ^ uint64(b)) * prime
					}
					k.chars++
				}
			case html.ElementNode:
				if !skipped(c) && !invisible(c) {
					walk(c, inLink || c.Data == "a")
				}
			}
		}
	}
	walk(n, false)
	return k, limit <= 0 || visited <= limit && k.chars <= limit
}

// stopContainer reports whether n is a container whose class or id names
// boilerplate. The page's outer containers are never one: a body's or an
// article's classes describe the whole page ("has-sidebar").
func stopContainer(n *html.Node) bool {
	switch n.Data {
	case "body", "html", "main", "article":
		return false
	}
	label := classWords(n)
	if label == "" {
		return false
	}
	for _, tok := range strings.FieldsFunc(label, func(r rune) bool { return r == ' ' || r == '-' || r == '_' }) {
		tok = strings.TrimSuffix(tok, "s")
		for _, w := range fallbackStopWords {
			if tok == strings.TrimSuffix(w, "s") {
				return true
			}
		}
	}
	return false
}

// mergeParagraphs adds to content, the readability pass's article, the
// page's paragraphs it missed when it missed a good share of them (see
// keptShare), each at its place in the page: before the content's copy of
// the next paragraph it kept, else after the last. The paragraphs are
// moved out of root, which the caller no longer needs. It reports how
// many it added.
func mergeParagraphs(content, root *html.Node, base *url.URL) int {
	paras, articles := paragraphs(root)
	if len(paras) == 0 || articles > maxArticles {
		return 0
	}
	kept := keptParagraphs(content)
	// held[i] is where the content holds paragraph i: its copy, or the
	// content itself when it holds the text in another shape (a child
	// removed by the cleaning, a paragraph split or joined); nil when it
	// does not hold it.
	held := make([]*html.Node, len(paras))
	total, exact := 0, 0
	for i, p := range paras {
		n, ok := kept[p.key]
		held[i] = n
		if p.chars >= overlapMinChars {
			total += p.chars
			if ok {
				exact += p.chars
			}
		}
	}
	// Most pages are done here: the content holds the paragraphs as they
	// are. The others are read again for the paragraphs it holds in
	// another shape.
	if total == 0 || float64(exact) >= keptShare*float64(total) {
		return 0
	}
	shingles := make(map[uint64]struct{})
	eachShingle(textOf(content), func(h uint64) bool {
		shingles[h] = struct{}{}
		return len(shingles) < maxShingles
	})
	found := exact
	for i, p := range paras {
		if held[i] == nil && holds(shingles, textOf(p.node)) {
			held[i] = content
			if p.chars >= overlapMinChars {
				found += p.chars
			}
		}
	}
	if float64(found) >= keptShare*float64(total) {
		return 0
	}
	added := 0
	for i, p := range paras {
		if held[i] != nil || p.chars < mergeMinChars {
			continue
		}
		var next *html.Node
		for _, n := range held[i+1:] {
			if n != nil && n != content {
				next = n
				break
			}
		}
		if p.node.Parent != nil {
			p.node.Parent.RemoveChild(p.node)
		}
		prepareMerged(p.node, base)
		if next != nil {
			next.Parent.InsertBefore(p.node, next)
		} else {
			content.AppendChild(p.node)
		}
		held[i] = p.node
		added++
	}
	return added
}

// keptParagraphs maps the textKey hash of each paragraph in content to
// the paragraph.
func keptParagraphs(content *html.Node) map[uint64]*html.Node {
	kept := make(map[uint64]*html.Node)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			switch c.Data {
			case "p", "blockquote", "pre":
				if k := keyText(c); k.chars > 0 {
					if _, dup := kept[k.hash]; !dup {
						kept[k.hash] = c
					}
				}
			}
			walk(c)
		}
	}
	walk(content)
	return kept
}

// prepareMerged readies a paragraph for the content as the readability
// pass readies its own: link and media addresses made absolute, style and
// event attributes dropped, hidden elements removed.
func prepareMerged(n *html.Node, base *url.URL) {
	attrs := n.Attr[:0]
	for _, a := range n.Attr {
		switch {
		case a.Key == "style" || strings.HasPrefix(a.Key, "on"):
			continue
		case a.Key == "href" || a.Key == "src" || a.Key == "poster":
			if !hasScheme(a.Val, "data") {
				u, ok := resolve(base, a.Val)
				if !ok {
					u = ""
				}
				a.Val = u
			}
		}
		attrs = append(attrs, a)
	}
	n.Attr = attrs
	var next *html.Node
	for c := n.FirstChild; c != nil; c = next {
		next = c.NextSibling
		if c.Type != html.ElementNode {
			continue
		}
		if skipped(c) || invisible(c) {
			n.RemoveChild(c)
			continue
		}
		prepareMerged(c, base)
	}
}

// eachShingle calls f with a hash of each run of three words of text (of
// the whole text when it has fewer), until f returns false. It reads the
// words in place: a long text costs no slice of its words.
func eachShingle(text string, f func(uint64) bool) {
	var sh shingler
	if !sh.feed(text, f) {
		return
	}
	if h, ok := sh.endWord(); ok && !f(h) {
		return
	}
	if h, ok := sh.short(); ok {
		f(h)
	}
}

// shingler hashes the word triples of a text read a piece at a time:
// each word is hashed once, as it is read, and a triple's hash combines
// its words' hashes, so that neither the text nor its words are copied.
type shingler struct {
	word  uint64    // FNV-1a hash of the word being read
	inW   bool      // a word is being read
	last  [3]uint64 // the hashes of the last three words
	words int       // words read
}

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

// feed reads s, a piece of text, calling f with the hash of each triple
// a word of it ends, until f returns false; it reports whether f did
// not. A word at the end of s goes on in the next piece.
func (sh *shingler) feed(s string, f func(uint64) bool) bool {
	for i := 0; i < len(s); {
		b, size := s[i], 1
		space := b == ' ' || '\t' <= b && b <= '\r'
		if b >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			space = unicode.IsSpace(r)
		}
		if space {
			if h, ok := sh.endWord(); ok && !f(h) {
				return false
			}
		} else {
			if !sh.inW {
				sh.word, sh.inW = fnvOffset, true
			}
			for j := i; j < i+size; j++ {
				sh.word = (sh.word ^ uint64(s[j])) * fnvPrime
			}
		}
		i += size
	}
	return true
}

// endWord ends the word being read, if any; it returns the hash of the
// triple the word ends, and false before the third word.
func (sh *shingler) endWord() (uint64, bool) {
	if !sh.inW {
		return 0, false
	}
	sh.inW = false
	sh.last[0], sh.last[1], sh.last[2] = sh.last[1], sh.last[2], sh.word
	sh.words++
	if sh.words < 3 {
		return 0, false
	}
	return combine(sh.last[:]), true
}

// short returns, for a text of one or two words, the hash that stands for
// its triples: its words' combined.
func (sh *shingler) short() (uint64, bool) {
	if sh.words == 0 || sh.words >= 3 {
		return 0, false
	}
	return combine(sh.last[3-sh.words:]), true
}

// reset forgets the words read: the next word starts a new text.
func (sh *shingler) reset() { *sh = shingler{} }

// combine hashes a run of word hashes.
func combine(words []uint64) uint64 {
	h := uint64(fnvOffset)
	for _, w := range words {
		h = (h ^ w) * fnvPrime
	}
	return h
}

// holds reports whether at least half of text's word triples are in
// shingles: the content holds the paragraph, maybe less a link or a
// caption that the cleaning removed from it.
func holds(shingles map[uint64]struct{}, text string) bool {
	n, in := 0, 0
	eachShingle(text, func(h uint64) bool {
		n++
		if _, ok := shingles[h]; ok {
			in++
		}
		return true
	})
	return n > 0 && 2*in >= n
}

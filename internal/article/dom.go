package article

import (
	"bytes"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"codeberg.org/readeck/go-readability/v2/render"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// attr returns n's attribute key, or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return true
		}
	}
	return false
}

func firstElementChild(n *html.Node) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			return c
		}
	}
	return nil
}

// childElement returns n's first child element named tag.
func childElement(n *html.Node, tag string) *html.Node {
	if n == nil {
		return nil
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag {
			return c
		}
	}
	return nil
}

// findElement finds the document's html, head or body element (or an
// element directly under one of them) without walking the whole tree: the
// HTML parser always puts them there.
func findElement(root *html.Node, tag string) *html.Node {
	doc := childElement(root, "html")
	if doc == nil {
		if root.Type == html.ElementNode && root.Data == "html" {
			doc = root
		} else {
			return nil
		}
	}
	switch tag {
	case "html":
		return doc
	case "head", "body":
		return childElement(doc, tag)
	}
	if e := childElement(childElement(doc, "head"), tag); e != nil {
		return e
	}
	return childElement(childElement(doc, "body"), tag)
}

// documentDir is the text direction the page declares on body or html.
func documentDir(root *html.Node) string {
	if b := findElement(root, "body"); b != nil && attr(b, "dir") != "" {
		return attr(b, "dir")
	}
	if h := findElement(root, "html"); h != nil {
		return attr(h, "dir")
	}
	return ""
}

func normalizeDir(dir string) string {
	switch d := strings.ToLower(strings.TrimSpace(dir)); d {
	case "ltr", "rtl", "auto":
		return d
	}
	return ""
}

// collapseSpace trims s and replaces each run of white space by one space,
// without allocating when s is already clean.
func collapseSpace(s string) string {
	clean := true
	prevSpace := true // a leading space is not clean
	for _, r := range s {
		sp := unicode.IsSpace(r)
		if sp && (prevSpace || r != ' ') {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean && !prevSpace {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// formatTime formats a publication time as RFC 3339. A timestamp written
// without a zone is parsed in time.Local by the readability library; it is
// read as UTC instead so that the guest (where Local is UTC) and a native
// caller in another zone answer the same.
func formatTime(t time.Time) string {
	if t.Location() == time.Local && time.Local != time.UTC {
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	}
	return t.Format(time.RFC3339)
}

// renderHTML serializes n; sizeHint is a guess at the output's length.
func renderHTML(n *html.Node, sizeHint int) string {
	var sb strings.Builder
	sb.Grow(sizeHint)
	if err := html.Render(&sb, n); err != nil {
		return "" // only a failing writer errors, and a Builder does not fail
	}
	return sb.String()
}

// skipped reports whether an element never holds visible content.
func skipped(n *html.Node) bool {
	switch n.Data {
	case "script", "style", "noscript", "template", "head", "title", "meta", "link":
		return true
	}
	return false
}

// invisible reports whether n is hidden the ways Readability.js checks.
func invisible(n *html.Node) bool {
	if hasAttr(n, "hidden") || attr(n, "aria-hidden") == "true" {
		return true
	}
	style := attr(n, "style")
	if style == "" {
		return false
	}
	// The style is compacted (lower case, no spaces) in a buffer on the
	// stack: the walks ask this of every element, and many have a style.
	var buf [128]byte
	compact := buf[:0]
	for i := 0; i < len(style); i++ {
		c := style[i]
		if c == ' ' {
			continue
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		compact = append(compact, c)
	}
	return bytes.Contains(compact, []byte("display:none")) || bytes.Contains(compact, []byte("visibility:hidden"))
}

// prepareFull readies the tree under root for ModeFull: it removes what a
// reader never sees and makes link and media addresses absolute, as the
// readability pass does for the main content. JSON-LD scripts move to the
// head instead, where the readability pass still finds them for metadata.
func prepareFull(root *html.Node, base *url.URL) {
	doc := root
	if root.Parent != nil {
		doc = root.Parent
	}
	prepareFullIn(root, findElement(doc, "head"), base)
}

func prepareFullIn(n, head *html.Node, base *url.URL) {
	var next *html.Node
	for c := n.FirstChild; c != nil; c = next {
		next = c.NextSibling
		if c.Type == html.CommentNode {
			n.RemoveChild(c)
			continue
		}
		if c.Type != html.ElementNode {
			continue
		}
		if c.Data == "script" && head != nil && strings.EqualFold(strings.TrimSpace(attr(c, "type")), "application/ld+json") {
			n.RemoveChild(c)
			head.AppendChild(c)
			continue
		}
		if skipped(c) || invisible(c) {
			n.RemoveChild(c)
			continue
		}
		for i := range c.Attr {
			switch a := &c.Attr[i]; a.Key {
			case "href", "src", "poster":
				if hasScheme(a.Val, "data") {
					break // inline media stays as it is
				}
				if u, ok := resolve(base, a.Val); ok {
					a.Val = u
				} else {
					a.Val = "" // a script or an unparsable address goes nowhere
				}
			}
		}
		prepareFullIn(c, head, base)
	}
}

// content is what the body fields of a Result are made of, plus the signals
// the quality score reads.
type content struct {
	text     string
	markdown string
	links    []Link
	media    []Media

	chars      int // letters and digits in the content
	linkChars  int // of which inside links
	paragraphs int // paragraphs of at least paragraphChars
}

// paragraphChars is the length, in letters and digits, from which a <p>
// counts as a real paragraph for the quality score.
const paragraphChars = 80

// analyze renders the content under root. Without full, it only computes
// the text and the quality signals (ModeMetadata and ModeCustom).
func analyze(root *html.Node, base *url.URL, full bool) *content {
	c := &content{text: innerText(root)}
	w := walker{c: c, base: base, collect: full}
	w.walk(root, false)
	if full {
		// Links add their addresses to the text; most content has few.
		c.markdown = markdown(root, base, len(c.text)+len(c.text)/4)
		if c.links == nil {
			c.links = []Link{}
		}
		if c.media == nil {
			c.media = []Media{}
		}
	}
	return c
}

func (c *content) signals() Signals {
	if c == nil {
		return Signals{}
	}
	return Signals{Chars: c.chars, LinkChars: c.linkChars, Paragraphs: c.paragraphs}
}

// walker collects links, media and the quality signals in one pass.
type walker struct {
	c       *content
	base    *url.URL
	collect bool
}

// walk visits n's subtree and returns the letters and digits in it.
func (w *walker) walk(n *html.Node, inLink bool) int {
	switch n.Type {
	case html.TextNode:
		k := countAlnum(n.Data)
		w.c.chars += k
		if inLink {
			w.c.linkChars += k
		}
		return k
	case html.ElementNode:
		if skipped(n) {
			return 0
		}
		switch n.Data {
		case "a":
			if w.collect {
				w.link(n)
			}
			inLink = true
		case "img", "video", "audio":
			if w.collect {
				w.medium(n)
			}
		}
	case html.DocumentNode:
	default:
		return 0
	}
	k := 0
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		k += w.walk(c, inLink)
	}
	if n.Type == html.ElementNode && n.Data == "p" && k >= paragraphChars {
		w.c.paragraphs++
	}
	return k
}

func (w *walker) link(a *html.Node) {
	u, ok := resolve(w.base, attr(a, "href"))
	if !ok || u == "" || strings.HasPrefix(u, "#") {
		return // no target, an in-page anchor, or a script
	}
	w.c.links = append(w.c.links, Link{URL: u, Text: textOf(a)})
}

func (w *walker) medium(n *html.Node) {
	m := Media{Type: MediaImage}
	var src string
	switch n.Data {
	case "img":
		src = imageSource(n)
		m.Alt = collapseSpace(attr(n, "alt"))
	case "video", "audio":
		m.Type = MediaVideo
		if n.Data == "audio" {
			m.Type = MediaAudio
		}
		src = strings.TrimSpace(attr(n, "src"))
		for s := n.FirstChild; s != nil && src == ""; s = s.NextSibling {
			if s.Type == html.ElementNode && s.Data == "source" {
				src = strings.TrimSpace(attr(s, "src"))
			}
		}
		m.Alt = collapseSpace(attr(n, "title"))
	}
	if hasScheme(src, "data") {
		return // inline data: no address, and often large
	}
	u, ok := resolve(w.base, src)
	if !ok || u == "" {
		return
	}
	m.URL = u
	w.c.media = append(w.c.media, m)
}

// imageSource is an image's address: src, else a lazy-loading attribute,
// else the first srcset candidate.
func imageSource(img *html.Node) string {
	src := strings.TrimSpace(attr(img, "src"))
	if src != "" && !hasScheme(src, "data") {
		return src
	}
	for _, k := range [...]string{"data-src", "data-original", "data-lazy-src"} {
		if v := strings.TrimSpace(attr(img, k)); v != "" {
			return v
		}
	}
	if set := strings.TrimSpace(attr(img, "srcset")); set != "" {
		if i := strings.IndexAny(set, " \t\n,"); i >= 0 {
			set = set[:i]
		}
		return set
	}
	return src
}

// resolve makes ref absolute against base. It reports false for references
// that are not addresses (javascript:, vbscript:, data:) or do not parse.
func resolve(base *url.URL, ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", true
	}
	if hasScheme(ref, "javascript") || hasScheme(ref, "vbscript") || hasScheme(ref, "data") {
		return "", false
	}
	if base == nil || ref[0] == '#' {
		return ref, true // nothing to resolve against, or an in-page anchor
	}
	if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") {
		return ref, true // the common case, without parsing
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	return base.ResolveReference(u).String(), true
}

// hasScheme reports whether ref starts with scheme and a colon, ignoring
// case and leading white space.
func hasScheme(ref, scheme string) bool {
	ref = strings.TrimLeftFunc(ref, unicode.IsSpace)
	return len(ref) > len(scheme) && ref[len(scheme)] == ':' && strings.EqualFold(ref[:len(scheme)], scheme)
}

// textOf is n's text content, white space collapsed.
func textOf(n *html.Node) string {
	if c := n.FirstChild; c != nil && c.NextSibling == nil && c.Type == html.TextNode {
		return collapseSpace(c.Data) // the common case, often without allocating
	}
	var sb strings.Builder
	var text func(*html.Node)
	text = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				sb.WriteString(c.Data)
			case html.ElementNode:
				if !skipped(c) {
					text(c)
				}
			}
		}
	}
	text(n)
	return collapseSpace(sb.String())
}

// innerText renders n's text the way the readability library does, so that
// the main text compares with Readability.js' output.
func innerText(n *html.Node) string { return render.InnerText(n) }

func countAlnum(s string) int {
	k := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if 'a' <= b|0x20 && b|0x20 <= 'z' || '0' <= b && b <= '9' {
				k++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			k++
		}
		i += size
	}
	return k
}

// selectAll answers the custom mode's selectors on the untouched page.
func selectAll(root *html.Node, sels []compiledSelector) map[string][]string {
	out := make(map[string][]string, len(sels))
	for _, s := range sels {
		matches := cascadia.QueryAll(root, s.sel)
		texts := make([]string, 0, len(matches))
		for _, m := range matches {
			texts = append(texts, strings.TrimSpace(innerText(m)))
		}
		out[s.src] = texts
	}
	return out
}

type compiledSelector struct {
	src string
	sel cascadia.Matcher
}

package native

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// textCollector appends the text of a subtree to buf with every run of white
// space (unicode.IsSpace, so NBSP too) collapsed to one ASCII space and no
// space at either end. Element boundaries of block-level elements and <br>
// count as white space, so "<li>a</li><li>b</li>" reads "a b", not "ab",
// while inline markup such as "<b>w</b>ord" stays "word".
//
// max bounds len(buf); collect reports false once it has been passed, and
// stops early, so a huge subtree never grows the buffer far past the budget.
type textCollector struct {
	buf     []byte
	max     int
	pending bool // a space is owed before the next non-space rune
}

// collect appends the visible text below n. n itself is never skipped, so
// a matched <noscript> still yields its text.
func (t *textCollector) collect(n *html.Node) bool {
	// Walk with the tree's own pointers: no recursion and no stack, whatever
	// the nesting depth.
	c := n.FirstChild
	for c != nil {
		enter := false
		switch c.Type {
		case html.TextNode:
			t.write(c.Data)
			if len(t.buf) > t.max {
				return false
			}
		case html.ElementNode:
			if !hidden(c.DataAtom) {
				enter = true
				if breaks(c.DataAtom) {
					t.pending = true
				}
			}
		}
		if enter && c.FirstChild != nil {
			c = c.FirstChild
			continue
		}
		c = t.leave(c, n)
	}
	return true
}

// leave returns the node that follows c's subtree in a walk of root,
// noting the word break owed for each block element closed on the way.
func (t *textCollector) leave(c, root *html.Node) *html.Node {
	for c != root {
		if c.Type == html.ElementNode && breaks(c.DataAtom) {
			t.pending = true
		}
		if c.NextSibling != nil {
			return c.NextSibling
		}
		c = c.Parent
	}
	return nil
}

func (t *textCollector) write(s string) {
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if isSpace(r) {
			t.pending = true
			i += size
			continue
		}
		if t.pending && len(t.buf) > 0 {
			t.buf = append(t.buf, ' ')
		}
		t.pending = false
		// Copy the whole run of non-space bytes at once.
		j := i + size
		for j < len(s) {
			r, size := rune(s[j]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(s[j:])
			}
			if isSpace(r) {
				break
			}
			j += size
		}
		t.buf = append(t.buf, s[i:j]...)
		i = j
	}
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v':
		return true
	}
	return r >= utf8.RuneSelf && unicode.IsSpace(r)
}

// rawText reports the elements whose text is returned as written (only
// trimmed) when they are themselves the match: collapsing white space would
// alter the JSON of a <script type="application/ld+json">.
func rawText(a atom.Atom) bool { return a == atom.Script || a == atom.Style }

// rawContent returns the trimmed text children of a raw-text element.
func rawContent(n *html.Node) string {
	if c := n.FirstChild; c != nil && c.NextSibling == nil && c.Type == html.TextNode {
		return strings.TrimSpace(c.Data)
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.TrimSpace(b.String())
}

// hidden reports elements whose content is never rendered as text.
func hidden(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Noscript, atom.Template:
		return true
	}
	return false
}

// breaks reports elements whose boundaries separate words when rendered.
func breaks(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Body,
		atom.Br, atom.Caption, atom.Dd, atom.Details, atom.Dialog, atom.Div,
		atom.Dl, atom.Dt, atom.Fieldset, atom.Figcaption, atom.Figure,
		atom.Footer, atom.Form, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5,
		atom.H6, atom.Head, atom.Header, atom.Hgroup, atom.Hr, atom.Html,
		atom.Li, atom.Main, atom.Nav, atom.Ol, atom.Option, atom.P, atom.Pre,
		atom.Section, atom.Summary, atom.Table, atom.Tbody, atom.Td,
		atom.Tfoot, atom.Th, atom.Thead, atom.Title, atom.Tr, atom.Ul:
		return true
	}
	return false
}

// nextIn returns the node after n in a pre-order walk of root's
// descendants, or nil when the walk is done.
func nextIn(n, root *html.Node) *html.Node {
	if n.FirstChild != nil {
		return n.FirstChild
	}
	for n != root {
		if n.NextSibling != nil {
			return n.NextSibling
		}
		n = n.Parent
	}
	return nil
}

package article

import (
	"strings"
	"unicode"

	"github.com/riptidecrawler/riptide-poold/internal/article/metadata"
	"golang.org/x/net/html"
)

// Many articles end with their author's name set apart as a signature:
// alone on the last line, in bold or italics, or aligned right. A page
// that names its author nowhere else (no structured data, no byline)
// names it there.

// signatureMaxChars is the longest signature, in runes.
const signatureMaxChars = 40

// signature returns the name that ends the content under root, set apart
// as a signature, or "". It reads the content before the tail trim, which
// removes such a line.
func signature(root *html.Node) string {
	ls := lines(root)
	if len(ls) < 2 {
		return "" // a name alone is no article's ending
	}
	last := ls[len(ls)-1]
	if last.chars > signatureMaxChars || last.linked > 0 {
		return ""
	}
	block := last.last.Parent
	for block != nil && block != root && !blockTags[block.Data] {
		block = block.Parent
	}
	if block == nil || block == root {
		return ""
	}
	text := textOf(block)
	if !setApart(block, text) {
		return ""
	}
	words := strings.Fields(text)
	if len(words) < 2 || len(words) > 4 {
		return ""
	}
	for _, w := range words {
		if r := []rune(w)[0]; !unicode.IsUpper(r) {
			return ""
		}
	}
	if names := metadata.Names(text); len(names) == 1 && names[0] == text {
		return text
	}
	return ""
}

// setApart reports whether block, whose text is text, sets it apart: it
// is aligned right, or one bold or italic element holds all of it.
func setApart(block *html.Node, text string) bool {
	if strings.EqualFold(attr(block, "align"), "right") || strings.Contains(strings.ReplaceAll(strings.ToLower(attr(block, "style")), " ", ""), "text-align:right") {
		return true
	}
	for n := block; n != nil; {
		var only *html.Node // n's one child element, when its other children are blank
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case c.Type == html.TextNode && strings.TrimSpace(c.Data) != "":
				return false
			case c.Type == html.ElementNode && only != nil:
				return false
			case c.Type == html.ElementNode:
				only = c
			}
		}
		if only == nil {
			return false
		}
		switch only.Data {
		case "b", "strong", "i", "em":
			return textOf(only) == text
		}
		n = only
	}
	return false
}

package native

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/net/html"
)

// Parsel's pseudo-elements
//
// Scrapy's selectors (parsel) end a CSS selector with ::text or
// ::attr(name) to answer text nodes or attribute values instead of
// elements, and users paste such selectors as they are. cascadia knows
// neither, so the pseudo-element is taken off each selector of the group
// before cascadia compiles the rest, and the answer follows parsel's
// translation to XPath:
//
//	a::attr(href)   descendant-or-self::a/@href     the attribute of each a
//	p::text         descendant-or-self::p/text()    each text child of each p
//	p ::text        .../p/descendant-or-self::text() every text node in each p
//	p *::text       the same
//	::text          every text node of the document
//	p ::attr(id)    the attribute of each p and of every element inside one
//
// Text nodes answer their text as written (white space kept, script and
// style content included, as text() does); attributes their value. Every
// selector of a group must end in the same pseudo-element, or none.

// pseudoElement is the pseudo-element that ends a selector, if any.
type pseudoElement struct {
	// text is set for ::text, attr for ::attr(name); neither for none.
	text bool
	attr string
	// inside is set when the pseudo-element follows a descendant
	// combinator (p ::text, p *::text): it applies to the matched
	// elements' whole subtrees, not their children.
	inside bool
}

func (p pseudoElement) none() bool { return !p.text && p.attr == "" }

// splitPseudo takes the pseudo-elements off the selectors of group src
// and returns the rest, which cascadia compiles, and the one
// pseudo-element they share.
func splitPseudo(src string) (rest string, pe pseudoElement, err error) {
	if !strings.Contains(src, "::") {
		return src, pe, nil
	}
	parts := splitGroup(src)
	for i, part := range parts {
		sel, p, err := cutPseudo(part)
		if err != nil {
			return "", pe, err
		}
		if i > 0 && p != pe {
			return "", pe, fmt.Errorf("every selector of a group must end in the same pseudo-element (%s)", parts[0])
		}
		pe, parts[i] = p, sel
	}
	return strings.Join(parts, ","), pe, nil
}

// cutPseudo takes the pseudo-element off the end of one selector. A
// selector with nothing before it (::text) stands for the document's root
// element and everything in it.
func cutPseudo(sel string) (string, pseudoElement, error) {
	var pe pseudoElement
	s := strings.TrimRight(sel, " \t\n\r\f")
	i := strings.LastIndex(s, "::")
	if i < 0 {
		return sel, pe, nil
	}
	name := strings.ToLower(s[i+2:])
	switch {
	case name == "text":
		pe.text = true
	case strings.HasPrefix(name, "attr(") && strings.HasSuffix(name, ")"):
		pe.attr = strings.TrimSpace(s[i+2+len("attr(") : len(s)-1])
		if pe.attr == "" || strings.ContainsAny(pe.attr, " \t\n\r\f\"'/=<>()") {
			return "", pe, fmt.Errorf("invalid attribute name in %q", s[i:])
		}
	default:
		// Left for cascadia, which knows ::before and its kin and
		// refuses them.
		return sel, pe, nil
	}
	rest := s[:i]
	trimmed := strings.TrimRight(rest, " \t\n\r\f")
	switch {
	case trimmed == "":
		return ":root", pseudoElement{text: pe.text, attr: pe.attr, inside: true}, nil
	case trimmed != rest:
		pe.inside = true // p ::text
	case strings.HasSuffix(trimmed, " *"), strings.HasSuffix(trimmed, ">*"), trimmed == "*":
		if trimmed != "*" {
			pe.inside = true // p *::text
			trimmed = strings.TrimRight(strings.TrimSuffix(trimmed, "*"), " \t\n\r\f")
			if strings.HasSuffix(trimmed, ">") {
				// p > *::text: the text of p's child elements' subtrees;
				// rare enough to refuse rather than approximate.
				return "", pe, fmt.Errorf("a pseudo-element after > * is not supported")
			}
		}
	}
	return trimmed, pe, nil
}

// splitGroup splits a selector group at its top-level commas, outside
// strings, brackets, parentheses and escapes.
func splitGroup(s string) []string {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b == '\\':
			i++
		case quote != 0:
			if b == quote {
				quote = 0
			}
		case b == '"' || b == '\'':
			quote = b
		case b == '(' || b == '[':
			depth++
		case b == ')' || b == ']':
			depth--
		case b == ',' && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// pseudoAttr returns the attribute that spec's compiled selector asks for:
// spec's own, or the one its ::attr() names, which may then come with
// neither an attribute nor another output.
func (c *CSS) pseudoAttr(spec CSSSpec, sel *selector, attr string) (string, error) {
	pe := sel.pseudo
	if pe.none() {
		return attr, nil
	}
	if spec.Attribute != "" || spec.Output != OutputText {
		return "", &SpecError{Field: "selector", Value: spec.Selector, Err: fmt.Errorf("a pseudo-element cannot be combined with an attribute or an HTML output")}
	}
	if pe.attr != "" {
		return strings.ToLower(pe.attr), nil
	}
	return "", nil
}

// selectPseudo answers a selector that ends in ::text, or in ::attr()
// after a descendant combinator, from doc's tree; want and look are as
// for Select. The walk is bounded as Select's is: ctx is checked every
// every nodes (checkEvery of the selector's bound on one element), and the
// result by MaxResultBytes.
func (c *CSS) selectPseudo(ctx context.Context, root *html.Node, sel *selector, want, look, every int) (values []string, truncated bool, err error) {
	pe := sel.pseudo
	attr := strings.ToLower(pe.attr)
	budget := c.limits.MaxResultBytes
	visited := 0
	emit := func(v string) bool {
		if len(v) > budget {
			err = c.tooLarge()
			return false
		}
		budget -= len(v)
		values = append(values, v)
		return len(values) < look
	}
	// each visits the nodes that answer, in document order, and stops
	// when emit says so.
	for n := root.FirstChild; n != nil; {
		if visited++; visited%every == 0 {
			if err := ctx.Err(); err != nil {
				return nil, false, err
			}
		}
		if n.Type != html.ElementNode || !sel.group.Match(n) {
			n = nextIn(n, root)
			continue
		}
		switch {
		case !pe.inside: // p::text: the text children only
			for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
				if ch.Type == html.TextNode && !emit(ch.Data) {
					return c.pseudoDone(values, want, err)
				}
			}
			n = nextIn(n, root)
			continue
		default: // the whole subtree, once, however many matches nest in it
			for d := n; d != nil; d = nextIn(d, n) {
				if visited++; visited%ctxCheckNodes == 0 {
					if err := ctx.Err(); err != nil {
						return nil, false, err
					}
				}
				var v string
				switch {
				case pe.text && d.Type == html.TextNode:
					v = d.Data
				case attr != "" && d.Type == html.ElementNode:
					var ok bool
					if v, ok = attribute(d, attr); !ok {
						continue
					}
				default:
					continue
				}
				if !emit(v) {
					return c.pseudoDone(values, want, err)
				}
			}
			n = skipSubtree(n, root)
		}
	}
	return c.pseudoDone(values, want, err)
}

func (c *CSS) pseudoDone(values []string, want int, err error) ([]string, bool, error) {
	if err != nil {
		return nil, false, err
	}
	if len(values) > want {
		return values[:want], true, nil
	}
	return values, false, nil
}

// skipSubtree returns the node after n's subtree in a walk of root.
func skipSubtree(n, root *html.Node) *html.Node {
	for n != root {
		if n.NextSibling != nil {
			return n.NextSibling
		}
		n = n.Parent
	}
	return nil
}

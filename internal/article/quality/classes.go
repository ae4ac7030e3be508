package quality

import (
	"strings"

	"golang.org/x/net/html"
)

// The classes of text-extraction errors, by where the snippet sits on the
// page: the first class whose test matches the snippet's element or one of
// its ancestors, nearest first. They name the kinds of boilerplate kept and
// content lost that the extractor's rules address, so that a report can say
// which rule to look at rather than which page.
var errorClasses = []struct {
	name string
	hint []string // substrings of a lowercased class or id
	tags []string // element names

	structural bool // what the element is rather than where it sits
}{
	{"comments", []string{"comment", "disqus", "reply", "respond"}, nil, false},
	{"share/social", []string{"share", "social", "sharing", "facebook", "twitter"}, nil, false},
	{"related/more", []string{"related", "recommend", "more-", "teaser", "popular", "also", "next", "prev"}, nil, false},
	{"newsletter/subscribe", []string{"newsletter", "subscribe", "signup", "abo", "cta", "promo"}, nil, false},
	{"cookie/consent", []string{"cookie", "consent", "gdpr", "privacy"}, nil, false},
	{"caption/credit", []string{"caption", "credit", "copyright", "photo", "image", "bild"}, []string{"figcaption", "figure"}, false},
	{"author box", []string{"author", "byline", "bio", "profile"}, nil, false},
	{"meta line", []string{"meta", "date", "time", "tag", "categor", "posted", "info"}, []string{"time"}, false},
	{"navigation/header", []string{"nav", "menu", "breadcrumb", "header", "masthead"}, []string{"nav", "header"}, false},
	{"sidebar/aside", []string{"sidebar", "aside", "widget", "rail"}, []string{"aside"}, false},
	{"footer", []string{"footer", "foot"}, []string{"footer"}, false},
	{"ad", []string{"ad-", "ads", "advert", "anzeige", "sponsor"}, nil, false},
	{"heading", nil, []string{"h1", "h2", "h3", "h4", "h5", "h6"}, true},
	{"table", nil, []string{"table", "td", "th"}, true},
	{"list", nil, []string{"ul", "ol", "li", "dl", "dd", "dt"}, true},
}

// ClassOther is the class of a snippet that no class matches; ClassAbsent
// of one not found in the page's text at all (in a script, an attribute or
// split across elements).
const (
	ClassOther  = "other"
	ClassAbsent = "not in page text"
)

// ErrorClassNames lists the classes in report order.
func ErrorClassNames() []string {
	names := make([]string, 0, len(errorClasses)+2)
	for _, c := range errorClasses {
		names = append(names, c.name)
	}
	return append(names, ClassOther, ClassAbsent)
}

// Classifier finds where snippets sit on one page.
type Classifier struct {
	texts map[*html.Node]string // element -> its collapsed text
	order []*html.Node          // elements, deepest last within each subtree
}

// NewClassifier parses page for ClassOf.
func NewClassifier(page string) (*Classifier, error) {
	root, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, err
	}
	c := &Classifier{texts: make(map[*html.Node]string)}
	c.collect(root)
	return c, nil
}

// collect records n's text and returns it raw.
func (c *Classifier) collect(n *html.Node) string {
	switch n.Type {
	case html.TextNode:
		return n.Data
	case html.ElementNode:
		switch n.Data {
		case "script", "style", "noscript", "template":
			return ""
		}
	}
	var sb strings.Builder
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		// Inline elements join their neighbours' words; others separate.
		block := ch.Type == html.ElementNode && !inline[ch.Data]
		if block {
			sb.WriteByte(' ')
		}
		sb.WriteString(c.collect(ch))
		if block {
			sb.WriteByte(' ')
		}
	}
	if n.Type == html.ElementNode {
		c.texts[n] = collapse(sb.String())
		c.order = append(c.order, n)
	}
	return sb.String()
}

// ClassOf returns the error class of snippet on the page.
func (c *Classifier) ClassOf(snippet string) string {
	snippet = collapse(snippet)
	// Children are appended before their parents, so the first element
	// holding the snippet is the deepest one.
	var at *html.Node
	for _, n := range c.order {
		if strings.Contains(c.texts[n], snippet) {
			at = n
			break
		}
	}
	if at == nil {
		return ClassAbsent
	}
	// Where the snippet sits (a comment section, a share bar) says more
	// than what it is (a list item), so structural classes come last.
	for _, structural := range []bool{false, true} {
		for n := at; n != nil; n = n.Parent {
			if n.Type != html.ElementNode {
				continue
			}
			label := strings.ToLower(attrOf(n, "class") + " " + attrOf(n, "id"))
			for _, ec := range errorClasses {
				if ec.structural != structural {
					continue
				}
				for _, t := range ec.tags {
					if n.Data == t {
						return ec.name
					}
				}
				for _, h := range ec.hint {
					if strings.Contains(label, h) {
						return ec.name
					}
				}
			}
		}
	}
	return ClassOther
}

var inline = map[string]bool{
	"a": true, "abbr": true, "b": true, "bdi": true, "bdo": true, "cite": true, "code": true,
	"data": true, "dfn": true, "em": true, "font": true, "i": true, "kbd": true, "mark": true,
	"q": true, "s": true, "samp": true, "small": true, "span": true, "strong": true, "sub": true,
	"sup": true, "time": true, "u": true, "var": true,
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

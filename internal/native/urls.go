package native

import (
	"strings"
	"sync"

	whatwg "github.com/nlnwa/whatwg-url/url"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Absolute URLs
//
// A spec may ask for the values of URL-valued attributes (urlAttribute)
// as absolute URLs, resolved as a browser resolves them: against the
// document's base URL, which is its first <base href> resolved against
// the request's URL, or the request's URL when there is no such element
// or its href does not parse (HTML's "document base URL"), with the
// WHATWG URL Standard's parser (github.com/nlnwa/whatwg-url, which passes
// the web-platform-tests URL suite). A value that does not parse, for
// instance any relative one when the request has no URL, comes back as
// written and is counted in Unresolved, never an error: a page's broken
// link is not the caller's fault.

// urlAttribute reports the attributes whose value is a URL, or in srcset a
// list of URLs with descriptors, in HTML, SVG and MathML.
func urlAttribute(name string) bool {
	switch name {
	case "href", "src", "srcset", "action", "formaction", "poster", "data",
		"cite", "background", "longdesc", "manifest", "icon", "codebase",
		"usemap", "profile", "itemid", "xlink:href":
		return true
	}
	return false
}

// baseURL is a document's base URL, found once.
type baseURL struct {
	once sync.Once
	url  *whatwg.Url // nil when there is none
}

// SetURL sets the URL that the document was fetched from, the fallback
// base URL of its absolute URLs. Call it before the document's first
// question.
func (d *Document) SetURL(u string) { d.url = u }

// base returns the document's base URL, or nil.
func (d *Document) base() *whatwg.Url {
	d.baseURL.once.Do(func() {
		var fallback *whatwg.Url
		if d.url != "" {
			if u, err := whatwg.Parse(d.url); err == nil {
				fallback = u
			}
		}
		d.baseURL.url = fallback
		href, ok := d.baseHref()
		if !ok {
			return
		}
		var (
			u   *whatwg.Url
			err error
		)
		if fallback != nil {
			u, err = fallback.Parse(href)
		} else {
			u, err = whatwg.Parse(href)
		}
		if err == nil {
			d.baseURL.url = u
		}
	})
	return d.baseURL.url
}

// baseHref returns the href of the document's first <base> element that
// has one: from the tree when it is parsed, else from the token stream,
// which a page without "<base" anywhere skips for free.
func (d *Document) baseHref() (string, bool) {
	if d.tree.Load() {
		root, err := d.Root()
		if err != nil {
			return "", false
		}
		for n := root; n != nil; n = nextIn(n, root) {
			if n.Type == html.ElementNode && n.DataAtom == atom.Base && n.Namespace == "" {
				if v, ok := attribute(n, "href"); ok {
					return v, true
				}
			}
		}
		return "", false
	}
	if !containsFold(d.src, "<base") {
		return "", false
	}
	z := html.NewTokenizer(strings.NewReader(d.src))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return "", false
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			if string(name) != "base" {
				continue
			}
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				if string(k) == "href" {
					return string(v), true
				}
			}
		}
	}
}

// containsFold reports whether s holds sub, ASCII case-insensitively.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := strings.IndexByte(s[i:], sub[0])
		if j < 0 {
			return false
		}
		i += j
		if i+len(sub) <= len(s) && strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// urlResolver makes the values of one answer absolute and counts those it
// could not.
type urlResolver struct {
	base       *whatwg.Url
	unresolved int
}

// resolve returns v, the value of attribute name, made absolute when name
// is URL-valued.
func (r *urlResolver) resolve(name, v string) string {
	if !urlAttribute(name) {
		return v
	}
	if name == "srcset" {
		return r.srcset(v)
	}
	if u, ok := r.one(v); ok {
		return u
	}
	r.unresolved++
	return v
}

func (r *urlResolver) one(v string) (string, bool) {
	var (
		u   *whatwg.Url
		err error
	)
	if r.base != nil {
		u, err = r.base.Parse(v)
	} else {
		u, err = whatwg.Parse(v)
	}
	if err != nil {
		return "", false
	}
	return u.Href(false), true
}

// srcset resolves each image candidate's URL and keeps its descriptor,
// splitting candidates as HTML's srcset parser does: a URL runs to the
// next white space, and a comma that ends it, or follows its descriptors,
// ends the candidate. A candidate that does not resolve is kept as
// written and counted.
func (r *urlResolver) srcset(v string) string {
	var b strings.Builder
	ok := true
	for s := v; ; {
		s = strings.TrimLeft(s, " \t\n\r\f,")
		if s == "" {
			break
		}
		end := strings.IndexAny(s, " \t\n\r\f")
		if end < 0 {
			end = len(s)
		}
		raw := s[:end]
		desc := ""
		s = s[end:]
		if strings.HasSuffix(raw, ",") {
			raw = strings.TrimRight(raw, ",")
		} else {
			// The descriptors run to the next comma outside parentheses.
			depth, i := 0, 0
			for ; i < len(s); i++ {
				if s[i] == '(' {
					depth++
				} else if s[i] == ')' && depth > 0 {
					depth--
				} else if s[i] == ',' && depth == 0 {
					break
				}
			}
			desc, s = strings.TrimSpace(s[:i]), s[i:]
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		if u, resolved := r.one(raw); resolved {
			b.WriteString(u)
		} else {
			ok = false
			b.WriteString(raw)
		}
		if desc != "" {
			b.WriteByte(' ')
			b.WriteString(desc)
		}
	}
	if !ok {
		r.unresolved++
	}
	return b.String()
}

// ResolveURLs makes the values that spec answered on doc absolute, in
// place, when spec asks for a URL-valued attribute (its Attribute, or the
// one its ::attr() names), and returns how many it could not resolve and
// left as written. Values of other questions are left alone. The values,
// longer now, are held to MaxResultBytes again: ErrResultTooLarge.
func (c *CSS) ResolveURLs(doc *Document, spec CSSSpec, values []string) (unresolved int, err error) {
	attr := strings.ToLower(spec.Attribute)
	if attr == "" {
		sel, err := c.sels.get(spec.Selector)
		if err != nil {
			return 0, err
		}
		attr = strings.ToLower(sel.pseudo.attr)
	}
	if !urlAttribute(attr) || len(values) == 0 {
		return 0, nil
	}
	r := urlResolver{base: doc.base()}
	size := 0
	for i, v := range values {
		values[i] = r.resolve(attr, v)
		if size += len(values[i]); size > c.limits.MaxResultBytes {
			return 0, c.tooLarge()
		}
	}
	return r.unresolved, nil
}

// attrName is an attribute's name as a URL check knows it: its key, with
// its namespace prefix for xlink:href and its kin.
func attrName(a html.Attribute) string {
	if a.Namespace != "" {
		return a.Namespace + ":" + a.Key
	}
	return a.Key
}

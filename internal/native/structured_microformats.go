package native

import (
	"regexp"
	"slices"
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Microformats
//
// microformats answers a page's microformats as extruct's "microformat"
// syntax does (mf2py 1.1.2's "items"; extruct drops its "rels" and
// "rel-urls"): every top-level microformat as
//
//	{"type": ["h-entry", ...] (sorted),
//	 "properties": {name: [value, ...]},
//	 "children": [microformat, ...]  (nested roots that are no property),
//	 "value": ...,                    (a root that is a property: its
//	                                   explicit name or url, else the
//	                                   property's plain value)
//	 "html": ...,                     (a root that is an e-* property)
//	 "shape", "coords"}               (a root that is an <area>)
//
// where a value is a string, {"html", "value"} for e-* properties, or a
// nested microformat. It follows microformats2 parsing as mf2py does:
// p-* from the value-class pattern, abbr/link title, data/input value,
// img/area alt, else the text; u-* from href, src, poster or data made
// absolute, else as p-*; dt-* from the value-class pattern (date, time
// and time zone parts joined, 12-hour times made 24-hour, ordinal dates
// made calendar dates, a time alone given the date of the microformat's
// previous dt-* property), time/ins/del datetime, abbr title, data/input
// value, else the text; e-* as inner HTML (attributes sorted, as
// BeautifulSoup writes them) and text; implied name, photo and url; and
// microformats v1 (hentry, vcard, hreview, ...) through mf2py's
// backcompat rules, which add mf2 names to v1 class names (and rel=tag
// and rel=bookmark) inside a v1 root.
//
// URLs are resolved by the WHATWG rules against the document's base, as
// the daemon resolves every URL; mf2py joins them with urljoin and leaves
// an http(s) URL as written.
//
// Bounds: microformats nest at most MaxMicroformatDepth deep (a deeper
// root answers its plain property value, or nothing as a child);
// the walk costs one per element and node visited and the bytes of every
// class attribute, text or HTML value it reads against
// MaxMicroformatBytes per call, which
// bounds the work of properties that read the same subtree again at
// every level of nesting; each microformat and each property value
// counts toward MaxStructuredItems. Past a bound the answer is cut and
// marked truncated.
const (
	MaxMicroformatDepth = 16
	MaxMicroformatBytes = 4 << 20
)

// SyntaxMicroformat is the microformats syntax's name, as extruct names it.
const SyntaxMicroformat = "microformat"

// The kinds of what a microformat's descendants hold, which decide its
// implied properties.
const (
	mfSawP uint8 = 1 << iota
	mfSawU
	mfSawDT
	mfSawE
	mfSawH
)

// mf is one microformats walk's state.
type mf struct {
	s      *structured
	budget int
	// date is the date of the microformat's last dt-* property, which a
	// later time-only dt-* property takes (the value-class pattern's
	// implied date); mf2py resets it whenever a microformat starts.
	date string
}

// microformats answers the top-level microformats of the tree below root.
func (s *structured) microformats(root *html.Node) ([]any, error) {
	m := &mf{s: s, budget: MaxMicroformatBytes}
	items := []any{}
	for n := root; n != nil; {
		if err := s.tick(); err != nil {
			return items, err
		}
		if n.Type != html.ElementNode {
			n = nextIn(n, root)
			continue
		}
		if !isElement(n) {
			n = skipSubtree(n, root) // a template's content is inert
			continue
		}
		if err := m.spend(1); err != nil {
			return items, err
		}
		class, _ := attribute(n, "class")
		if !mayBeRoot(class) {
			n = nextIn(n, root)
			continue
		}
		classes := strings.Fields(class)
		roots, bc := mfRoots(classes)
		if len(roots) == 0 {
			n = nextIn(n, root)
			continue
		}
		it, err := m.microformat(n, roots, bc, nil, hasRoot(classes), "", nil, 0)
		if it != nil {
			items = append(items, it)
		}
		if err != nil {
			return items, err
		}
		n = skipSubtree(n, root)
	}
	return items, nil
}

// spend charges n to the walk's budget.
func (m *mf) spend(n int) error {
	if m.budget -= n; m.budget < 0 {
		m.s.full = true
		return errStructuredFull
	}
	return nil
}

// mfProps gathers what a microformat's descendants give it.
type mfProps struct {
	props    map[string][]any
	children []any
	saw      uint8
}

func (p *mfProps) add(name string, v any) {
	if p.props == nil {
		p.props = map[string][]any{}
	}
	p.props[name] = append(p.props[name], v)
}

// touch makes property name exist, with no value if it has none: mf2py
// answers [] for a dt-* property without a date.
func (p *mfProps) touch(name string) {
	if p.props == nil {
		p.props = map[string][]any{}
	}
	if _, ok := p.props[name]; !ok {
		p.props[name] = []any{}
	}
}

// microformat answers the microformat whose root element is n, of types
// roots (v1 root class names when bc is set). rules are the backcompat
// rules that rewrote n's class names (those of the v1 roots above it),
// and own tells whether n's class names, as written, name a root. A root
// that is a property gets its value from its first valueProp property,
// else simple.
func (m *mf) microformat(n *html.Node, roots []string, bc bool, rules [][]bcRule, own bool, valueProp string, simple any, depth int) (map[string]any, error) {
	if !m.s.count(1) {
		return nil, errStructuredFull
	}
	m.date = ""
	// The rules that rewrite n's descendants' class names: mf2py rewrites
	// a v1 root's copy with its own rules, below the rewriting of the
	// roots above it unless n was a root as written, where theirs stopped.
	var inner [][]bcRule
	switch {
	case bc && own:
		inner = [][]bcRule{bcRulesOf(roots)}
	case bc:
		inner = append(slices.Clip(rules), bcRulesOf(roots))
	case !own:
		inner = rules
	}
	types := roots
	if bc {
		types = nil
		for _, r := range roots {
			for _, t := range backcompat[r].types {
				if !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
		}
	}
	types = slices.Clone(types)
	slices.Sort(types)

	var p mfProps
	var err error
	for c := n.FirstChild; c != nil && err == nil; c = c.NextSibling {
		if isElement(c) {
			err = m.props(c, inner, depth+1, &p)
		}
	}
	it := map[string]any{"type": stringsAny(types)}
	props := make(map[string]any, len(p.props)+3)
	for k, v := range p.props {
		props[k] = v
	}
	it["properties"] = props
	if err != nil {
		return it, err
	}
	if valueProp != "" {
		if v := p.props[valueProp]; len(v) > 0 {
			simple = v[0]
		}
	}
	if !bc {
		// Implied properties count as items too.
		if _, ok := p.props["name"]; !ok && p.saw&(mfSawP|mfSawE|mfSawH) == 0 {
			name, err := m.impliedName(n)
			if err != nil {
				return it, err
			}
			if !m.s.count(1) {
				return it, errStructuredFull
			}
			props["name"] = []any{name}
		}
		if _, ok := p.props["photo"]; !ok {
			if v, ok := m.impliedPhoto(n); ok {
				if !m.s.count(1) {
					return it, errStructuredFull
				}
				props["photo"] = []any{v}
			}
		}
		if _, ok := p.props["url"]; !ok && p.saw&(mfSawU|mfSawH) == 0 {
			if v, ok := m.impliedURL(n); ok {
				if !m.s.count(1) {
					return it, errStructuredFull
				}
				props["url"] = []any{v}
			}
		}
	}
	if n.DataAtom == atom.Area && n.Namespace == "" {
		for _, k := range []string{"shape", "coords"} {
			if v, ok := attribute(n, k); ok {
				it[k] = v
			}
		}
	}
	if len(p.children) > 0 {
		it["children"] = p.children
	}
	switch v := simple.(type) {
	case nil:
	case map[string]any:
		// An e-* property's {"html", "value"}, or a nested microformat
		// that was the first name or url: mf2py folds the dictionary in.
		for k, x := range v {
			it[k] = x
		}
	default:
		it["value"] = v
	}
	return it, nil
}

// props reads the properties, and the microformats, of element el and
// its descendants into p, for a microformat depth deep; rules are those
// of the v1 roots that rewrite el's class names.
func (m *mf) props(el *html.Node, rules [][]bcRule, depth int, p *mfProps) error {
	if err := m.s.tick(); err != nil {
		return err
	}
	// An element's class names are read again each time a microformat
	// around it is (see microformat): they are charged as text is.
	class := attrOr(el, "class")
	if err := m.spend(1 + len(class)); err != nil {
		return err
	}
	written := strings.Fields(class)
	classes, tags := bcApply(el, written, rules)
	for _, t := range tags {
		// rel=tag inside a v1 root: mf2py adds <data class="p-category"
		// value="the href's last path segment"> before the link.
		p.saw |= mfSawP
		if !m.s.count(1) {
			return errStructuredFull
		}
		p.add("category", t)
	}
	c := mfClassesOf(classes)
	roots, bc := c.h, false
	if len(roots) == 0 {
		roots, bc = mfRoots(classes)
	}
	if len(roots) > 0 && depth >= MaxMicroformatDepth {
		// Too deep: the root answers its plain property values, and its
		// descendants nothing.
		m.s.full = true
		roots = nil
		if len(c.p)+len(c.u)+len(c.dt)+len(c.e) == 0 {
			return nil
		}
		return m.plainProps(el, c, p)
	}
	if len(roots) > 0 {
		p.saw |= mfSawH
	}
	own := hasRoot(written)
	nested := func(valueProp string, simple any) (any, error) {
		it, err := m.microformat(el, roots, bc, rules, own, valueProp, simple, depth)
		if it == nil {
			return nil, err // no typed nil in the answer
		}
		return it, err
	}
	// addCut adds what a microformat cut short by err answered, if any.
	addCut := func(name string, v any, err error) error {
		if v != nil {
			p.add(name, v)
		}
		return err
	}
	isProp := false
	if len(c.p) > 0 {
		isProp = true
		p.saw |= mfSawP
		text, err := m.textValue(el)
		if err != nil {
			return err
		}
		for _, name := range c.p {
			var v any = text
			if len(roots) > 0 {
				if v, err = nested("name", text); err != nil {
					return addCut(name, v, err)
				}
			}
			if !m.s.count(1) {
				return errStructuredFull
			}
			p.add(name, v)
		}
	}
	if len(c.u) > 0 {
		isProp = true
		p.saw |= mfSawU
		u, err := m.urlValue(el)
		if err != nil {
			return err
		}
		for _, name := range c.u {
			var v any = u
			if len(roots) > 0 {
				if v, err = nested("url", u); err != nil {
					return addCut(name, v, err)
				}
			}
			if !m.s.count(1) {
				return errStructuredFull
			}
			p.add(name, v)
		}
	}
	if len(c.dt) > 0 {
		isProp = true
		p.saw |= mfSawDT
		dt, ok, err := m.dateValue(el)
		if err != nil {
			return err
		}
		for _, name := range c.dt {
			if len(roots) > 0 {
				s := dt
				if !ok {
					s = "None" // mf2py writes str(None)
				}
				v, err := nested("", s)
				if err != nil {
					return addCut(name, v, err)
				}
				if !m.s.count(1) {
					return errStructuredFull
				}
				p.add(name, v)
				continue
			}
			p.touch(name)
			if ok {
				if !m.s.count(1) {
					return errStructuredFull
				}
				p.add(name, dt)
			}
		}
	}
	if len(c.e) > 0 {
		isProp = true
		p.saw |= mfSawE
		e, err := m.embedded(el)
		if err != nil {
			return err
		}
		for _, name := range c.e {
			var v any = e
			if len(roots) > 0 {
				if v, err = nested("", e); err != nil {
					return addCut(name, v, err)
				}
			}
			if !m.s.count(1) {
				return errStructuredFull
			}
			p.add(name, v)
		}
	}
	if len(roots) > 0 {
		if !isProp {
			it, err := nested("", nil)
			if it != nil {
				p.children = append(p.children, it)
			}
			return err
		}
		return nil
	}
	for ch := el.FirstChild; ch != nil; ch = ch.NextSibling {
		if isElement(ch) {
			if err := m.props(ch, rules, depth, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// plainProps adds el's properties as if it were no root.
func (m *mf) plainProps(el *html.Node, c mfClasses, p *mfProps) error {
	add := func(names []string, v func() (any, bool, error)) error {
		if len(names) == 0 {
			return nil
		}
		x, ok, err := v()
		if err != nil {
			return err
		}
		for _, name := range names {
			p.touch(name)
			if !ok {
				continue
			}
			if !m.s.count(1) {
				return errStructuredFull
			}
			p.add(name, x)
		}
		return nil
	}
	p.saw |= mfSawH
	if err := add(c.p, func() (any, bool, error) { v, err := m.textValue(el); return v, true, err }); err != nil {
		return err
	}
	if err := add(c.u, func() (any, bool, error) { v, err := m.urlValue(el); return v, true, err }); err != nil {
		return err
	}
	if err := add(c.dt, func() (any, bool, error) { return m.dateValue(el) }); err != nil {
		return err
	}
	return add(c.e, func() (any, bool, error) { v, err := m.embedded(el); return v, true, err })
}

// isElement reports whether n is an element that microformats parsing
// reads: every element but <template>, whose content is inert.
func isElement(n *html.Node) bool {
	return n.Type == html.ElementNode && !(n.DataAtom == atom.Template && n.Namespace == "")
}

// mfClasses are an element's microformats2 class names by prefix: root
// names whole, property names without their prefix.
type mfClasses struct {
	h, p, u, dt, e []string
}

var (
	mf2Class = regexp.MustCompile(`^(p|e|u|dt|h)-((:?[a-z0-9]+-)?[a-z]+(:?-[a-z]+)*)$`)
	mf2Prop  = regexp.MustCompile(`^(p|e|u|dt)-(:?[a-z0-9]+-)?[a-z]+(:?-[a-z]+)*$`)
	mf2Root  = regexp.MustCompile(`^h-(:?[a-z0-9]+-)?[a-z]+(:?-[a-z]+)*$`)
)

// mfPrefixed reports whether class may be an mf2 name, before a regular
// expression says whether it is one.
func mfPrefixed(class string) bool {
	return len(class) > 2 && (class[1] == '-' && strings.IndexByte("hpue", class[0]) >= 0 || strings.HasPrefix(class, "dt-"))
}

func mfClassesOf(classes []string) mfClasses {
	var c mfClasses
	for _, class := range classes {
		if !mfPrefixed(class) {
			continue
		}
		m := mf2Class.FindStringSubmatch(class)
		if m == nil {
			continue
		}
		var set *[]string
		name := m[2]
		switch m[1] {
		case "h":
			set, name = &c.h, class
		case "p":
			set = &c.p
		case "u":
			set = &c.u
		case "dt":
			set = &c.dt
		case "e":
			set = &c.e
		}
		*set = append(*set, name)
	}
	// Each name once; sorting, not a search for each, keeps a class
	// attribute of many names linear-logarithmic.
	for _, set := range []*[]string{&c.h, &c.p, &c.u, &c.dt, &c.e} {
		slices.Sort(*set)
		*set = slices.Compact(*set)
	}
	return c
}

// mfRoots returns the microformats2 root names of classes or, when there
// are none, their v1 root names (sorted) and true.
func mfRoots(classes []string) ([]string, bool) {
	var roots []string
	for _, class := range classes {
		if mfPrefixed(class) && class[0] == 'h' && mf2Root.MatchString(class) {
			roots = append(roots, class)
		}
	}
	if len(roots) > 0 {
		slices.Sort(roots)
		return slices.Compact(roots), false
	}
	for _, class := range classes {
		if _, ok := backcompat[class]; ok && !slices.Contains(roots, class) {
			roots = append(roots, class)
		}
	}
	slices.Sort(roots)
	return roots, len(roots) > 0
}

// mayBeRoot reports whether a class attribute may name a root, without
// splitting it: most elements of a page are none.
func mayBeRoot(class string) bool {
	for class != "" {
		i := strings.IndexFunc(class, unicode.IsSpace)
		if i < 0 {
			i = len(class)
		}
		if c := class[:i]; strings.HasPrefix(c, "h-") {
			return true
		} else if _, ok := backcompat[c]; ok {
			return true
		}
		class = strings.TrimLeftFunc(class[i:], unicode.IsSpace)
	}
	return false
}

// hasRoot reports whether classes name a microformats2 or v1 root.
func hasRoot(classes []string) bool {
	roots, _ := mfRoots(classes)
	return len(roots) > 0
}

// textValue is a p-* property's value.
func (m *mf) textValue(el *html.Node) (string, error) {
	if v, ok, err := m.valueClass(el); ok || err != nil {
		return v, err
	}
	if v, ok := htmlAttr(el, "title", atom.Abbr, atom.Link); ok {
		return v, nil
	}
	if v, ok := htmlAttr(el, "value", atom.Data, atom.Input); ok {
		return v, nil
	}
	if v, ok := htmlAttr(el, "alt", atom.Img, atom.Area); ok {
		return v, nil
	}
	return m.textContent(el, true, true)
}

// urlValue is a u-* property's value.
func (m *mf) urlValue(el *html.Node) (string, error) {
	v, ok := htmlAttr(el, "href", atom.A, atom.Area, atom.Link)
	if !ok {
		v, ok = htmlAttr(el, "src", atom.Img)
	}
	if !ok {
		v, ok = htmlAttr(el, "src", atom.Audio, atom.Video, atom.Source, atom.Iframe)
	}
	if !ok {
		v, ok = htmlAttr(el, "poster", atom.Video)
	}
	if !ok {
		v, ok = htmlAttr(el, "data", atom.Object)
	}
	if ok {
		return m.resolve(v), nil
	}
	if v, ok, err := m.valueClass(el); ok || err != nil {
		return v, err
	}
	if v, ok := htmlAttr(el, "title", atom.Abbr); ok {
		return v, nil
	}
	if v, ok := htmlAttr(el, "value", atom.Data, atom.Input); ok {
		return v, nil
	}
	return m.textContent(el, false, false)
}

// embedded is an e-* property's value.
func (m *mf) embedded(el *html.Node) (map[string]any, error) {
	var b strings.Builder
	if err := m.innerHTML(&b, el); err != nil {
		return nil, err
	}
	text, err := m.textContent(el, true, true)
	if err != nil {
		return nil, err
	}
	return map[string]any{"html": pyStrip(b.String()), "value": text}, nil
}

// resolve makes a URL value absolute against the document's base.
func (m *mf) resolve(v string) string {
	s := m.s
	if !s.hasBase {
		s.urls.base, s.hasBase = s.doc.base(), true
	}
	return s.urls.resolve("href", strings.TrimSpace(v))
}

// htmlAttr returns attribute name of el when el is an HTML element of one
// of the types in.
func htmlAttr(el *html.Node, name string, in ...atom.Atom) (string, bool) {
	if el.Namespace != "" || !slices.Contains(in, el.DataAtom) {
		return "", false
	}
	return attribute(el, name)
}

// valueClass is the value-class pattern's text: the text of el's value
// children, or the title of its value-title ones, joined.
func (m *mf) valueClass(el *html.Node) (string, bool, error) {
	var b strings.Builder
	found := false
	for c := el.FirstChild; c != nil; c = c.NextSibling {
		if !isElement(c) {
			continue
		}
		switch valueClassOf(c) {
		case "value":
			found = true
			if err := m.rawText(&b, c); err != nil {
				return "", true, err
			}
		case "value-title":
			found = true
			b.WriteString(attrOr(c, "title"))
		}
	}
	return b.String(), found, nil
}

// valueClassOf returns "value-title", "value" or "" as el's classes
// hold them.
func valueClassOf(el *html.Node) string {
	classes := strings.Fields(attrOr(el, "class"))
	switch {
	case slices.Contains(classes, "value-title"):
		return "value-title"
	case slices.Contains(classes, "value"):
		return "value"
	}
	return ""
}

// rawText appends the text below n as BeautifulSoup's get_text reads it:
// every text node, as BeautifulSoup holds it (see bsText), but those of
// scripts, styles and templates.
func (m *mf) rawText(b *strings.Builder, n *html.Node) error {
	keep, err := m.insidePre(n)
	if err != nil {
		return err
	}
	return m.rawTextIn(b, n, keep)
}

func (m *mf) rawTextIn(b *strings.Builder, n *html.Node, keep bool) error {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if err := m.spend(1); err != nil {
			return err
		}
		switch {
		case c.Type == html.TextNode:
			if err := m.spend(len(c.Data)); err != nil {
				return err
			}
			b.WriteString(bsText(c.Data, keep))
		case c.Type == html.ElementNode && !rawTextHidden(c):
			if err := m.rawTextIn(b, c, keep || preserves(c)); err != nil {
				return err
			}
		}
	}
	return nil
}

// bsText is the text of a text node as BeautifulSoup holds it, which
// mf2py reads: outside <pre> and <textarea> (keep), a node of ASCII white
// space alone is one line feed if it holds one, else one space.
func bsText(data string, keep bool) string {
	if keep || data == " " || data == "\n" {
		return data
	}
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case ' ', '\n', '\t', '\f', '\r':
		default:
			return data
		}
	}
	if strings.IndexByte(data, '\n') >= 0 {
		return "\n"
	}
	return " "
}

// preserves reports whether BeautifulSoup keeps the white space in n.
func preserves(n *html.Node) bool {
	return n.Type == html.ElementNode && n.Namespace == "" && (n.DataAtom == atom.Pre || n.DataAtom == atom.Textarea)
}

// insidePre reports whether n is, or is inside, an element whose white
// space BeautifulSoup keeps.
func (m *mf) insidePre(n *html.Node) (bool, error) {
	for ; n != nil; n = n.Parent {
		if err := m.spend(1); err != nil {
			return false, err
		}
		if preserves(n) {
			return true, nil
		}
	}
	return false, nil
}

// rawTextHidden reports whether BeautifulSoup's get_text skips the text
// of n: it goes by the tag's name, in SVG and MathML too.
func rawTextHidden(n *html.Node) bool {
	switch n.Data {
	case "script", "style", "template":
		return true
	}
	return false
}

// Markers of textContent's pieces, as mf2py numbers them: the larger
// of two paragraph breaks wins.
const (
	mfParaAfter = iota
	mfParaBefore
	mfPreBefore
	mfPreAfter
	mfText = -1
)

type mfPiece struct {
	kind int // a marker, or mfText
	s    string
}

// textContent is el's text as microformats2 parsing reads it (mf2py's
// get_textContent): white space collapsed but in <pre>, <br> as a line
// break, a paragraph's text on lines of its own, and, with img, each
// image by its alt text or, with src, its URL.
func (m *mf) textContent(el *html.Node, img, src bool) (string, error) {
	var pieces []mfPiece
	keep, err := m.insidePre(el)
	if err != nil {
		return "", err
	}
	var walk func(n *html.Node, keep bool) error
	walk = func(n *html.Node, keep bool) error {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := m.spend(1); err != nil {
				return err
			}
			switch c.Type {
			case html.TextNode:
				if err := m.spend(len(c.Data)); err != nil {
					return err
				}
				if t := collapseMF(bsText(c.Data, keep)); t != "" {
					pieces = append(pieces, mfPiece{mfText, t})
				}
				continue
			case html.ElementNode:
			default:
				continue
			}
			if rawTextHidden(c) {
				continue
			}
			if c.Namespace == "" {
				switch c.DataAtom {
				case atom.Pre:
					var b strings.Builder
					if err := m.rawTextIn(&b, c, true); err != nil {
						return err
					}
					pieces = append(pieces, mfPiece{kind: mfPreBefore})
					if b.Len() > 0 {
						pieces = append(pieces, mfPiece{mfText, b.String()})
					}
					pieces = append(pieces, mfPiece{kind: mfPreAfter})
					continue
				case atom.Img:
					if !img {
						break
					}
					v, ok := attribute(c, "alt")
					if !ok && src {
						if v, ok = attribute(c, "src"); ok {
							v = m.resolve(v)
						}
					}
					if ok {
						pieces = append(pieces, mfPiece{mfText, " "})
						if v != "" {
							pieces = append(pieces, mfPiece{mfText, v})
						}
						pieces = append(pieces, mfPiece{mfText, " "})
					}
					continue
				case atom.Br:
					pieces = append(pieces, mfPiece{mfText, "\n"})
					continue
				case atom.P:
					pieces = append(pieces, mfPiece{kind: mfParaBefore})
					if err := walk(c, keep); err != nil {
						return err
					}
					pieces = append(pieces, mfPiece{kind: mfParaAfter})
					continue
				}
			}
			if err := walk(c, keep || preserves(c)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(el, keep); err != nil {
		return "", err
	}
	return joinMFPieces(pieces), nil
}

// collapseMF turns each run of tabs, line feeds and carriage returns into
// a space, then each run of spaces into one.
func collapseMF(s string) string {
	if !strings.ContainsAny(s, "\t\n\r") && !strings.Contains(s, "  ") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\t' || c == '\n' || c == '\r' {
			c = ' '
		}
		if c == ' ' && len(b) > 0 && b[len(b)-1] == ' ' {
			// Only runs of spaces that came from spaces collapse twice
			// in mf2py: [\t\n\r]+ first becomes one space, then " {2,}"
			// one space; either way one space is left.
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

func isBreak(p mfPiece) bool      { return p.kind == mfParaBefore || p.kind == mfParaAfter }
func isSpacePiece(p mfPiece) bool { return p.kind == mfText && p.s == " " }

// joinMFPieces writes pieces as mf2py's get_textContent joins them.
func joinMFPieces(pieces []mfPiece) string {
	// A lone space at either end, or next to another space or a
	// paragraph break, goes.
	for i := range pieces {
		if !isSpacePiece(pieces[i]) {
			continue
		}
		if i == 0 || i == len(pieces)-1 || isSpacePiece(pieces[i-1]) || isBreak(pieces[i-1]) || isSpacePiece(pieces[i+1]) || isBreak(pieces[i+1]) {
			pieces[i].s = ""
		}
	}
	blank := func(p mfPiece) bool {
		return isBreak(p) || p.kind == mfText && strings.TrimFunc(p.s, pyIsSpace) == ""
	}
	for len(pieces) > 0 && blank(pieces[0]) {
		pieces = pieces[1:]
	}
	for len(pieces) > 0 && blank(pieces[len(pieces)-1]) {
		pieces = pieces[:len(pieces)-1]
	}
	if len(pieces) == 0 {
		return ""
	}
	if p := &pieces[0]; p.kind == mfText {
		p.s = strings.TrimLeftFunc(p.s, pyIsSpace)
	}
	if p := &pieces[len(pieces)-1]; p.kind == mfText {
		p.s = strings.TrimRightFunc(p.s, pyIsSpace)
	}
	var b strings.Builder
	count, lastBreak := 0, false
	for _, p := range pieces {
		switch {
		case isBreak(p):
			count = max(count, p.kind)
		case p.kind == mfPreBefore:
			s := strings.TrimRight(b.String(), " ")
			b.Reset()
			b.WriteString(s)
		case p.kind == mfText:
			t := p.s
			if count > 0 || lastBreak {
				t = strings.TrimLeft(t, " ")
			}
			b.WriteString(strings.Repeat("\n", count))
			b.WriteString(t)
			count = 0
		}
		// lastBreak is whether the last piece was a <br>'s line break; an
		// empty piece (a space removed above) counts as itself.
		lastBreak = p.kind == mfText && p.s == "\n"
	}
	return b.String()
}

// pyIsSpace is Python's str.isspace for one rune.
func pyIsSpace(r rune) bool {
	return r >= 0x1c && r <= 0x1f || unicode.IsSpace(r)
}

// pyStrip is Python's str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

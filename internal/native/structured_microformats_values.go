package native

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// The date and time forms of the value-class pattern, as mf2py writes
// them. Python's re.match with "$" also matches before a final line
// feed, hence the \n? before each $. dateOnly and zoneOnly keep mf2py's
// precedence: its "$" binds to the last alternative only, so any text
// that starts with a full date is a date, and any that starts with Z a
// time zone.
const (
	mfDate     = `(\d{4}-\d{2}-\d{2})|(\d{4}-\d{3})`
	mfRawTime  = `(?P<hour>\d{1,2})(:(?P<minute>\d{2})(:(?P<second>\d{2})(\.\d+)?)?)?`
	mfAMPM     = `am|pm|a\.m\.|p\.m\.|AM|PM|A\.M\.|P\.M\.`
	mfZone     = `Z|[+-]\d{2}:?\d{2}?`
	mfTime     = `(?P<rawtime>` + mfRawTime + `)( ?(?P<ampm>` + mfAMPM + `))?( ?(?P<tz>` + mfZone + `))?`
	mfDateTime = `(?P<date>` + mfDate + `)(?P<separator>[T ])(?P<time>` + mfTime + `)`
)

var (
	mfDateTimeRe = regexp.MustCompile(`^(?:` + mfDateTime + `)\n?$`)
	mfTimeRe     = regexp.MustCompile(`^(?:` + mfTime + `)\n?$`)
	mfDateRe     = regexp.MustCompile(`^(?:\d{4}-\d{2}-\d{2}|\d{4}-\d{3}\n?$)`)
	mfZoneRe     = regexp.MustCompile(`^(?:Z|[+-]\d{2}:?\d{2}?\n?$)`)
)

// dateValue is a dt-* property's value, and false where mf2py has none
// (a value-class pattern whose parts hold no date or time).
func (m *mf) dateValue(el *html.Node) (string, bool, error) {
	if v, ok, found, err := m.valueClassDate(el); found || err != nil {
		return v, ok, err
	}
	v, ok := htmlAttr(el, "datetime", atom.Time, atom.Ins, atom.Del)
	if !ok {
		v, ok = htmlAttr(el, "title", atom.Abbr)
	}
	if !ok {
		v, ok = htmlAttr(el, "value", atom.Data, atom.Input)
	}
	if !ok {
		var err error
		if v, err = m.textContent(el, false, false); err != nil {
			return "", false, err
		}
	}
	if mfTimeRe.MatchString(v) && m.date != "" {
		return normalizeDateTime(m.date + " " + v), true, nil
	}
	if sm := mfDateTimeRe.FindStringSubmatch(v); sm != nil {
		m.date = sm[mfDateTimeRe.SubexpIndex("date")]
	}
	return normalizeDateTime(v), true, nil
}

// valueClassDate is the value-class pattern's date and time: found when
// el has value children, ok when they hold a date or time.
func (m *mf) valueClassDate(el *html.Node) (v string, ok, found bool, err error) {
	var parts []string
	for c := el.FirstChild; c != nil; c = c.NextSibling {
		if !isElement(c) {
			continue
		}
		var part string
		switch valueClassOf(c) {
		case "":
			continue
		case "value-title":
			// mf2py reads the title of the property element, not of the
			// value-title one.
			part = attrOr(el, "title")
		default:
			var attr string
			if c.Namespace == "" {
				switch c.DataAtom {
				case atom.Img, atom.Area:
					attr = "alt"
				case atom.Data:
					attr = "value"
				case atom.Abbr:
					attr = "title"
				case atom.Del, atom.Ins, atom.Time:
					attr = "datetime"
				}
			}
			if attr != "" {
				part = attrOr(c, attr)
			}
			if part == "" {
				var b strings.Builder
				if err := m.rawText(&b, c); err != nil {
					return "", false, true, err
				}
				part = b.String()
			}
		}
		found = true
		if part = pyStrip(part); part != "" {
			parts = append(parts, part)
		}
	}
	if !found {
		return "", false, false, nil
	}
	var date, clock, zone string
	for _, part := range parts {
		if sm := mfDateTimeRe.FindStringSubmatch(part); sm != nil {
			m.date = sm[mfDateTimeRe.SubexpIndex("date")]
			return normalizeDateTime(part), true, true, nil
		}
		switch {
		case mfTimeRe.MatchString(part):
			if clock == "" {
				clock = part
			}
		case mfDateRe.MatchString(part):
			if date == "" {
				date = part
			}
		case mfZoneRe.MatchString(part):
			if zone == "" {
				zone = part
			}
		}
	}
	if date == "" {
		date = m.date
	}
	v = date
	switch {
	case date != "" && clock != "":
		v = date + " " + clock
	case date == "":
		v = clock
	}
	v += zone
	if date != "" {
		m.date = date
	}
	if v == "" {
		return "", false, true, nil
	}
	return normalizeDateTime(v), true, true, nil
}

// normalizeDateTime writes a date and time as mf2py does: an ordinal
// date as a calendar date, a 12-hour time as a 24-hour one, minutes
// always; anything else as it is.
func normalizeDateTime(v string) string {
	sm := mfDateTimeRe.FindStringSubmatch(v)
	if sm == nil {
		return v
	}
	g := func(name string) string { return sm[mfDateTimeRe.SubexpIndex(name)] }
	date, hour, minute := g("date"), g("hour"), g("minute")
	if minute == "" {
		minute = "00"
	}
	if y, d, ok := strings.Cut(date, "-"); ok && len(d) == 3 {
		year, _ := strconv.Atoi(y)
		day, _ := strconv.Atoi(d)
		if year > 0 && day >= 1 && day <= 366 {
			date = time.Date(year, 1, day, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		}
	}
	if ampm := g("ampm"); ampm != "" {
		h, _ := strconv.Atoi(hour)
		switch {
		case (ampm[0] == 'a' || ampm[0] == 'A') && h == 12:
			hour = "00"
		case (ampm[0] == 'p' || ampm[0] == 'P') && h < 12:
			hour = strconv.Itoa(h + 12)
		}
	}
	out := date + g("separator") + hour + ":" + minute
	if s := g("second"); s != "" {
		out += ":" + s
	}
	return out + g("tz")
}

// children returns el's elements, as microformats parsing reads them.
func mfChildren(el *html.Node) []*html.Node {
	var out []*html.Node
	for c := el.FirstChild; c != nil; c = c.NextSibling {
		if isElement(c) {
			out = append(out, c)
		}
	}
	return out
}

func isHTML(n *html.Node, in ...atom.Atom) bool {
	return n.Namespace == "" && slices.Contains(in, n.DataAtom)
}

func isMFRoot(n *html.Node) bool {
	roots, bc := mfRoots(strings.Fields(attrOr(n, "class")))
	return len(roots) > 0 && !bc
}

// only returns the one element of els of type a that is no mf2 root.
func only(els []*html.Node, a atom.Atom) *html.Node {
	var one *html.Node
	for _, c := range els {
		if isHTML(c, a) {
			if one != nil {
				return nil
			}
			one = c
		}
	}
	if one == nil || isMFRoot(one) {
		return nil
	}
	return one
}

// impliedName is a microformat's name when it has no name property and
// no p-*, e-* or nested microformat.
func (m *mf) impliedName(el *html.Node) (string, error) {
	nonEmpty := func(n *html.Node, name string, in ...atom.Atom) (string, bool) {
		v, ok := htmlAttr(n, name, in...)
		return v, ok && v != ""
	}
	if v, ok := nonEmpty(el, "alt", atom.Img, atom.Area); ok {
		return v, nil
	}
	if v, ok := nonEmpty(el, "title", atom.Abbr); ok {
		return v, nil
	}
	var child *html.Node
	if cs := mfChildren(el); len(cs) == 1 && !isMFRoot(cs[0]) {
		child = cs[0]
		if !isHTML(child, atom.Img, atom.Area, atom.Abbr) {
			child = nil
			if gcs := mfChildren(cs[0]); len(gcs) == 1 && isHTML(gcs[0], atom.Img, atom.Area, atom.Abbr) && !isMFRoot(gcs[0]) {
				child = gcs[0]
			}
		}
	}
	if child != nil {
		if v, ok := nonEmpty(child, "alt", atom.Img, atom.Area); ok {
			return v, nil
		}
		if v, ok := nonEmpty(child, "title", atom.Abbr); ok {
			return v, nil
		}
	}
	return m.textContent(el, true, false)
}

// impliedPhoto is a microformat's photo when it has no photo property:
// its own, its one image's or one object's, or its one child's.
func (m *mf) impliedPhoto(el *html.Node) (string, bool) {
	return m.implied(el, photoOf, atom.Img, atom.Object)
}

// impliedURL is a microformat's url when it has no url property and no
// u-* or nested microformat: its own href, its one link's or area's, or
// its one child's.
func (m *mf) impliedURL(el *html.Node) (string, bool) {
	return m.implied(el, urlOf, atom.A, atom.Area)
}

func photoOf(el *html.Node) (string, bool) {
	if v, ok := htmlAttr(el, "src", atom.Img); ok {
		return v, true
	}
	return htmlAttr(el, "data", atom.Object)
}

func urlOf(el *html.Node) (string, bool) { return htmlAttr(el, "href", atom.A, atom.Area) }

// implied is the rule of the implied photo and url, resolved: the URL
// that of reads from el itself, else from its only child of the first of
// kinds (else of the second), else from such a child of its only child
// when that is not a microformat itself.
func (m *mf) implied(el *html.Node, of func(*html.Node) (string, bool), kinds ...atom.Atom) (string, bool) {
	if v, ok := of(el); ok {
		return m.resolve(v), true
	}
	pick := func(els []*html.Node) *html.Node {
		for _, k := range kinds {
			if c := only(els, k); c != nil {
				return c
			}
		}
		return nil
	}
	cs := mfChildren(el)
	c := pick(cs)
	if c == nil && len(cs) == 1 && !isMFRoot(cs[0]) {
		c = pick(mfChildren(cs[0]))
	}
	if c == nil {
		return "", false
	}
	if v, ok := of(c); ok {
		return m.resolve(v), true
	}
	return "", false
}

// listAttribute reports whether attribute name of an element a holds a
// list of names, which BeautifulSoup writes back with single spaces.
func listAttribute(a atom.Atom, name string) bool {
	switch name {
	case "class", "accesskey", "dropzone":
		return true
	case "rel", "rev":
		return a == atom.A || a == atom.Link || a == atom.Area
	case "headers":
		return a == atom.Td || a == atom.Th
	}
	return false
}

// innerHTML writes el's content as BeautifulSoup's decode_contents does:
// attributes sorted by name, void elements closed with "/>", only &, <
// and > escaped in text and attribute values, script and style as
// written, templates left out.
func (m *mf) innerHTML(b *strings.Builder, el *html.Node) error {
	keep, err := m.insidePre(el)
	if err != nil {
		return err
	}
	return m.innerHTMLIn(b, el, keep)
}

func (m *mf) innerHTMLIn(b *strings.Builder, el *html.Node, keep bool) error {
	for c := el.FirstChild; c != nil; c = c.NextSibling {
		if err := m.spend(1); err != nil {
			return err
		}
		switch c.Type {
		case html.TextNode:
			if err := m.spend(len(c.Data)); err != nil {
				return err
			}
			if p := c.Parent; p != nil && (p.Data == "script" || p.Data == "style") {
				b.WriteString(bsText(c.Data, keep))
			} else {
				escapeMinimal(b, bsText(c.Data, keep))
			}
		case html.CommentNode:
			b.WriteString("<!--")
			b.WriteString(c.Data)
			b.WriteString("-->")
		case html.ElementNode:
			if c.DataAtom == atom.Template && c.Namespace == "" {
				continue
			}
			// libxml2 lower-cases the names that the HTML5 parser writes
			// in SVG's camel case (viewBox, foreignObject).
			name := strings.ToLower(c.Data)
			b.WriteByte('<')
			b.WriteString(name)
			attrs := slices.Clone(c.Attr)
			for i, a := range attrs {
				if attrs[i].Key = strings.ToLower(a.Key); a.Namespace != "" {
					attrs[i].Key = a.Namespace + ":" + attrs[i].Key
				}
			}
			slices.SortStableFunc(attrs, func(x, y html.Attribute) int { return strings.Compare(x.Key, y.Key) })
			for _, a := range attrs {
				if err := m.spend(len(a.Val)); err != nil {
					return err
				}
				v := a.Val
				if a.Namespace == "" && listAttribute(c.DataAtom, a.Key) {
					v = strings.Join(strings.Fields(v), " ")
				}
				b.WriteByte(' ')
				b.WriteString(a.Key)
				b.WriteString("=")
				var e strings.Builder
				escapeMinimal(&e, v)
				v = e.String()
				switch {
				case !strings.Contains(v, `"`):
					b.WriteString(`"` + v + `"`)
				case !strings.Contains(v, "'"):
					b.WriteString("'" + v + "'")
				default:
					b.WriteString(`"` + strings.ReplaceAll(v, `"`, "&quot;") + `"`)
				}
			}
			if c.FirstChild == nil && voidElement(name) {
				b.WriteString("/>")
				continue
			}
			b.WriteByte('>')
			if err := m.innerHTMLIn(b, c, keep || preserves(c)); err != nil {
				return err
			}
			b.WriteString("</")
			b.WriteString(name)
			b.WriteByte('>')
		}
	}
	return nil
}

func escapeMinimal(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteByte(c)
		}
	}
}

// voidElement reports whether BeautifulSoup writes an empty element of
// this name as <name/>.
func voidElement(name string) bool {
	switch name {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "menuitem",
		"meta", "param", "source", "track", "wbr", "basefont", "bgsound", "command", "frame",
		"image", "isindex", "nextid", "spacer":
		return true
	}
	return false
}

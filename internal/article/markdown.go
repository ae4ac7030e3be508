package article

import (
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Markdown renders the content under n as CommonMark, with GitHub's tables
// and strikethrough: headings, paragraphs, nested lists, links, images,
// emphasis, inline code and fenced code blocks, block quotes, rules and
// tables. Relative addresses are resolved against base when it is not nil.
// What a reader never sees (scripts, styles, hidden elements) is left out,
// and text that would read as markdown syntax is escaped.
//
// A hand-written renderer rather than a library: it is small, it builds
// for wasip1 without dependencies, and it allocates one buffer per block
// container rather than a second document tree.
func Markdown(n *html.Node, base *url.URL) string {
	return markdown(n, base, 0)
}

// markdown is Markdown with a guess at the output's size, to allocate once.
func markdown(n *html.Node, base *url.URL, sizeHint int) string {
	r := mdRenderer{base: base}
	b := blockWriter{out: make([]byte, 0, sizeHint)}
	r.blocks(&b, n)
	return b.finish()
}

type mdRenderer struct {
	base *url.URL
}

// blockWriter accumulates blocks separated by blank lines, and the
// paragraph being built from inline content.
type blockWriter struct {
	out  []byte
	inl  inlineWriter
	item bool // a list item's content, where a nested list needs no blank line
}

// flush ends the paragraph in progress, if any.
func (b *blockWriter) flush() {
	if p := b.inl.take(); p != "" {
		b.add(p)
	}
}

// block ends the paragraph in progress and adds the block s.
func (b *blockWriter) block(s string) {
	b.flush()
	if s != "" {
		b.add(s)
	}
}

func (b *blockWriter) add(s string) {
	if len(b.out) > 0 {
		b.out = append(b.out, '\n', '\n')
	}
	b.out = append(b.out, s...)
}

func (b *blockWriter) finish() string {
	b.flush()
	return string(b.out)
}

// inlineWriter builds one paragraph's inline markdown, collapsing white
// space as a browser does.
type inlineWriter struct {
	buf     []byte
	space   bool // a space is pending
	leading bool // the content began with white space
}

func (w *inlineWriter) pendingSpace() {
	if w.space && len(w.buf) > 0 && w.buf[len(w.buf)-1] != '\n' {
		w.buf = append(w.buf, ' ')
	}
	w.space = false
}

// text writes plain text, escaping what markdown would read as syntax.
func (w *inlineWriter) text(s string) {
	for i := 0; i < len(s); {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if unicode.IsSpace(r) {
			if len(w.buf) == 0 {
				w.leading = true
			}
			w.space = true
			i += size
			continue
		}
		w.pendingSpace()
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '|':
			w.buf = append(w.buf, '\\')
		}
		w.buf = append(w.buf, s[i:i+size]...)
		i += size
	}
}

// raw writes markup verbatim.
func (w *inlineWriter) raw(s string) {
	if s == "" {
		return
	}
	w.pendingSpace()
	w.buf = append(w.buf, s...)
}

// hardBreak writes a line break (a backslash at the end of a line).
func (w *inlineWriter) hardBreak() {
	if len(w.buf) == 0 || w.buf[len(w.buf)-1] == '\n' {
		return
	}
	w.buf = append(w.buf, '\\', '\n')
	w.space = false
}

// take returns the paragraph, trimmed and with a block-starting first
// character escaped, and resets w.
func (w *inlineWriter) take() string {
	b := w.buf
	for len(b) >= 2 && b[len(b)-2] == '\\' && b[len(b)-1] == '\n' {
		b = b[:len(b)-2] // a trailing hard break
	}
	s := escapeLineStart(string(b))
	w.buf = w.buf[:0]
	w.space, w.leading = false, false
	return s
}

// escapeLineStart escapes a first character that would start a heading, a
// quote, a list item, a rule or a setext underline.
func escapeLineStart(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '#', '>', '-', '+', '=', '~':
		return `\` + s
	}
	i := 0
	for i < len(s) && i < 10 && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') {
		return s[:i] + `\` + s[i:]
	}
	return s
}

// blocks renders n's children into b.
func (r *mdRenderer) blocks(b *blockWriter, n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.inl.text(c.Data)
			continue
		}
		if c.Type != html.ElementNode || skipped(c) || invisible(c) {
			continue
		}
		switch c.Data {
		case "h1", "h2", "h3", "h4", "h5", "h6":
			if t := r.inlineString(c); t != "" {
				b.block(strings.Repeat("#", int(c.Data[1]-'0')) + " " + t)
			}
		case "ul", "ol":
			b.flush()
			if l := r.list(c); l != "" && b.item && len(b.out) > 0 {
				b.out = append(b.out, '\n') // keep the outer list tight
				b.out = append(b.out, l...)
			} else {
				b.block(l)
			}
		case "blockquote":
			var sub blockWriter
			r.blocks(&sub, c)
			b.block(prefixLines(sub.finish(), "> ", ">"))
		case "pre":
			b.block(r.pre(c))
		case "hr":
			b.block("---")
		case "table":
			b.block(r.table(c))
		case "br":
			b.inl.hardBreak()
		default:
			if isBlock(c.Data) {
				b.flush()
				r.blocks(b, c)
				b.flush()
			} else {
				r.inline(&b.inl, c)
			}
		}
	}
}

// inline renders element n into w.
func (r *mdRenderer) inline(w *inlineWriter, n *html.Node) {
	if skipped(n) || invisible(n) {
		return
	}
	switch n.Data {
	case "br":
		w.hardBreak()
	case "img":
		r.image(w, n)
	case "a":
		r.link(w, n)
	case "em", "i", "cite", "dfn", "var":
		r.wrap(w, n, "*")
	case "strong", "b":
		r.wrap(w, n, "**")
	case "del", "s", "strike":
		r.wrap(w, n, "~~")
	case "code", "kbd", "samp", "tt":
		w.raw(codeSpan(textOf(n)))
	default:
		block := isBlock(n.Data)
		if block {
			w.space = true
		}
		r.inlineChildren(w, n)
		if block {
			w.space = true
		}
	}
}

func (r *mdRenderer) inlineChildren(w *inlineWriter, n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			w.text(c.Data)
		case html.ElementNode:
			r.inline(w, c)
		}
	}
}

// inlineString renders n's children as one line.
func (r *mdRenderer) inlineString(n *html.Node) string {
	var w inlineWriter
	r.inlineChildren(&w, n)
	return strings.ReplaceAll(w.take(), "\\\n", " ")
}

// wrap writes n's content between markers, keeping white space at its
// edges outside them, where markdown needs it.
func (r *mdRenderer) wrap(w *inlineWriter, n *html.Node, marker string) {
	var sub inlineWriter
	r.inlineChildren(&sub, n)
	trailing := sub.space
	if sub.leading {
		w.space = true
	}
	if s := sub.take(); s != "" {
		w.raw(marker + s + marker)
	}
	if trailing {
		w.space = true
	}
}

func (r *mdRenderer) link(w *inlineWriter, a *html.Node) {
	var sub inlineWriter
	r.inlineChildren(&sub, a)
	trailing := sub.space
	if sub.leading {
		w.space = true
	}
	text := sub.take()
	href, ok := resolve(r.base, attr(a, "href"))
	switch {
	case text == "":
	case !ok || href == "":
		w.raw(text) // a link to nowhere reads as its text
	default:
		if !w.space && len(w.buf) > 0 && w.buf[len(w.buf)-1] == '!' {
			w.buf = append(w.buf[:len(w.buf)-1], '\\', '!') // not an image
		}
		w.raw("[" + text + "](" + destination(href) + ")")
	}
	if trailing {
		w.space = true
	}
}

func (r *mdRenderer) image(w *inlineWriter, img *html.Node) {
	src := imageSource(img)
	if hasScheme(src, "data") {
		return
	}
	u, ok := resolve(r.base, src)
	if !ok || u == "" {
		return
	}
	var alt inlineWriter
	alt.text(attr(img, "alt"))
	w.raw("![" + alt.take() + "](" + destination(u) + ")")
}

// destination escapes what would end a link destination early.
func destination(u string) string {
	if !strings.ContainsAny(u, " ()<>") {
		return u
	}
	return strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E").Replace(u)
}

// codeSpan delimits code with a backtick run longer than any inside it.
func codeSpan(code string) string {
	if code == "" {
		return ""
	}
	fence := strings.Repeat("`", longestRun(code, '`')+1)
	if code[0] == '`' || code[len(code)-1] == '`' {
		return fence + " " + code + " " + fence
	}
	return fence + code + fence
}

func longestRun(s string, c byte) int {
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

// pre renders a fenced code block, its language taken from a
// "language-x" or "lang-x" class on pre or its code child.
func (r *mdRenderer) pre(n *html.Node) string {
	var sb strings.Builder
	preText(&sb, n)
	code := strings.TrimRight(sb.String(), "\n")
	if strings.TrimSpace(code) == "" {
		return ""
	}
	lang := codeLanguage(n)
	if c := firstElementChild(n); lang == "" && c != nil && c.Data == "code" {
		lang = codeLanguage(c)
	}
	fence := strings.Repeat("`", max(3, longestRun(code, '`')+1))
	return fence + lang + "\n" + code + "\n" + fence
}

func preText(sb *strings.Builder, n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case c.Type == html.TextNode:
			sb.WriteString(c.Data)
		case c.Type != html.ElementNode || skipped(c):
		case c.Data == "br":
			sb.WriteByte('\n')
		default:
			preText(sb, c)
		}
	}
}

func codeLanguage(n *html.Node) string {
	for _, class := range strings.Fields(attr(n, "class")) {
		for _, p := range [...]string{"language-", "lang-"} {
			if lang, ok := strings.CutPrefix(class, p); ok && lang != "" && !strings.ContainsAny(lang, "`") {
				return lang
			}
		}
	}
	return ""
}

// list renders ul or ol, nested lists indented under their item.
func (r *mdRenderer) list(n *html.Node) string {
	ordered := n.Data == "ol"
	num := 1
	if s, err := strconv.Atoi(strings.TrimSpace(attr(n, "start"))); err == nil && s >= 0 && s < 1e9 {
		num = s
	}
	var out []byte
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode || skipped(c) || invisible(c) {
			continue
		}
		var item string
		if c.Data == "ul" || c.Data == "ol" {
			item = r.list(c) // a list directly inside a list: keep it as an item
		} else {
			sub := blockWriter{item: true}
			r.blocks(&sub, c)
			item = sub.finish()
		}
		if item == "" {
			continue
		}
		marker := "- "
		if ordered {
			marker = strconv.Itoa(num) + ". "
			num++
		}
		if len(out) > 0 {
			out = append(out, '\n')
		}
		out = append(out, marker...)
		out = append(out, prefixLines(item, strings.Repeat(" ", len(marker)), "")[len(marker):]...)
	}
	return string(out)
}

// prefixLines puts prefix before each line of s, and blank before empty
// lines.
func prefixLines(s, prefix, blank string) string {
	if s == "" {
		return ""
	}
	var sb strings.Builder
	sb.Grow(len(s) + (strings.Count(s, "\n")+1)*len(prefix))
	for line := range strings.SplitSeq(s, "\n") {
		if sb.Len() > 0 {
			sb.WriteByte('\n')
		}
		if line == "" {
			sb.WriteString(blank)
		} else {
			sb.WriteString(prefix)
			sb.WriteString(line)
		}
	}
	return sb.String()
}

// table renders a table as a GitHub table, its first row the header.
func (r *mdRenderer) table(n *html.Node) string {
	var rows [][]string
	var collect func(*html.Node)
	collect = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			switch c.Data {
			case "thead", "tbody", "tfoot":
				collect(c)
			case "tr":
				var row []string
				for td := c.FirstChild; td != nil; td = td.NextSibling {
					if td.Type == html.ElementNode && (td.Data == "td" || td.Data == "th") {
						row = append(row, r.inlineString(td))
					}
				}
				rows = append(rows, row)
			}
		}
	}
	collect(n)
	cols := 0
	for _, row := range rows {
		cols = max(cols, len(row))
	}
	if cols == 0 {
		return ""
	}
	var sb strings.Builder
	for i, row := range rows {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteByte('|')
		for j := range cols {
			sb.WriteByte(' ')
			if j < len(row) {
				sb.WriteString(row[j])
			}
			sb.WriteString(" |")
		}
		if i == 0 {
			sb.WriteString("\n|")
			for range cols {
				sb.WriteString(" --- |")
			}
		}
	}
	return sb.String()
}

// isBlock reports whether an element starts a new block.
func isBlock(tag string) bool {
	switch tag {
	case "address", "article", "aside", "body", "caption", "center", "dd",
		"details", "dialog", "div", "dl", "dt", "fieldset", "figcaption",
		"figure", "footer", "form", "header", "hgroup", "html", "legend",
		"li", "main", "nav", "p", "section", "summary",
		"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote",
		"pre", "hr", "table", "tr", "td", "th", "thead", "tbody", "tfoot":
		return true
	}
	return false
}

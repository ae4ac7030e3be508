package native

import (
	"io"
	"strings"

	"golang.org/x/net/html"
)

// The walker's tokenizer
//
// x/net/html's Tokenizer reads its input a byte at a time through an
// io.Reader and copies every tag name and attribute it returns (and every
// attribute key, to drop duplicates, as it reads a tag); on a page it
// costs more than all of mdWalker's work. mdTokens splits the page into
// the same tokens, by the same rules (token.go's Next, readTag,
// readTagAttrKey, readTagAttrVal, readRawOrRCDATA, readComment and
// readMarkupDeclaration), scanning a string with strings.IndexByte and
// copying nothing until asked. Where those rules grow intricate it hands
// the token to an html.Tokenizer started at the token: a script whose
// text holds "<!--" (HTML's script escapes), a CDATA section in foreign
// content, <plaintext>, and the attribute values with character
// references that the walker reads. TestMDTokensMatchXNet and
// FuzzMDTokens hold it to x/net/html's tokens.

// mdTokens is a tokenizer over src; it answers what html.Tokenizer
// answers, for the methods the walker calls. The page has no NUL byte.
type mdTokens struct {
	src string
	pos int // where the next token starts

	tt         html.TokenType
	start, end int // the current token's raw bytes
	// The current tag's name, or the text's data, is src[ds:de].
	ds, de int
	// attrs holds the spans of a start tag's attributes, key then value,
	// without duplicate keys (the first one stays).
	attrs      [][4]int
	selfClose  bool
	rawText    bool   // the text is a raw-text element's, not unescaped
	rawTag     string // the raw-text element whose text comes next
	allowCDATA bool

	// x, when not nil, reads the tokens from xBase on; xRaw is set when
	// its last token was a start tag after which it reads raw text.
	x     *html.Tokenizer
	xBase int
	xRaw  bool
	xText []byte
}

func newMDTokens(src string) *mdTokens { return &mdTokens{src: src} }

// rawTags are the elements whose text the tokenizer reads raw.
func rawTagName(name string) bool {
	switch name {
	case "iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp":
		return true
	}
	return false
}

// AllowCDATA is html.Tokenizer's.
func (t *mdTokens) AllowCDATA(allow bool) { t.allowCDATA = allow }

// NextIsNotRawText is html.Tokenizer's.
func (t *mdTokens) NextIsNotRawText() {
	t.rawTag = ""
	if t.x != nil {
		t.x.NextIsNotRawText()
		t.xRaw = false
	}
}

// Raw returns the current token's bytes.
func (t *mdTokens) Raw() string { return t.src[t.start:t.end] }

// Next scans the next token.
func (t *mdTokens) Next() html.TokenType {
	if t.x != nil {
		if t.xRaw {
			return t.xNext()
		}
		t.x = nil // back in the data state: the fast path goes on
	}
	t.start, t.attrs, t.selfClose, t.rawText = t.pos, t.attrs[:0], false, false
	if t.pos >= len(t.src) {
		t.tt = html.ErrorToken
		return t.tt
	}
	if t.rawTag != "" {
		tag := t.rawTag
		t.rawTag = ""
		switch tag {
		default:
			end := rawTextEnd(t.src[t.pos:], tag)
			t.ds, t.de = t.pos, t.pos+end
		}
		if t.de > t.ds {
			return t.text(t.de, tag != "textarea" && tag != "title")
		}
	}
	for i := t.pos; ; {
		j := strings.IndexByte(t.src[i:], '<')
		if j < 0 || i+j+1 >= len(t.src) {
			// Text to the end (a '<' at the very end is text too).
			t.ds, t.de = t.pos, len(t.src)
			return t.text(len(t.src), false)
		}
		lt := i + j
		c := t.src[lt+1]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z', c == '/', c == '!', c == '?':
		default:
			i = lt + 1
			continue
		}
		if lt > t.pos {
			// The text before the tag comes first.
			t.ds, t.de = t.pos, lt
			return t.text(lt, false)
		}
		return t.markup(c)
	}
}

// text makes the current token the text up to end.
func (t *mdTokens) text(end int, raw bool) html.TokenType {
	t.tt, t.end, t.pos, t.rawText = html.TextToken, end, end, raw
	return t.tt
}

// markup reads the token at t.pos, a '<' followed by c.
func (t *mdTokens) markup(c byte) html.TokenType {
	switch {
	case c == '/':
		if t.pos+2 >= len(t.src) {
			// "</" at the end: text.
			t.ds, t.de = t.pos, len(t.src)
			return t.text(len(t.src), false)
		}
		switch d := t.src[t.pos+2]; {
		case d == '>':
			return t.comment(t.pos + 3)
		case 'a' <= d && d <= 'z' || 'A' <= d && d <= 'Z':
			return t.tag(html.EndTagToken)
		}
		return t.untilCloseAngle(t.pos + 2)
	case c == '?':
		return t.untilCloseAngle(t.pos + 1)
	case c == '!':
		return t.declaration()
	}
	return t.tag(html.StartTagToken)
}

// comment makes the current token a comment ending at end.
func (t *mdTokens) comment(end int) html.TokenType {
	t.tt, t.end, t.pos = html.CommentToken, end, end
	return t.tt
}

// untilCloseAngle makes the current token a bogus comment running from
// from to the next '>' (readUntilCloseAngle).
func (t *mdTokens) untilCloseAngle(from int) html.TokenType {
	if k := strings.IndexByte(t.src[from:], '>'); k >= 0 {
		return t.comment(from + k + 1)
	}
	return t.comment(len(t.src))
}

// declaration reads a token starting "<!" (readMarkupDeclaration).
func (t *mdTokens) declaration() html.TokenType {
	from := t.pos + 2
	if from+2 > len(t.src) {
		return t.comment(len(t.src))
	}
	if t.src[from] == '-' && t.src[from+1] == '-' {
		return t.comment(commentEnd(t.src, from+2))
	}
	if from+len("DOCTYPE") <= len(t.src) && asciiFoldEqual(t.src[from:from+len("DOCTYPE")], "doctype") {
		t.untilCloseAngle(from + len("DOCTYPE"))
		t.tt = html.DoctypeToken
		return t.tt
	}
	if t.allowCDATA && strings.HasPrefix(t.src[from:], "[") {
		return t.handOver()
	}
	return t.untilCloseAngle(from)
}

// commentEnd returns where the comment whose data starts at from ends
// (readComment): after the first '>' that all-dash data, "--" or "--!"
// comes right before, or at the end of s.
func commentEnd(s string, from int) int {
	for i := from; ; {
		k := strings.IndexByte(s[i:], '>')
		if k < 0 {
			return len(s)
		}
		gt := i + k
		data := s[from:gt]
		if strings.Trim(data, "-") == "" || strings.HasSuffix(data, "--") || strings.HasSuffix(data, "--!") {
			return gt + 1
		}
		i = gt + 1
	}
}

// isSpaceByte reports the bytes the tokenizer skips as white space.
func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

// tag reads a start or end tag (readStartTag, readTag).
func (t *mdTokens) tag(tt html.TokenType) html.TokenType {
	s := t.src
	i := t.pos + 1
	if tt == html.EndTagToken {
		i++
	}
	// The name runs to white space, '/' or '>'.
	t.ds = i
	for i < len(s) && !isSpaceByte(s[i]) && s[i] != '/' && s[i] != '>' {
		i++
	}
	t.de = i
	eof := func() html.TokenType {
		// A tag cut by the end of the page is no token, and ends them.
		t.pos, t.start, t.end = len(s), len(s), len(s)
		t.tt = html.ErrorToken
		return t.tt
	}
	skip := func() bool {
		for i < len(s) && isSpaceByte(s[i]) {
			i++
		}
		return i < len(s)
	}
	if !skip() {
		return eof()
	}
	lastValueEnd := -1
	for {
		if i >= len(s) {
			return eof()
		}
		if s[i] == '>' {
			i++
			break
		}
		// The key runs to white space, '/', '>' or '=' (an '=' first is
		// part of it).
		ks := i
		for i < len(s) {
			c := s[i]
			if isSpaceByte(c) || c == '/' || c == '>' || c == '=' && i > ks {
				break
			}
			i++
		}
		ke := i
		if i >= len(s) {
			return eof()
		}
		vs, ve := i, i
		if !skip() {
			return eof()
		}
		switch c := s[i]; c {
		case '/':
			i++
		case '=':
			i++
			if !skip() {
				return eof()
			}
			switch q := s[i]; q {
			case '>':
			case '\'', '"':
				k := strings.IndexByte(s[i+1:], q)
				if k < 0 {
					return eof()
				}
				vs, ve = i+1, i+1+k
				i = ve + 1
			default:
				vs = i
				for i < len(s) && !isSpaceByte(s[i]) && s[i] != '>' {
					i++
				}
				if i >= len(s) {
					return eof()
				}
				ve = i
				if s[i] != '>' {
					i++
				}
			}
		}
		if tt == html.StartTagToken && ke > ks && !t.hasAttr(s[ks:ke]) {
			t.attrs = append(t.attrs, [4]int{ks, ke, vs, ve})
			lastValueEnd = ve
		}
		if !skip() {
			return eof()
		}
	}
	t.tt, t.end, t.pos = tt, i, i
	if tt == html.StartTagToken {
		if s[i-2] == '/' && (len(t.attrs) == 0 || i-2 != lastValueEnd-1) {
			t.selfClose = true
			t.tt = html.SelfClosingTagToken
		}
		switch name := asciiLower(s[t.ds:t.de]); {
		case name == "plaintext",
			// HTML's script escapes may hide a script's end tag.
			name == "script" && strings.Contains(s[i:i+rawTextEnd(s[i:], name)], "<!--"):
			t.pos = t.start
			return t.handOver()
		case rawTagName(name):
			t.rawTag = name
		}
	}
	return t.tt
}

// hasAttr reports whether the tag has an attribute key, in any case.
func (t *mdTokens) hasAttr(key string) bool {
	for _, a := range t.attrs {
		if asciiLowerEqual(t.src[a[0]:a[1]], key) {
			return true
		}
	}
	return false
}

// asciiLowerEqual reports whether a and b are equal once their ASCII
// letters are lower-cased, as the tokenizer lower-cases keys.
func asciiLowerEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// handOver reads the token at t.pos with an html.Tokenizer, which reads
// on until it is back in the data state.
func (t *mdTokens) handOver() html.TokenType {
	t.x = html.NewTokenizer(strings.NewReader(t.src[t.pos:]))
	t.xBase = t.pos
	return t.xNext()
}

func (t *mdTokens) xNext() html.TokenType {
	t.x.AllowCDATA(t.allowCDATA)
	t.tt = t.x.Next()
	t.start = t.pos
	t.end = t.start + len(t.x.Raw())
	t.pos = t.end
	t.xText, t.attrs = nil, t.attrs[:0]
	t.xRaw = false
	switch t.tt {
	case html.ErrorToken:
		if t.x.Err() == io.EOF {
			t.pos = len(t.src)
		}
	case html.StartTagToken, html.SelfClosingTagToken:
		raw := t.Raw()
		j := 1
		for j < len(raw) && !isSpaceByte(raw[j]) && raw[j] != '/' && raw[j] != '>' {
			j++
		}
		t.xRaw = rawTagName(asciiLower(raw[1:j]))
		t.selfClose = t.tt == html.SelfClosingTagToken
	}
	return t.tt
}

// asciiLower lower-cases the ASCII letters of s, as the tokenizer does.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Text returns the current text token's data, as html.Tokenizer's Text.
func (t *mdTokens) Text() []byte {
	if t.x != nil {
		if t.xText == nil {
			t.xText = append([]byte{}, t.x.Text()...)
		}
		return t.xText
	}
	b := []byte(t.src[t.ds:t.de])
	b = convertNewlines(b)
	if !t.rawText && strings.IndexByte(t.src[t.ds:t.de], '&') >= 0 {
		b = []byte(html.UnescapeString(string(b)))
	}
	return b
}

// convertNewlines turns "\r\n" and "\r" into "\n", in place.
func convertNewlines(b []byte) []byte {
	if strings.IndexByte(string(b), '\r') < 0 {
		return b
	}
	out := b[:0]
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			c = '\n'
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
		}
		out = append(out, c)
	}
	return out
}

// attributes yields the attributes of the current start tag as
// html.Tokenizer's TagAttr returns them: keys lower-cased, values
// unescaped.
func (t *mdTokens) attributes(yield func(key, val []byte)) {
	if t.x != nil {
		for {
			k, v, more := t.x.TagAttr()
			if k == nil && !more {
				return
			}
			yield(k, v)
			if !more {
				return
			}
		}
	}
	for _, a := range t.attrs {
		if strings.IndexByte(t.src[a[2]:a[3]], '&') >= 0 {
			// Character references in attribute values follow rules of
			// their own: the tag is read again by html.Tokenizer.
			x := html.NewTokenizer(strings.NewReader(t.src[t.start:t.end]))
			x.Next()
			for {
				k, v, more := x.TagAttr()
				if k == nil && !more {
					return
				}
				yield(k, v)
				if !more {
					return
				}
			}
		}
	}
	for _, a := range t.attrs {
		yield([]byte(asciiLower(t.src[a[0]:a[1]])), convertNewlines([]byte(t.src[a[2]:a[3]])))
	}
}

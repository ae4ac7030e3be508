package native

import (
	"bytes"
	"fmt"
	"math"
	"mime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
)

// Document is one HTML document. It is parsed at most once, on the first
// call that needs the tree, and its visible text is computed at most once,
// so a request that asks several questions of one page (the fields of an
// ExtractRequest) pays for one parse. A Document is safe for concurrent use;
// the tree returned by Root must be treated as read-only.
type Document struct {
	src string
	// url and baseURL serve absolute URLs (urls.go).
	url     string
	baseURL baseURL
	// order numbers the tree's nodes for XPath's document order (xpath.go).
	order docOrder

	parseOnce sync.Once
	root      *html.Node
	parseErr  error
	// tree is set once the tree is built, or once a question found that
	// the token stream cannot answer for this document: either way, the
	// questions after it walk the tree.
	tree atomic.Bool

	shapeOnce sync.Once
	shape     *docShape

	textOnce sync.Once
	text     string
	textErr  error
}

// NewDocument returns a Document for the UTF-8 HTML in src. It fails with
// ErrEmptyDocument when src is empty and ErrDocumentTooLarge when it is over
// limits.MaxDocumentBytes. src is not validated as UTF-8 (a protobuf string
// already is); use DecodeDocument for bytes of unknown encoding.
func NewDocument(src string, limits Limits) (*Document, error) {
	limits = limits.normalized()
	if src == "" {
		return nil, ErrEmptyDocument
	}
	if len(src) > limits.MaxDocumentBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrDocumentTooLarge, len(src), limits.MaxDocumentBytes)
	}
	return &Document{src: src}, nil
}

// DecodeDocument returns a Document for raw HTML in any encoding the
// WHATWG Encoding Standard names, converted to UTF-8. The encoding is, in
// order of precedence: a byte order mark; the charset parameter of
// contentType (such as "text/html; charset=windows-1252") when it names a
// known encoding; a <meta charset> or <meta http-equiv="Content-Type"> in
// the first 1024 bytes; else UTF-8. Bytes invalid in the chosen encoding
// become U+FFFD, so the result is always valid UTF-8.
//
// The size limit applies to raw and again to the decoded text, which can be
// up to three times longer than a single-byte encoding's input.
func DecodeDocument(raw []byte, contentType string, limits Limits) (*Document, error) {
	limits = limits.normalized()
	if len(raw) == 0 {
		return nil, ErrEmptyDocument
	}
	if len(raw) > limits.MaxDocumentBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrDocumentTooLarge, len(raw), limits.MaxDocumentBytes)
	}
	enc, body := sniffEncoding(raw, contentType)
	var src string
	if enc == nil {
		// UTF-8 needs no transform, only repair when it is invalid.
		src = string(body)
		if !utf8.ValidString(src) {
			src = strings.ToValidUTF8(src, "\uFFFD")
		}
	} else {
		out, err := enc.NewDecoder().Bytes(body)
		if err != nil {
			// The WHATWG decoders replace invalid input rather than fail;
			// an error here is a bug in the decoder, not the document.
			return nil, fmt.Errorf("native: decoding document: %w", err)
		}
		src = string(out)
	}
	return NewDocument(src, limits)
}

// sniffEncoding returns the encoding of raw (nil meaning UTF-8) and raw
// without its byte order mark, if any.
func sniffEncoding(raw []byte, contentType string) (encoding.Encoding, []byte) {
	// The decoders keep a byte order mark as U+FEFF, which the parser would
	// then take for text; a BOM is a signature, so strip it.
	for _, b := range boms {
		if bytes.HasPrefix(raw, b.mark) {
			return b.enc, raw[len(b.mark):]
		}
	}
	if label := charsetParam(contentType); label != "" {
		if enc, name := charset.Lookup(label); enc != nil {
			return utf8AsNil(enc, name), raw
		}
	}
	if enc, name := prescan(raw); enc != nil {
		// A page cannot be UTF-16 and also hold an ASCII <meta> saying so;
		// the Encoding Standard reads such a declaration as UTF-8.
		if strings.HasPrefix(name, "utf-16") {
			return nil, raw
		}
		return utf8AsNil(enc, name), raw
	}
	return nil, raw
}

var boms = []struct {
	mark []byte
	enc  encoding.Encoding
}{
	{[]byte{0xEF, 0xBB, 0xBF}, nil},
	{[]byte{0xFE, 0xFF}, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)},
	{[]byte{0xFF, 0xFE}, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)},
}

// utf8AsNil maps UTF-8 to nil, the encoding that needs no decoder.
func utf8AsNil(enc encoding.Encoding, name string) encoding.Encoding {
	if name == "utf-8" {
		return nil
	}
	return enc
}

func charsetParam(contentType string) string {
	if contentType == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return params["charset"]
}

// prescan looks for an encoding declared by a <meta> element in the first
// 1024 bytes, the way the HTML standard's prescan does (simplified: the
// first declaration naming a known encoding wins).
func prescan(raw []byte) (enc encoding.Encoding, name string) {
	if len(raw) > 1024 {
		raw = raw[:1024]
	}
	z := html.NewTokenizer(bytes.NewReader(raw))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return nil, ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "meta" || !hasAttr {
				continue
			}
			var label, content string
			httpEquiv := false
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "charset":
					label = string(v)
				case "content":
					content = string(v)
				case "http-equiv":
					httpEquiv = strings.EqualFold(string(v), "content-type")
				}
			}
			if label == "" && httpEquiv {
				label = charsetFromContent(content)
			}
			if label == "" {
				continue
			}
			if enc, name := charset.Lookup(label); enc != nil {
				return enc, name
			}
		}
	}
}

// charsetFromContent extracts the charset from a meta content attribute
// such as "text/html; charset=iso-8859-1", tolerating the sloppy forms
// found on the web that mime.ParseMediaType rejects.
func charsetFromContent(s string) string {
	i := strings.Index(strings.ToLower(s), "charset")
	if i < 0 {
		return ""
	}
	s = strings.TrimLeft(s[i+len("charset"):], " \t\n\f\r")
	if !strings.HasPrefix(s, "=") {
		return ""
	}
	s = strings.TrimLeft(s[1:], " \t\n\f\r")
	if s != "" && (s[0] == '"' || s[0] == '\'') {
		q := s[0]
		s = s[1:]
		if j := strings.IndexByte(s, q); j >= 0 {
			return s[:j]
		}
		return ""
	}
	if j := strings.IndexAny(s, " \t\n\f\r;"); j >= 0 {
		s = s[:j]
	}
	return s
}

// Source returns the document's HTML as given (after decoding, for
// DecodeDocument).
func (d *Document) Source() string { return d.src }

// Len returns the size of the document in bytes.
func (d *Document) Len() int { return len(d.src) }

// Root returns the parsed tree, parsing the source on the first call.
func (d *Document) Root() (*html.Node, error) {
	d.parseOnce.Do(func() {
		d.root, d.parseErr = html.Parse(strings.NewReader(d.src))
		d.tree.Store(true)
		if d.parseErr != nil {
			d.parseErr = fmt.Errorf("%w: %w", ErrUnparsable, d.parseErr)
		}
	})
	return d.root, d.parseErr
}

// measured returns the shape of the parsed tree that the cost model needs
// (cost.go), measuring it on the first call.
func (d *Document) measured() (*docShape, error) {
	root, err := d.Root()
	if err != nil {
		return nil, err
	}
	d.shapeOnce.Do(func() { d.shape = measure(root) })
	return d.shape, nil
}

// streamable reports whether a question should try the token stream
// before the tree (see stream.go).
func (d *Document) streamable() bool { return !d.tree.Load() }

// UseTree makes the questions asked of d after it walk the parsed tree and
// never read the token stream (see CSS.Select): for a caller that will
// need the tree anyway, such as for the document's text. Several CSS
// questions share one reading through CSS.SelectEach.
func (d *Document) UseTree() { d.tree.Store(true) }

// Text returns the document's visible text: every text node outside
// <script>, <style>, <noscript> and <template>, with white space collapsed
// to single spaces (block element boundaries count as white space) and
// trimmed. It is computed once.
func (d *Document) Text() (string, error) {
	d.textOnce.Do(func() {
		root, err := d.Root()
		if err != nil {
			d.textErr = err
			return
		}
		// Visible text is rarely more than half the markup; start there
		// and let append grow it if not. No bound: the text is at most a
		// small multiple of the source, which is already bounded.
		t := textCollector{buf: make([]byte, 0, len(d.src)/2), max: math.MaxInt}
		t.collect(root)
		d.text = string(t.buf)
	})
	return d.text, d.textErr
}

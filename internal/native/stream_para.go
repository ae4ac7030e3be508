package native

import (
	"bytes"

	"golang.org/x/net/html/atom"
)

// paraState follows the paragraphs of a token stream for a question about
// the text of p elements. A paragraph's text is that of its tokens from its
// <p> to whatever closes it: an end tag, a block that closes a <p> in
// button scope, or the end of the document; each element opened inside it
// is followed to its end tag, so that the walk matches the textCollector's
// over the tree: hidden elements' text skipped, word breaks at the
// boundaries of the elements in breaks. Anything that could close the
// paragraph in a way not modelled here, or put its text elsewhere, makes
// the stream give up: an end tag that does not close the innermost open
// element, elements that break button scope or reparse the tokens
// (button, form, object, select, textarea, ruby annotations, foreign
// content), a second <a>.
//
// The state here is the structure, shared by the questions of a scan; what
// a paragraph is to each question, and its text, are the question's.
type paraState struct {
	open   bool        // a paragraph is open
	inner  []atom.Atom // elements opened inside the open paragraph
	hidden bool        // the next raw text is a hidden element's

	aOpen  bool // an <a> may be open, inside or outside the paragraph
	inBody bool // the parser has surely left the head
}

type paraMatch int

const (
	paraSkip      paraMatch = iota // does not match the selector
	paraCollect                    // matches: collect its text
	paraLookAhead                  // matches past those wanted: count it only
)

// startTag follows a start tag of type a outside foreign content, before
// streamState.startTag's own checks.
func (p *paraState) startTag(s *streamState, a atom.Atom, hasAttr bool) error {
	if !headElement(a) {
		p.inBody = true
	}
	if a == atom.A {
		if p.aOpen {
			// The adoption agency would run for the first one.
			return errNeedsTree
		}
		p.aOpen = true
	}
	if !p.open {
		if a == atom.P {
			p.begin(s, hasAttr)
		}
		return nil
	}
	switch {
	case closesP(a), a == atom.Li, a == atom.Dd, a == atom.Dt, a == atom.Hr,
		a == atom.Xmp, a == atom.Plaintext:
		p.close(s)
		if a == atom.P {
			p.begin(s, hasAttr)
		}
		return nil
	}
	switch a {
	case atom.Button, atom.Form, atom.Object, atom.Applet, atom.Marquee,
		atom.Textarea, atom.Nobr, atom.Rb, atom.Rp, atom.Rt, atom.Rtc,
		atom.Svg, atom.Math,
		// A table closes the paragraph or not, by the document's
		// quirks mode; its structure closes a cell around it.
		atom.Table, atom.Caption, atom.Colgroup, atom.Col, atom.Tbody,
		atom.Thead, atom.Tfoot, atom.Tr, atom.Td, atom.Th:
		return errNeedsTree
	case atom.Html, atom.Body, atom.Head, atom.Frame:
		// Merged into the existing element, or ignored: no element.
		return nil
	case atom.Option, atom.Optgroup:
		if n := len(p.inner); n > 0 && p.inner[n-1] == atom.Option {
			p.inner = p.inner[:n-1]
			p.pending(s) // option is in breaks
		}
	}
	if breaks(a) {
		p.pending(s)
	}
	if paraVoid(a) {
		return nil
	}
	p.inner = append(p.inner, a)
	p.hidden = hidden(a)
	return nil
}

// begin opens a paragraph at a <p> start tag.
func (p *paraState) begin(s *streamState, hasAttr bool) {
	p.open, p.inner, p.hidden = true, p.inner[:0], false
	for _, q := range s.qs {
		if !q.paraText {
			continue
		}
		q.para = paraSkip
		if !q.complete && s.match(q, atom.P, hasAttr) {
			q.para = paraCollect
			if q.found >= q.want {
				q.para = paraLookAhead
			}
		}
		q.paraBuf = textCollector{buf: q.paraBuf.buf[:0], max: q.budget}
	}
}

// close ends the open paragraph, if any, and gives each question that it
// matches its text.
func (p *paraState) close(s *streamState) {
	if !p.open {
		return
	}
	p.open = false
	for _, q := range s.qs {
		switch q.para {
		case paraCollect:
			q.emit(string(q.paraBuf.buf))
		case paraLookAhead:
			q.emit("")
		}
		q.para = paraSkip
	}
}

// pending owes a word break to the text of the open paragraph.
func (p *paraState) pending(s *streamState) {
	for _, q := range s.qs {
		q.paraBuf.pending = true
	}
}

// wantsText reports whether text would change anything now.
func (p *paraState) wantsText(s *streamState) bool {
	if !p.inBody {
		return true
	}
	if p.open {
		for _, q := range s.qs {
			if q.para == paraCollect {
				return true
			}
		}
	}
	return false
}

// text follows a text token: raw is set for the content of a raw-text
// element, visible for text that the parser counts as content.
func (p *paraState) text(s *streamState, text []byte, raw, visible bool) {
	if visible {
		p.inBody = true
	}
	if !p.open || (raw && p.hidden) {
		return
	}
	if !raw {
		// The parser drops NULs from body text (inBodyIM).
		text = bytes.ReplaceAll(text, []byte{0}, nil)
	}
	str := string(text)
	for _, q := range s.qs {
		if q.para != paraCollect {
			continue
		}
		q.paraBuf.write(str)
		if len(q.paraBuf.buf) > q.paraBuf.max {
			q.fail(errResultTooLarge(q.limit))
			q.para = paraSkip
		}
	}
}

// endTag follows an end tag of type a outside foreign content.
func (p *paraState) endTag(s *streamState, a atom.Atom) error {
	switch a {
	case atom.Body, atom.Html:
		// The parser only changes insertion mode; the elements stay open.
		p.inBody = true
		return nil
	case atom.Br:
		// </br> is read as <br>.
		p.inBody = true
		p.pending(s)
		return nil
	}
	if !p.open {
		switch a {
		case atom.A:
			p.aOpen = false
		case atom.P:
			// A </p> with no paragraph open makes an empty one, once
			// the body has begun; in the head it is ignored.
			if !p.inBody {
				return errNeedsTree
			}
			p.begin(s, false)
			p.close(s)
			return nil
		}
		return nil
	}
	if a == atom.P {
		// It pops whatever is open inside the paragraph: nothing there
		// breaks button scope, or the stream would have given up.
		p.close(s)
		return nil
	}
	n := len(p.inner)
	if n == 0 || p.inner[n-1] != a {
		return errNeedsTree
	}
	p.inner = p.inner[:n-1]
	p.hidden = false
	if a == atom.A {
		p.aOpen = false
	}
	if breaks(a) {
		p.pending(s)
	}
	return nil
}

// headElement reports the start tags that the parser can take without
// leaving the head.
func headElement(a atom.Atom) bool {
	switch a {
	case atom.Html, atom.Head, atom.Base, atom.Basefont, atom.Bgsound,
		atom.Link, atom.Meta, atom.Noframes, atom.Script, atom.Style,
		atom.Template, atom.Title, atom.Noscript:
		return true
	}
	return false
}

// paraVoid reports the elements that the parser inserts and pops at once
// in body content.
func paraVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Br, atom.Embed, atom.Img, atom.Keygen, atom.Wbr,
		atom.Input, atom.Param, atom.Source, atom.Track, atom.Base,
		atom.Basefont, atom.Bgsound, atom.Link, atom.Meta:
		return true
	}
	return false
}

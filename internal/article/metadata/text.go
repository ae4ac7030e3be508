package metadata

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return true
		}
	}
	return false
}

// firstAttr returns the first of keys that n has with a value.
func firstAttr(n *html.Node, keys ...string) string {
	for _, k := range keys {
		if v := attr(n, k); v != "" {
			return v
		}
	}
	return ""
}

// classID is n's class and id, lower-cased, or "" when it has neither.
func classID(n *html.Node) string {
	c, id := attr(n, "class"), attr(n, "id")
	if c == "" && id == "" {
		return ""
	}
	return strings.ToLower(c + " " + id)
}

func hasAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// nodeText is the concatenated text of n's text children (a script's).
func nodeText(n *html.Node) string {
	var sb strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			sb.WriteString(c.Data)
		}
	}
	return sb.String()
}

// limitedText is n's visible text, white space collapsed, stopping after
// limit bytes: enough for a date or a byline, and bounded whatever the
// element holds.
func limitedText(n *html.Node, limit int) string {
	return strings.Join(strings.Fields(visibleText(n, limit, ' ')), " ")
}

// lineText is limitedText with its lines kept: a line break ends a line
// of text, and so does an element that starts a block.
func lineText(n *html.Node, limit int) string {
	var out strings.Builder
	for line := range strings.SplitSeq(visibleText(n, limit, '\n'), "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			if out.Len() > 0 {
				out.WriteByte('\n')
			}
			out.WriteString(line)
		}
	}
	return out.String()
}

// visibleText is the text of n outside scripts, styles and templates, at
// most limit bytes of it, with block, a space or a line break, written
// where a line break or a block element starts and a space where an
// inline element that often abuts its neighbours' words does.
func visibleText(n *html.Node, limit int, block byte) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil && sb.Len() < limit; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				sb.WriteString(c.Data)
			case html.ElementNode:
				switch c.Data {
				case "script", "style", "noscript", "template":
					continue
				case "br", "p", "div", "li":
					sb.WriteByte(block)
				case "span", "time", "a":
					sb.WriteByte(' ')
				}
				walk(c)
			}
		}
	}
	walk(n)
	s := sb.String()
	if len(s) > limit {
		s = s[:limit]
	}
	return s
}

// findItemprop finds the first descendant of n with itemprop prop.
func findItemprop(n *html.Node, prop string) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		if strings.EqualFold(attr(c, "itemprop"), prop) {
			return c
		}
		if f := findItemprop(c, prop); f != nil {
			return f
		}
	}
	return nil
}

// monthFirstLang reports whether pages in lang write numeric dates month
// first (03/04/2020 for March 4): American English.
func monthFirstLang(lang string) bool {
	lang = strings.ToLower(lang)
	return lang == "en-us" || lang == "en_us"
}

// bylineWords are the words that introduce an author's name in a byline,
// in the languages most common on the web. They are stripped from the
// start of a name, with what precedes them ("Posted on 3 May by Ann").
var bylineWords = []string{
	"written by", "posted by", "published by", "story by", "words by", "text by", "author:", "authors:", "by:",
	"by", "von", "vom", "text:", "texte:", "autor:", "autorin:", "autor", "autorin", "geschrieben von", "verfasst von",
	"par", "por", "di", "door", "av", "af", "od", "de", "auteur:", "redactie:", "redacción:",
}

// nameSeparators split a list of authors.
var nameSeparators = []string{",", ";", " and ", " und ", " & ", " et ", " y ", " e ", " i ", " en ", " och ", " og ", " | ", " / ", "\n"}

// appendNames cleans s, a byline or an author field, and appends the
// names it holds to names: prefixes such as "By" are stripped, a list is
// split, and what is not a name (a URL, an e-mail address, a date, a
// sentence) is left out.
func appendNames(names []string, s string) []string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || len(s) > 300 {
		return names
	}
	// A date ends the byline ("By Ann Smith, 3 May 2020"), unless the
	// name comes after it ("Posted on 3 May 2020 by Ann Smith").
	if _, at := parseDate(s, false); at > 0 {
		if before := appendNames(nil, s[:at]); len(before) > 0 {
			return appendNames(names, s[:at])
		}
		if after := stripByline(s); after != s {
			return appendNames(names, after)
		}
		return names
	}
	s = cutAtLabel(stripByline(s))
	for _, sep := range nameSeparators {
		s = strings.ReplaceAll(s, sep, "\x00")
	}
	for part := range strings.SplitSeq(s, "\x00") {
		if len(names) >= maxListItems {
			break
		}
		// "Datum:" labels what follows it; it names nobody.
		if strings.HasSuffix(strings.TrimSpace(part), ":") {
			continue
		}
		part = stripByline(strings.TrimFunc(part, func(r rune) bool {
			return unicode.IsSpace(r) || unicode.IsPunct(r) && r != '.' || unicode.IsSymbol(r)
		}))
		if isPlaceholder(part) {
			continue // before "No Author" loses its label word
		}
		part = stripLabelEnd(part)
		if isName(part) && !contains(names, part) {
			names = append(names, part)
		}
	}
	return names
}

// stripByline removes a leading byline word and what precedes it.
func stripByline(s string) string {
	// Indexes found in lower are used in s, so lower must keep s's byte
	// offsets, which strings.ToLower does not ("İ" grows, invalid bytes
	// become U+FFFD): only ASCII is folded, and the one byline word with
	// another letter is matched by strings.EqualFold on its own length.
	lower := foldASCII(s)
	for _, w := range bylineWords {
		if hasPrefixFold(s, w+" ") || strings.HasSuffix(w, ":") && hasPrefixFold(s, w) {
			return strings.TrimSpace(s[len(w):])
		}
		// "Datum: 3.5.2020 Autor: Ann": a label with its colon starts
		// the name wherever it is.
		if strings.HasSuffix(w, ":") {
			if i := strings.Index(lower, " "+w); i >= 0 && i < 60 {
				return strings.TrimSpace(s[i+1+len(w):])
			}
		}
		// "Posted on May 3 by Ann": the last " by " starts the name,
		// unless it is a particle of the name ("Christoph von Ritter").
		if !strings.HasSuffix(w, ":") && (len(w) > 2 || w == "by") {
			if i := strings.LastIndex(lower, " "+w+" "); i >= 0 && i < 60 && !nameParticle(s[:i], w, s[i+len(w)+2:]) {
				return strings.TrimSpace(s[i+len(w)+2:])
			}
		}
	}
	return s
}

// cutAtLabel returns s up to its first word after the first that ends
// with a colon: the label of the field that follows a name ("Ann Li
// Quelle: dpa"). When the words before it are labels too ("Text und
// Interview: Ann Li"), the name is what follows it.
func cutAtLabel(s string) string {
	words := strings.Fields(s)
	for i := 1; i < len(words); i++ {
		if len(words[i]) > 1 && strings.HasSuffix(words[i], ":") {
			for _, w := range words[:i] {
				if w = strings.ToLower(w); !isBylineWord(w) && !conjunctions[w] {
					return strings.Join(words[:i], " ")
				}
			}
			return strings.Join(words[i+1:], " ")
		}
	}
	return s
}

// conjunctions are the words that join names in a list, lower-cased.
var conjunctions = map[string]bool{"and": true, "und": true, "&": true, "et": true, "y": true, "e": true, "i": true, "en": true, "och": true, "og": true}

// foldASCII returns s with its ASCII letters in lower case and every
// other byte where it was.
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// hasPrefixFold reports whether s begins with prefix under Unicode case
// folding, prefix being as long in s as it is itself.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// stripLabelEnd removes the label words that end s after a name, where
// a byline goes on with its date ("Jörn Mecher am", "lupa am" of "von
// lupa am 3. Mai").
func stripLabelEnd(s string) string {
	for {
		i := strings.LastIndexByte(s, ' ')
		if i < 0 || !isBylineWord(strings.ToLower(s[i+1:])) {
			return s
		}
		s = strings.TrimSpace(s[:i])
	}
}

// nameParticle reports whether w, between before and after, is a particle
// of a name rather than a byline word: "von" between one or two
// capitalized words that are not a byline's label and one word
// ("Christoph von Ritter", not "Artikel von Ann" nor "Erstellt von Ann
// Li").
func nameParticle(before, w, after string) bool {
	switch w {
	case "von", "van", "de", "di", "da", "du", "zu":
	default:
		return false
	}
	words := strings.Fields(before)
	if len(words) == 0 || len(words) > 2 || len(strings.Fields(after)) != 1 {
		return false
	}
	for _, word := range words {
		r, _ := utf8.DecodeRuneInString(word)
		if !unicode.IsUpper(r) || isBylineWord(strings.ToLower(strings.Trim(word, ":"))) {
			return false
		}
	}
	return true
}

// placeholderNames are the accounts a publishing system names as the
// author when nobody is: not a name of anyone.
var placeholderNames = []string{"admin", "administrator", "webmaster", "wordpressadmin", "no author", "unknown", "anonymous", "editor", "root", "guest", "user"}

// isPlaceholder reports whether name is one of placeholderNames.
func isPlaceholder(name string) bool {
	name = strings.ToLower(name)
	for _, p := range placeholderNames {
		if name == p {
			return true
		}
	}
	return false
}

// isName reports whether s can be a person's or an organization's name:
// one to six words, not a URL, an e-mail address or a number.
func isName(s string) bool {
	if s == "" || len(s) > 80 || strings.ContainsAny(s, "@/:=<>{}") || isPlaceholder(s) {
		return false
	}
	words := strings.Fields(s)
	if len(words) > 6 || strings.Contains(s, "[at]") {
		return false
	}
	// A number on its own is a date's or a count's ("juillet 2020",
	// "vor 5 Stunden"), never a name's ("r2d2" is one).
	for _, w := range words {
		if strings.IndexFunc(w, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
			return false
		}
	}
	// Only the words around a name ("Posted on", "Artikel von") are not one.
	label := true
	for _, w := range words {
		if !isBylineWord(strings.ToLower(strings.Trim(w, ":"))) {
			label = false
			break
		}
	}
	if label {
		return false
	}
	letters := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
		}
	}
	return letters >= 2
}

// labelWords are the words of a byline's label besides bylineWords.
var labelWords = []string{"posted", "on", "published", "publiziert", "veröffentlicht", "am", "artikel", "article", "written", "geschrieben", "beitrag", "beitragvon", "name", "erforderlich", "redaktion:", "autor", "author", "the", "der", "die", "das"}

func isBylineWord(w string) bool {
	for _, b := range bylineWords {
		if w == strings.TrimSuffix(b, ":") {
			return true
		}
	}
	for _, b := range labelWords {
		if w == b {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// appendItem appends s, a category or tag, cleaned, unless it is empty,
// already there or too long to be one.
func appendItem(list []string, s string) []string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" || len(s) > 100 || len(list) >= maxListItems || contains(list, s) {
		return list
	}
	return append(list, s)
}

// appendList appends the items of s, cut at commas when split is set.
func appendList(list []string, s string, split bool) []string {
	if !split {
		return appendItem(list, s)
	}
	for part := range strings.SplitSeq(s, ",") {
		list = appendItem(list, part)
	}
	return list
}
